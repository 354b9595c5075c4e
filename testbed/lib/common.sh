# Sourced by every scenario script. The orchestrator (ml-ids testbed run) sets:
#   TB_SCENARIO   scenario name             TB_SEED     seed (scripts seed $RANDOM and the tools with it)
#   TB_SECONDS    time budget (hard limit)  TB_PACKETS  packet budget for floods
#   TB_COUNT      size budget (attempts, requests, users; the scale sets it)
#   TB_NS, TB_IP  this scenario's host (attacker, or benign client) namespace and address
#   TB_BOTS       extra attacker namespaces (DDoS bots, the infected host of `bot`), space-separated
#   TB_VICTIM     the victim's address      TB_USER/TB_PASS  the account the brute forces look for
#   TB_STATE      scratch directory         TB_EVENTS   file where each tool command line is recorded
# shellcheck shell=bash
set -uo pipefail

RANDOM=$TB_SEED
TB_END=$(( $(date +%s) + TB_SECONDS ))

# Seconds left in the budget.
tb_left() { echo $(( TB_END - $(date +%s) )); }

# tb_run NS CMD...: run one tool invocation inside namespace NS, recording its command line, bounded by
# what is left of the time budget (SIGINT first, SIGKILL 3 s later). A time-out is a normal end.
tb_run() {
  local ns=$1; shift
  local left
  left=$(tb_left)
  [ "$left" -ge 1 ] || return 0
  printf 'cmd\t%s\t%s\t%s\n' "$(basename "$1")" "$ns" "$(printf '%q ' "$@")" >> "$TB_EVENTS"
  local rc=0
  timeout -k 3 -s INT "$left" ip netns exec "$ns" "$@" || rc=$?
  case $rc in 0|124|130) return 0 ;; *) return "$rc" ;; esac
}

# tb_bg NS CMD...: the same, in the background (wait for it with `wait`).
tb_bg() { tb_run "$@" & }

# tb_rand N: a number in [0, N).
tb_rand() { echo $(( RANDOM % $1 )); }

# tb_pause MIN_MS MAX_MS: think time, cut short by the end of the budget.
tb_pause() {
  local ms=$(( $1 + RANDOM % ($2 - $1 + 1) ))
  [ "$(tb_left)" -gt 0 ] && sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  return 0
}

# tb_wordlist FILE N: N password candidates, the real one placed (by seed) in the last quarter, as a
# dictionary attack that succeeds late would find it.
tb_wordlist() {
  local file=$1 n=$2 i
  local candidates=(password 123456 qwerty letmein admin welcome monkey dragon master login princess
               football shadow sunshine trustno1 iloveyou baseball superman michael abc123)
  local hit=$(( n * 3 / 4 + RANDOM % (n / 4 + 1) ))
  : > "$file"
  for ((i = 0; i < n; i++)); do
    if [ "$i" -eq "$hit" ]; then echo "$TB_PASS"; else echo "${candidates[RANDOM % ${#candidates[@]}]}$((RANDOM % 1000))"; fi
  done >> "$file"
}

# tb_interval_us PACKETS: microseconds between packets so that PACKETS fit in 80% of the budget.
tb_interval_us() {
  local us=$(( TB_SECONDS * 800000 / $1 ))
  [ "$us" -ge 10 ] || us=10
  echo "$us"
}
