//! Community IDs of flows extracted from real captures (../shared/data/pcap), against IDs computed
//! outside this crate. None of the spec's baseline pcaps is among the shared captures, so the
//! expected values were computed by hand: the first packet of each flow read with `tcpdump -nn -x`,
//! the endpoints ordered by hand (smaller address first, except for one-way ICMP types; an ICMP
//! request type paired with its reply type), and hashed with Python's standard library:
//!
//! ```text
//! data = struct.pack('!H', seed) + ip_address(a).packed + ip_address(b).packed + bytes([proto, 0])
//! data += struct.pack('!HH', port_a, port_b)      # not for portless protocols
//! '1:' + base64.b64encode(hashlib.sha1(data).digest()).decode()
//! ```
//!
//! Skips (loudly; fails under MLIDS_REQUIRE_ALL=1) when the shared data is absent.

use mlids_flow::community_id::of_record;
use mlids_flow::{
    CaptureReader, CsvSink, FlowRecord, FlowSink, JsonlSink, Layout, MeterConfig, Mode, NameStyle,
    Pipeline, Summary, VecSink,
};
use mlids_test_support::shared_data;
use std::net::IpAddr;
use std::path::Path;

fn flows(path: &Path, mode: Mode) -> Vec<FlowRecord> {
    let mut p = Pipeline::new(MeterConfig::new(mode));
    let mut sink = VecSink::default();
    let mut r = CaptureReader::open(path).unwrap();
    p.feed(&mut r, &mut sink, &mut ()).unwrap();
    p.finish(&mut sink).unwrap();
    sink.0
}

/// An endpoint: address and port (0 for ICMP and portless protocols, as the records hold them).
type End = (&'static str, u16);

/// The first flow from `src` to `dst` of the real IP protocol `protocol`.
fn find(flows: &[FlowRecord], src: End, dst: End, protocol: u8) -> &FlowRecord {
    let (s, d): (IpAddr, IpAddr) = (src.0.parse().unwrap(), dst.0.parse().unwrap());
    flows
        .iter()
        .find(|f| {
            (f.src, f.src_port, f.dst, f.dst_port) == (s, src.1, d, dst.1)
                && f.exchange.ip_protocol == protocol
        })
        .unwrap_or_else(|| panic!("no protocol {protocol} flow {src:?} -> {dst:?}"))
}

/// (capture under pcap/, mode, source, destination, real protocol, expected ID with seed 0)
type Case = (&'static str, Mode, End, End, u8, &'static str);

#[rustfmt::skip]
const CASES: &[Case] = &[
    // ICMP echo (8 → reply 0): 192.168.1.6, 192.168.1.13, 1, ports 8, 0. The cic2018 record
    // reports protocol 0 but hashes with the real one.
    ("benign/icmp/sv_icmpv4-ping.pcap", Mode::Corrected, ("192.168.1.6", 0), ("192.168.1.13", 0), 1, "1:gczrmkAG9D0K02uH71k2XkTHI64="),
    ("benign/icmp/sv_icmpv4-ping.pcap", Mode::Cic2018, ("192.168.1.6", 0), ("192.168.1.13", 0), 1, "1:gczrmkAG9D0K02uH71k2XkTHI64="),
    // DNS, the server's endpoint first: 8.8.8.8, 10.16.1.11, 17, ports 53, 55398.
    ("benign/dns/sv_dns-google-a-aaaa-mx.pcap", Mode::Corrected, ("10.16.1.11", 55398), ("8.8.8.8", 53), 17, "1:1hiEbpS5ApizB1GmnbftJ9TOVEo="),
    ("benign/dns/sv_dns-google-a-aaaa-mx.pcap", Mode::Cic2018, ("10.16.1.11", 55398), ("8.8.8.8", 53), 17, "1:1hiEbpS5ApizB1GmnbftJ9TOVEo="),
    // FTP over IPv6: fd00:10:16:1::2, fd00:10:16:1::3, 6, ports 21, 41256.
    ("benign/ipv6/sv_ftp-ipv6.pcap", Mode::Corrected, ("fd00:10:16:1::3", 41256), ("fd00:10:16:1::2", 21), 6, "1:L3Ebo5d1/k1C1f/tLn1sOJ6zrwg="),
    // ICMPv6 destination unreachable (type 1 code 0, one-way: the sender stays first).
    ("attack/ipv6-dos/sv_kill_router6.pcap", Mode::Corrected, ("2001:db8:1::3", 0), ("2001:db8:1:0:306e:739d:dea6:99a4", 0), 58, "1:Ye2NZuleuUxMTLk5RFkqEp5utwo="),
    // Router advertisement (134, paired with solicitation 133) to ff02::1.
    ("attack/ipv6-dos/sv_kill_router6.pcap", Mode::Corrected, ("fe80::6600:6aff:fe5b:8eb3", 0), ("ff02::1", 0), 58, "1:RCbcaknzJ4VkrXxVpgvVfELR/sk="),
    // Neighbour solicitation (135, paired with advertisement 136), answered in the same flow.
    ("attack/ipv6-dos/sv_kill_router6.pcap", Mode::Corrected, ("fe80::474:1ac9:edbd:7b3c", 0), ("fe80::6600:6aff:fe5b:8eb3", 0), 58, "1:djNDkgpNGS7dbK8EXY3W1+cBS5Y="),
    // MLDv2 report (143, one-way) behind a hop-by-hop extension header.
    ("attack/ipv6-dos/sv_kill_router6.pcap", Mode::Corrected, ("fe80::250:b6ff:fe19:e650", 0), ("ff02::16", 0), 58, "1:YTXTNj6xrVZhhcshjR+ZqKH/xgM="),
    // nmap's IP protocol scan: protocol 218 has no ports (192.168.1.10, 192.168.1.25, 218) ...
    ("attack/portscan/nmap_IP_PROTOCOL_SCAN.pcap", Mode::Corrected, ("192.168.1.10", 0), ("192.168.1.25", 0), 218, "1:1VMz8X5c09/IGmxKIQLzQaasQNY="),
    // ... and the ICMP flow between the two hosts begins with the target's protocol unreachable
    // (type 3 code 2, one-way): 192.168.1.25, 192.168.1.10, 1, ports 3, 2.
    ("attack/portscan/nmap_IP_PROTOCOL_SCAN.pcap", Mode::Corrected, ("192.168.1.25", 0), ("192.168.1.10", 0), 1, "1:0hCdaibhz724BCBvX+Ib7V3ZuJI="),
    // cic2018 folds every protocol but TCP and UDP between two hosts into one flow; its first
    // packet (protocol 218) names it.
    ("attack/portscan/nmap_IP_PROTOCOL_SCAN.pcap", Mode::Cic2018, ("192.168.1.10", 0), ("192.168.1.25", 0), 218, "1:1VMz8X5c09/IGmxKIQLzQaasQNY="),
];

#[test]
fn real_flows_have_the_independently_computed_ids() {
    let Some(data) = shared_data() else { return };
    for &(capture, mode, src, dst, protocol, expected) in CASES {
        let all = flows(&data.join("pcap").join(capture), mode);
        let f = find(&all, src, dst, protocol);
        assert_eq!(
            f.community_id().as_deref(),
            Some(expected),
            "{capture} ({mode}): {src:?} -> {dst:?} protocol {protocol}"
        );
    }
}

#[test]
fn the_seed_changes_a_real_flows_id() {
    let Some(data) = shared_data() else { return };
    let all = flows(
        &data.join("pcap/benign/icmp/sv_icmpv4-ping.pcap"),
        Mode::Corrected,
    );
    let f = find(&all, ("192.168.1.6", 0), ("192.168.1.13", 0), 1);
    // Seed 1: the same bytes behind 0x0001 instead of 0x0000.
    assert_eq!(
        of_record(f, 1).as_deref(),
        Some("1:0l9WTmCbMEvNVo7H8EaCoVVdAyk=")
    );
}

#[test]
fn sctp_flows_have_no_id() {
    // The decoder reads no SCTP ports, so an SCTP record covers every association between two
    // hosts: it gets no ID rather than one no other tool would produce.
    let Some(data) = shared_data() else { return };
    let all = flows(
        &data.join("pcap/bench/ndpi-default/sctp.cap"),
        Mode::Corrected,
    );
    let sctp: Vec<_> = all.iter().filter(|f| f.protocol == 132).collect();
    assert!(!sctp.is_empty());
    assert!(sctp.iter().all(|f| f.community_id().is_none()));
}

/// One synthesised TCP conversation, 10.0.0.1:40000 → 10.0.0.2:80; its ID (seed 0, by hand as
/// above: 10.0.0.1, 10.0.0.2, 6, ports 40000, 80) is `1:3k1SoWXs/FltHw2aBCgUTgbDQF4=`.
fn synthetic_flow() -> FlowRecord {
    use mlids_flow::synth::{tcp, Link, CLIENT, SERVER, T0};
    let frames = [
        tcp(T0, CLIENT, SERVER, "S", 0, 1000, Link::default()),
        tcp(T0 + 1000, SERVER, CLIENT, "SA", 0, 1000, Link::default()),
    ];
    let (flows, _) = mlids_test_support::capture::run(Mode::Corrected, &frames);
    flows.into_iter().next().unwrap()
}

const SYNTHETIC_ID: &str = "1:3k1SoWXs/FltHw2aBCgUTgbDQF4=";

fn written(sink: &mut dyn FlowSink, flows: &[FlowRecord]) {
    for f in flows {
        sink.flow(f).unwrap();
    }
    sink.finish(&Summary::default()).unwrap();
}

#[test]
fn csv_and_jsonl_carry_the_id_only_when_the_layout_asks() {
    let flow = synthetic_flow();
    assert_eq!(flow.community_id().as_deref(), Some(SYNTHETIC_ID));
    let layout = Layout::new(Mode::Corrected, NameStyle::Improved, false);
    let mut plain = CsvSink::new(Vec::new(), layout.clone(), None);
    written(&mut plain, std::slice::from_ref(&flow));
    let plain = String::from_utf8(plain.into_inner()).unwrap();
    assert!(!plain.contains("Community ID") && !plain.contains(SYNTHETIC_ID));
    let mut with = CsvSink::new(Vec::new(), layout.with_community_id(true), None);
    written(&mut with, std::slice::from_ref(&flow));
    let with = String::from_utf8(with.into_inner()).unwrap();
    let lines: Vec<&str> = with.lines().collect();
    assert!(
        lines[0].starts_with("Flow ID,Community ID,Src IP,"),
        "{}",
        lines[0]
    );
    let cells: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(cells[1], SYNTHETIC_ID);
    // The other cells are those of the plain file.
    let plain_cells: Vec<&str> = plain.lines().nth(1).unwrap().split(',').collect();
    assert_eq!([&cells[..1], &cells[2..]].concat(), plain_cells);
}

#[test]
fn jsonl_writes_null_where_a_flow_has_no_id() {
    let flow = synthetic_flow();
    let mut sctp = flow.clone();
    (sctp.protocol, sctp.exchange.ip_protocol) = (132, 132);
    let layout = Layout::new(Mode::Corrected, NameStyle::Snake, false).with_community_id(true);
    let mut sink = JsonlSink::new(Vec::new(), layout, None);
    written(&mut sink, &[flow, sctp]);
    let out = String::from_utf8(sink.into_inner()).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].contains(&format!(
            r#""flow_id":"10.0.0.1-10.0.0.2-40000-80-6","community_id":"{SYNTHETIC_ID}","src_ip""#
        )),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains(r#""community_id":null,"#), "{}", lines[1]);
}
