#!/usr/bin/env bash
# Side-by-side benchmark of `ml-ids extract` against its peers on the same captures, in one run:
#   tcpdump -r FILE -w /dev/null   (the floor: read and write nothing)
#   NFStream 6 (Python + C/nDPI, statistical features on, one meter process)
#   cicflowmeter (Python/scapy port; ~1k packets/s, so only the 50k-packet prefix)
# Captures: mixed.pcap and flood.pcap from shared/bench/make-captures.sh (made here if missing; needs
# root), and the 522-file nDPI corpus in shared/data/pcap/bench.
# Usage: bench/extract.sh [CAPTURE_DIR]   (default: $MLIDS_CAPTURES or /tmp/mlids-captures)
# Output: a Markdown table on stdout and in bench/out/extract.md. Peak RSS from /usr/bin/time -v.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
SHARED="${MLIDS_SHARED:-$ROOT/../shared}"
CAPS="${1:-${MLIDS_CAPTURES:-/tmp/mlids-captures}}"
OUT="$HERE/out"; mkdir -p "$OUT"
BIN="${MLIDS_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/ml-ids}"

[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release -p ml-ids)
if [ ! -f "$CAPS/mixed.pcap" ] || [ ! -f "$CAPS/flood.pcap" ]; then
  echo "making benchmark captures in $CAPS (about 5 minutes, needs root)..." >&2
  bash "$SHARED/bench/make-captures.sh" "$CAPS" >&2
fi
VENV="$HERE/.venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import nfstream, cicflowmeter" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q nfstream cicflowmeter scapy==2.5.0 >&2
fi
command -v tcpdump >/dev/null || { apt-get install -y -qq tcpdump >&2; }

packets() { local n; n=$(capinfos -c -M "$1" 2>/dev/null | awk -F': *' '/Number of packets/ {print $2}' | tr -d ' '); echo "${n:-0}"; }

# run NAME INPUT_PACKETS FLOWCOUNT_CMD -- COMMAND...  → appends a row to $ROWS
ROWS="$OUT/rows.tsv"
# ONLY="mixed flood corpus prefix" (default: all) runs a subset; APPEND=1 keeps earlier rows.
ONLY="${ONLY:-mixed flood corpus prefix}"
want() { [[ " $ONLY " == *" $1 "* ]]; }
[ -n "${APPEND:-}" ] || : > "$ROWS"
run() {
  local name="$1" input="$2" pk="$3"; shift 3
  local log="$OUT/time.log"
  # A non-zero exit still gets its row (the nDPI corpus holds damaged captures: both ml-ids and
  # NFStream report them and exit 1 after processing everything else).
  /usr/bin/time -v "$@" > "$OUT/stdout.log" 2> "$log" || echo "$name exited non-zero on $input (counted anyway)" >&2
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {print int($2/1024)}' "$log")
  printf '%s\t%s\t%s\t%s\t%s\n' "$input" "$name" "$wall" "$pk" "$rss" >> "$ROWS"
  echo "$input $name: ${wall}s, ${rss} MB" >&2
}
count_csv_rows() { [ -f "$1" ] && echo $(( $(wc -l < "$1") - 1 )) || echo "-"; }

NF="$OUT/nfstream_run.py"
cat > "$NF" <<'PY'
import sys
from nfstream import NFStreamer
n = 0
for f in sys.argv[2:]:
    s = NFStreamer(source=f, statistical_analysis=True, n_meters=1, decode_tunnels=False)
    df = s.to_pandas()
    n += len(df)
    df.to_csv(sys.argv[1], mode="a", header=(n == len(df)), index=False)
print(n)
PY

declare -A FLOWS
bench_input() {
  local label="$1"; shift
  local files=("$@") pk=0
  for f in "${files[@]}"; do pk=$(( pk + $(packets "$f") )); done
  rm -f "$OUT"/*.csv
  run "ml-ids extract (cic2018)" "$label" "$pk" "$BIN" extract -q "${files[@]}" -o "$OUT/mlids.csv"
  FLOWS["$label/ml-ids"]=$(count_csv_rows "$OUT/mlids.csv")
  run "ml-ids extract (corrected)" "$label" "$pk" "$BIN" extract -q --mode corrected "${files[@]}" -o "$OUT/mlids_c.csv"
  FLOWS["$label/ml-ids-c"]=$(count_csv_rows "$OUT/mlids_c.csv")
  if [ "${#files[@]}" -eq 1 ]; then
    run "tcpdump -r -w /dev/null" "$label" "$pk" tcpdump -r "${files[0]}" -w /dev/null
  fi
  run "NFStream $("$VENV/bin/python" -c 'import nfstream;print(nfstream.__version__)')" "$label" "$pk" "$VENV/bin/python" "$NF" "$OUT/nfstream.csv" "${files[@]}"
  FLOWS["$label/nfstream"]=$(count_csv_rows "$OUT/nfstream.csv")
}

want mixed && bench_input "mixed.pcap" "$CAPS/mixed.pcap"
want flood && bench_input "flood.pcap" "$CAPS/flood.pcap"
if want corpus; then
  mapfile -t CORPUS < <(find "$SHARED/data/pcap/bench" -type f | sort)
  bench_input "nDPI corpus (${#CORPUS[@]} files)" "${CORPUS[@]}"
fi
# The Python cicflowmeter: 50k-packet prefix only (it runs at ~1k packets/s).
if want prefix; then
PK=$(packets "$CAPS/mixed_prefix.pcap")
rm -f "$OUT"/*.csv
run "ml-ids extract (cic2018)" "mixed_prefix.pcap" "$PK" "$BIN" extract -q "$CAPS/mixed_prefix.pcap" -o "$OUT/mlids.csv"
FLOWS["mixed_prefix.pcap/ml-ids"]=$(count_csv_rows "$OUT/mlids.csv")
run "cicflowmeter (Python)" "mixed_prefix.pcap" "$PK" "$VENV/bin/cicflowmeter" -f "$CAPS/mixed_prefix.pcap" -c "$OUT/cicflowmeter.csv"
FLOWS["mixed_prefix.pcap/cicflowmeter"]=$(count_csv_rows "$OUT/cicflowmeter.csv")
fi

# Table: ratio = peer wall time / ml-ids (cic2018) wall time on the same input.
{
  echo "| input | tool | wall s | packets/s | flows | peak RSS MB | time vs ml-ids |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  awk -F'\t' -v OFS='\t' '
    { input[NR]=$1; tool[NR]=$2; wall[NR]=$3; pk[NR]=$4; rss[NR]=$5; if ($2 ~ /cic2018/) base[$1]=$3 }
    END { for (i=1;i<=NR;i++) {
      r = (base[input[i]] > 0) ? sprintf("%.2f×", wall[i]/base[input[i]]) : "-";
      pps = (wall[i] > 0) ? sprintf("%.0f", pk[i]/wall[i]) : "-";
      print input[i], tool[i], wall[i], pps, rss[i], r } }' "$ROWS" |
  while IFS=$'\t' read -r input tool wall pps rss ratio; do
    key="$input/"; case "$tool" in
      *cic2018*) f="${FLOWS[${key}ml-ids]:-}";; *corrected*) f="${FLOWS[${key}ml-ids-c]:-}";;
      NFStream*) f="${FLOWS[${key}nfstream]:-}";; cicflowmeter*) f="${FLOWS[${key}cicflowmeter]:-}";; *) f="-";; esac
    echo "| $input | $tool | $wall | $pps | ${f:--} | $rss | $ratio |"
  done
  echo
  echo "Machine: $(nproc) cores, $(uname -r); $(date -u +%Y-%m-%d). Flow counts differ by design (NFStream: idle 120 s/active 1800 s, no FIN split; cic2018: FIN split, 1-packet flows dropped)."
} | tee "$OUT/extract.md"
