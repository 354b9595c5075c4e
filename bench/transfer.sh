#!/usr/bin/env bash
# Detection quality where it matters: on data from a source the model did not train on.
#
#   bench/transfer.sh                     # runs a small testbed first (root, ~5 min)
#   TESTBED_RUN=/path/to/run bench/transfer.sh
#
# 1. Cross-domain pairs (binary GBDT, the shipped feature set): CIC→testbed and back,
#    CIC-2017→CIC-2018 and back, CIC-2018 by capture day; with and without the benign captures.
# 2. Leave-one-source-out over the real benign captures: the shipped configuration trained without
#    one source (pcap/benign, or one of NDPI_FOLDS folds of the nDPI corpus), then that source's
#    captures scored through the whole pipeline (`ml-ids detect`, host-behaviour stage included).
# 3. The attack captures and their RTT-shifted replays, scored by the model trained on everything
#    (no attack capture is in any training set).
# 4. The whole pipeline on the testbed's capture with the shipped configuration trained without
#    the testbed (CIC rows and the real benign captures only): what a user gets on a network the
#    model never saw (`ml-ids testbed eval`, per scenario); and the other way, the shipped
#    configuration trained on the testbed alone, on the real benign and attack captures.
# 5. The whole pipeline on testbed runs of another seed with the victim's link delayed
#    (VICTIM_LINKS: DELAY_MS[/JITTER_MS[/LOSS_PCT]] each, default "0 5 20 80 20/10 20/0/0.5";
#    DELAY_SEED, default 5), scored by the model trained without the
#    testbed and by the one trained on every source.
# Prints Markdown; writes WORK/transfer.md and WORK/*.json. Env: MLIDS_BIN, MLIDS_SHARED_DATA, WORK.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/model-config.sh   # the model's configuration, OMP_WAIT_POLICY and $MLIDS_BIN
BIN="$MLIDS_BIN"
SHARED="${MLIDS_SHARED_DATA:-../shared/data}"
WORK="${WORK:-$(mktemp -d /tmp/mlids-transfer.XXXXXX)}"
RUN="${TESTBED_RUN:-$WORK/testbed}"
say() { printf '==> %s\n' "$*" >&2; }
[ -f "$RUN/flows.csv" ] || "$BIN" testbed run --force --seed 1 --scale small --mode corrected -o "$RUN"

say "datasets, one per source ($WORK/ds)"
[ -f "$WORK/benign/shared.csv" ] || extract_benign "$BIN" "$SHARED" "$WORK/benign"
import_dataset cic2018 "$SHARED/cic-ids2018/improved"
import_dataset cic2017 "$SHARED/cic-ids2017/improved_rnd_2500"
import_dataset cic "$SHARED/cic-ids2018/improved" "$SHARED/cic-ids2017/improved_rnd_2500"
import_dataset testbed "$RUN/flows.csv"
import_dataset benign "$WORK"/benign/*.csv
import_dataset cic+benign "$SHARED/cic-ids2018/improved" "$SHARED/cic-ids2017/improved_rnd_2500" "$WORK"/benign/*.csv
import_dataset testbed+benign "$RUN/flows.csv" "$WORK"/benign/*.csv
# By capture day: whole days in train, val and test (`dataset split --by day`). CIC ran one attack
# family per day, so the test day's attacks are families the model never saw.
for year in 2018 2017; do
  [ -f "$WORK/ds/cic$year-days/test.parquet" ] && continue
  dir="$SHARED/cic-ids2018/improved"
  [ "$year" = 2017 ] && dir="$SHARED/cic-ids2017/improved_rnd_2500"
  "$BIN" dataset import -q "$dir" -o "$WORK/ds/cic$year-days"
  "$BIN" dataset split -q "$WORK/ds/cic$year-days" --by day --seed 42 >/dev/null || echo "cic$year-days: no day split possible" >&2
done

binary() {  # TRAIN_DS OUT [EXCLUDE]
  "$BIN" train -q --data "$WORK/ds/$1" --task binary --model gbdt --seed 42 --exclude "${3:-$MODEL_EXCLUDE}" -o "$WORK/models/$2" --force
}
# Besides recall over rows (which the largest attack of the evaluated source decides: a testbed
# run's HTTP floods are three quarters of its attack rows), the mean of the per-label recalls and
# the ROC-AUC (threshold-free), so one family's luck does not read as transfer.
evaluate() {  # MODEL DATA_PARQUET → one JSON line with recall and benign FPR
  "$BIN" evaluate --model "$WORK/models/$1" --data "$2" --json -o "$WORK/eval/$1-$(basename "$(dirname "$2")")" 2>/dev/null |
    python3 -c '
import json, sys
e = json.load(sys.stdin)
r = {k: e["binary"][k] for k in ("rows", "attacks", "recall", "benign_fpr", "precision", "f1", "roc_auc")}
per_label = [1 - l["miss_rate"] for l in e["by_original_label"] if l["is_attack"]]
r["label_recall"] = sum(per_label) / len(per_label) if per_label else None
print(json.dumps(r))'
}
mkdir -p "$WORK/eval"
{
  echo "## Cross-domain pairs (binary GBDT, trained on the flow model's scope, shipped feature set)"
  echo
  echo "| trained on | evaluated on | rows in scope | attacks | recall | benign FPR | precision | mean recall per label | ROC-AUC |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
} > "$WORK/transfer.md"
row() {  # TRAINED_ON EVALUATED_ON JSON → a table row
  python3 -c '
import json, sys
r = json.loads(sys.argv[3])
opt = lambda v: "–" if v is None else "%.3f" % v
print("| %s | %s | %d | %d | %.3f | %.3f | %.3f | %s | %s |" % (sys.argv[1], sys.argv[2], r["rows"], r["attacks"],
      r["recall"], r["benign_fpr"], r["precision"], opt(r["label_recall"]), opt(r.get("roc_auc"))))' "$@" >> "$WORK/transfer.md"
}
pair() {  # TRAIN EVAL [VARIANT EXCLUDE]: VARIANT names a feature set other than the shipped one
  local m="bin-$1${3:+-$3}"
  [ -f "$WORK/models/$m/manifest.json" ] || binary "$1" "$m" "${4:-}" >&2
  local r; r=$(evaluate "$m" "$WORK/ds/$2/data.parquet")
  row "$1${3:+ ($3)}" "$2" "$r"
}
say "cross-domain pairs"
pair cic testbed
pair testbed cic
pair cic+benign testbed
pair testbed+benign cic
pair cic2017 cic2018
pair cic2018 cic2017
pair cic benign
pair testbed benign
for year in 2018 2017; do
  [ -f "$WORK/ds/cic$year-days/test.parquet" ] || continue
  binary "cic$year-days" "bin-cic$year-days" >&2
  r=$(evaluate "bin-cic$year-days" "$WORK/ds/cic$year-days/test.parquet")
  row "cic$year (train days)" "cic$year (test day)" "$r"
done

say "cross-domain pairs, host-invariant feature set (scripts/model-config.sh)"
{
  echo
  echo "Host-invariant candidate (no timings, rates or TCP-stack fingerprint; fixed before measuring):"
  echo
  echo "| trained on | evaluated on | rows in scope | attacks | recall | benign FPR | precision | mean recall per label | ROC-AUC |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
} >> "$WORK/transfer.md"
for p in "cic testbed" "testbed cic" "cic2017 cic2018" "cic2018 cic2017" "cic benign" "testbed benign"; do
  # shellcheck disable=SC2086
  pair $p host-invariant "$HOST_INVARIANT_EXCLUDE"
done

say "leave-one-source-out over the benign captures"
loso() {  # HELD_OUT(shared|ndpi-K) EVAL_ARGS...
  local held="$1"; shift
  local csvs=()
  if [ ! -f "$WORK/ds/loso-$held/train.parquet" ]; then
  for f in "$WORK"/benign/*.csv; do [ "$(basename "$f" .csv)" = "$held" ] || csvs+=("$f"); done
  "$BIN" dataset import -q "$RUN/flows.csv" "$SHARED/cic-ids2018/improved" "$SHARED/cic-ids2017/improved_rnd_2500" "${csvs[@]}" -o "$WORK/ds/loso-$held"
  "$BIN" dataset split -q "$WORK/ds/loso-$held" --seed 42 >/dev/null
  fi
  # Models depend on the data and the configuration only: a rerun (say, after a change to the
  # host-behaviour stage) scores again with the models it has.
  [ -f "$WORK/models/loso-$held/manifest.json" ] ||
    "$BIN" train -q --data "$WORK/ds/loso-$held" "${MODEL_TRAIN_ARGS[@]}" -o "$WORK/models/loso-$held" --force >&2
  python3 scripts/eval_captures.py --bin "$BIN" --model "$WORK/models/loso-$held" --json "$WORK/loso-$held.json" "$@" > "$WORK/loso-$held.md"
}
loso shared --sets benign
for ((k = 0; k < NDPI_FOLDS; k++)); do loso "ndpi-$k" --sets ndpi --ndpi-fold "$k/$NDPI_FOLDS"; done
python3 - "$WORK" "$NDPI_FOLDS" >> "$WORK/transfer.md" <<'PY'
import json, sys
work, n = sys.argv[1], int(sys.argv[2])
print("\n## Leave-one-source-out: benign captures scored by a model that never saw their source\n")
print("| held-out source | captures | flows | flagged | flagged % | captures with alerts | with > 1 incident |")
print("|---|---:|---:|---:|---:|---:|---:|")
tot = [0, 0, 0, 0, 0]
for held, key in [("shared", "benign")] + [(f"ndpi-{k}", "ndpi") for k in range(n)]:
    rows = json.load(open(f"{work}/loso-{held}.json"))[key]
    f = sum(r.get("flows", 0) for r in rows); a = sum(r.get("flagged", 0) for r in rows)
    raised = sum(1 for r in rows if r.get("flagged", 0)); multi = sum(1 for r in rows if r.get("incidents", 0) > 1)
    tot = [tot[0] + len(rows), tot[1] + f, tot[2] + a, tot[3] + raised, tot[4] + multi]
    print(f"| {held} | {len(rows)} | {f} | {a} | {100*a/max(f,1):.2f} | {raised} | {multi} |")
print(f"| **all** | {tot[0]} | {tot[1]} | {tot[2]} | {100*tot[2]/max(tot[1],1):.2f} | {tot[3]} | {tot[4]} |")
PY

say "attack captures and RTT-shifted replays (model trained on every source)"
import_dataset all "$RUN/flows.csv" "$SHARED/cic-ids2018/improved" "$SHARED/cic-ids2017/improved_rnd_2500" "$WORK"/benign/*.csv
[ -f "$WORK/models/all/manifest.json" ] ||
  "$BIN" train -q --data "$WORK/ds/all" "${MODEL_TRAIN_ARGS[@]}" -o "$WORK/models/all" --force >&2
python3 scripts/eval_captures.py --bin "$BIN" --model "$WORK/models/all" --json "$WORK/attack.json" --sets attack,rtt > "$WORK/attack.md"
{ echo; echo "## Attack captures (never trained on) and RTT-shifted replays"; echo; sed -n '/^attack captures/,$p' "$WORK/attack.md"; } >> "$WORK/transfer.md"
say "whole pipeline on the testbed capture, shipped configuration trained without the testbed"
[ -f "$WORK/models/no-testbed/manifest.json" ] ||
  "$BIN" train -q --data "$WORK/ds/cic+benign" "${MODEL_TRAIN_ARGS[@]}" -o "$WORK/models/no-testbed" --force >&2
{
  echo
  echo "## Whole pipeline on the testbed capture, model trained without the testbed (CIC + real benign)"
  echo
  "$BIN" testbed eval "$RUN" --model "$WORK/models/no-testbed" --json "$WORK/system-no-testbed.json" 2>/dev/null | sed -n '/^|/,$p'
} >> "$WORK/transfer.md"
say "whole pipeline on the real captures, shipped configuration trained on the testbed alone"
[ -f "$WORK/models/testbed-only/manifest.json" ] ||
  "$BIN" train -q --data "$WORK/ds/testbed" "${MODEL_TRAIN_ARGS[@]}" -o "$WORK/models/testbed-only" --force >&2
python3 scripts/eval_captures.py --bin "$BIN" --model "$WORK/models/testbed-only" --json "$WORK/testbed-only.json" \
  --sets benign,ndpi,attack > "$WORK/testbed-only.md"
{
  echo
  echo "## Whole pipeline on the real captures, model trained on the testbed alone"
  echo
  sed -n '1,/^attack captures/p' "$WORK/testbed-only.md"
} >> "$WORK/transfer.md"
# Victim links: DELAY_MS[/JITTER_MS[/LOSS_PCT]] each (jitter: a uniform 0..JITTER_MS more per frame).
LINKS="${VICTIM_LINKS:-0 5 20 80 20/10 20/0/0.5}" DELAY_SEED="${DELAY_SEED:-5}"
say "whole pipeline on testbed runs with the victim's link delayed ($LINKS, seed $DELAY_SEED)"
# Another seed than the training run's, so neither model saw these captures; the delay is the
# user-space relay of `testbed run --victim-delay-ms` (docs/testbed.md).
link_dir() {  # 20/10/0.5 -> delayed-20-j10-l0.5; 20 -> delayed-20
  local delay jitter loss name
  IFS=/ read -r delay jitter loss <<< "$1"
  name="delayed-$delay"
  [ "${jitter:-0}" = 0 ] || name="$name-j$jitter"
  [ "${loss:-0}" = 0 ] || name="$name-l$loss"
  echo "$name"
}
for link in $LINKS; do
  IFS=/ read -r delay jitter loss <<< "$link"
  name=$(link_dir "$link")
  run="$WORK/$name"
  [ -f "$run/flows.csv" ] || "$BIN" testbed run --force --seed "$DELAY_SEED" --scale small --mode corrected \
    --victim-delay-ms "$delay" --victim-jitter-ms "${jitter:-0}" --victim-loss-pct "${loss:-0}" -o "$run" >&2
  for m in no-testbed all; do
    "$BIN" testbed eval "$run" --model "$WORK/models/$m" --json "$WORK/$name-$m.json" > "$WORK/$name-$m.md" 2>/dev/null
  done
done
# shellcheck disable=SC2046
python3 - "$WORK" $(for link in $LINKS; do echo "$link=$(link_dir "$link")"; done) >> "$WORK/transfer.md" <<'PY'
import json, sys
work, links = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
print("\n## Whole pipeline on testbed runs with the victim's link delayed (not trained on)\n")
print("| victim link | model | attack flows | detected | benign flows | flagged | attack scenarios below 90% |")
print("|---|---|---:|---:|---:|---:|---|")
def describe(link):
    delay, jitter, loss = (link.split("/") + ["0", "0"])[:3]
    parts = [f"+{delay} ms"]
    if float(jitter):
        parts.append(f"jitter 0–{jitter} ms")
    if float(loss):
        parts.append(f"{loss}% loss")
    return ", ".join(parts)
for link, name in links:
    for m, model in [("no-testbed", "CIC + real benign (never saw the testbed)"), ("all", "every source (testbed at 0 ms, seed 1)")]:
        r = json.load(open(f"{work}/{name}-{m}.json"))
        low = [f"{s['scenario']} {100*s['rate']:.0f}%" for s in r["scenarios"]
               if s["kind"] == "attack" and s["rate"] is not None and s["rate"] < 0.9]
        print(f"| {describe(link)} | {model} | {r['attack_flows']} | {100*(r['detection_rate'] or 0):.1f}% | "
              f"{r['benign_flows']} | {100*(r['false_alarm_rate'] or 0):.1f}% | {', '.join(low) or '—'} |")
PY
cat "$WORK/transfer.md"
echo "(work files in $WORK)" >&2
