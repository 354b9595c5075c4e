#!/usr/bin/env bash
# GBDT benchmark: mlids-model vs Python LightGBM, XGBoost, CatBoost (training time, test AUC, batch
# inference), then 5-fold cross-validation on the real improved CIC rows in ../shared/data.
#
#   bench/gbdt.sh                          # 1M × 70, 50 trees, 2 threads (several minutes)
#   ROWS=200000 TEST_ROWS=50000 bench/gbdt.sh
#   SKIP_SPEED=1 bench/gbdt.sh             # only the cross-validation
#
# Env: see bench/gbdt.py; VENV (default bench/out/venv), CARGO_TARGET_DIR (default /work/target-model).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-model}
export OMP_WAIT_POLICY=PASSIVE
VENV=${VENV:-bench/out/venv}
OUT=${OUT:-bench/out/gbdt}
mkdir -p "$OUT"
cargo build --release -q -p mlids-train --example bench_gbdt --example cv
if [ -z "${SKIP_SPEED:-}" ]; then
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q numpy lightgbm xgboost catboost
  fi
  BENCH_BIN="$CARGO_TARGET_DIR/release/examples/bench_gbdt" OUT="$OUT" "$VENV/bin/python" bench/gbdt.py
fi
DATA=${DATA:-../shared/data}
if [ -d "$DATA" ]; then
  "$CARGO_TARGET_DIR/release/examples/cv" "$DATA/cic-ids2017/improved_rnd_2500" "$DATA/cic-ids2018/improved" | tee "$OUT/cv.md"
else
  echo "SKIPPED cross-validation: $DATA is absent" >&2
fi
