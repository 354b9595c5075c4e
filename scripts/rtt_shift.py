#!/usr/bin/env python3
"""Delay one host's packets in a pcap: `rtt_shift.py IN OUT --host IP --delay-ms N`.

Every packet sent by HOST (the responder of a scan, a flood's victim, a login server) is moved N ms
later and the capture is re-sorted by time, which is what the same exchange looks like across a
path with N ms more round-trip time. Classic pcap (any link type with IPv4 or IPv6 over Ethernet,
raw IP or Linux SLL) in, classic pcap out; pcapng is refused with a message.
"""
import argparse
import ipaddress
import struct
import sys


def packets(data):
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        sys.exit("rtt_shift: not a classic pcap file (pcapng is not supported; convert with editcap -F pcap)")
    nanos = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    pos, out = 24, []
    while pos + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(endian + "IIII", data[pos:pos + 16])
        body = data[pos + 16:pos + 16 + incl]
        if len(body) < incl:
            sys.exit(f"rtt_shift: truncated record at byte {pos}")
        ts = sec * 1_000_000 + (frac // 1000 if nanos else frac)
        out.append((ts, orig, body))
        pos += 16 + incl
    return data[:24], endian, nanos, linktype, out


def source(body, linktype):
    """The IP source address of a frame, or None."""
    if linktype == 1:  # Ethernet, with 802.1Q tags
        off, et = 14, struct.unpack(">H", body[12:14])[0] if len(body) >= 14 else 0
        while et in (0x8100, 0x88A8) and len(body) >= off + 4:
            et = struct.unpack(">H", body[off + 2:off + 4])[0]
            off += 4
    elif linktype == 113:  # Linux SLL
        off, et = 16, struct.unpack(">H", body[14:16])[0] if len(body) >= 16 else 0
    elif linktype in (101, 12, 228, 229):  # raw IP
        off = 0
        et = 0x0800 if body and body[0] >> 4 == 4 else 0x86DD
    else:
        return None
    if et == 0x0800 and len(body) >= off + 20:
        return ipaddress.ip_address(body[off + 12:off + 16])
    if et == 0x86DD and len(body) >= off + 40:
        return ipaddress.ip_address(body[off + 8:off + 24])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--host", required=True, help="the address whose packets are delayed")
    ap.add_argument("--delay-ms", type=float, required=True)
    a = ap.parse_args()
    host = ipaddress.ip_address(a.host)
    header, endian, nanos, linktype, pkts = packets(open(a.input, "rb").read())
    delay = int(a.delay_ms * 1000)
    moved = 0
    shifted = []
    for i, (ts, orig, body) in enumerate(pkts):
        if source(body, linktype) == host:
            ts += delay
            moved += 1
        shifted.append((ts, i, orig, body))
    shifted.sort()
    with open(a.output, "wb") as f:
        f.write(header)
        for ts, _, orig, body in shifted:
            frac = ts % 1_000_000 * (1000 if nanos else 1)
            f.write(struct.pack(endian + "IIII", ts // 1_000_000, frac, len(body), orig))
            f.write(body)
    print(f"rtt_shift: {moved} of {len(pkts)} packets from {host} delayed by {a.delay_ms} ms", file=sys.stderr)


if __name__ == "__main__":
    main()
