#!/usr/bin/env bash
# Benchmark `ml-ids dataset import` / `split` and Parquet read-back on a large CSE-CIC-IDS2018-like
# input made by resampling the real rows in ../shared/data (the real 16M-row download is not here).
#
#   bench/dataset.sh                 # 16M rows (≈6.8 GB of CSV; needs ~10 GB free)
#   ROWS=1000000 bench/dataset.sh    # quick run
#
# Env: ROWS (default 16000000), FILES (10), OUT (bench/out/dataset), KEEP=1 keeps the generated CSVs,
# CARGO_TARGET_DIR (default /work/target-dataset), SKIP_BUILD=1 uses the binaries already there. Reports rows/s, CPU and peak RSS (/usr/bin/time -v).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-16000000}
FILES=${FILES:-10}
OUT=${OUT:-bench/out/dataset}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-dataset}
SEED_CSV=../shared/data/cic-ids2018/original/ml-ids_validation.csv
[ -f "$SEED_CSV" ] || { echo "missing $SEED_CSV" >&2; exit 1; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release -q -p ml-ids
  cargo build --release -q -p mlids-dataset --example read_bench
fi
BIN=$CARGO_TARGET_DIR/release/ml-ids
READ=$CARGO_TARGET_DIR/release/examples/read_bench
mkdir -p "$OUT/input"

# Resample the real rows into FILES files, with a repeated header line every 1M rows as in the
# original CSE-CIC-IDS2018 files. Regenerated only when ROWS/FILES change.
STAMP="$OUT/input/.rows-$ROWS-files-$FILES"
if [ ! -f "$STAMP" ]; then
  rm -f "$OUT"/input/*.csv "$OUT"/input/.rows-*
  python3 - "$SEED_CSV" "$OUT/input" "$ROWS" "$FILES" <<'PY'
import random, sys
src, out, rows, files = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lines = open(src, encoding="utf-8").read().splitlines()
header, body = lines[0], [l.split(",", 1)[1] for l in lines[1:]]  # drop the index value
rng = random.Random(42)
per = rows // files
for f in range(files):
    n = per if f < files - 1 else rows - per * (files - 1)
    with open(f"{out}/part-{f:02d}.csv", "w", encoding="utf-8") as fh:
        fh.write(header + "\n")
        written = 0
        while written < n:
            k = min(100_000, n - written)
            idx = written
            chunk = []
            for r in rng.choices(body, k=k):
                chunk.append(f"{idx},{r}\n")
                idx += 1
            fh.write("".join(chunk))
            written += k
            if written % 1_000_000 == 0 and written < n:
                fh.write(header + "\n")
PY
  touch "$STAMP"
fi
BYTES=$(du -cb "$OUT"/input/*.csv | tail -1 | cut -f1)
echo "input: $ROWS rows in $FILES files, $BYTES bytes"

measure() { # name, command...
  local name=$1; shift
  /usr/bin/time -v "$@" 2> "$OUT/$name.time" >/dev/null || { cat "$OUT/$name.time" >&2; exit 1; }
  local wall rss cpu
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/{print $2}' "$OUT/$name.time")
  rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$OUT/$name.time")
  cpu=$(awk -F': ' '/Percent of CPU/{print $2}' "$OUT/$name.time")
  local secs
  secs=$(python3 -c "import sys;p=sys.argv[1].split(':');print(sum(float(x)*60**i for i,x in enumerate(reversed(p))))" "$wall")
  python3 -c "import sys;r,s,rss,cpu=int(sys.argv[1]),float(sys.argv[2]),int(sys.argv[3]),sys.argv[4];c=float(cpu.rstrip('%'))/100;print(f'{sys.argv[5]:6s}: {s:.1f}s wall, {r/s:,.0f} rows/s, CPU {cpu} -> {r/s/max(c,1e-9):,.0f} rows/s per busy core, peak RSS {rss/1024:.0f} MiB')" "$ROWS" "$secs" "$rss" "$cpu" "$name"
}

rm -rf "$OUT/ds"
measure import "$BIN" dataset import -q "$OUT/input" -o "$OUT/ds"
measure split "$BIN" dataset split -q "$OUT/ds"
ls -la "$OUT/ds"
"$READ" "$OUT/ds/train.parquet" "$OUT/ds/val.parquet" "$OUT/ds/test.parquet"
/usr/bin/time -v "$READ" "$OUT/ds/train.parquet" "$OUT/ds/val.parquet" "$OUT/ds/test.parquet" 2> "$OUT/read.time" >/dev/null
echo "read-back peak RSS: $(awk -F': ' '/Maximum resident set size/{print int($2/1024)}' "$OUT/read.time") MiB (includes the dense f64 matrix)"
[ "${KEEP:-0}" = 1 ] || rm -f "$OUT"/input/*.csv "$OUT"/input/.rows-*
