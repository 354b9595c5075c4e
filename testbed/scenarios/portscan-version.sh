#!/usr/bin/env bash
# nmap service/version detection: probes every open port found among the most common ones.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
for ((i = 0; i < 3 && $(tb_left) > 5; i++)); do
  tb_run "$TB_NS" nmap -n -Pn -sV --version-intensity 5 -T4 --top-ports "$TB_COUNT" "$TB_VICTIM" -oN /dev/null > /dev/null
done
