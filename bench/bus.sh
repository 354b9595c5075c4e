#!/usr/bin/env bash
# End-to-end benchmark of the NATS JetStream bus (issue 10), with its single-process peer measured
# side by side in the same run, on the same capture and model:
#   baseline  `ml-ids detect CAPTURE --model M --explain 0` (one process: read → flows → verdicts)
#   bus       `ml-ids sensor --replay CAPTURE --speed 0` → JetStream → 1, then 2 `ml-ids worker`s
#   paced     the first PACED_PACKETS packets of the capture replayed at PACED_SPEED x the recorded
#             pace to 1 worker: the added latency when the pool keeps up (at --speed 0 the latency
#             is mostly backlog, i.e. queueing; at the recorded pace the capture's bursts exceed
#             one worker on a loaded machine)
# Flows/s end to end = flows / (sensor start → the workers' flows_classified reaching the sensor's
# flows_published, polled from their /metrics every 50 ms). Latency = the workers' histogram
# mlids_worker_publish_to_stored_seconds (sensor seals a 256-flow batch → its verdicts and alerts
# are stored in MLIDS_ALERTS and the batch is acked), one observation per batch, quantiles
# interpolated within its power-of-two buckets (0.5 ms … 16.4 s) as Prometheus' histogram_quantile.
# Every process runs on this machine (nats-server, sensor, workers share the cores): see the
# machine line in the output before reading the 1 → 2 worker ratio.
#
# Usage: bench/bus.sh [CAPTURE] [MODEL_DIR]
#   CAPTURE default: $MLIDS_CAPTURES/mixed.pcap, /work/captures/mixed.pcap, else the first pcap in
#            ../shared/data/pcap. MODEL_DIR default: models/default, else the first of
#            /work/tb-runs/models/{cic-corrected,testbed-s1}. Its extractor mode is used by the sensor.
# Env: MLIDS_BIN, NODES (1, or 3 for a local 3-node cluster with R3 streams), WORKERS ("1 2"),
#      PACED (1: run the paced phase, default 1), PACED_PACKETS (50000), PACED_SPEED (0.1),
#      BATCH (sensor --batch, 256).
# Output: Markdown table on stdout and in bench/out/bus.md; raw logs in bench/out/bus/.
# Starts its own nats-server(s) on free loopback ports and stops them (and every process it
# started) at exit.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(dirname "$HERE")"
BIN="${MLIDS_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/ml-ids}"
NODES="${NODES:-1}"; WORKERS="${WORKERS:-1 2}"; PACED="${PACED:-1}"; BATCH="${BATCH:-256}"
PACED_PACKETS="${PACED_PACKETS:-50000}"; PACED_SPEED="${PACED_SPEED:-0.1}"
OUT="$HERE/out"; LOGS="$OUT/bus"; mkdir -p "$LOGS"

first_existing() { for f in "$@"; do [ -e "$f" ] && { echo "$f"; return 0; }; done; return 1; }
CAPTURE="${1:-$(first_existing "${MLIDS_CAPTURES:-/nonexistent}/mixed.pcap" /work/captures/mixed.pcap \
  "$(find "$ROOT/../shared/data/pcap" -maxdepth 1 -name '*.pcap' 2>/dev/null | sort | head -1)" || true)}"
MODEL="${2:-$(first_existing "$ROOT/models/default" /work/tb-runs/models/cic-corrected \
  /work/tb-runs/models/testbed-s1 || true)}"
[ -f "$CAPTURE" ] || { echo "no capture (give one as the first argument)" >&2; exit 1; }
[ -f "$MODEL/manifest.json" ] || { echo "no model bundle (give one as the second argument)" >&2; exit 1; }
command -v nats-server >/dev/null || { echo "nats-server is not installed (apt-get install nats-server)" >&2; exit 1; }
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release -p ml-ids)
MODE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["mode"])' "$MODEL/manifest.json")

# --- process bookkeeping: everything started here is stopped at exit -----------------------------
PIDS=()
WORK="$(mktemp -d /tmp/mlids-bus-bench.XXXXXX)"
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

# start_nats N → sets NATS_URL (comma-separated) and NATS_PIDS; fresh store every time.
start_nats() {
  local n="$1" i j; local -a cp rp
  NATS_PIDS=(); NATS_URL=""
  rm -rf "$WORK/nats"; mkdir -p "$WORK/nats"
  for ((i = 0; i < n; i++)); do cp[i]=$(free_port); rp[i]=$(free_port); done
  for ((i = 0; i < n; i++)); do
    local conf="$WORK/nats/n$i.conf"
    printf 'server_name: n%d\nlisten: 127.0.0.1:%d\njetstream {\n  store_dir: "%s"\n  max_memory_store: 256MB\n  max_file_store: 8GB\n}\n' \
      "$i" "${cp[i]}" "$WORK/nats/js$i" > "$conf"
    if ((n > 1)); then
      local routes=""
      for ((j = 0; j < n; j++)); do ((j != i)) && routes+="nats-route://127.0.0.1:${rp[j]}, "; done
      printf 'cluster {\n  name: mlids-bench\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n' "${rp[i]}" "${routes%, }" >> "$conf"
    fi
    nats-server -c "$conf" > "$LOGS/nats-n$i.log" 2>&1 &
    NATS_PIDS+=($!); PIDS+=($!)
    NATS_URL+="nats://127.0.0.1:${cp[i]},"
  done
  NATS_URL="${NATS_URL%,}"
  for ((i = 0; i < n; i++)); do
    for _ in $(seq 200); do (echo > "/dev/tcp/127.0.0.1/${cp[i]}") 2>/dev/null && break; sleep 0.05; done
  done
}
stop_pids() { for p in "$@"; do kill "$p" 2>/dev/null || true; done; for p in "$@"; do wait "$p" 2>/dev/null || true; done; }

# Sum of a metric over the workers' /metrics endpoints.
metric_sum() { # NAME PORTS...
  local name="$1"; shift; local total=0 v
  for port in "$@"; do
    v=$(curl -s "http://127.0.0.1:$port/metrics" | awk -v n="$name" '$1 == n {print $2}')
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
# p50/p99 (ms) of the summed latency histograms of the workers.
latency_quantiles() { # PORTS...
  for port in "$@"; do curl -s "http://127.0.0.1:$port/metrics"; done | python3 -c '
import re, sys, collections
b = collections.Counter()
for line in sys.stdin:
    m = re.match(r"mlids_worker_publish_to_stored_seconds_bucket\{le=\"([^\"]+)\"\} (\S+)", line)
    if m: b[float(m.group(1))] += float(m.group(2))
les = sorted(b); total = b[float("inf")] if les else 0
def q(p):
    if not total: return "-"
    rank, prev_le, prev_c = p * total, 0.0, 0.0
    for le in les:
        if b[le] >= rank:
            if le == float("inf"): return ">%.0f" % (prev_le * 1e3)
            return "%.1f" % (1e3 * (prev_le + (le - prev_le) * (rank - prev_c) / max(b[le] - prev_c, 1e-9)))
        prev_le, prev_c = le, b[le]
print(q(0.5), q(0.99), int(total))'
}

cpu() { nproc; }
echo "machine: $(cpu) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(nats-server --version)" >&2
echo "capture: $CAPTURE ($(capinfos -c -M "$CAPTURE" 2>/dev/null | awk -F': *' '/Number of packets/ {print $2}') packets); model: $MODEL ($MODE)" >&2

ROWS=()
# --- baseline: one process ------------------------------------------------------------------------
t0=$(now)
"$BIN" detect "$CAPTURE" --model "$MODEL" --explain 0 > "$LOGS/detect.out" 2> "$LOGS/detect.err"
t1=$(now)
BASE_FLOWS=$(awk -F': *' '/^flows classified:/ {print $2}' "$LOGS/detect.out")
BASE_ATTACKS=$(awk -F': *' '/^attacks:/ {print $2}' "$LOGS/detect.out")
BASE_S=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
BASE_RATE=$(python3 -c "print(round(${BASE_FLOWS:-0} / ($t1 - $t0)))")
echo "detect: ${BASE_FLOWS} flows in ${BASE_S} s = ${BASE_RATE} flows/s; attacks ${BASE_ATTACKS}" >&2
ROWS+=("| single process: \`ml-ids detect --explain 0\` | – | ${BASE_FLOWS} | ${BASE_S} | **${BASE_RATE}** | 1.00 | – | – |")

# --- bus runs -------------------------------------------------------------------------------------
# bus_run LABEL WORKERS SPEED [CAPTURE]
bus_run() {
  local label="$1" nw="$2" speed="$3" cap="${4:-$CAPTURE}" i
  start_nats "$NODES"
  local -a wpids=() ports=()
  for ((i = 1; i <= nw; i++)); do
    local port; port=$(free_port); ports+=("$port")
    "$BIN" worker --nats "$NATS_URL" --replicas "$NODES" --model "$MODEL" --worker-id "w$i" \
      --metrics "127.0.0.1:$port" --stats-interval 0 --json > "$LOGS/worker$i.json" 2> "$LOGS/worker$i.err" &
    wpids+=($!); PIDS+=($!)
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 400); do curl -sf "http://127.0.0.1:$port/metrics" > /dev/null && break; sleep 0.05; done
  done
  sleep 1 # the consumer exists once every worker has started pulling
  local t0 t_pub t_end flows done_n
  t0=$(now)
  "$BIN" sensor --replay "$cap" --speed "$speed" --mode "$MODE" --nats "$NATS_URL" --replicas "$NODES" \
    --sensor-id bench --batch "$BATCH" --stats-interval 0 --json > "$LOGS/sensor.json" 2> "$LOGS/sensor.err"
  t_pub=$(now)
  read -r flows bpf < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["flows_published"], round(r["bytes_published"]/max(r["flows_published"],1),1))' "$LOGS/sensor.json")
  while :; do
    done_n=$(metric_sum mlids_worker_flows_classified_total "${ports[@]}")
    ((done_n >= flows)) && break
    sleep 0.05
  done
  t_end=$(now)
  read -r p50 p99 nbatches < <(latency_quantiles "${ports[@]}")
  local redeliv; redeliv=$(metric_sum mlids_worker_redeliveries_total "${ports[@]}")
  stop_pids "${wpids[@]}"
  stop_pids "${NATS_PIDS[@]}"
  local secs rate pub_rate ratio
  secs=$(python3 -c "print(f'{$t_end - $t0:.2f}')")
  rate=$(python3 -c "print(round($flows / ($t_end - $t0)))")
  pub_rate=$(python3 -c "print(round($flows / ($t_pub - $t0)))")
  ratio=$(python3 -c "print(f'{$rate / max($BASE_RATE, 1):.2f}')")
  [ "$speed" = 0 ] || ratio="– (paced)"
  echo "$label: $flows flows in $secs s = $rate flows/s (sensor published at $pub_rate flows/s, $bpf bytes/flow on the wire); latency p50 ${p50} ms p99 ${p99} ms over $nbatches batches; $redeliv redeliveries" >&2
  [ "$speed" != 0 ] || [ "$flows" = "${BASE_FLOWS:-}" ] || echo "note: the bus carried $flows flows, detect counted ${BASE_FLOWS:-?}" >&2
  ROWS+=("| $label | $nw | $flows | $secs | **$rate** | $ratio | $p50 | $p99 |")
}

for w in $WORKERS; do
  bus_run "bus, R$NODES: sensor --speed 0 → $w worker(s)" "$w" 0
done
if [ "$PACED" = 1 ]; then
  editcap -r "$CAPTURE" "$WORK/paced.pcap" "1-$PACED_PACKETS" 2>/dev/null || cp "$CAPTURE" "$WORK/paced.pcap"
  bus_run "bus, R$NODES, paced: first $PACED_PACKETS packets at --speed $PACED_SPEED → 1 worker" 1 "$PACED_SPEED" "$WORK/paced.pcap"
fi

{
  echo "Capture \`$(basename "$CAPTURE")\`, model \`$(basename "$MODEL")\` ($MODE), $(cpu) cores shared by every process, $(nats-server --version), $(date -u +%Y-%m-%d)."
  echo
  echo "| run | workers | flows | seconds | flows/s end to end | vs single process | publish→stored p50 ms | p99 ms |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$OUT/bus.md"
