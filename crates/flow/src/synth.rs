//! Capture synthesis: build Ethernet frames (TCP, UDP, ICMP, IPv4/IPv6, VLAN) and write them as
//! pcap or pcapng bytes. Tests of every crate use it to craft exact packet sequences, and the demo
//! uses it to make its sample capture; nothing here reads the network.

use etherparse::{PacketBuilder, VlanId};
use std::net::IpAddr;

/// 2018-02-16 00:00:00 UTC, a day of the CSE-CIC-IDS2018 capture.
pub const T0: i64 = 1_518_739_200_000_000;

/// A frame and its capture time.
#[derive(Clone, Debug)]
pub struct RawFrame {
    pub ts_us: i64,
    pub data: Vec<u8>,
}

/// An endpoint: address and port.
#[derive(Clone, Copy, Debug)]
pub struct Ep(pub &'static str, pub u16);

impl Ep {
    fn ip(&self) -> IpAddr {
        self.0.parse().expect("test address")
    }
}

pub const CLIENT: Ep = Ep("10.0.0.1", 40000);
pub const SERVER: Ep = Ep("10.0.0.2", 80);

/// Link-layer options for a crafted frame.
#[derive(Clone, Copy, Debug, Default)]
pub struct Link {
    /// Number of 802.1Q tags (0, 1 or 2).
    pub vlans: u8,
}

fn eth(link: Link) -> etherparse::PacketBuilderStep<etherparse::Ethernet2Header> {
    let _ = link;
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
}

/// Pad to the 60-byte Ethernet minimum, as a NIC does.
fn pad(mut v: Vec<u8>) -> Vec<u8> {
    if v.len() < 60 {
        v.resize(60, 0);
    }
    v
}

/// A TCP segment. `flags` is a string of letters: F S R P A U E C.
pub fn tcp(
    ts_us: i64,
    from: Ep,
    to: Ep,
    flags: &str,
    payload: usize,
    win: u16,
    link: Link,
) -> RawFrame {
    let base = eth(link);
    let (s, d) = (from.ip(), to.ip());
    macro_rules! finish {
        ($ip:expr) => {{
            let mut b = $ip.tcp(from.1, to.1, 1000, win);
            for c in flags.chars() {
                b = match c {
                    'F' => b.fin(),
                    'S' => b.syn(),
                    'R' => b.rst(),
                    'P' => b.psh(),
                    'A' => b.ack(1),
                    'U' => b.urg(0),
                    'E' => b.ece(),
                    'C' => b.cwr(),
                    other => panic!("unknown flag {other}"),
                };
            }
            let mut v = Vec::new();
            b.write(&mut v, &vec![0x61u8; payload]).unwrap();
            v
        }};
    }
    let data = match (s, d, link.vlans) {
        (IpAddr::V4(s), IpAddr::V4(d), 0) => finish!(base.ipv4(s.octets(), d.octets(), 64)),
        (IpAddr::V4(s), IpAddr::V4(d), 1) => finish!(base
            .single_vlan(VlanId::try_new(7).unwrap())
            .ipv4(s.octets(), d.octets(), 64)),
        (IpAddr::V4(s), IpAddr::V4(d), _) => finish!(base
            .double_vlan(VlanId::try_new(7).unwrap(), VlanId::try_new(8).unwrap())
            .ipv4(s.octets(), d.octets(), 64)),
        (IpAddr::V6(s), IpAddr::V6(d), _) => finish!(base.ipv6(s.octets(), d.octets(), 64)),
        _ => panic!("mixed address families"),
    };
    RawFrame {
        ts_us,
        data: pad(data),
    }
}

pub fn udp(ts_us: i64, from: Ep, to: Ep, payload: usize) -> RawFrame {
    let b = eth(Link::default());
    let mut v = Vec::new();
    match (from.ip(), to.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => b
            .ipv4(s.octets(), d.octets(), 64)
            .udp(from.1, to.1)
            .write(&mut v, &vec![0x62u8; payload]),
        (IpAddr::V6(s), IpAddr::V6(d)) => b
            .ipv6(s.octets(), d.octets(), 64)
            .udp(from.1, to.1)
            .write(&mut v, &vec![0x62u8; payload]),
        _ => panic!("mixed address families"),
    }
    .unwrap();
    RawFrame {
        ts_us,
        data: pad(v),
    }
}

/// ICMP echo request/reply (type 8/0, code 0) with `payload` data bytes.
pub fn icmp_echo(ts_us: i64, from: &str, to: &str, reply: bool, payload: usize) -> RawFrame {
    let (s, d): (std::net::Ipv4Addr, std::net::Ipv4Addr) =
        (from.parse().unwrap(), to.parse().unwrap());
    let b = eth(Link::default()).ipv4(s.octets(), d.octets(), 64);
    let b = if reply {
        b.icmpv4_echo_reply(1, 1)
    } else {
        b.icmpv4_echo_request(1, 1)
    };
    let mut v = Vec::new();
    b.write(&mut v, &vec![0x63u8; payload]).unwrap();
    RawFrame {
        ts_us,
        data: pad(v),
    }
}

/// Classic pcap bytes (link type Ethernet unless given).
pub fn pcap_bytes(frames: &[RawFrame], linktype: u32, nanos: bool, big_endian: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let w32 = |out: &mut Vec<u8>, v: u32| {
        out.extend_from_slice(&if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        })
    };
    let w16 = |out: &mut Vec<u8>, v: u16| {
        out.extend_from_slice(&if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        })
    };
    w32(&mut out, magic);
    w16(&mut out, 2);
    w16(&mut out, 4);
    w32(&mut out, 0);
    w32(&mut out, 0);
    w32(&mut out, 262_144);
    w32(&mut out, linktype);
    for f in frames {
        let secs = f.ts_us.div_euclid(1_000_000) as u32;
        let frac = f.ts_us.rem_euclid(1_000_000) as u32;
        w32(&mut out, secs);
        w32(&mut out, if nanos { frac * 1000 } else { frac });
        w32(&mut out, f.data.len() as u32);
        w32(&mut out, f.data.len() as u32);
        out.extend_from_slice(&f.data);
    }
    out
}

/// pcapng bytes: one section, one Ethernet interface (µs resolution), enhanced packet blocks, and an
/// unknown block type in the middle that readers must skip.
pub fn pcapng_bytes(frames: &[RawFrame]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, btype: u32, body: &[u8]) {
        let padded = body.len().div_ceil(4) * 4;
        let total = (12 + padded) as u32;
        out.extend_from_slice(&btype.to_le_bytes());
        out.extend_from_slice(&total.to_le_bytes());
        out.extend_from_slice(body);
        out.resize(out.len() + padded - body.len(), 0);
        out.extend_from_slice(&total.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, &shb);
    let mut idb = Vec::new();
    idb.extend_from_slice(&1u16.to_le_bytes());
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&262_144u32.to_le_bytes());
    block(&mut out, 1, &idb);
    block(&mut out, 0x0bad_0bad, b"unknown block, skip me");
    for f in frames {
        let ts = f.ts_us as u64;
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(f.data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&f.data);
        epb.resize(epb.len().div_ceil(4) * 4, 0);
        block(&mut out, 6, &epb);
    }
    out
}
