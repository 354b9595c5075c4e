#!/usr/bin/env bash
# Benign time queries (sntp): a host asking the victim's NTP server for the time every few
# seconds (a real client polls every 64-1024 s; a run is minutes, so faster) — one request and one
# answer per query, the kind of short UDP exchange that must not look like a probe.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
while [ "$(tb_left)" -gt 3 ]; do
  tb_run "$TB_NS" sntp -t 2 "$TB_VICTIM" > /dev/null
  tb_pause 2000 8000
done
