#!/usr/bin/env bash
# Fuzz the running API with schemathesis, driven by the OpenAPI document the server itself serves:
# the server must never answer 5xx (and must conform to its own status codes), whatever the input.
# Runs twice: without a token, and with one (exercising the 401 paths too).
# One worker: with two, hypothesis' lambda-source parsing races inside CPython 3.11's ast module
# ("SystemError: AST constructor recursion depth mismatch"), an error in the tool, not the server.
# Env: MLIDS_BIN (default $CARGO_TARGET_DIR/debug/ml-ids), MLIDS_MODEL (default models/default),
#      ST_MAX_TIME (seconds per run, default 90).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${MLIDS_BIN:-${CARGO_TARGET_DIR:-target}/debug/ml-ids}"
MODEL="${MLIDS_MODEL:-models/default}"
ST="${ST:-$(command -v schemathesis || echo "${MLIDS_CACHE:-$HOME/.cache/ml-ids}/venv/bin/schemathesis")}"
PORT=$((20000 + RANDOM % 10000))
TOKEN="fuzz-token-$RANDOM$RANDOM$RANDOM"
status=0
for auth in none token; do
  args=(serve --model "$MODEL" --bind "127.0.0.1:$PORT")
  st_auth=()
  if [ "$auth" = token ]; then args+=(--token "$TOKEN"); st_auth=(-H "Authorization: Bearer $TOKEN"); fi
  "$BIN" "${args[@]}" 2>/tmp/mlids-api-fuzz-server.log &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 60); do curl -fsS "${st_auth[@]}" "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 1; done
  echo "schemathesis ($auth auth) against http://127.0.0.1:$PORT/api/openapi.json" >&2
  if ! "$ST" run "http://127.0.0.1:$PORT/api/openapi.json" "${st_auth[@]}" \
      --checks not_a_server_error,status_code_conformance,content_type_conformance \
      --phases examples,coverage,fuzzing --max-time "${ST_MAX_TIME:-90}" --workers 1 \
      --suppress-health-check all; then
    status=1
  fi
  kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
  trap - EXIT
  PORT=$((PORT + 1))
done
exit $status
