#!/usr/bin/env python3
"""A soak under mixed load against a real `ml-ids serve` on loopback: prediction clients, repeated
capture uploads, one endless capture stream and WebSocket readers, for DURATION seconds. Samples
the server's RSS every 10 s and counts every error. Prints a Markdown summary (and JSON with --json).

Usage: bench/soak.py BIN SHARED_DATA [--duration S] [--json OUT]
Needs the `websockets` package (bench/soak.sh installs it in a venv).
"""
import argparse
import asyncio
import json
import pathlib
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.request

import websockets

ROOT = pathlib.Path(__file__).resolve().parent.parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = {}
        self.errors = {}
        self.latency = {}

    def add(self, kind, ok, seconds=None, why=None):
        with self.lock:
            d = self.ok if ok else self.errors
            d[kind] = d.get(kind, 0) + 1
            if seconds is not None:
                self.latency.setdefault(kind, []).append(seconds)
            if not ok and why and self.errors[kind] <= 3:
                print(f"error ({kind}): {why}", file=sys.stderr)


def post(url, body, content_type, timeout=60):
    req = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def predictor(base, rows, stop, counts):
    i = 0
    while not stop.is_set():
        body = json.dumps({"columns": rows["columns"], "data": rows["data"][i % 170:i % 170 + 10]}).encode()
        t = time.monotonic()
        try:
            status, _ = post(base + "/api/predictions?alerts=true", body, "application/json; format=pandas-split")
            counts.add("predictions", status == 200, time.monotonic() - t)
        except Exception as e:  # noqa: BLE001 - every failure is counted
            counts.add("predictions", False, why=e)
        i += 10


def uploader(base, pcap, stop, counts):
    while not stop.is_set():
        t = time.monotonic()
        try:
            status, _ = post(base + "/api/pcap?name=soak.pcap", pcap, "application/vnd.tcpdump.pcap", timeout=120)
            counts.add("uploads", status == 200, time.monotonic() - t)
        except Exception as e:  # noqa: BLE001
            counts.add("uploads", False, why=e)
        stop.wait(2.0)


def streamer(port, pcap, stop, counts):
    """One endless chunked POST /api/stream: the demo capture's records again and again, each
    round shifted later in time, at a few hundred packets a second."""
    header, records = pcap[:24], []
    off = 24
    while off + 16 <= len(pcap):
        ts_s, ts_us, incl, orig = struct.unpack("<IIII", pcap[off:off + 16])
        records.append((ts_s, ts_us, pcap[off + 16:off + 16 + incl], orig))
        off += 16 + incl
    span = records[-1][0] - records[0][0] + 1
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /api/stream?name=soak HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
              b"Content-Type: application/vnd.tcpdump.pcap\r\n\r\n")

    def chunk(b):
        s.sendall(b"%x\r\n" % len(b) + b + b"\r\n")

    chunk(header)
    round_ = 0
    sent = 0
    try:
        while not stop.is_set():
            shift = round_ * (span + 60)
            batch = b""
            for ts_s, ts_us, data, orig in records:
                batch += struct.pack("<IIII", ts_s + shift, ts_us, len(data), orig) + data
                if len(batch) > 32_000:
                    chunk(batch)
                    sent += len(batch)
                    batch = b""
                    time.sleep(0.05)
                    if stop.is_set():
                        break
            if batch:
                chunk(batch)
            round_ += 1
        s.sendall(b"0\r\n\r\n")
        s.settimeout(120)
        answer = s.recv(65536)
        counts.add("stream", answer.startswith(b"HTTP/1.1 200"), why=answer[:200])
    except Exception as e:  # noqa: BLE001
        counts.add("stream", False, why=e)
    finally:
        s.close()
        counts.add("stream_bytes", True, sent)


async def ws_reader(port, stop, counts):
    url = f"ws://127.0.0.1:{port}/api/alerts?events=alerts,incidents"
    try:
        async with websockets.connect(url, max_size=None) as ws:
            await ws.recv()  # hello
            while not stop.is_set():
                try:
                    msg = await asyncio.wait_for(ws.recv(), timeout=1.0)
                except asyncio.TimeoutError:
                    continue
                m = json.loads(msg)
                kind = m.get("type", "alert")
                counts.add("ws_" + ("lagged" if kind == "lagged" else "incident" if kind.startswith("incident") else "alert"), True)
        counts.add("ws_sessions", True)
    except Exception as e:  # noqa: BLE001
        counts.add("ws_sessions", False, why=e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("shared")
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--json")
    a = ap.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([a.bin, "serve", "--bind", f"127.0.0.1:{port}"], cwd=ROOT,
                              stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except Exception:  # noqa: BLE001
            time.sleep(0.2)
    import csv
    rdr = csv.reader(open(pathlib.Path(a.shared) / "cic-ids2018/original/ml-ids_validation.csv"))
    header = next(rdr)
    keep = [i for i, h in enumerate(header) if h and h != "label"]
    data = []
    for r in rdr:
        row = []
        for i in keep:
            try:
                v = float(r[i])
                row.append(v if v == v and abs(v) != float("inf") else None)
            except ValueError:
                row.append(r[i])
        data.append(row)
    rows = {"columns": [header[i] for i in keep], "data": data}
    pcap = (ROOT / "samples/demo.pcap").read_bytes()
    counts, stop = Counts(), threading.Event()
    threads = [threading.Thread(target=predictor, args=(base, rows, stop, counts)) for _ in range(3)]
    threads.append(threading.Thread(target=uploader, args=(base, pcap, stop, counts)))
    threads.append(threading.Thread(target=streamer, args=(port, pcap, stop, counts)))
    async def readers():
        await asyncio.gather(*(ws_reader(port, stop, counts) for _ in range(3)))

    ws_thread = threading.Thread(target=lambda: asyncio.run(readers()))
    threads.append(ws_thread)
    for t in threads:
        t.start()
    samples = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < a.duration:
        samples.append((round(time.monotonic() - t0), round(rss_mib(server.pid), 1)))
        time.sleep(10)
    stop.set()
    for t in threads:
        t.join(timeout=180)
    samples.append((round(time.monotonic() - t0), round(rss_mib(server.pid), 1)))
    server.terminate()
    server.wait(timeout=20)
    rss = [r for _, r in samples]
    warm = rss[len(rss) // 5:]  # after the first fifth: caches and the upload store are filled
    half = len(warm) // 2
    result = {
        "duration_s": a.duration,
        "ok": counts.ok,
        "errors": counts.errors,
        "latency_p50_ms": {k: round(statistics.median(v) * 1000, 1) for k, v in counts.latency.items() if k != "stream_bytes"},
        "latency_p99_ms": {k: round(sorted(v)[int(len(v) * 0.99) - 1] * 1000, 1) for k, v in counts.latency.items() if v and k != "stream_bytes"},
        "rss_mib": {"first": rss[0], "max": max(rss), "last": rss[-1],
                    "warm_first_half_mean": round(statistics.mean(warm[:half] or warm), 1),
                    "warm_second_half_mean": round(statistics.mean(warm[half:] or warm), 1)},
        "samples": samples,
    }
    if a.json:
        json.dump(result, open(a.json, "w"), indent=1)
    print(f"## Soak: {a.duration:.0f} s of mixed load\n")
    print("| stream | ok | errors | p50 ms | p99 ms |\n|---|---:|---:|---:|---:|")
    for k in sorted(set(counts.ok) | set(counts.errors)):
        if k == "stream_bytes":
            continue
        print(f"| {k} | {counts.ok.get(k, 0)} | {counts.errors.get(k, 0)} | "
              f"{result['latency_p50_ms'].get(k, '')} | {result['latency_p99_ms'].get(k, '')} |")
    r = result["rss_mib"]
    print(f"\nRSS (MiB): start {r['first']}, max {r['max']}, end {r['last']}; after warm-up, mean of the "
          f"first half {r['warm_first_half_mean']} vs second half {r['warm_second_half_mean']}.")
    sys.exit(1 if counts.errors else 0)


if __name__ == "__main__":
    main()
