#!/usr/bin/env bash
# A slow SYN scan: TB_COUNT ports with --scan-delay 300 ms (about three probes a second), the kind
# of scan a rate threshold misses and a walk over connection outcomes does not.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
tb_run "$TB_NS" nmap -n -Pn -sS --scan-delay 300ms --max-retries 0 -p "1-$TB_COUNT" "$TB_VICTIM" -oN /dev/null > /dev/null
