#!/usr/bin/env bash
# The testbed network: one namespace per host, joined by a Linux bridge that lives in a namespace of
# its own. Nothing is created in the root namespace, the host's interfaces and routes are never
# touched, and no namespace has a default route: traffic cannot leave.
#
#   net.sh up   RUN HOST=IP [HOST=IP ...]   create mlt-RUN-sw (bridge br0) and mlt-RUN-HOST per host
#   net.sh down RUN                         kill every process inside mlt-RUN-* and delete them
#
# Host names are short words ([a-z0-9]); each host gets eth0 with IP/24, the switch port is p<last octet>.
#
# TB_DELAY_MS, TB_JITTER_MS, TB_LOSS_PCT (and TB_LOSS_SEED), for the host named `vic`: its port
# stays out of the bridge and delay.py carries its frames to the bridge through a second veth pair
# (q<octet>a in br0, q<octet>b), holding the host's outgoing frames that long and losing that share
# of them — the victim answers from further away, over a lossy path, as netem on its link would
# (this kernel has no sch_netem). The capture on br0 sees the delayed replies.
set -euo pipefail

cmd=${1:?usage: net.sh up|down RUN [HOST=IP ...]}
run=${2:?run id}
shift 2
prefix="mlt-$run"
sw="$prefix-sw"

no_ipv6() {  # keep the capture to the scenario's own traffic (no router solicitations or MLD)
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

up() {
  ip netns add "$sw"
  no_ipv6 "$sw"
  ip -n "$sw" link set lo up
  ip -n "$sw" link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
  ip -n "$sw" link set br0 up
  for spec in "$@"; do
    local host=${spec%%=*} addr=${spec#*=}
    local ns="$prefix-$host" port="p${addr##*.}"
    ip netns add "$ns"
    no_ipv6 "$ns"
    ip link add "$port" netns "$sw" type veth peer name eth0 netns "$ns"
    if [ "$host" = vic ] && shaped; then
      delayed_link "$port" "q${addr##*.}"
    else
      ip -n "$sw" link set "$port" master br0 up
    fi
    ip -n "$ns" link set lo up
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set eth0 up
    # No segmentation offloads: the capture must hold wire-sized packets, not 64 KiB super-frames.
    ip netns exec "$ns" ethtool -K eth0 tso off gso off gro off 2>/dev/null || true
    ip netns exec "$sw" ethtool -K "$port" tso off gso off gro off 2>/dev/null || true
    # Frames that cross delay.py's packet sockets lose the kernel's "checksum still to do" mark,
    # so with a delayed link every host computes its checksums itself.
    if shaped; then ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null; fi
  done
}

# shaped: whether the victim's link goes through delay.py.
shaped() {
  [ "${TB_DELAY_MS:-0}" != 0 ] || [ "${TB_JITTER_MS:-0}" != 0 ] || [ "${TB_LOSS_PCT:-0}" != 0 ]
}

# delayed_link PORT Q: PORT (facing the victim) <-> delay.py <-> Qb <-> Qa in br0.
delayed_link() {
  local port=$1 q=$2
  ip -n "$sw" link add "${q}a" type veth peer name "${q}b"
  ip -n "$sw" link set "${q}a" master br0 up
  for dev in "$port" "${q}b"; do
    ip -n "$sw" link set "$dev" up promisc on
    ip netns exec "$sw" ethtool -K "$dev" tso off gso off gro off tx off >/dev/null
  done
  ip netns exec "$sw" ethtool -K "${q}a" tso off gso off gro off >/dev/null
  # Inside the switch namespace, so `net.sh down` ends it with everything else there.
  ip netns exec "$sw" setsid python3 "$(dirname "$0")/delay.py" "$port" "${q}b" \
    "${TB_DELAY_MS:-0}" "${TB_JITTER_MS:-0}" "${TB_LOSS_PCT:-0}" "${TB_LOSS_SEED:-1}" \
    > "${TB_DELAY_LOG:-/dev/null}" 2>&1 < /dev/null &
  echo "vic's link: +${TB_DELAY_MS:-0} ms (jitter ${TB_JITTER_MS:-0} ms, loss ${TB_LOSS_PCT:-0}%) through delay.py"
}

down() {
  local nss
  nss=$(ip netns list | awk '{print $1}' | grep -E "^$prefix-" || true)
  for sig in TERM KILL; do
    for ns in $nss; do
      ip netns pids "$ns" 2>/dev/null | xargs -r kill -s "$sig" 2>/dev/null || true
    done
    [ "$sig" = TERM ] && sleep 0.5
  done
  for ns in $nss; do ip netns del "$ns" 2>/dev/null || true; done
}

case "$cmd" in
  up) up "$@" ;;
  down) down ;;
  *) echo "net.sh: unknown command $cmd" >&2; exit 2 ;;
esac
