#!/usr/bin/env python3
"""Score real captures no model trained on, with `ml-ids detect`, and report what a user would see.

    scripts/eval_captures.py --bin target/release/ml-ids --model models/default [--json out.json]

Sets (all under $MLIDS_SHARED_DATA, else ../shared/data):
  benign   pcap/benign/**: ordinary traffic from other networks
  ndpi     pcap/bench/ndpi-default/*, minus the captures that pcap/attack holds as attacks
           (ndpi_NAME there = NAME here), mostly benign application traffic from many networks
  attack   pcap/attack/<family>/*, with the family each directory should raise
  rtt      the port-scan, SYN-flood and brute-force captures with the responder's packets delayed
           by +0/+5/+20/+80 ms (scripts/rtt_shift.py), where the responder is known

For every capture: flows, flagged flows, flagged by stage, and incidents — attack verdicts grouped
by attacker, family and time, the alerts an analyst is shown (one EVE alert each); "groups"
(distinct source and label among flagged flows) is kept in the JSON. Prints Markdown tables;
--json writes everything. The nDPI captures that hold attacks without a copy in pcap/attack are
listed in NDPI_ATTACKS with the reason, scored as attacks and never as benign.
"""
import argparse
import collections
import json
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
SHARED = pathlib.Path(os.environ.get("MLIDS_SHARED_DATA", HERE.parent.parent / "shared" / "data"))

# Attack directories and the families (categories) a correct alert has. A capture "raises the
# right family" when at least one flagged flow has one of them.
EXPECTED = {
    "portscan": {"PortScan"},
    "syn-flood": {"DoS", "DDoS"},
    "tcp-reflection": {"DDoS"},
    "udp-amplification": {"DDoS"},
    "web-sqli": {"WebAttack"},
    "web-xss": {"WebAttack"},
    # Families the payload stage names from a request's text (command and code injection, path
    # traversal), which no training source labels.
    "web-rce": {"WebAttack"},
    "web-exploit": {"WebAttack"},
    # The payload stage's DNS-tunnel check (iodine, dnscat2, exfiltration in query names).
    "dns-tunnel": {"Infiltration"},
}

# Label → family, for labels of the host stage and the CIC label table.
FAMILY = {
    "PortScan": "PortScan", "SYN flood": "DoS", "SYN-ACK reflection": "DDoS",
    "UDP amplification": "DDoS", "UDP flood": "DoS", "HTTP flood": "DoS", "SQL Injection": "WebAttack",
    "Command Injection": "WebAttack", "Code Injection": "WebAttack", "Path Traversal": "WebAttack",
    "Brute Force -Web": "WebAttack", "Brute Force -XSS": "WebAttack", "Bot": "Bot",
    "Infiltration": "Infiltration", "DNS Tunnel": "Infiltration", "Heartbleed": "Heartbleed", "Attack": "Attack",
}

# nDPI corpus captures that hold attacks although pcap/attack has no copy of them, with the reason:
# they are neither benign training data nor benign evaluation data. (The corpus's other captures
# named after tunnels, fuzzing or a "trojan" are protocol tests: iodine-like tunnels are in
# pcap/attack; 4in6/dns2tcp/tunnelbear are legitimate tunnels; fuzz and ossfuzz seeds are
# malformed-packet tests, not attacks on a host; tls_heur__trojan is the Trojan proxy protocol.)
NDPI_ATTACKS = {
    "sql_injection.pcap": ("web-sqli", "a DVWA SQL injection request (UNION SELECT in the query string)"),
    "log4j-webapp-exploit.pcap": ("web-exploit", "a Log4Shell exploit (${jndi:ldap} in a login form, jndi:ldap in the User-Agent) against a web application"),
    # Found by the payload stage's benign test (crates/flow/tests/injections.rs): it was in the
    # benign set until then.
    "xss.pcap": ("web-xss", "a DVWA DOM-based XSS request (<script>alert(1)</script> in the query string)"),
    # Found by the DNS-tunnel check's corpus measurements (crates/flow/tests/dns_tunnels.rs): both
    # were in the benign set until then.
    "bad-dns-traffic.pcap": ("dns-tunnel", "a dnscat2 session: 220 MX/TXT/CNAME queries to skullseclabs.org whose first labels are 56-60 hex characters of tunnel data"),
    "dns-exf.pcap": ("dns-tunnel", "data exfiltrated in a query name (a 57-character base64 label)"),
}

# (capture, responder address) for the RTT-shifted replays.
RTT_CAPTURES = [
    ("pcap/attack/portscan/nmap_TCP_SYN_SCAN.pcap", None),
    ("pcap/attack/portscan/nmap_FIN_SCAN.pcap", None),
    ("pcap/attack/portscan/nmap_ACK_SCAN.pcap", None),
    ("pcap/attack/portscan/nmap_TCP_CONNECT_SCAN.pcap", None),
    ("pcap/attack/portscan/ndpi_synscan.pcap", None),
    ("pcap/attack/syn-flood/sv_tcp-session-syn-flood.pcap", None),
]
DELAYS_MS = [0, 5, 20, 80]


def family(label, evidence_category=None):
    if label in FAMILY:
        return FAMILY[label]
    if "Bruteforce" in label or "BruteForce" in label:
        return "BruteForce"
    if label.startswith("DDOS") or label.startswith("DDoS"):
        return "DDoS"
    if label.startswith("DoS"):
        return "DoS"
    return label


def ndpi_captures(caps, attack_names, fold=None):
    """The nDPI corpus without the captures pcap/attack holds as attacks and without NDPI_ATTACKS;
    with FOLD = "K/N", only those whose index in name order is K modulo N."""
    ndpi = [c for c in caps("pcap/bench/ndpi-default")
            if c.name not in attack_names and c.name not in NDPI_ATTACKS]
    if fold:
        k, n = (int(x) for x in fold.split("/"))
        ndpi = [c for i, c in enumerate(ndpi) if i % n == k]
    return ndpi


def detect(binary, model, capture, extra=()):
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as out, \
            tempfile.NamedTemporaryFile(suffix=".jsonl") as incidents_file:
        r = subprocess.run(
            [binary, "detect", "--model", model, "-q", "--explain", "0", "-o", out.name,
             "--format", "jsonl", "--incidents", incidents_file.name, *extra, str(capture)],
            capture_output=True, text=True)
        # Incidents are the alerts an analyst is shown (EVE writes one alert per incident).
        incidents = [json.loads(line) for line in open(incidents_file.name) if line.strip()]
        # A damaged capture ends with an error after the flows before the damage were written:
        # those are scored, and the error is kept beside them.
        error = (r.stderr.strip().splitlines() or ["?"])[-1].strip() if r.returncode != 0 else None
        flows = flagged = 0
        by_stage = collections.Counter()
        by_label = collections.Counter()
        groups = set()
        families = set()
        for line in open(out.name):
            v = json.loads(line)
            flows += 1
            if v["is_attack"]:
                flagged += 1
                by_stage[v.get("stage", "flow_model")] += 1
                by_label[v["prediction"]] += 1
                groups.add((v.get("src_ip") or v.get("Src IP"), v["prediction"]))
                ev = v.get("evidence")
                families.add(ev["category"] if ev and ev.get("category") else family(v["prediction"]))
        return {"capture": str(capture.relative_to(SHARED)) if SHARED in capture.parents else str(capture),
                "flows": flows, "flagged": flagged, "groups": len(groups),
                "incidents": len(incidents),
                "incident_families": sorted({i["family"] for i in incidents}),
                "by_stage": dict(by_stage), "by_label": dict(by_label), "families": sorted(families),
                **({"capture_error": error} if error else {})}


def responder(capture):
    """The address that answers most: the destination of most flows."""
    r = subprocess.run([ARGS.bin, "extract", "-q", "--mode", "corrected", "--names", "snake", "--format", "jsonl", "-o", "-", str(capture)],
                       capture_output=True, text=True)
    c = collections.Counter()
    for line in r.stdout.splitlines():
        v = json.loads(line)
        c[v.get("dst_ip") or v.get("Dst IP")] += 1
    return c.most_common(1)[0][0] if c else None


def table(rows, title, expected=None):
    print(f"\n### {title}\n")
    print("| capture | flows | flagged | % | incidents | stages | labels |" + (" right family |" if expected else ""))
    print("|---|---:|---:|---:|---:|---|---|" + ("---|" if expected else ""))
    for r in rows:
        if "error" in r:
            print(f"| {r['capture']} | error: {r['error'][0]} |")
            continue
        pct = 100 * r["flagged"] / r["flows"] if r["flows"] else 0
        stages = ", ".join(f"{k} {v}" for k, v in sorted(r["by_stage"].items()))
        labels = ", ".join(f"{k} {v}" for k, v in sorted(r["by_label"].items(), key=lambda x: -x[1])[:4])
        name = r["capture"] + (" (damaged: flows before the damage)" if r.get("capture_error") else "")
        line = f"| {name} | {r['flows']} | {r['flagged']} | {pct:.1f} | {r['incidents']} | {stages} | {labels} |"
        if expected:
            ok = r.get("right_family")
            line += " yes |" if ok else " **no** |"
        print(line)


def totals(rows):
    """Flows, flagged flows, captures with a flagged flow, captures with more than one incident."""
    f = sum(r.get("flows", 0) for r in rows)
    a = sum(r.get("flagged", 0) for r in rows)
    return f, a, sum(1 for r in rows if r.get("flagged", 0) > 0), sum(1 for r in rows if r.get("incidents", 0) > 1)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin")
    ap.add_argument("--model")
    ap.add_argument("--json")
    ap.add_argument("--extra", default="", help="extra arguments to detect, space separated")
    ap.add_argument("--sets", default="benign,ndpi,attack,rtt",
                    help="which sets to score (comma separated: benign, ndpi, attack, rtt)")
    ap.add_argument("--ndpi-fold", help="K/N: only the nDPI captures whose index in name order is K mod N "
                    "(leave-one-source-out folds, as bench/transfer.sh trains them)")
    ap.add_argument("--list-ndpi", action="store_true",
                    help="print the benign nDPI captures (of --ndpi-fold) one per line and exit: the one "
                    "definition the training scripts use too")
    ARGS = ap.parse_args()
    sets = set(ARGS.sets.split(","))
    extra = ARGS.extra.split()
    caps = lambda d: sorted(p for p in (SHARED / d).rglob("*") if p.is_file() and p.suffix in (".pcap", ".pcapng", ".cap"))
    if not ARGS.list_ndpi and not (ARGS.bin and ARGS.model):
        ap.error("--bin and --model are required (except with --list-ndpi)")
    if ARGS.list_ndpi:
        attack_names = {p.name[len("ndpi_"):] for p in caps("pcap/attack") if p.name.startswith("ndpi_")}
        print("\n".join(str(c) for c in ndpi_captures(caps, attack_names, ARGS.ndpi_fold)))
        return
    result = {}
    result["benign"] = [detect(ARGS.bin, ARGS.model, c, extra) for c in caps("pcap/benign")] if "benign" in sets else []
    attack_names = {p.name[len("ndpi_"):] for p in caps("pcap/attack") if p.name.startswith("ndpi_")}
    ndpi = ndpi_captures(caps, attack_names, ARGS.ndpi_fold)
    result["ndpi_excluded"] = sorted(attack_names | set(NDPI_ATTACKS))
    result["ndpi"] = [detect(ARGS.bin, ARGS.model, c, extra) for c in ndpi] if "ndpi" in sets else []
    result["attack"] = []
    for d in sorted((SHARED / "pcap/attack").iterdir()) if "attack" in sets else []:
        for c in caps(f"pcap/attack/{d.name}"):
            r = detect(ARGS.bin, ARGS.model, c, extra)
            r["directory"] = d.name
            if d.name in EXPECTED:
                r["right_family"] = bool(set(r.get("families", [])) & EXPECTED[d.name])
            result["attack"].append(r)
    for name, (d, why) in sorted(NDPI_ATTACKS.items()) if "attack" in sets else []:
        r = detect(ARGS.bin, ARGS.model, SHARED / "pcap/bench/ndpi-default" / name, extra)
        r["directory"], r["why"] = d, why
        if d in EXPECTED:
            r["right_family"] = bool(set(r.get("families", [])) & EXPECTED[d])
        result["attack"].append(r)
    result["rtt"] = []
    with tempfile.TemporaryDirectory() as tmp:
        for rel, host in RTT_CAPTURES if "rtt" in sets else []:
            src = SHARED / rel
            host = host or responder(src)
            d = rel.split("/")[2]
            for ms in DELAYS_MS:
                out = pathlib.Path(tmp) / f"{ms}ms-{src.name}"
                subprocess.run([sys.executable, HERE / "rtt_shift.py", src, out, "--host", host,
                                "--delay-ms", str(ms)], check=True, capture_output=True)
                r = detect(ARGS.bin, ARGS.model, out, extra)
                r["capture"] = f"{src.name} +{ms} ms"
                r["right_family"] = bool(set(r.get("families", [])) & EXPECTED[d])
                result["rtt"].append(r)

    f, a, raised, multi = totals(result["benign"])
    print(f"benign captures: {len(result['benign'])}, flows {f}, flagged {a} ({100*a/max(f,1):.2f}%), "
          f"captures with alerts {raised}, with more than one incident {multi}")
    f, a, raised, multi = totals(result["ndpi"])
    excluded = len(attack_names) + len(NDPI_ATTACKS)
    print(f"nDPI corpus without its {excluded} attack captures: {len(result['ndpi'])} captures, flows {f}, "
          f"flagged {a} ({100*a/max(f,1):.2f}%), captures with alerts {raised}, with more than one incident {multi}")
    scored = [r for r in result["attack"] if "right_family" in r]
    print(f"attack captures of covered families: {sum(r['right_family'] for r in scored)} of {len(scored)} raise the right family")
    print(f"RTT-shifted replays: {sum(r['right_family'] for r in result['rtt'])} of {len(result['rtt'])} raise the right family")
    table(result["benign"], "Benign captures (pcap/benign)")
    table([r for r in result["ndpi"] if r.get("flagged")], "nDPI corpus captures with flagged flows")
    table(scored, "Attack captures of covered families", expected=True)
    table([r for r in result["attack"] if "right_family" not in r], "Other attack captures (no family in the label table)")
    table(result["rtt"], "RTT-shifted replays (responder delayed)", expected=True)
    if ARGS.json:
        json.dump(result, open(ARGS.json, "w"), indent=1)


if __name__ == "__main__":
    main()
