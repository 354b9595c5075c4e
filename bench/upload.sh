#!/usr/bin/env bash
# Upload time against `ml-ids detect` on the same capture, side by side in one run: the median of
# RUNS runs of each, on loopback. The upload answer includes the incidents and the first flows;
# `detect` writes its flows with verdicts to a file. Prints a Markdown table (docs/server-limits.md).
#   bench/upload.sh [CAPTURE]      # default samples/demo.pcap
# Env: MLIDS_BIN (default: release build), RUNS (default 7).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${MLIDS_CACHE:-$HOME/.cache/ml-ids}/target}"
export OMP_WAIT_POLICY=PASSIVE
if [ -z "${MLIDS_BIN:-}" ]; then
  cargo build --release -q -p ml-ids
  MLIDS_BIN="$CARGO_TARGET_DIR/release/ml-ids"
fi
CAP="${1:-samples/demo.pcap}"
RUNS="${RUNS:-7}"
PORT=$((20000 + RANDOM % 20000))
OUT="$(mktemp -d /tmp/mlids-upload.XXXXXX)"
"$MLIDS_BIN" serve --model models/default --bind "127.0.0.1:$PORT" 2>"$OUT/serve.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$OUT"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for _ in $(seq 1 "$RUNS"); do
  s=$(date +%s.%N); "$MLIDS_BIN" detect --model models/default "$CAP" -q -o "$OUT/flows.csv" >/dev/null; e=$(date +%s.%N)
  echo "$e - $s" | bc
done | median > "$OUT/detect"
for _ in $(seq 1 "$RUNS"); do
  curl -fsS -o "$OUT/answer.json" -w '%{time_total}\n' -H 'Content-Type: application/vnd.tcpdump.pcap' \
    --data-binary @"$CAP" "http://127.0.0.1:$PORT/api/pcap?name=bench"
done | median > "$OUT/upload"
d=$(cat "$OUT/detect"); u=$(cat "$OUT/upload")
python3 - "$CAP" "$d" "$u" "$OUT/answer.json" <<'PY'
import json, sys
cap, d, u, answer = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), json.load(open(sys.argv[4]))
print(f"| capture | flows | incidents | `ml-ids detect` (s) | upload to `serve` (s) | upload / detect |")
print("|---|---:|---:|---:|---:|---:|")
print(f"| {cap} | {answer['summary']['flows']} | {len(answer['incidents'])} | {d:.3f} | {u:.3f} | {u / d:.2f}× |")
PY
