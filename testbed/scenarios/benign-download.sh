#!/usr/bin/env bash
# Benign downloads (wget): files of 0.5-5 MB fetched at varied rate limits, with pauses.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
files=(catalog.pdf manual.zip video.bin catalog.pdf)
rates=(100k 250k 500k 1m 2m)
while [ "$(tb_left)" -gt 2 ]; do
  tb_run "$TB_NS" wget -q -O /dev/null -T 10 --limit-rate="${rates[RANDOM % ${#rates[@]}]}" \
    "http://$TB_VICTIM/files/${files[RANDOM % ${#files[@]}]}"
  tb_pause 1000 6000
done
