#!/usr/bin/env bash
# nmap TCP connect scan (full handshakes) of the first TB_COUNT ports, repeated while the budget lasts.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
for ((i = 0; i < 4 && $(tb_left) > 2; i++)); do
  tb_run "$TB_NS" nmap -n -Pn -sT -T4 --max-retries 1 -p "1-$TB_COUNT" "$TB_VICTIM" -oN /dev/null > /dev/null
done
