#!/usr/bin/env bash
# Benign browsing (curl): TB_COUNT users who open pages with their stylesheet over one keep-alive
# connection, follow product links, search, read and sign the guestbook, log in with the right
# password now and then, and pause to read between pages.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
words=(lamp chair pen mug keyboard webcam plant notebook hub headphones)
user() {
  local jar="$TB_STATE/cookies-$1.txt" v="http://$TB_VICTIM"
  RANDOM=$(( TB_SEED * 100 + $1 ))
  while [ "$(tb_left)" -gt 1 ]; do
    case $(( RANDOM % 8 )) in
      0|1) tb_run "$TB_NS" curl -s -m 10 -b "$jar" -c "$jar" -o /dev/null -o /dev/null "$v/" "$v/style.css" ;;
      2|3) tb_run "$TB_NS" curl -s -m 10 -b "$jar" -c "$jar" -o /dev/null -o /dev/null "$v/products.php?id=$(( 1 + RANDOM % 12 ))" "$v/style.css" ;;
      4) tb_run "$TB_NS" curl -s -m 10 -b "$jar" -c "$jar" -o /dev/null -G --data-urlencode "q=${words[RANDOM % ${#words[@]}]}" "$v/search.php" ;;
      5) tb_run "$TB_NS" curl -s -m 10 -b "$jar" -c "$jar" -o /dev/null -o /dev/null "$v/guestbook.php" "$v/about.html" ;;
      6) tb_run "$TB_NS" curl -s -m 10 -b "$jar" -c "$jar" -o /dev/null -d username=alice -d password=correcthorse "$v/login.php" ;;
      7) tb_run "$TB_NS" curl -s -m 10 -b "$jar" -c "$jar" -o /dev/null --data-urlencode "name=user$1" --data-urlencode "comment=Nice shop, item $((RANDOM % 12)) arrived." "$v/guestbook.php" ;;
    esac
    tb_pause 300 3000
  done
}
for ((u = 0; u < TB_COUNT; u++)); do user "$u" & done
wait
