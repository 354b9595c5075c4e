#!/usr/bin/env bash
# A 10-minute soak of `ml-ids serve` under mixed load (3 prediction clients, a capture upload every
# 2 s, one endless capture stream, 3 WebSocket readers): RSS sampled every 10 s, every error
# counted; exits non-zero on any error. Results: docs/server-limits.md.
#   bench/soak.sh                 # DURATION=600 by default
# Env: DURATION (seconds), MLIDS_BIN (default: release build), MLIDS_SHARED_DATA, OUT (JSON file).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${MLIDS_CACHE:-$HOME/.cache/ml-ids}/target}"
export OMP_WAIT_POLICY=PASSIVE
if [ -z "${MLIDS_BIN:-}" ]; then
  cargo build --release -q -p ml-ids
  MLIDS_BIN="$CARGO_TARGET_DIR/release/ml-ids"
fi
V="bench/.venv-soak"
[ -x "$V/bin/python" ] || { python3 -m venv "$V" && "$V/bin/pip" install -q websockets; }
"$V/bin/python" bench/soak.py "$MLIDS_BIN" "${MLIDS_SHARED_DATA:-../shared/data}" \
  --duration "${DURATION:-600}" --json "${OUT:-/tmp/mlids-soak.json}"
