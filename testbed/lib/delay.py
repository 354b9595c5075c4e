#!/usr/bin/env python3
"""A user-space link with a delay: the stand-in for `tc qdisc ... netem delay` on kernels built
without sch_netem (this project's CI machine answers "Specified qdisc kind is unknown", and has no
fq qdisc for earliest-departure-time shaping either).

    delay.py NEAR FAR DELAY_MS [JITTER_MS [LOSS_PCT [SEED]]]

Forwards every Ethernet frame between the interfaces NEAR and FAR (both in this namespace, neither
in a bridge): frames that arrive on NEAR leave on FAR DELAY_MS later (plus a uniform 0..JITTER_MS,
never reordering, as netem does with a rate), frames that arrive on FAR leave on NEAR at once. So
with NEAR facing a host, that host's replies reach the rest of the network late: its round-trip
time seen from anywhere else grows by DELAY_MS, which is what the RTT-shifted replays model.

With LOSS_PCT, each frame from NEAR is lost with that probability (independently, as netem's
`loss random`), so the host's peers see retransmissions and missing replies; SEED makes the
choice of lost frames repeatable.

Frames are held in memory in arrival order; past MAX_QUEUED the oldest waiting frame is dropped
(a full link queue). On SIGTERM the counts are printed: a line for a person, then the counts
alone as one JSON object for a program.
"""
import collections
import json
import os
import random
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
MAX_QUEUED = 200_000
SOCKET_BUFFER = 8 << 20


def open_port(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_BUFFER)
    s.bind((name, 0))
    s.setblocking(False)
    return s


def main():
    if not 4 <= len(sys.argv) <= 7:
        sys.exit("usage: delay.py NEAR FAR DELAY_MS [JITTER_MS [LOSS_PCT [SEED]]]")
    near_name, far_name = sys.argv[1], sys.argv[2]
    try:
        delay = float(sys.argv[3]) / 1000.0
        jitter = float(sys.argv[4]) / 1000.0 if len(sys.argv) > 4 else 0.0
        loss = float(sys.argv[5]) / 100.0 if len(sys.argv) > 5 else 0.0
        seed = int(sys.argv[6]) if len(sys.argv) > 6 else None
    except ValueError as e:
        sys.exit(f"delay.py: {e}")
    if delay < 0 or jitter < 0:
        sys.exit("delay.py: DELAY_MS and JITTER_MS must not be negative")
    if not 0 <= loss < 1:
        sys.exit("delay.py: LOSS_PCT must be at least 0 and below 100")
    rng = random.Random(seed)
    near, far = open_port(near_name), open_port(far_name)
    waiting = collections.deque()  # (due, frame) from near, in order
    counts = {"delayed": 0, "passed": 0, "lost": 0, "dropped": 0, "send_errors": 0}
    last_due = 0.0

    def report(*_):
        print(
            f"delay.py {near_name}->{far_name} +{delay * 1000:.0f} ms, "
            f"loss {loss * 100:g}%: {counts}",
        )
        print(json.dumps(counts), flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, report)
    signal.signal(signal.SIGINT, report)

    def send(sock, frame):
        try:
            sock.send(frame)
        except OSError:
            counts["send_errors"] += 1

    while True:
        now = time.monotonic()
        while waiting and waiting[0][0] <= now:
            send(far, waiting.popleft()[1])
            counts["delayed"] += 1
        timeout = max(0.0, waiting[0][0] - now) if waiting else 1.0
        readable, _, _ = select.select([near, far], [], [], timeout)
        for sock in readable:
            while True:
                try:
                    frame, addr = sock.recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:  # our own sends, seen again on the socket
                    continue
                if sock is far:
                    send(near, frame)
                    counts["passed"] += 1
                    continue
                if loss and rng.random() < loss:
                    counts["lost"] += 1
                    continue
                due = time.monotonic() + delay + (rng.uniform(0, jitter) if jitter else 0.0)
                last_due = max(last_due, due)  # no reordering
                if len(waiting) >= MAX_QUEUED:
                    waiting.popleft()
                    counts["dropped"] += 1
                waiting.append((last_due, frame))


if __name__ == "__main__":
    if os.geteuid() == 0:
        os.nice(-5)  # the link must keep up with the hosts it carries
    main()
