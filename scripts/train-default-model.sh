#!/usr/bin/env bash
# Retrain models/default, the bundle `./run demo`, `ml-ids serve` and `ml-ids watch` use by
# default, from the data this project can reach:
#   1. a small-scale testbed run (seed 1, corrected mode): real attack tools against real services
#      in network namespaces (needs root and testbed/install.sh; ~4 minutes);
#   2. the real CIC rows of the 2022 improved releases in ../shared/data (CSE-CIC-IDS2018 5k
#      stratified sample, CIC-IDS2017 per-class sample), which use the same corrected semantics;
#   3. benign traffic from many networks: every capture of pcap/benign and the nDPI corpus minus
#      its attack captures, extracted in corrected mode and labelled Benign.
# Then dataset import → 80/10/10 stratified split → multiclass GBDT on the flow model's scope
# (answered conversations; the host-behaviour stage judges the rest) without the columns that
# differ between ml-ids and the improved CICFlowMeter (scripts/model-config.sh) → evaluation.
# Its quality on sources it never saw: bench/transfer.sh (docs/models.md).
#   sudo scripts/train-default-model.sh
# Env: MLIDS_BIN (default: builds target/release/ml-ids), SHARED (default ../shared/data),
#      WORK (scratch folder), TESTBED_RUN (reuse an existing `testbed run` folder instead).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/model-config.sh   # the model's configuration, OMP_WAIT_POLICY and $MLIDS_BIN
SHARED="${SHARED:-../shared/data}"
WORK="${WORK:-$(mktemp -d /tmp/mlids-default.XXXXXX)}"
for d in "$SHARED/cic-ids2018/improved" "$SHARED/cic-ids2017/improved_rnd_2500"; do
  [ -d "$d" ] || { echo "missing $d (set SHARED to the folder holding cic-ids2018/ and cic-ids2017/)" >&2; exit 1; }
done
RUN="${TESTBED_RUN:-$WORK/testbed}"
if [ -z "${TESTBED_RUN:-}" ]; then
  "$MLIDS_BIN" testbed run --force --seed 1 --scale small --mode corrected -o "$RUN"
fi
extract_benign "$MLIDS_BIN" "$SHARED" "$WORK/benign"
"$MLIDS_BIN" dataset import "$RUN/flows.csv" "$SHARED/cic-ids2018/improved" \
  "$SHARED/cic-ids2017/improved_rnd_2500" "$WORK"/benign/*.csv -o "$WORK/data"
"$MLIDS_BIN" dataset split "$WORK/data" --seed 42
rm -rf models/default.new
"$MLIDS_BIN" train --data "$WORK/data" "${MODEL_TRAIN_ARGS[@]}" -o models/default.new
rm -rf models/default && mv models/default.new models/default
"$MLIDS_BIN" dataset stats "$WORK/data" > models/default/dataset.txt
echo "models/default retrained; metrics in models/default/eval-test.md"
