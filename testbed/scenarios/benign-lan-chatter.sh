#!/usr/bin/env bash
# Ordinary LAN chatter, one datagram at a time: SSDP M-SEARCH and NOTIFY, mDNS and LLMNR queries to
# their multicast groups, NetBIOS name queries to the subnet broadcast and DHCP DISCOVER to
# 255.255.255.255, at random intervals — the one-packet flows every office network carries.
# shellcheck source=../lib/common.sh
. "$TB_LIB/common.sh"
printf 'cmd\tpython3\t%s\t%s\n' "$TB_NS" "lan chatter (SSDP, mDNS, LLMNR, NetBIOS, DHCP)" >> "$TB_EVENTS"
timeout -k 3 -s INT "$(tb_left)" ip netns exec "$TB_NS" python3 - "$TB_IP" "$TB_SEED" <<'PY' || true
import random, socket, struct, sys, time
ip, seed = sys.argv[1], int(sys.argv[2])
rnd = random.Random(seed)
bcast = ip.rsplit(".", 1)[0] + ".255"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(ip))
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
def dns_query(name, qtype=1, flags=0):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack(">HHHHHH", rnd.randrange(65536), flags, 1, 0, 0, 0) + q + struct.pack(">HH", qtype, 1)
def netbios(name):
    enc = "".join(chr(0x41 + (c >> 4)) + chr(0x41 + (c & 15)) for c in name.ljust(15).encode()[:15] + b"\0")
    return struct.pack(">HHHHHH", rnd.randrange(65536), 0x0110, 1, 0, 0, 0) + bytes([32]) + enc.encode() + b"\0" + struct.pack(">HH", 32, 1)
def dhcp():
    mac = bytes(rnd.randrange(256) for _ in range(6))
    return (struct.pack(">BBBBIHH4s4s4s4s", 1, 1, 6, 0, rnd.randrange(2**32), 0, 0x8000, b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4)
            + mac + b"\0" * 10 + b"\0" * 192 + b"\x63\x82\x53\x63" + b"\x35\x01\x01\xff")
msgs = [
    (lambda: b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n", ("239.255.255.250", 1900)),
    (lambda: b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\nLOCATION: http://%s:49152/desc.xml\r\n\r\n" % ip.encode(), ("239.255.255.250", 1900)),
    (lambda: dns_query(rnd.choice(["printer.local", "_googlecast._tcp.local", "nas.local"]), 12), ("224.0.0.251", 5353)),
    (lambda: dns_query(rnd.choice(["wpad", "fileserver", "intranet"])), ("224.0.0.252", 5355)),
    (lambda: netbios(rnd.choice(["WORKGROUP", "FILESRV", "PRINTER"])), (bcast, 137)),
    (lambda: dhcp(), ("255.255.255.255", 67)),
]
while True:
    make, dst = rnd.choice(msgs)
    try:
        s.sendto(make(), dst)
    except OSError:
        pass
    time.sleep(rnd.uniform(0.2, 2.0))
PY
