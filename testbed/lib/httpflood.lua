-- Request generator for the HTTP flood scenarios (wrk -s httpflood.lua URL -- STYLE SEED MAX).
--   hulk:      unique URL (random query), random User-Agent/Referer, no-cache, Connection: close
--   goldeneye: keep-alive connections, random query and no-cache headers on every request
--   hoic:      "booster" header sets chosen at random, Connection: close
-- Each wrk thread stops after MAX/threads responses, so the flood is bounded in requests too.
local threads, counter = {}, 1
local agents = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/64.0.3282.140 Safari/537.36",
  "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:58.0) Gecko/20100101 Firefox/58.0",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_3) AppleWebKit/604.5.6 (KHTML, like Gecko) Version/11.0.3 Safari/604.5.6",
  "Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; Trident/6.0)",
  "Opera/9.80 (Windows NT 6.0) Presto/2.12.388 Version/12.14",
}
local referers = { "http://www.google.com/?q=", "http://www.bing.com/search?q=", "http://www.usatoday.com/search/results?q=", "http://engadget.search.aol.com/search?q=" }

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function word(n)
  local t = {}
  for i = 1, n do t[i] = string.char(math.random(97, 122)) end
  return table.concat(t)
end

function init(args)
  style = args[1] or "hulk"
  math.randomseed(tonumber(args[2] or "1") * 1000 + id)
  limit = math.floor(tonumber(args[3] or "100000") / #threads_hint())
  done = 0
end

-- wrk does not pass the thread count to init; it is in the environment the script sets.
function threads_hint()
  local n = tonumber(os.getenv("TB_WRK_THREADS") or "1")
  local t = {}
  for i = 1, n do t[i] = i end
  return t
end

function request()
  local headers = {}
  local path = "/"
  if style == "hulk" then
    path = "/?" .. word(math.random(3, 10)) .. "=" .. word(math.random(3, 10))
    headers["User-Agent"] = agents[math.random(#agents)]
    headers["Referer"] = referers[math.random(#referers)] .. word(math.random(5, 10))
    headers["Cache-Control"] = "no-cache"
    headers["Accept-Charset"] = "ISO-8859-1,utf-8;q=0.7,*;q=0.7"
    headers["Keep-Alive"] = tostring(math.random(110, 120))
    headers["Connection"] = "close"
  elseif style == "goldeneye" then
    path = "/?" .. word(math.random(3, 8)) .. "=" .. word(math.random(3, 8)) .. "&" .. word(4) .. "=" .. word(6)
    headers["User-Agent"] = agents[math.random(#agents)]
    headers["Cache-Control"] = "no-cache"
    headers["Keep-Alive"] = tostring(math.random(110, 120))
    headers["Connection"] = "keep-alive"
  else -- hoic
    local pages = { "/", "/about.html", "/style.css", "/search.php?q=" .. word(4), "/products.php?id=" .. math.random(1, 12) }
    path = pages[math.random(#pages)]
    headers["User-Agent"] = agents[math.random(#agents)]
    if math.random() < 0.5 then headers["Referer"] = referers[math.random(#referers)] .. word(6) end
    if math.random() < 0.5 then headers["Accept-Language"] = "en-US,en;q=0.5" end
    headers["Connection"] = "close"
  end
  return wrk.format("GET", path, headers)
end

function response(status, headers, body)
  done = done + 1
  if done >= limit then wrk.thread:stop() end
end
