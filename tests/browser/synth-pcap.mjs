// Writes a classic pcap of N short UDP flows (a DNS-like query and its answer each) between 2,000
// clients and 50 servers, spread over N/1000 seconds: a capture with many flows and no attacks,
// for the UI's large-result test. Usage: node synth-pcap.mjs OUT.pcap [N]
import { writeFileSync } from "node:fs";

export function synthPcap(n) {
  const FRAME = 14 + 20 + 8 + 24; // Ethernet + IPv4 + UDP + payload
  const REC = 16 + FRAME;
  const buf = Buffer.alloc(24 + n * 2 * REC);
  buf.writeUInt32LE(0xa1b2c3d4, 0); // microsecond timestamps, little-endian
  buf.writeUInt16LE(2, 4);
  buf.writeUInt16LE(4, 6);
  buf.writeUInt32LE(65535, 16); // snaplen
  buf.writeUInt32LE(1, 20); // Ethernet
  const t0 = 1_780_000_000_000_000; // µs; 2026-05-28
  let off = 24;
  const packet = (tUs, src, dst, sport, dport) => {
    buf.writeUInt32LE(Math.floor(tUs / 1e6), off);
    buf.writeUInt32LE(tUs % 1e6, off + 4);
    buf.writeUInt32LE(FRAME, off + 8);
    buf.writeUInt32LE(FRAME, off + 12);
    const f = off + 16;
    buf.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], f);
    const ip = f + 14;
    buf.set([0x45, 0, 0, 20 + 8 + 24, 0, 0, 0x40, 0, 64, 17, 0, 0], ip);
    buf.set(src, ip + 12);
    buf.set(dst, ip + 16);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += buf.readUInt16BE(ip + i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    buf.writeUInt16BE(~sum & 0xffff, ip + 10);
    const udp = ip + 20;
    buf.writeUInt16BE(sport, udp);
    buf.writeUInt16BE(dport, udp + 2);
    buf.writeUInt16BE(8 + 24, udp + 4); // checksum 0: none (allowed over IPv4)
    off += REC;
  };
  for (let i = 0; i < n; i++) {
    const c = i % 2000, s = i % 50;
    const client = [10, 1, c >> 8, c & 255], server = [10, 2, 0, s + 1];
    const sport = 1024 + Math.floor(i / 2000);
    const t = t0 + i * 1000;
    packet(t, client, server, sport, 53);
    packet(t + 300, server, client, 53, sport);
  }
  return buf;
}

if (process.argv[1] && process.argv[1].endsWith("synth-pcap.mjs")) {
  const out = process.argv[2] || "synth.pcap";
  const n = Number(process.argv[3] || 100000);
  writeFileSync(out, synthPcap(n));
  console.log(`${out}: ${n} flows`);
}
