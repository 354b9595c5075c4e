#!/usr/bin/env bash
# MLflow serving compatibility, measured: `mlflow models serve` and `ml-ids serve` on loopback side
# by side with the same trees, every payload form sent to both, the answer shapes compared
# (status, top-level keys, length and element types of `predictions`). Prints a Markdown table
# (also written to bench/out/mlflow_compat.md); docs/mlflow-compat.md records a run.
#
# Bundles: the shipped multiclass models/default, and a binary cic2018 bundle trained here in a
# second from samples/demo.pcap's flows (benign, plus copies with many forward packets labelled as
# an attack), so that both answer kinds (label strings, 0/1) are compared. The MLflow side serves
# each bundle's trees as a LightGBM scikit-learn classifier, once without and once with a
# signature (MLflow parses `instances`/`inputs` differently with one).
# Usage: bench/mlflow_compat.sh   Env: MLIDS_BIN (default: debug build, built if missing).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(dirname "$HERE")"
BIN="${MLIDS_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/ml-ids}"
OUT="$HERE/out/mlflow_compat"; rm -rf "$OUT"; mkdir -p "$OUT"
MV="$HERE/.venv-mlflow"   # the serving benchmark's venv (bench/server.sh)
PY="$MV/bin/python"
[ -x "$BIN" ] || (cd "$ROOT" && cargo build -p ml-ids)
if [ ! -x "$MV/bin/mlflow" ]; then python3 -m venv "$MV" && "$MV/bin/pip" install -q mlflow lightgbm pandas >&2; fi
export OMP_WAIT_POLICY=PASSIVE

# The binary fixture bundle: real flows of the sample capture in cic2018 mode.
"$BIN" extract -q --mode cic2018 --names snake --label Benign "$ROOT/samples/demo.pcap" -o "$OUT/flows-cic2018.csv"
"$PY" - "$OUT/flows-cic2018.csv" "$OUT/train.csv" <<'PY'
import csv, random, sys
random.seed(7)
rows = list(csv.reader(open(sys.argv[1])))
head, body = rows[0], rows[1:1501]
fwd, label = head.index("tot_fwd_pkts"), head.index("label")
w = csv.writer(open(sys.argv[2], "w", newline=""))
w.writerow(head)
w.writerows(body)
for r in body:
    r = list(r); r[fwd] = str(random.randint(20, 60)); r[label] = "DoS attacks-Hulk"
    w.writerow(r)
PY
"$BIN" dataset import -q -o "$OUT/ds" "$OUT/train.csv"
"$BIN" dataset split "$OUT/ds" >/dev/null 2>&1
"$BIN" train --data "$OUT/ds" -o "$OUT/binary" --task binary >/dev/null 2>&1
"$BIN" extract -q --mode corrected --names snake "$ROOT/samples/demo.pcap" -o "$OUT/flows-corrected.csv"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_ping() {  # URL: MLflow's scoring server can take a while to import
  for _ in $(seq 1 180); do curl -fsS "$1/ping" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "no answer from $1" >&2; return 1
}
PORT=$((22000 + RANDOM % 5000))
ROWS="$OUT/rows.md"; : > "$ROWS"
# compare_bundle NAME BUNDLE FLOWS_CSV
compare_bundle() {
  local name="$1" bundle="$2" flows="$3" p0=$PORT p1=$((PORT + 1)) p2=$((PORT + 2))
  PORT=$((PORT + 3))
  "$PY" "$HERE/mlflow_compat.py" export "$bundle" "$OUT/$name-mlflow"
  "$PY" "$HERE/mlflow_compat.py" export "$bundle" "$OUT/$name-mlflow-sig" --signature
  "$BIN" serve --model "$bundle" --bind "127.0.0.1:$p0" 2>"$OUT/$name-mlids.log" &
  PIDS+=($!)
  PATH="$MV/bin:$PATH" "$MV/bin/mlflow" models serve -m "$OUT/$name-mlflow" --env-manager local -h 127.0.0.1 -p "$p1" >"$OUT/$name-mlflow.log" 2>&1 &
  PIDS+=($!)
  PATH="$MV/bin:$PATH" "$MV/bin/mlflow" models serve -m "$OUT/$name-mlflow-sig" --env-manager local -h 127.0.0.1 -p "$p2" >"$OUT/$name-mlflow-sig.log" 2>&1 &
  PIDS+=($!)
  wait_ping "http://127.0.0.1:$p0"; wait_ping "http://127.0.0.1:$p1"; wait_ping "http://127.0.0.1:$p2"
  "$PY" "$HERE/mlflow_compat.py" compare "$bundle" "$flows" "$name" "http://127.0.0.1:$p0" \
    "http://127.0.0.1:$p1" "http://127.0.0.1:$p2" | tee -a "$ROWS"
  cleanup; PIDS=()
  sleep 1
}
compare_bundle multiclass "$ROOT/models/default" "$OUT/flows-corrected.csv"
compare_bundle binary "$OUT/binary" "$OUT/flows-cic2018.csv"

{
  echo "| bundle | request | MLflow, no signature | MLflow, with signature | ml-ids | same shape | same predictions |"
  echo "|---|---|---|---|---|---|---|"
  cat "$ROWS"
  echo
  echo "MLflow $("$MV/bin/mlflow" --version | awk '{print $NF}') (\`mlflow models serve --env-manager local\`, LightGBM $("$PY" -c 'import lightgbm; print(lightgbm.__version__)') scikit-learn classifier with the bundle's trees) vs \`ml-ids serve\` $("$BIN" --version | awk '{print $NF}'); 5 flows of samples/demo.pcap per request; $(date -u +%Y-%m-%d)."
} | tee "$HERE/out/mlflow_compat.md"
