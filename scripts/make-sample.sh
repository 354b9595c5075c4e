#!/usr/bin/env bash
# Regenerate samples/demo.pcap: a short testbed run (root; packages of testbed/install.sh) with a
# few benign users and a handful of attacks, captured on the testbed bridge. It uses seed 2, so the
# default model (trained on seed 1, scripts/train-default-model.sh) has never seen these packets.
#   sudo scripts/make-sample.sh            # ~2 minutes
# Env: MLIDS_BIN (default: builds target/release/ml-ids), WORK (scratch folder).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${MLIDS_CACHE:-$HOME/.cache/ml-ids}/target}"
if [ -z "${MLIDS_BIN:-}" ]; then
  cargo build --release -q -p ml-ids
  MLIDS_BIN="$CARGO_TARGET_DIR/release/ml-ids"
fi
WORK="${WORK:-$(mktemp -d /tmp/mlids-sample.XXXXXX)}"
"$MLIDS_BIN" testbed run --force --seed 2 --scale small --mode corrected \
  --scenarios benign-browse,benign-dns,portscan-syn,ssh-bruteforce,slowloris,xss \
  -o "$WORK/run"
cp "$WORK/run/capture.pcap" samples/demo.pcap
echo "samples/demo.pcap: $(stat -c %s samples/demo.pcap) bytes"
