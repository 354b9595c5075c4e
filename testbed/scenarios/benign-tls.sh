#!/usr/bin/env bash
# Benign HTTPS browsing (curl): TB_COUNT users on the shop over TLS, HTTP/2 or HTTP/1.1, several
# requests per connection now and then, pauses between pages — the encrypted sessions that make
# up most of real web traffic.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
user() {
  local v="https://www.testbed.lan" pin=(--resolve "www.testbed.lan:443:$TB_VICTIM" -k)
  RANDOM=$(( TB_SEED * 100 + 50 + $1 ))
  while [ "$(tb_left)" -gt 1 ]; do
    case $(( RANDOM % 5 )) in
      0|1) tb_run "$TB_NS" curl -s -m 10 "${pin[@]}" --http2 -o /dev/null -o /dev/null "$v/" "$v/style.css" ;;
      2) tb_run "$TB_NS" curl -s -m 10 "${pin[@]}" --http1.1 -o /dev/null "$v/products.php?id=$(( 1 + RANDOM % 12 ))" ;;
      3) tb_run "$TB_NS" curl -s -m 10 "${pin[@]}" --http2 -o /dev/null -o /dev/null -o /dev/null "$v/about.html" "$v/guestbook.php" "$v/style.css" ;;
      4) tb_run "$TB_NS" curl -s -m 20 "${pin[@]}" --limit-rate 400k -o /dev/null "$v/files/catalog.pdf" ;;
    esac
    tb_pause 500 4000
  done
}
for ((u = 0; u < TB_COUNT; u++)); do user "$u" & done
wait
