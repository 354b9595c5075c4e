#!/usr/bin/env python3
"""Check the flow-features spec's section-12 properties on published CIC CSV files.

Why: a cic2018-mode model may train on rows from several releases (CSE-CIC-IDS2018, its cleaned
Kaggle copy, CIC-IDS2017 MachineLearningCVE). They are only one feature space if the same
CICFlowMeter generation produced them; these properties (flag permutation, no one-packet flows,
subflow = total, zero bulk columns, integer Down/Up ratio, the Fwd Seg Size Min set) are that
generation's fingerprints. Stdlib only, streamed row by row.

Usage: scripts/check_cic_semantics.py FILE.csv... [--markdown]
"""
import csv
import math
import re
import sys


def norm(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


ALIASES = {
    "syn": ["synflagcnt", "synflagcount"],
    "fwd_psh": ["fwdpshflags"],
    "cwe": ["cweflagcount", "cweflagcnt"],
    "fwd_urg": ["fwdurgflags"],
    "tot_fwd": ["totfwdpkts", "totalfwdpackets"],
    "tot_bwd": ["totbwdpkts", "totalbackwardpackets"],
    "subflow_fwd": ["subflowfwdpkts", "subflowfwdpackets"],
    "down_up": ["downupratio"],
    "protocol": ["protocol"],
    "fwd_seg_min": ["fwdsegsizemin", "minsegsizeforward"],
}


def column_index(header):
    normed = [norm(h) for h in header]
    found = {}
    for key, names in ALIASES.items():
        for i, h in enumerate(normed):
            if h in names:
                found[key] = i
                break
    found["bulk"] = [i for i, h in enumerate(normed) if "bulk" in h]
    return found


def num(v):
    try:
        return float(v)
    except ValueError:
        return math.nan


class Check:
    def __init__(self, name):
        self.name, self.held, self.failed = name, 0, 0

    def see(self, ok):
        if ok is None:
            return
        if ok:
            self.held += 1
        else:
            self.failed += 1

    def result(self):
        n = self.held + self.failed
        if n == 0:
            return "n/a"
        return f"{self.held / n:.1%} of {n}"


def check_file(path):
    checks = {k: Check(k) for k in [
        "1a SYN = Fwd PSH", "1b CWE = Fwd URG", "2 packets >= 2", "4a subflow = total fwd",
        "4b bulk columns 0", "5 Down/Up integer", "9 protocol in {0,6,17}",
        "10 Fwd Seg Size Min set"]}
    seg_set = {0, 8, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60}
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        rows = csv.reader(f)
        ix = column_index(next(rows))

        def get(row, key):
            i = ix.get(key)
            return num(row[i]) if i is not None and i < len(row) else None

        for row in rows:
            c = list(checks.values())
            syn, psh = get(row, "syn"), get(row, "fwd_psh")
            c[0].see(None if syn is None or psh is None else syn == psh)
            cwe, urg = get(row, "cwe"), get(row, "fwd_urg")
            c[1].see(None if cwe is None or urg is None else cwe == urg)
            fwd, bwd = get(row, "tot_fwd"), get(row, "tot_bwd")
            c[2].see(None if fwd is None or bwd is None else fwd + bwd >= 2)
            sub = get(row, "subflow_fwd")
            c[3].see(None if sub is None or fwd is None else sub == fwd)
            c[4].see(all(num(row[i]) == 0 for i in ix["bulk"]) if ix["bulk"] else None)
            du = get(row, "down_up")
            c[5].see(None if du is None or math.isnan(du) else du == int(du))
            proto = get(row, "protocol")
            c[6].see(None if proto is None else proto in (0, 6, 17))
            seg = get(row, "fwd_seg_min")
            c[7].see(None if seg is None or math.isnan(seg) else seg in seg_set)
    return checks


def main(argv):
    markdown = "--markdown" in argv
    files = [a for a in argv if a != "--markdown"]
    results = [(p, check_file(p)) for p in files]
    names = list(results[0][1].keys()) if results else []
    if markdown:
        print("| file | " + " | ".join(names) + " |")
        print("|---" * (len(names) + 1) + "|")
        for p, checks in results:
            print(f"| {p.split('/')[-1]} | " + " | ".join(c.result() for c in checks.values()) + " |")
    else:
        for p, checks in results:
            print(p)
            for c in checks.values():
                print(f"  {c.name:28} {c.result()}")


if __name__ == "__main__":
    main(sys.argv[1:])
