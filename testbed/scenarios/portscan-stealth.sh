#!/usr/bin/env bash
# The nmap scan types without a full handshake, over the first TB_COUNT TCP ports: FIN (-sF), Xmas
# (-sX), NULL (-sN) and ACK (-sA), chosen by the scenario name (portscan-fin, -xmas, -null, -ack),
# repeated while the budget lasts. Closed ports answer RST; open ones stay silent (ACK: every port
# answers RST).
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
case "$TB_SCENARIO" in
  portscan-fin) flag=-sF ;;
  portscan-xmas) flag=-sX ;;
  portscan-null) flag=-sN ;;
  portscan-ack) flag=-sA ;;
  *) echo "portscan-stealth.sh: unknown scenario $TB_SCENARIO" >&2; exit 2 ;;
esac
for ((i = 0; i < 4 && $(tb_left) > 2; i++)); do
  tb_run "$TB_NS" nmap -n -Pn "$flag" -T4 --max-retries 1 -p "1-$TB_COUNT" "$TB_VICTIM" -oN /dev/null > /dev/null
done
