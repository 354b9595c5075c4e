#!/usr/bin/env python3
"""The seed project's REST client, as its users run it, against `ml-ids serve` with both shipped
bundles — and the README's curl command for the same rows.

The client (cstub/ml-ids-api-client, not vendored here) does, per its documented behaviour:
read a CSE-CIC-IDS2018 frame, drop `label`, serialise with pandas
`to_json(orient='split', index=False)`, POST it with `requests` to URL + `/api/predictions` with
`Content-Type: application/json; format=pandas-split`, call `raise_for_status()` and read the
answer as a JSON list (0 = Benign, anything else = Attack), one row at a time or all at once.
This script does exactly that with real pandas and requests, so the bytes on the wire are the
client's. Needs pandas and requests (./run setup installs them).

Usage: tests/seed_client.py BIN [SHARED_DATA]
"""
import json
import pathlib
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.parse

import pandas as pd
import requests

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEADERS = {"Content-Type": "application/json; format=pandas-split"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(binary, port):
    args = [binary, "serve", "--model", "models/default", "--model", "models/cic2018",
            "--bind", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(args, cwd=ROOT, stderr=subprocess.DEVNULL)
    for _ in range(120):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.5)
    proc.kill()
    sys.exit("server did not start")


def call_predict_api(url, frame):
    """The client's call: the frame without its label, pandas split JSON, its header."""
    body = frame.drop(columns=["label"]).to_json(orient="split", index=False)
    r = requests.post(url=urllib.parse.urljoin(url, "/api/predictions"), data=body,
                      headers=HEADERS)
    r.raise_for_status()
    return r.json(), r.headers.get("x-mlids-model")


def accuracy(frame, predictions):
    """The client's scoring: a prediction is right when (label != Benign) == prediction."""
    right = sum((lab != "Benign") == bool(p) for lab, p in zip(frame["label"], predictions))
    return right / len(frame)


def readme_curl(port, request_file):
    """The README's curl line for the seed's users (between the seed-curl markers), pointed at
    this server and this request file."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- seed-curl -->\s*```sh\n(.*?)```", text, re.S).group(1)
    line = next(l for l in block.splitlines() if l.startswith("curl "))
    line = line.replace("127.0.0.1:8080", f"127.0.0.1:{port}")
    args = [a if a != "@request.json" else f"@{request_file}" for a in shlex.split(line)]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def main():
    binary = sys.argv[1]
    shared = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else ROOT.parent / "shared" / "data")
    rows = pd.read_csv(shared / "cic-ids2018/original/ml-ids_validation.csv", index_col=0)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(binary, port)
    failures = []
    try:
        # All rows at once.
        preds, model = call_predict_api(url, rows)
        if len(preds) != len(rows) or any(p not in (0, 1) for p in preds):
            failures.append(f"bulk answer is not {len(rows)} values of 0/1: {preds[:5]}...")
        if model != "cic2018":
            failures.append(f"bulk request answered by {model!r}, not cic2018")
        acc = accuracy(rows, preds)
        expected = json.loads((ROOT / "models/cic2018/eval-seed180.json").read_text())["accuracy"]
        if abs(acc - expected) > 1e-9:
            failures.append(f"client accuracy {acc:.4f} != the bundle's evaluation {expected:.4f}")
        print(f"bulk: {len(preds)} predictions, {sum(preds)} attacks, client accuracy {acc:.1%}")
        # One row at a time, as the client's delayed mode sends them; same verdicts.
        for i in range(0, len(rows), 15):
            one, _ = call_predict_api(url, rows.iloc[i:i + 1].copy())
            if one != [preds[i]]:
                failures.append(f"row {i} alone: {one}, in bulk: {preds[i]}")
        # The README's curl, on a request file made as the README says.
        request = pathlib.Path("/tmp") / f"mlids-seed-request-{port}.json"
        rows.drop(columns=["label"]).head(1).to_json(request, orient="split", index=False)
        out = readme_curl(port, request).strip()
        if out not in ("[0]", "[1]"):
            failures.append(f"README curl answered {out!r}, not [0] or [1]")
        print(f"README curl: {out}")
        request.unlink()
    finally:
        server.terminate()
        server.wait(timeout=10)
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
