#!/usr/bin/env bash
# Golden outputs: prove that a refactor changes no observable output of the `ml-ids` binary.
# Re-recorded deliberately when behaviour changes (last: the DNS-tunnel check, and models/default
# retrained without nDPI's two DNS-tunnel captures in its benign data: scores move, and 42 of the
# 475 outputs with them).
#
#   scripts/golden.sh record [BIN]   regenerate everything and write tests/golden/outputs.sha256
#   scripts/golden.sh check  [BIN]   regenerate and compare with tests/golden/outputs.sha256; prints
#                                    the files that differ (changed / missing / new), exit 1 if any
#   scripts/golden.sh run    [BIN]   only regenerate (into GOLDEN_OUT), e.g. to `diff -r` two binaries
#
# BIN is the binary under test (argument, else $MLIDS_BIN); use a release build. What it covers,
# for every capture under $MLIDS_SHARED_DATA/pcap/{attack,benign,odd} (GOLDEN_SETS to change;
# MLIDS_SHARED_DATA defaults to ../shared/data next to the repo root):
#   extract/{cic2018,corrected}/<capture>.csv   `ml-ids extract --mode M CAPTURE -o …` (CSV, default names)
#   detect/<capture>.csv                        `ml-ids detect --model models/default CAPTURE -o …` (corrected)
#   …/<capture>.status                          the exit code, stdout and stderr of that run, normalised
#                                               (damaged captures exit non-zero; that is frozen too)
#   serve/*.http                                `ml-ids serve --model models/default` on a free loopback
#                                               port: status line, Content-Type and body of each request
#                                               in serve_requests() below (the seed's pandas-split body,
#                                               MLflow dataframe_split/records, pandas records, CSV,
#                                               `instances`, the seed's cic2018 snake-column rows, bad
#                                               bodies, /api/model, /api/openapi.json, /api/pcap uploads)
# Normalisation (the only things removed; found by running twice with the same binary):
#   stderr/stdout: the shared-data, repo and output directories become $MLIDS_SHARED_DATA, $REPO,
#   $OUT; the `elapsed: N.NNs` line (extract, detect) becomes `elapsed: <elapsed>`.
#   serve bodies: JSON is re-serialised (same key order, indent 1) by norm_json(), which replaces
#   the server's port with <port> and the value of any RUN_DEPENDENT_KEYS with <run> (the
#   server-made upload id, which holds the time).
# The manifest is `sha256  relative/path` per output file, sorted by path. GOLDEN_OUT=DIR keeps the
# outputs there (default: a temporary directory, removed on success); GOLDEN_JOBS (default nproc)
# parallel captures. A whole check (475 files) takes about 25 s on 2 cores with a release build.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MANIFEST="$ROOT/tests/golden/outputs.sha256"
ACTION="${1:-}"
case "$ACTION" in record | check | run) ;; *) sed -n '2,30p' "$0"; exit 2 ;; esac
BIN="${2:-${MLIDS_BIN:-}}"
[ -n "$BIN" ] || { echo "golden.sh: give the ml-ids binary as argument or MLIDS_BIN" >&2; exit 2; }
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
[ -x "$BIN" ] || { echo "golden.sh: $BIN is not executable" >&2; exit 2; }
SHARED="${MLIDS_SHARED_DATA:-$ROOT/../shared/data}"
[ -d "$SHARED/pcap" ] || { echo "golden.sh: $SHARED/pcap not found (set MLIDS_SHARED_DATA)" >&2; exit 2; }
SHARED="$(cd "$SHARED" && pwd)"
SETS="${GOLDEN_SETS:-attack benign odd}"
JOBS="${GOLDEN_JOBS:-$(nproc)}"
MODEL="$ROOT/models/default"
PY="$(command -v python3)"
KEEP=1
if [ -n "${GOLDEN_OUT:-}" ]; then
  OUT="$GOLDEN_OUT"; rm -rf "$OUT"; mkdir -p "$OUT"
else
  OUT="$(mktemp -d "${TMPDIR:-/tmp}/mlids-golden.XXXXXX")"; KEEP=0
fi
OUT="$(cd "$OUT" && pwd)"
export BIN SHARED OUT ROOT MODEL
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1   # captures run in parallel; one thread each
export LC_ALL=C TZ=UTC NO_COLOR=1

# stdin → stdout: make run-dependent text stable.
norm_text() {
  sed -e "s#$SHARED#\$MLIDS_SHARED_DATA#g" -e "s#$OUT#\$OUT#g" -e "s#$ROOT#\$REPO#g" \
    -e 's#^elapsed: [0-9.]*s$#elapsed: <elapsed>#'
}
export -f norm_text

# Run "$@" with stdout/stderr captured; write STATUS_FILE with the exit code and both streams.
run_status() {  # STATUS_FILE CMD...
  local status="$1"; shift
  local rc=0
  "$@" >"$status.stdout" 2>"$status.stderr" || rc=$?
  { echo "exit: $rc"
    echo "--- stdout"; norm_text <"$status.stdout"
    echo "--- stderr"; norm_text <"$status.stderr"; } >"$status"
  rm -f "$status.stdout" "$status.stderr"
}
export -f run_status

one_capture() {  # RELATIVE_PATH (under $SHARED/pcap)
  local rel="$1" cap="$SHARED/pcap/$1" m
  for m in cic2018 corrected; do
    mkdir -p "$(dirname "$OUT/extract/$m/$rel")"
    run_status "$OUT/extract/$m/$rel.status" "$BIN" extract --mode "$m" "$cap" -o "$OUT/extract/$m/$rel.csv"
  done
  mkdir -p "$(dirname "$OUT/detect/$rel")"
  run_status "$OUT/detect/$rel.status" "$BIN" detect --model "$MODEL" "$cap" -o "$OUT/detect/$rel.csv"
}
export -f one_capture

generate_captures() {
  local set
  for set in $SETS; do
    [ -d "$SHARED/pcap/$set" ] || { echo "golden.sh: $SHARED/pcap/$set missing" >&2; exit 1; }
    (cd "$SHARED/pcap" && find "$set" -type f | LC_ALL=C sort)
  done | xargs -P "$JOBS" -I{} bash -c 'one_capture "$1"' _ {}
}

# --- server ------------------------------------------------------------------------------------
# A python helper: builds request bodies from extract output, sends them, normalises answers.
SERVE_PY='
import json, sys, csv, io, urllib.request, urllib.error, re

# Fields whose value depends on the run, not on the input: the upload id is made from the time
# unless the client picks one (/healthz and /metrics, which hold uptime and counters, are not
# recorded).
RUN_DEPENDENT_KEYS = {"upload_id"}

def norm_json(v, port):
    if isinstance(v, dict):
        return {k: ("<run>" if k in RUN_DEPENDENT_KEYS else norm_json(x, port)) for k, x in v.items()}
    if isinstance(v, list):
        return [norm_json(x, port) for x in v]
    if isinstance(v, str):
        return v.replace(":%d" % port, ":<port>")
    return v

def send(base, port, out, name, method, path, body=None, ctype=None):
    req = urllib.request.Request(base + path, data=body, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            status, headers, data = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, headers, data = e.code, e.headers, e.read()
    ct = headers.get("Content-Type", "")
    try:
        text = json.dumps(norm_json(json.loads(data), port), indent=1, ensure_ascii=False)
    except ValueError:
        text = data.decode("utf-8", "replace").replace(":%d" % port, ":<port>")
    with open("%s/%s.http" % (out, name), "w") as f:
        f.write("status: %d\ncontent-type: %s\n\n%s\n" % (status, ct, text))

def rows_of(path, limit):
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        rows = [row for _, row in zip(range(limit), r)]
    return header, rows

def cell(v):
    try:
        x = float(v)
        return int(x) if x.is_integer() and "." not in v and "e" not in v.lower() else x
    except ValueError:
        return v   # timestamps, addresses, flow ids: the server ignores unused text columns

def main(base, port, out, corrected_csv, seed_csv, demo_pcap, damaged_pcap):
    header, rows = rows_of(corrected_csv, 40)
    data = [[cell(v) for v in row] for row in rows]
    records = [dict(zip(header, r)) for r in data]
    split = json.dumps({"columns": header, "data": data}).encode()
    J = "application/json"
    send(base, port, out, "predictions-seed-pandas-split", "POST", "/api/predictions", split, J + "; format=pandas-split")
    send(base, port, out, "predictions-seed-pandas-split-detail", "POST", "/api/predictions?detail=true", split, J + "; format=pandas-split")
    send(base, port, out, "predictions-dataframe-split", "POST", "/api/predictions",
         json.dumps({"dataframe_split": {"columns": header, "data": data}}).encode(), J)
    send(base, port, out, "predictions-dataframe-records", "POST", "/api/predictions",
         json.dumps({"dataframe_records": records}).encode(), J)
    send(base, port, out, "predictions-dataframe-records-detail", "POST", "/api/predictions?detail=1",
         json.dumps({"dataframe_records": records}).encode(), J)
    send(base, port, out, "predictions-pandas-records", "POST", "/api/predictions", json.dumps(records).encode(), J)
    send(base, port, out, "predictions-instances", "POST", "/api/predictions",
         json.dumps({"instances": records}).encode(), J)
    with open(corrected_csv, "rb") as f:
        csv_body = b"".join(f.readlines()[:41])
    send(base, port, out, "predictions-csv", "POST", "/api/predictions", csv_body, "text/csv")
    send(base, port, out, "predictions-csv-detail", "POST", "/api/predictions?detail=true", csv_body, "text/csv")
    # The seed project'"'"'s own request: cic2018 snake_case columns (the CSE-CIC-IDS2018 rows it was
    # validated on, without the index and label columns), pandas split. The default model is a
    # corrected-mode model, so the exact error answer is the golden.
    sh, srows = rows_of(seed_csv, 10)
    keep = [i for i, h in enumerate(sh) if h not in ("", "label")]
    seed = {"columns": [sh[i] for i in keep], "data": [[cell(r[i]) for i in keep] for r in srows]}
    send(base, port, out, "predictions-seed-cic2018-snake", "POST", "/api/predictions",
         json.dumps(seed).encode(), J + "; format=pandas-split")
    # Bad bodies.
    send(base, port, out, "predictions-bad-json", "POST", "/api/predictions", b"{\"columns\": [", J)
    send(base, port, out, "predictions-bad-shape", "POST", "/api/predictions", b"42", J)
    send(base, port, out, "predictions-bad-content-type", "POST", "/api/predictions", split, "text/plain")
    short = json.dumps({"columns": header, "data": [data[0][:-1]]}).encode()
    send(base, port, out, "predictions-short-row", "POST", "/api/predictions", short, J)
    send(base, port, out, "predictions-empty", "POST", "/api/predictions",
         json.dumps({"columns": header, "data": []}).encode(), J)
    # Static documents.
    send(base, port, out, "model", "GET", "/api/model")
    send(base, port, out, "openapi", "GET", "/api/openapi.json")
    # Capture uploads.
    with open(demo_pcap, "rb") as f:
        send(base, port, out, "pcap-demo", "POST", "/api/pcap?name=demo.pcap", f.read(), "application/vnd.tcpdump.pcap")
    with open(damaged_pcap, "rb") as f:
        send(base, port, out, "pcap-damaged", "POST", "/api/pcap?name=damaged.pcap", f.read(), "application/octet-stream")

main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:])
'

generate_serve() {
  mkdir -p "$OUT/serve"
  local port pid
  port="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  env -u OMP_NUM_THREADS "$BIN" serve --model "$MODEL" --bind "127.0.0.1:$port" >"$OUT/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$OUT/serve.log" >&2; echo "golden.sh: the server died" >&2; exit 1; }
    sleep 0.5
  done
  local rc=0
  # The request rows: the corrected-mode extract of a capture with both benign and attack flows.
  "$PY" -c "$SERVE_PY" "http://127.0.0.1:$port" "$port" "$OUT/serve" \
    "$OUT/extract/corrected/attack/web-sqli/ndpi_WebattackSQLinj.pcap.csv" \
    "$SHARED/cic-ids2018/original/ml-ids_validation.csv" \
    "$ROOT/samples/demo.pcap" "$SHARED/pcap/odd/malformed/sv_fuzz-6875.pcap" || rc=$?
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$OUT/serve.log"
  [ $rc -eq 0 ] || { echo "golden.sh: the server requests failed" >&2; exit 1; }
}

manifest() {  # DIR → manifest on stdout
  (cd "$1" && find . -type f ! -name outputs.sha256 | sed 's#^\./##' | LC_ALL=C sort | xargs -d '\n' sha256sum)
}

t0=$SECONDS
echo "golden.sh: $ACTION with $BIN → $OUT" >&2
generate_captures
generate_serve
manifest "$OUT" >"$OUT/outputs.sha256"
n=$(wc -l <"$OUT/outputs.sha256")
echo "golden.sh: $n output files in $((SECONDS - t0)) s" >&2

case "$ACTION" in
  run) echo "$OUT"; exit 0 ;;
  record)
    mkdir -p "$(dirname "$MANIFEST")"
    cp "$OUT/outputs.sha256" "$MANIFEST"
    echo "golden.sh: wrote $MANIFEST" >&2
    ;;
  check)
    [ -f "$MANIFEST" ] || { echo "golden.sh: $MANIFEST missing (run record first)" >&2; exit 2; }
    diffs="$("$PY" - "$MANIFEST" "$OUT/outputs.sha256" <<'EOF'
import sys
def load(p):
    return {l.split(None, 1)[1].strip(): l.split(None, 1)[0] for l in open(p) if l.strip()}
want, got = load(sys.argv[1]), load(sys.argv[2])
for f in sorted(set(want) | set(got)):
    if f not in got: print("missing  " + f)
    elif f not in want: print("new      " + f)
    elif want[f] != got[f]: print("changed  " + f)
EOF
)"
    if [ -n "$diffs" ]; then
      echo "$diffs"
      echo "golden.sh: $(echo "$diffs" | wc -l) file(s) differ from $MANIFEST; outputs kept in $OUT" >&2
      exit 1
    fi
    echo "golden.sh: all $n outputs match $MANIFEST" >&2
    ;;
esac
[ $KEEP -eq 1 ] || rm -rf "$OUT"
