#!/usr/bin/env bash
# Spoofed SYN flood (hping3 --rand-source): TB_PACKETS SYNs to the web port, each from a random forged
# address. The victim has no route to them, so its SYN-ACKs go nowhere: every flow is one SYN, one
# way, from a sender seen once — what a sensor in front of a server under a botnet flood sees. The
# run attributes these flows by victim and time (crates/testbed/src/routing.rs).
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
tb_run "$TB_NS" hping3 --syn --rand-source --quiet -p 80 -w 64 -c "$TB_PACKETS" -i "u$(tb_interval_us "$TB_PACKETS")" "$TB_VICTIM"
