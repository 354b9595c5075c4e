#!/usr/bin/env bash
# nmap UDP scan of the most common ports (the victim's ICMP rate limit makes this slow by nature).
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
tb_run "$TB_NS" nmap -n -Pn -sU -T4 --max-retries 1 --top-ports "$TB_COUNT" "$TB_VICTIM" -oN /dev/null > /dev/null
