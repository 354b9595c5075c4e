#!/usr/bin/env bash
# Load-test `ml-ids serve` from a second process on loopback (wrk), bounded in time, and — when
# MLflow can be installed — MLflow serving a comparable LightGBM model in the same run:
#   single-flow requests at concurrency 1 and 16, 100- and 10k-flow JSON batches (req/s, p50/p99,
#   flows/s), server peak RSS, and pcap upload throughput (packets/s).
# Usage: bench/server.sh [MODEL_DIR] [CAPTURE]   (defaults: models/default, $MLIDS_CAPTURES/mixed.pcap)
# Env: DURATION (seconds per wrk run, default 10), MLIDS_BIN, SKIP_MLFLOW=1.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(dirname "$HERE")"
MODEL="${1:-$ROOT/models/default}"
CAPTURE="${2:-${MLIDS_CAPTURES:-/tmp/mlids-captures}/mixed.pcap}"
BIN="${MLIDS_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/ml-ids}"
D="${DURATION:-10}"
OUT="$HERE/out"; mkdir -p "$OUT"
PORT=$((21000 + RANDOM % 5000))
command -v wrk >/dev/null || apt-get install -y -qq wrk
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release -p ml-ids)

# Request bodies: the seed's pandas-split shape over the model's features.
python3 - "$MODEL" "$OUT" <<'PY'
import json, random, sys
model, out = sys.argv[1], sys.argv[2]
feats = json.load(open(f"{model}/manifest.json"))["features"]
random.seed(1)
def rows(n): return [[random.choice([0, 1, 6, 20, 80, 443, 1500, 12345.5, 1e6]) for _ in feats] for _ in range(n)]
for n in (1, 100, 10000):
    json.dump({"columns": feats, "data": rows(n)}, open(f"{out}/body_{n}.json", "w"))
    json.dump({"dataframe_split": {"columns": feats, "data": rows(n)}}, open(f"{out}/mlflow_body_{n}.json", "w"))
PY
cat > "$OUT/post.lua" <<'LUA'
local f = io.open(os.getenv("BODY"), "rb"); wrk.body = f:read("*a"); f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = os.getenv("CTYPE") or "application/json; format=pandas-split"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.3f %.3f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA

ROWS="$OUT/server_rows.tsv"; : > "$ROWS"
# load NAME URL BODYFILE FLOWS_PER_REQ CONCURRENCY
load() {
  local name="$1" url="$2" body="$3" n="$4" c="$5" res
  res=$(BODY="$body" wrk -t$(( c < 2 ? 1 : 2 )) -c"$c" -d"${D}s" --timeout 30s -s "$OUT/post.lua" "$url" | awk '/^RESULT/ {print $2, $3, $4, $5}')
  read -r rps p50 p99 errs <<<"$res"
  printf '%s\t%s\t%s\t%s\t%s\t%.0f\t%s\n' "$name" "$n" "$c" "$rps" "$p50/$p99" "$(echo "$rps * $n" | bc -l)" "$errs" >> "$ROWS"
  echo "$name batch=$n c=$c: $rps req/s, p50/p99 ${p50}/${p99} ms, errors $errs" >&2
}
peak_rss() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$1/status"; }

"$BIN" serve --model "$MODEL" --bind "127.0.0.1:$PORT" 2>"$OUT/serve.log" &
SPID=$!
trap 'kill $SPID 2>/dev/null || true; [ -n "${MPID:-}" ] && kill $MPID 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 1; done
URL="http://127.0.0.1:$PORT/api/predictions"
load "ml-ids" "$URL" "$OUT/body_1.json" 1 1
load "ml-ids" "$URL" "$OUT/body_1.json" 1 16
load "ml-ids" "$URL" "$OUT/body_100.json" 100 4
load "ml-ids" "$URL" "$OUT/body_10000.json" 10000 2
RSS=$(peak_rss $SPID)
UPLOAD=""
if [ -f "$CAPTURE" ]; then
  PK=$(capinfos -c -M "$CAPTURE" | awk -F': *' '/Number of packets/ {print $2}' | tr -d ' ')
  T0=$(date +%s.%N)
  curl -fsS --data-binary @"$CAPTURE" "http://127.0.0.1:$PORT/api/pcap?name=bench" -o /dev/null
  T1=$(date +%s.%N)
  UPLOAD=$(echo "$PK / ($T1 - $T0)" | bc -l)
  echo "pcap upload: $PK packets in $(echo "$T1 - $T0" | bc -l) s" >&2
fi
RSS_AFTER=$(peak_rss $SPID)
kill $SPID; wait $SPID 2>/dev/null || true

# MLflow serving a LightGBM model on the same features (if it installs).
MLFLOW_NOTE="MLflow not measured (SKIP_MLFLOW=1)"
if [ -z "${SKIP_MLFLOW:-}" ]; then
  MV="$HERE/.venv-mlflow"
  if [ ! -x "$MV/bin/mlflow" ]; then python3 -m venv "$MV" && "$MV/bin/pip" install -q mlflow lightgbm pandas >&2; fi
  if [ -x "$MV/bin/mlflow" ]; then
    "$MV/bin/python" - "$MODEL" "$OUT/mlflow_model" <<'PY'
import json, shutil, sys, lightgbm as lgb, mlflow.lightgbm
model, out = sys.argv[1], sys.argv[2]
shutil.rmtree(out, ignore_errors=True)
booster = lgb.Booster(model_file=f"{model}/model.txt")  # the very same trees
mlflow.lightgbm.save_model(booster, out)
PY
    MPORT=$((PORT + 1))
    PATH="$MV/bin:$PATH" "$MV/bin/mlflow" models serve -m "$OUT/mlflow_model" --env-manager local -p "$MPORT" -h 127.0.0.1 >"$OUT/mlflow.log" 2>&1 &
    MPID=$!
    for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$MPORT/ping" >/dev/null 2>&1 && break; sleep 1; done
    MURL="http://127.0.0.1:$MPORT/invocations"
    export CTYPE="application/json"
    load "MLflow (same LightGBM trees)" "$MURL" "$OUT/mlflow_body_1.json" 1 1
    load "MLflow (same LightGBM trees)" "$MURL" "$OUT/mlflow_body_1.json" 1 16
    load "MLflow (same LightGBM trees)" "$MURL" "$OUT/mlflow_body_100.json" 100 4
    load "MLflow (same LightGBM trees)" "$MURL" "$OUT/mlflow_body_10000.json" 10000 2
    unset CTYPE
    MLFLOW_NOTE="MLflow $("$MV/bin/mlflow" --version | awk '{print $NF}'), peak RSS $(ps -o rss= -p $MPID | awk '{print int($1/1024)}') MB (main process)"
    kill $MPID; wait $MPID 2>/dev/null || true
  else
    MLFLOW_NOTE="MLflow could not be installed"
  fi
fi

{
  echo "| server | flows/request | concurrency | req/s | p50/p99 ms | flows/s | errors |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' '{printf "| %s | %s | %s | %.0f | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7}' "$ROWS"
  echo
  echo "ml-ids serve peak RSS: ${RSS} MB under JSON load, ${RSS_AFTER} MB after the upload. ${UPLOAD:+pcap upload: $(printf '%.0f' "$UPLOAD") packets/s ($(basename "$CAPTURE")).} $MLFLOW_NOTE."
  echo "wrk from a second process on loopback, ${D} s per row; machine: $(nproc) cores; $(date -u +%Y-%m-%d)."
} | tee "$OUT/server.md"
