//! The detectors on flows built by hand: each test states the connection outcomes and checks the
//! walk or window arithmetic of the module's definition.

use mlids_behaviour::{flow_judged_by_model, HostBehaviour};
use mlids_flow::key::FlowKey;
use mlids_flow::packet::{proto, TcpFlags};
use mlids_flow::{
    Exchange, FlowRecord, Mode, Opening, SshAuth, SshPhase, Termination, NUM_FEATURES,
};
use std::net::IpAddr;

const SYN: u8 = TcpFlags::SYN;
const ACK: u8 = TcpFlags::ACK;
const RST: u8 = TcpFlags::RST;
const PSH: u8 = TcpFlags::PSH;
const FIN: u8 = TcpFlags::FIN;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn flow(src: &str, dst: &str, sport: u16, dport: u16, t_ms: i64, e: Exchange) -> FlowRecord {
    let (s, d) = (ip(src), ip(dst));
    FlowRecord {
        mode: Mode::Corrected,
        key: FlowKey::corrected(&s, &d, sport, dport, e.ip_protocol),
        src: s,
        src_port: sport,
        dst: d,
        dst_port: dport,
        protocol: e.ip_protocol,
        start_us: t_ms * 1000,
        end_us: t_ms * 1000 + 500,
        termination: Termination::EndOfCapture,
        values: [f64::NAN; NUM_FEATURES],
        exchange: e,
    }
}

fn tcp(fwd: u32, bwd: u32, first: u8, fwd_flags: u8, bwd_flags: u8, payload: u64) -> Exchange {
    Exchange {
        ip_protocol: proto::TCP,
        fwd_packets: fwd,
        bwd_packets: bwd,
        fwd_payload: payload,
        bwd_payload: payload,
        first_flags: TcpFlags(first),
        fwd_flags: TcpFlags(fwd_flags),
        bwd_flags: TcpFlags(bwd_flags),
        icmp: None,
        fwd_icmp_types: 0,
        ..Exchange::default()
    }
}

/// SYN answered by RST-ACK: a closed port.
fn refused() -> Exchange {
    tcp(1, 1, SYN, SYN, RST | ACK, 0)
}

/// A complete connection with data.
fn session() -> Exchange {
    tcp(6, 5, SYN, SYN | ACK | PSH | FIN, SYN | ACK | PSH | FIN, 300)
}

fn udp(fwd: u32, bwd: u32, fwd_payload: u64, bwd_payload: u64) -> Exchange {
    Exchange {
        ip_protocol: proto::UDP,
        fwd_packets: fwd,
        bwd_packets: bwd,
        fwd_payload,
        bwd_payload,
        ..Exchange::default()
    }
}

/// Every flow of `labels` got `label`.
fn all_labelled(labels: &[Option<String>], label: &str) -> bool {
    labels.iter().all(|l| l.as_deref() == Some(label))
}

fn run(flows: &[FlowRecord]) -> (HostBehaviour, Vec<Option<String>>) {
    let mut h = HostBehaviour::default();
    flows.iter().for_each(|f| h.observe(f));
    let labels = flows.iter().map(|f| h.judge(f).map(|x| x.label)).collect();
    (h, labels)
}

#[test]
fn four_failed_first_contacts_flag_a_scanner_and_every_probe_is_labelled() {
    // ln(0.8/0.2) = 1.386 per failure; ln(0.99/0.01) = 4.595: the 4th failure crosses (5.545).
    let probes: Vec<FlowRecord> = (0..4)
        .map(|i| flow("10.0.0.66", "10.0.0.10", 40000, 20 + i, i as i64, refused()))
        .collect();
    let (_, labels) = run(&probes[..3]);
    assert!(
        labels.iter().all(Option::is_none),
        "3 failures: 4.16 < 4.60"
    );
    let (_, labels) = run(&probes);
    assert!(all_labelled(&labels, "PortScan"));
}

#[test]
fn a_scanners_connections_to_the_ports_it_found_open_are_its_service_detection() {
    // nmap -sV: a SYN scan of 20 ports (ports 20-23 and 80 open: SYN-ACK, then the prober's RST),
    // then, 1 s later, full connections with service probes to the open ports.
    let open = tcp(2, 1, SYN, SYN | RST, SYN | ACK, 0);
    let mut flows: Vec<FlowRecord> = (0..20)
        .map(|i| {
            let port = if i < 4 { 20 + i } else { 1000 + i };
            let e = if i < 4 { open } else { refused() };
            flow("10.0.0.66", "10.0.0.10", 40000, port, i as i64, e)
        })
        .collect();
    for port in [21, 22] {
        flows.push(flow(
            "10.0.0.66",
            "10.0.0.10",
            50000 + port,
            port,
            1_000,
            session(),
        ));
    }
    // A port the scan never probed, and a probed port connected to 2 minutes later.
    flows.push(flow("10.0.0.66", "10.0.0.10", 50100, 443, 1_000, session()));
    flows.push(flow(
        "10.0.0.66",
        "10.0.0.10",
        50101,
        23,
        121_000,
        session(),
    ));
    let (h, labels) = run(&flows);
    assert!(all_labelled(&labels[..22], "PortScan"), "{labels:?}");
    assert_eq!(labels[22..], [None, None]);
    let f = h.judge(&flows[20]).unwrap();
    assert_eq!(f.evidence.detector, "scan.follow_up");
    assert!(
        f.yields_to_model,
        "a login after a scan is the classifier's to name"
    );
    // A client that is no scanner: a browser's pre-connected socket (handshake, no data), then a
    // request on a new connection to the same port.
    let browser = [
        flow("10.0.0.21", "10.0.0.10", 40001, 443, 0, open),
        flow("10.0.0.21", "10.0.0.10", 40002, 443, 500, session()),
    ];
    assert_eq!(run(&browser).1, [None, None]);
}

#[test]
fn repeated_attempts_to_one_port_are_one_first_contact() {
    let retries: Vec<FlowRecord> = (0..20)
        .map(|i| flow("10.0.0.5", "10.0.0.10", 40000 + i, 443, i as i64, refused()))
        .collect();
    let (_, labels) = run(&retries);
    assert!(labels.iter().all(Option::is_none));
}

#[test]
fn successes_hold_the_walk_at_benign_and_a_later_scan_is_flagged() {
    // 4 successes: 4 · ln(0.25) = −5.545, held at ln(0.0101) = −4.595 → benign; 7 failures then
    // bring the held walk to 5.11 ≥ 4.595, but the whole history (3 net failures, 4.16) not yet;
    // the 8th failure (5.55) flags.
    let mut flows: Vec<FlowRecord> = (0..4)
        .map(|i| flow("10.0.0.7", &format!("10.0.1.{i}"), 40000, 80, i, session()))
        .collect();
    let probe = |i: u16| {
        flow(
            "10.0.0.7",
            "10.0.0.10",
            41000,
            100 + i,
            10 + i as i64,
            refused(),
        )
    };
    flows.extend((0..7).map(probe));
    let (_, labels) = run(&flows);
    assert!(labels.iter().all(Option::is_none));
    flows.push(probe(7));
    let (_, labels) = run(&flows);
    let flagged = labels.iter().filter(|l| l.is_some()).count();
    assert_eq!(flagged, 8, "the probes, not the sessions");
}

#[test]
fn a_peer_to_peer_client_with_a_third_failed_contacts_is_no_scanner() {
    // Eight successes, then four failures in a row, repeated: each run of four would flag a walk
    // that restarted from zero after its benign decision; a third of failures is no scanner.
    let flows: Vec<FlowRecord> = (0..300)
        .map(|i| {
            let e = if i % 12 >= 8 { refused() } else { session() };
            let peer = format!("198.51.{}.{}", i / 250, i % 250 + 1);
            flow("10.0.0.5", &peer, 40000, 6881, i, e)
        })
        .collect();
    let (_, labels) = run(&flows);
    assert!(labels.iter().all(Option::is_none));
}

#[test]
fn fin_null_and_xmas_probes_fail_whether_or_not_answered_ack_probes_when_reset() {
    for first in [FIN, 0, FIN | PSH | TcpFlags::URG, ACK] {
        let probes: Vec<FlowRecord> = (0..6)
            .map(|i| {
                // An ACK probe counts when answered by a reset (unfiltered), as nmap -sA reads it.
                let e = if i % 2 == 0 && first != ACK {
                    tcp(1, 0, first, first, 0, 0) // open|filtered: no answer
                } else {
                    tcp(1, 1, first, first, RST, 0) // closed: RST
                };
                flow("10.0.0.66", "10.0.0.10", 50000, 1000 + i, i as i64, e)
            })
            .collect();
        let (_, labels) = run(&probes);
        assert!(all_labelled(&labels, "PortScan"), "flags {first:#x}");
    }
}

#[test]
fn a_one_sided_capture_of_a_working_client_is_no_scan() {
    // Only the client's direction was captured: SYN, ACK, data to five servers, nothing back.
    let flows: Vec<FlowRecord> = (0..5)
        .map(|i| {
            let e = tcp(8, 0, SYN, SYN | ACK | PSH, 0, 300);
            flow("10.0.0.4", &format!("10.0.3.{i}"), 40000, 5222, i, e)
        })
        .collect();
    let (_, labels) = run(&flows);
    assert!(labels.iter().all(Option::is_none));
}

#[test]
fn stray_resets_and_broadcasts_are_not_probes() {
    let mut flows: Vec<FlowRecord> = (0..10)
        .map(|i| {
            flow(
                "10.0.0.8",
                "10.0.0.10",
                50000 + i,
                80 + i,
                i as i64,
                tcp(1, 0, RST, RST, 0, 0),
            )
        })
        .collect();
    flows.extend((0..10).map(|i| {
        flow(
            "10.0.0.9",
            "239.255.255.250",
            50000 + i,
            1900 + i,
            i as i64,
            udp(1, 0, 120, 0),
        )
    }));
    flows.extend((0..10).map(|i| {
        flow(
            "10.0.0.9",
            "10.0.0.255",
            137,
            137 + i,
            i as i64,
            udp(1, 0, 50, 0),
        )
    }));
    let (_, labels) = run(&flows);
    assert!(labels.iter().all(Option::is_none));
}

/// `n` SYNs to 10.0.0.10:80, each from its own address, 10 ms apart, each answered by SYN-ACK and
/// never completed: a spoofed SYN flood.
fn spoofed_syn_flood(n: u16) -> Vec<FlowRecord> {
    (0..n)
        .map(|i| {
            let src = format!("172.16.{}.{}", i / 200, i % 200 + 1);
            let half_open = tcp(1, 1, SYN, SYN, SYN | ACK, 0);
            flow(
                &src,
                "10.0.0.10",
                1024 + i,
                80,
                i64::from(i) * 10,
                half_open,
            )
        })
        .collect()
}

#[test]
fn spoofed_syn_flood_is_one_family_from_many_senders() {
    // 150 SYNs from 150 addresses to port 80 within 1.5 s: ≥ 100 half-open, ≥ 10 senders.
    let flows = spoofed_syn_flood(150);
    let (_, labels) = run(&flows);
    assert!(all_labelled(&labels, "SYN flood"));
    let (h, _) = run(&flows[..99]);
    assert!(
        h.judge(&flows[0]).is_none(),
        "99 half-open flows are below the threshold"
    );
}

/// A scan that runs against a victim still flagged for a spoofed SYN flood (the flag holds for a
/// minute) is a scan: the scanner's probes are PortScan, the flood's SYNs stay SYN flood. Seen on
/// the testbed, where the scans follow the spoofed flood against the same victim.
#[test]
fn a_scan_during_a_flood_on_the_same_victim_is_a_scan() {
    let mut flows = spoofed_syn_flood(150);
    // 2 s later, within the flood flag's hold: one source's SYNs refused on 40 ports.
    flows.extend((0..40).map(|i| {
        flow(
            "10.0.0.66",
            "10.0.0.10",
            40000,
            1 + i,
            3500 + i as i64,
            tcp(1, 1, SYN, SYN, RST | ACK, 0),
        )
    }));
    let (_, labels) = run(&flows);
    assert!(all_labelled(&labels[..150], "SYN flood"));
    assert!(
        all_labelled(&labels[150..], "PortScan"),
        "{:?}",
        &labels[150..]
    );
}

#[test]
fn a_vertical_scan_is_not_a_syn_flood() {
    let flows: Vec<FlowRecord> = (0..500)
        .map(|i| {
            flow(
                "10.0.0.66",
                "10.0.0.10",
                40000,
                1 + i,
                i as i64,
                tcp(1, 1, SYN, SYN, RST | ACK, 0),
            )
        })
        .collect();
    let (h, labels) = run(&flows);
    assert!(all_labelled(&labels, "PortScan"));
    let ev = h.judge(&flows[0]).unwrap().evidence;
    assert_eq!(ev.detector, "scan.trw");
    assert!(
        ev.summary.contains("500 of 500 first contacts failed"),
        "{}",
        ev.summary
    );
}

/// 20 DNS servers each sending 60 one-way 1,400-byte responses to 10.0.0.10, one server every
/// 100 ms (2 s): a reflection through open resolvers.
fn dns_amplification() -> Vec<FlowRecord> {
    (0..20)
        .map(|i| {
            let src = format!("198.51.100.{}", i + 1);
            flow(
                &src,
                "10.0.0.10",
                53,
                4444,
                i * 100,
                udp(60, 0, 60 * 1400, 0),
            )
        })
        .collect()
}

#[test]
fn one_way_udp_from_reflectors_is_amplification() {
    let flows = dns_amplification();
    let (h, labels) = run(&flows);
    assert!(all_labelled(&labels, "UDP amplification"), "{labels:?}");
    let f = h.judge(&flows[3]).unwrap();
    assert_eq!(f.evidence.category, "DDoS");
    assert!(
        f.evidence.summary.contains("known amplifier"),
        "{}",
        f.evidence.summary
    );
}

#[test]
fn a_udp_scan_of_an_amplification_victim_is_a_scan() {
    // The victim of the amplification above, then, while its flag holds (60 s), a UDP scan of
    // it: 30 probes from one port, 5 answered by ICMP port unreachable. The probes are one-way
    // UDP to a flagged victim, but they come from a scanner and not from an amplifier's port.
    let mut flows = dns_amplification();
    flows.extend((0..30).map(|i| {
        flow(
            "10.0.0.66",
            "10.0.0.10",
            40000,
            1000 + i,
            20_000 + i as i64,
            udp(1, 0, 0, 0),
        )
    }));
    let unreach = Exchange {
        ip_protocol: proto::ICMP,
        fwd_packets: 5,
        icmp: Some((3, 3)),
        ..Exchange::default()
    };
    flows.push(flow("10.0.0.10", "10.0.0.66", 0, 0, 20_040, unreach));
    let (_, labels) = run(&flows);
    assert!(all_labelled(&labels[..20], "UDP amplification"));
    // The victim's unreachables answer the scanner's probes: the scan's, not the amplification's.
    assert!(all_labelled(&labels[20..51], "PortScan"), "{labels:?}");
}

/// The victim's ICMP port unreachables (`messages` of them) to `to` at `t_ms`.
fn unreachables_from(victim: &str, to: &str, t_ms: i64, messages: u32) -> FlowRecord {
    let e = Exchange {
        ip_protocol: proto::ICMP,
        fwd_packets: messages,
        icmp: Some((3, 3)),
        ..Exchange::default()
    };
    flow(victim, to, 0, 0, t_ms, e)
}

#[test]
fn a_udp_flood_victims_unreachables_are_the_floods_while_its_flag_holds() {
    // LOIC-UDP as in the testbed: 4 senders, 300 datagrams each to port 80 within 4 s; the
    // victim answers some with port unreachable (rate-limited, one ICMP flow per sender).
    let mut flows: Vec<FlowRecord> = (0..4)
        .map(|i| {
            let src = format!("10.0.0.{}", 120 + i);
            // One ephemeral port per sender (several senders sharing a port are reflectors).
            let port = 40000 + i as u16 * 7;
            flow(
                &src,
                "10.0.0.10",
                port,
                80,
                i * 10,
                udp(300, 0, 300 * 1024, 0),
            )
        })
        .collect();
    flows.push(unreachables_from("10.0.0.10", "10.0.0.120", 50, 6));
    // The same victim's unreachables long after the flag's hold (60 s), and another host's
    // during it: ordinary ICMP.
    flows.push(unreachables_from("10.0.0.10", "10.0.0.120", 200_000, 6));
    flows.push(unreachables_from("10.0.0.11", "10.0.0.120", 50, 6));
    let (h, labels) = run(&flows);
    assert!(all_labelled(&labels[..5], "UDP flood"), "{labels:?}");
    assert_eq!(labels[5], None, "after the hold");
    assert_eq!(labels[6], None, "a host under no flood");
    let f = h.judge(&flows[4]).unwrap();
    assert_eq!(f.evidence.host, "10.0.0.10");
    assert!(
        f.evidence.summary.starts_with("its ICMP unreachables"),
        "{}",
        f.evidence.summary
    );
    // A router's unreachables (host unreachable, code 1) do not come from the flooded host.
    let mut router = flows[..4].to_vec();
    let mut e = unreachables_from("10.0.0.10", "10.0.0.120", 50, 6);
    e.exchange.icmp = Some((3, 1));
    router.push(e);
    assert_eq!(run(&router).1[4], None);
}

#[test]
fn an_amplification_victims_unreachables_to_its_reflectors_are_the_amplifications() {
    // The victim has no DNS client waiting: it answers some resolvers with port unreachable.
    let mut flows = dns_amplification();
    flows.push(unreachables_from("10.0.0.10", "198.51.100.3", 300, 3));
    let (_, labels) = run(&flows);
    assert!(all_labelled(&labels, "UDP amplification"), "{labels:?}");
}

#[test]
fn a_udp_flood_from_a_few_hosts_sockets_is_a_flood_not_amplification() {
    // LOIC-style: 4 hosts, two sockets each on ephemeral ports, 300 one-way 1,024-byte datagrams
    // per socket to port 80 within 4 s. Large datagrams from few ports, but no port is a
    // service's: each belongs to one sender.
    let flows: Vec<FlowRecord> = (0..8)
        .map(|i| {
            let src = format!("10.0.0.{}", 120 + i / 2);
            flow(
                &src,
                "10.0.0.10",
                40000 + i * 7,
                80,
                i as i64 * 10,
                udp(300, 0, 300 * 1024, 0),
            )
        })
        .collect();
    let (h, labels) = run(&flows);
    assert!(all_labelled(&labels, "UDP flood"), "{labels:?}");
    assert_eq!(h.judge(&flows[0]).unwrap().evidence.category, "DoS");
    // The same datagrams from 4 servers that share one source port, not in the amplifier list:
    // reflectors of one service.
    let reflected: Vec<FlowRecord> = (0..8)
        .map(|i| {
            let src = format!("10.0.0.{}", 120 + i / 2);
            flow(
                &src,
                "10.0.0.11",
                9987,
                40000 + i,
                i as i64 * 10,
                udp(300, 0, 300 * 1024, 0),
            )
        })
        .collect();
    assert!(all_labelled(&run(&reflected).1, "UDP amplification"));
    // A DNS amplification on 10.0.0.10, then the first flood 20 s later, while the
    // amplification's flag holds: the flood is judged on its own datagrams.
    let mut both = dns_amplification();
    both.extend(flows.iter().map(|f| {
        let mut f = f.clone();
        f.start_us += 20_000_000;
        f.end_us += 20_000_000;
        f
    }));
    let (_, labels) = run(&both);
    assert!(
        all_labelled(&labels[..20], "UDP amplification"),
        "{labels:?}"
    );
    assert!(all_labelled(&labels[20..], "UDP flood"), "{labels:?}");
}

#[test]
fn answered_udp_is_never_a_flood() {
    let flows: Vec<FlowRecord> = (0..2000)
        .map(|i| {
            flow(
                "10.0.0.5",
                "10.0.0.53",
                30000 + (i % 1000) as u16,
                53,
                i,
                udp(1, 1, 40, 200),
            )
        })
        .collect();
    let (_, labels) = run(&flows);
    assert!(labels.iter().all(Option::is_none));
}

#[test]
fn ten_short_ssh_logins_in_a_minute_are_a_brute_force_nine_are_not() {
    // A tool's logins, each opened as the previous one ends (flows last 0.5 ms here, 1 ms apart).
    let logins: Vec<FlowRecord> = (0..10)
        .map(|i| flow("10.0.0.66", "10.0.0.10", 40000 + i, 22, i as i64, session()))
        .collect();
    let (_, labels) = run(&logins[..9]);
    assert!(labels.iter().all(Option::is_none));
    let (_, labels) = run(&logins);
    assert!(all_labelled(&labels, "SSH-Bruteforce"));
    // The same ten logins from a script that waits 2 s between them (a job, a deploy): not a
    // brute force — the testbed's benign SSH and FTP users have this pace.
    let scripted: Vec<FlowRecord> = (0..20)
        .map(|i| {
            flow(
                "10.0.0.24",
                "10.0.0.10",
                40000 + i,
                22,
                i as i64 * 2000,
                session(),
            )
        })
        .collect();
    let (_, labels) = run(&scripted);
    assert!(labels.iter().all(Option::is_none), "{labels:?}");
    // Logins in parallel (four at a time, hydra's default for SSH): a brute force.
    let parallel: Vec<FlowRecord> = (0..12)
        .map(|i| {
            let mut f = flow(
                "10.0.0.67",
                "10.0.0.10",
                40000 + i,
                22,
                (i / 4) as i64 * 3000,
                session(),
            );
            f.end_us = f.start_us + 2_500_000;
            f
        })
        .collect();
    let (_, labels) = run(&parallel);
    assert!(all_labelled(&labels, "SSH-Bruteforce"), "{labels:?}");
}

/// An SSH connection (both ends sent a version string) whose client was refused `failures`
/// times, or logged in.
fn ssh_login(failures: u16, succeeded: bool) -> Exchange {
    Exchange {
        fwd_opening: Opening::Ssh,
        bwd_opening: Opening::Ssh,
        ssh_auth: SshAuth {
            phase: if succeeded {
                SshPhase::Decided
            } else {
                SshPhase::ClientEncrypted
            },
            service_accept_len: 52,
            failure_len: 68,
            failures,
            succeeded,
            ..SshAuth::default()
        },
        ..session()
    }
}

#[test]
fn rejected_ssh_logins_flag_a_slow_brute_force_that_the_connection_count_misses() {
    // hydra with four tasks against OpenSSH: a connection every ~7 s, each lasting ~12 s with
    // five rejected guesses (after the `none` probe) — fewer than ten connections a minute.
    let hydra = |src: &str, n: u16, e: Exchange| -> Vec<FlowRecord> {
        (0..n)
            .map(|i| {
                let mut f = flow(src, "10.0.0.10", 40000 + i, 2222, i as i64 * 7000, e);
                f.end_us = f.start_us + 12_000_000;
                f
            })
            .collect()
    };
    // 2 connections × 5 = 10 rejected logins within a minute: flagged, on any port.
    let (h, labels) = run(&hydra("10.0.0.66", 2, ssh_login(5, false)));
    assert!(all_labelled(&labels, "SSH-Bruteforce"), "{labels:?}");
    let f = hydra("10.0.0.66", 2, ssh_login(5, false))[0].clone();
    let finding = h.judge(&f).unwrap();
    assert_eq!(finding.evidence.detector, "brute.auth");
    assert!(
        finding.evidence.summary.contains("10 rejected SSH logins"),
        "{}",
        finding.evidence.summary
    );
    // 3 connections × 3 = 9: below the count, and too few connections for the pace rule.
    let (_, labels) = run(&hydra("10.0.0.67", 3, ssh_login(3, false)));
    assert!(labels.iter().all(Option::is_none), "{labels:?}");
    // A person who mistypes twice and then logs in, every few minutes all day: a login that
    // succeeded counts no failures, and the mistyped ones are far apart.
    let person: Vec<FlowRecord> = (0..10)
        .map(|i| {
            let e = ssh_login(if i % 2 == 0 { 2 } else { 0 }, i % 2 == 1);
            let mut f = flow(
                "10.0.0.68",
                "10.0.0.10",
                40000 + i,
                22,
                i as i64 * 180_000,
                e,
            );
            f.end_us = f.start_us + 600_000_000;
            f
        })
        .collect();
    let (_, labels) = run(&person);
    assert!(labels.iter().all(Option::is_none), "{labels:?}");
    // Successful sessions, however many, are no brute force at a person's pace.
    let (_, labels) = run(&hydra("10.0.0.69", 8, ssh_login(0, true)));
    assert!(labels.iter().all(Option::is_none), "{labels:?}");
}

/// An FTP control connection (client commands, server numeric replies) with `rejected` 530
/// replies.
fn ftp_login(rejected: u16) -> Exchange {
    Exchange {
        fwd_opening: Opening::LineCommand,
        bwd_opening: Opening::NumericReply,
        ftp_rejected_logins: rejected,
        ..session()
    }
}

#[test]
fn rejected_ftp_logins_flag_a_brute_force_of_few_long_connections() {
    // hydra with eight tasks against vsftpd: eight connections opened at once, each ~8 s with a
    // few rejected guesses — too few connections for the connection count.
    let hydra = |src: &str, n: u16, e: Exchange| -> Vec<FlowRecord> {
        (0..n)
            .map(|i| {
                let mut f = flow(src, "10.0.0.10", 40000 + i, 21, i as i64, e);
                f.end_us = f.start_us + 8_000_000;
                f
            })
            .collect()
    };
    let (h, labels) = run(&hydra("10.0.0.66", 8, ftp_login(2)));
    assert!(all_labelled(&labels, "FTP-BruteForce"), "{labels:?}");
    let finding = h.judge(&hydra("10.0.0.66", 8, ftp_login(2))[0]).unwrap();
    assert!(
        finding.evidence.summary.contains("16 rejected FTP logins")
            && finding.evidence.summary.contains("530 replies"),
        "{}",
        finding.evidence.summary
    );
    // The same eight connections logging in (no 530): an ordinary FTP mirror, not flagged.
    let (_, labels) = run(&hydra("10.0.0.67", 8, ftp_login(0)));
    assert!(labels.iter().all(Option::is_none), "{labels:?}");
    // A person who mistypes the password three times on one connection: below the count.
    let (_, labels) = run(&hydra("10.0.0.68", 1, ftp_login(3)));
    assert!(labels.iter().all(Option::is_none), "{labels:?}");
    // 530 replies that are not FTP's (the client did not open with a command): not counted.
    let other = Exchange {
        fwd_opening: Opening::Other,
        ..ftp_login(2)
    };
    let (_, labels) = run(&hydra("10.0.0.69", 8, other));
    assert!(labels.iter().all(Option::is_none), "{labels:?}");
}

#[test]
fn short_connections_that_each_post_a_form_at_a_tools_pace_are_a_web_login_brute_force() {
    // hydra http-post-form with four tasks against a far server: four logins at a time, each a
    // connection of one POST lasting 300 ms, 116 in 10 s — below the request-flood count.
    let posting = Exchange {
        fwd_opening: Opening::HttpRequest,
        bwd_opening: Opening::HttpResponse,
        fwd_requests: 1,
        fwd_posts: 1,
        ..session()
    };
    let guesses = |src: &str, port: u16, every_ms: i64, e: Exchange| -> Vec<FlowRecord> {
        (0..116)
            .map(|i| {
                let t = (i / 4) as i64 * every_ms;
                let mut f = flow(src, "10.0.0.10", 30000 + i, port, t, e);
                f.end_us = f.start_us + 300_000;
                f
            })
            .collect()
    };
    let (h, labels) = run(&guesses("10.0.0.66", 8080, 345, posting));
    assert!(all_labelled(&labels, "Brute Force -Web"), "{labels:?}");
    let f = guesses("10.0.0.66", 8080, 345, posting)[0].clone();
    let finding = h.judge(&f).unwrap();
    assert_eq!(finding.evidence.detector, "brute.auth");
    // The classifier's own web-attack label (SQL injection through the form) stands.
    assert!(finding.yields_to_model);
    // The same connections fetching pages (GET): no login attempts, and no flood either.
    let fetching = Exchange {
        fwd_posts: 0,
        ..posting
    };
    let (_, labels) = run(&guesses("10.0.0.67", 8080, 345, fetching));
    assert!(labels.iter().all(Option::is_none), "{labels:?}");
    // hydra fetching the form before each guess, on a connection of its own: the fetches are the
    // brute force's too, and a browser fetching pages from the same site meanwhile is not.
    let mut with_fetches: Vec<FlowRecord> = guesses("10.0.0.66", 80, 690, posting)
        .into_iter()
        .zip(guesses("10.0.0.66", 80, 690, fetching))
        .flat_map(|(post, mut fetch)| {
            fetch.src_port += 1000;
            fetch.start_us -= 340_000;
            [fetch, post]
        })
        .collect();
    let browser = connections("10.0.0.71", 80, 40, 500, fetching);
    with_fetches.extend(browser.iter().cloned());
    let (_, labels) = run(&with_fetches);
    let (attack, others) = labels.split_at(labels.len() - browser.len());
    assert!(all_labelled(attack, "Brute Force -Web"), "{attack:?}");
    assert!(others.iter().all(Option::is_none), "{others:?}");
    // A person posting forms, one every few seconds: no brute force.
    let person: Vec<FlowRecord> = (0..20)
        .map(|i| {
            flow(
                "10.0.0.68",
                "10.0.0.10",
                30000 + i,
                80,
                i as i64 * 3000,
                posting,
            )
        })
        .collect();
    let (_, labels) = run(&person);
    assert!(labels.iter().all(Option::is_none), "{labels:?}");
    // A POST on a connection picked up mid-stream (no SYN seen) is no attempt the wire shows.
    let mid_stream = Exchange {
        first_flags: TcpFlags(ACK),
        ..posting
    };
    let (_, labels) = run(&guesses("10.0.0.69", 80, 345, mid_stream));
    assert!(labels.iter().all(Option::is_none), "{labels:?}");
    // POSTs the server never answers (a slow-body attack holding its connections): no logins.
    let unanswered = Exchange {
        bwd_opening: Opening::Unknown,
        ..posting
    };
    let (_, labels) = run(&guesses("10.0.0.70", 80, 345, unanswered));
    assert!(labels.iter().all(Option::is_none), "{labels:?}");
}

/// A complete connection whose client opened with `opening` (an HTTP request, a TLS record, …).
fn opened_with(opening: Opening) -> Exchange {
    Exchange {
        fwd_opening: opening,
        ..session()
    }
}

/// `n` connections from `src` to 10.0.0.10:`port`, one every `gap_ms`.
fn connections(src: &str, port: u16, n: u16, gap_ms: i64, e: Exchange) -> Vec<FlowRecord> {
    (0..n)
        .map(|i| flow(src, "10.0.0.10", 30000 + i, port, i as i64 * gap_ms, e))
        .collect()
}

#[test]
fn a_hundred_and_fifty_web_connections_in_ten_seconds_are_a_request_flood() {
    // 150 HTTP requests on connections of their own, one every 60 ms (9 s): a flood, every one
    // labelled, the first ones too (judged after the batch is observed).
    let flood = connections("10.0.0.66", 80, 150, 60, opened_with(Opening::HttpRequest));
    let (_, labels) = run(&flood);
    assert!(all_labelled(&labels, "HTTP flood"), "{labels:?}");
    // 149 of them: below the count.
    let (_, labels) = run(&flood[..149]);
    assert!(labels.iter().all(Option::is_none));
    // The same 150 over 30 s (5 a second: a busy page reload loop): no window holds 150.
    let paced = connections("10.0.0.67", 80, 150, 200, opened_with(Opening::HttpRequest));
    let (_, labels) = run(&paced);
    assert!(labels.iter().all(Option::is_none));
    // TLS counts as web too (HTTPS floods).
    let tls = connections("10.0.0.68", 443, 200, 10, opened_with(Opening::Tls));
    let (_, labels) = run(&tls);
    assert!(all_labelled(&labels, "HTTP flood"));
}

#[test]
fn an_injection_tools_requests_without_an_injection_are_the_injections_not_a_flood() {
    // sqlmap: one request per connection, 200 in 8 s, every tenth carrying SQL.
    let mut tool = connections("10.0.0.71", 80, 200, 40, opened_with(Opening::HttpRequest));
    for f in tool.iter_mut().step_by(10) {
        f.exchange.fwd_injection = Some(mlids_flow::Injection::Sql);
    }
    let (h, labels) = run(&tool);
    assert!(all_labelled(&labels, "SQL Injection"), "{labels:?}");
    let f = h.judge(&tool[1]).unwrap();
    assert!(!f.yields_to_model);
    assert_eq!(f.evidence.detector, "web.injection_tool");
    assert_eq!(f.evidence.category, "WebAttack");
    // Script instead of SQL: the XSS label.
    let mut xss = connections("10.0.0.72", 80, 200, 40, opened_with(Opening::HttpRequest));
    xss[50].exchange.fwd_injection = Some(mlids_flow::Injection::Script);
    let (_, labels) = run(&xss);
    assert!(all_labelled(&labels, "Brute Force -XSS"), "{labels:?}");
    // The same flood with no injection in it is a flood.
    let flood = connections("10.0.0.73", 80, 200, 40, opened_with(Opening::HttpRequest));
    let (_, labels) = run(&flood);
    assert!(all_labelled(&labels, "HTTP flood"), "{labels:?}");
    // An injection to another port of the server does not make this port's flood the tool's.
    let mut other_port = connections("10.0.0.74", 8080, 1, 0, opened_with(Opening::HttpRequest));
    other_port[0].exchange.fwd_injection = Some(mlids_flow::Injection::Sql);
    let mut both = connections("10.0.0.74", 80, 200, 40, opened_with(Opening::HttpRequest));
    both.extend(other_port);
    let (_, labels) = run(&both);
    assert!(all_labelled(&labels[..200], "HTTP flood"), "{labels:?}");
    // One injected request that is no flood: nothing here (the payload stage names it).
    let (_, labels) = run(&tool[..1]);
    assert_eq!(labels, [None]);
}

/// `n` keep-alive HTTP connections from `src` to 10.0.0.10:80, all opened at once, each carrying
/// `requests` requests over `seconds`.
fn keep_alive(src: &str, n: u16, requests: u32, seconds: i64) -> Vec<FlowRecord> {
    let e = Exchange {
        fwd_requests: requests,
        ..opened_with(Opening::HttpRequest)
    };
    let mut flows = connections(src, 80, n, 0, e);
    for f in &mut flows {
        f.end_us = f.start_us + seconds * 1_000_000;
    }
    flows
}

#[test]
fn five_hundred_requests_in_ten_seconds_over_keep_alive_connections_are_a_request_flood() {
    // 32 connections of 100 requests each in 8 s (the testbed's GoldenEye): 3,200 requests, far
    // fewer connections than a connection flood.
    let (h, labels) = run(&keep_alive("10.0.0.66", 32, 100, 8));
    assert!(all_labelled(&labels, "HTTP flood"), "{labels:?}");
    let f = h.judge(&keep_alive("10.0.0.66", 1, 100, 8)[0]).unwrap();
    assert!(
        f.evidence.summary.contains("carrying 3200 HTTP requests"),
        "{}",
        f.evidence.summary
    );
    // 5 × 100 requests in 8 s is the count exactly; 499 of them is below it.
    let (_, labels) = run(&keep_alive("10.0.0.67", 5, 100, 8));
    assert!(all_labelled(&labels, "HTTP flood"), "{labels:?}");
    let mut below = keep_alive("10.0.0.67", 5, 100, 8);
    below[4].exchange.fwd_requests = 99;
    assert!(run(&below).1.iter().all(Option::is_none));
    // A browser: six connections of 20 requests each in 3 s.
    assert!(run(&keep_alive("10.0.0.21", 6, 20, 3))
        .1
        .iter()
        .all(Option::is_none));
    // One keep-alive client of an API polling 10 times a second, its connection cut by the
    // meter at 120 s: 1,200 requests, 100 in any 10 s.
    assert!(run(&keep_alive("10.0.0.22", 1, 1200, 120))
        .1
        .iter()
        .all(Option::is_none));
    // The same 1,200 requests in 20 s are 600 in 10 s: a flood.
    assert!(all_labelled(
        &run(&keep_alive("10.0.0.23", 1, 1200, 20)).1,
        "HTTP flood"
    ));
}

#[test]
fn only_connections_that_open_with_a_web_request_count_toward_a_request_flood() {
    // 300 connections to port 80 whose client spoke something else, or that were picked up
    // after their SYN (the opening is then unknown): no evidence of web requests.
    let other = connections("10.0.0.66", 80, 300, 10, opened_with(Opening::Other));
    assert!(run(&other).1.iter().all(Option::is_none));
    let mid = Exchange {
        first_flags: TcpFlags(ACK),
        ..opened_with(Opening::HttpRequest)
    };
    assert!(run(&connections("10.0.0.67", 80, 300, 10, mid))
        .1
        .iter()
        .all(Option::is_none));
    // Refused connections are a scan's business, not a flood of requests.
    let refused_http = Exchange {
        fwd_opening: Opening::HttpRequest,
        ..refused()
    };
    let (_, labels) = run(&connections("10.0.0.69", 80, 300, 10, refused_http));
    assert!(labels.iter().all(|l| l.as_deref() != Some("HTTP flood")));
    // The finding yields to the flow classifier's attack label.
    let flood = connections("10.0.0.70", 80, 200, 10, opened_with(Opening::HttpRequest));
    let (h, _) = run(&flood);
    let finding = h.judge(&flood[0]).expect("flagged");
    assert!(finding.yields_to_model);
    assert_eq!(finding.evidence.detector, "web.flood");
    assert_eq!(finding.evidence.host, "10.0.0.70");
}

#[test]
fn unanswered_datagrams_are_no_evidence_port_unreachables_are() {
    // A P2P client: 50 datagrams to 50 peers, none answered in the capture.
    let p2p: Vec<FlowRecord> = (0..50)
        .map(|i| {
            flow(
                "10.0.0.5",
                &format!("198.51.100.{}", i + 1),
                6881,
                6881,
                i,
                udp(1, 0, 100, 0),
            )
        })
        .collect();
    let (_, labels) = run(&p2p);
    assert!(labels.iter().all(Option::is_none));
    // A UDP scan: 30 probes, the target answers 5 of them with ICMP port unreachable (one ICMP
    // flow of 5 messages, rate-limited as Linux does); 4 failures flag the prober.
    let mut scan: Vec<FlowRecord> = (0..30)
        .map(|i| {
            flow(
                "10.0.0.66",
                "10.0.0.10",
                40000,
                1000 + i,
                i as i64,
                udp(1, 0, 0, 0),
            )
        })
        .collect();
    let unreach = Exchange {
        ip_protocol: proto::ICMP,
        fwd_packets: 5,
        icmp: Some((3, 3)),
        ..Exchange::default()
    };
    scan.push(flow("10.0.0.10", "10.0.0.66", 0, 0, 40, unreach));
    let (h, labels) = run(&scan);
    // The probes and the target's unreachables that answer them.
    assert!(all_labelled(&labels, "PortScan"), "{labels:?}");
    let answers = h.judge(&scan[30]).unwrap();
    assert_eq!(answers.evidence.host, "10.0.0.66", "the scanner's scan");
    assert!(answers
        .evidence
        .summary
        .starts_with("ICMP unreachables from 10.0.0.10"));
}

#[test]
fn a_lone_unanswered_ack_is_no_probe_a_reset_ack_is() {
    let keepalives: Vec<FlowRecord> = (0..10)
        .map(|i| {
            flow(
                "10.0.0.8",
                &format!("10.0.2.{i}"),
                50000,
                443,
                i,
                tcp(1, 0, ACK, ACK, 0, 0),
            )
        })
        .collect();
    let (_, labels) = run(&keepalives);
    assert!(labels.iter().all(Option::is_none));
}

#[test]
fn the_model_judges_conversations_only() {
    assert!(flow_judged_by_model(&session()));
    assert!(flow_judged_by_model(&udp(1, 1, 40, 200)));
    assert!(!flow_judged_by_model(&refused()), "a refused SYN");
    assert!(
        !flow_judged_by_model(&tcp(3, 2, SYN, SYN | ACK | FIN, SYN | ACK | FIN, 0)),
        "no payload"
    );
    assert!(!flow_judged_by_model(&udp(1, 0, 120, 0)), "one packet");
    let icmp = Exchange {
        ip_protocol: proto::ICMP,
        fwd_packets: 1,
        bwd_packets: 1,
        ..Exchange::default()
    };
    assert!(!flow_judged_by_model(&icmp));
}

#[test]
fn memory_stays_bounded_under_a_spoofed_flood() {
    let cfg = mlids_behaviour::BehaviourConfig {
        max_hosts: 1000,
        ..Default::default()
    };
    let mut h = HostBehaviour::new(cfg);
    for i in 0..50_000u32 {
        let src = format!("100.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
        h.observe(&flow(
            &src,
            &format!("10.1.{}.{}", (i >> 8) & 255, i & 255),
            1,
            2,
            i as i64,
            tcp(1, 0, SYN, SYN, 0, 0),
        ));
    }
    assert!(
        h.tracked_hosts() <= 3 * 1000 + 8192,
        "{}",
        h.tracked_hosts()
    );
}

/// A failed first contact to `peer:port`.
fn unanswered_syn(src: &str, peer: &str, port: u16, t_ms: i64) -> FlowRecord {
    flow(src, peer, 40000, port, t_ms, tcp(2, 0, SYN, SYN, 0, 0))
}

#[test]
fn peer_discovery_is_no_scan_but_a_sweep_of_one_service_or_one_host_is() {
    // A peer-to-peer client (the shape of nDPI's gnutella.pcap): 40 peers gone away, each tried
    // once or twice on its own unprivileged port; a run of failures that crosses the walk.
    let peers: Vec<FlowRecord> = (0..40)
        .flat_map(|i| {
            let peer = format!("198.51.100.{}", i + 1);
            let port = 10_000 + 997 * i as u16;
            let tries = if i % 3 == 0 { 2 } else { 1 };
            (0..tries).map(move |k| unanswered_syn("10.0.0.5", &peer, port + k, i * 10 + k as i64))
        })
        .collect();
    let (_, labels) = run(&peers);
    assert!(labels.iter().all(Option::is_none), "{labels:?}");

    // The same number of failures, all on port 6346 of 40 hosts: a horizontal sweep of one
    // service, whatever the port's number.
    let sweep: Vec<FlowRecord> = (0..40)
        .map(|i| unanswered_syn("10.0.0.6", &format!("198.51.100.{}", i + 1), 6346, i))
        .collect();
    let (_, labels) = run(&sweep);
    assert!(all_labelled(&labels, "PortScan"));

    // 40 unprivileged ports of one host: a vertical scan.
    let vertical: Vec<FlowRecord> = (0..40)
        .map(|i| unanswered_syn("10.0.0.7", "198.51.100.9", 20_000 + i, i as i64))
        .collect();
    let (_, labels) = run(&vertical);
    assert!(all_labelled(&labels, "PortScan"));

    // Eight well-known ports on each of 8 hosts (a small top-ports sweep): privileged, and
    // several ports per host.
    let top_ports: Vec<FlowRecord> = (0..64)
        .map(|i| {
            let host = format!("198.51.100.{}", i / 8 + 1);
            unanswered_syn(
                "10.0.0.8",
                &host,
                [21, 22, 23, 25, 80, 110, 143, 443][i % 8],
                i as i64,
            )
        })
        .collect();
    let (_, labels) = run(&top_ports);
    assert!(all_labelled(&labels, "PortScan"));

    // A peer-to-peer client that then sweeps one host's ports becomes a scanner.
    let mut turned: Vec<FlowRecord> = peers
        .iter()
        .map(|f| {
            unanswered_syn(
                "10.0.0.9",
                &f.dst.to_string(),
                f.dst_port,
                f.start_us / 1000,
            )
        })
        .collect();
    turned.extend(
        (0..40).map(|i| unanswered_syn("10.0.0.9", "198.51.100.200", 1 + i, 1000 + i as i64)),
    );
    let (_, labels) = run(&turned);
    assert!(all_labelled(&labels, "PortScan"));
}

#[test]
fn unreachables_count_once_per_probe_they_can_answer_in_either_order() {
    let unreach = |n: u32| Exchange {
        ip_protocol: proto::ICMP,
        fwd_packets: n,
        icmp: Some((3, 3)),
        ..Exchange::default()
    };
    // A peer keeps sending to one closed port (one flow of 40 datagrams) and gets 40 port
    // unreachables (nDPI's zoom_p2p.pcapng has this shape): one failed contact, no scan.
    let p2p = vec![
        flow(
            "10.0.0.5",
            "198.51.100.7",
            8801,
            8801,
            0,
            udp(40, 0, 4000, 0),
        ),
        flow("198.51.100.7", "10.0.0.5", 0, 0, 1, unreach(40)),
    ];
    let (_, labels) = run(&p2p);
    assert!(labels.iter().all(Option::is_none), "{labels:?}");
    // A UDP scan whose unreachables flow ends before its probes: the probes settle them.
    let mut scan = vec![flow("10.0.0.10", "10.0.0.66", 0, 0, 0, unreach(6))];
    scan.extend((0..6).map(|i| {
        flow(
            "10.0.0.66",
            "10.0.0.10",
            40000,
            2000 + i,
            1 + i as i64,
            udp(1, 0, 0, 0),
        )
    }));
    let (_, labels) = run(&scan);
    assert!(all_labelled(&labels[1..], "PortScan"), "{labels:?}");
}

#[test]
fn an_ip_protocol_scan_is_answered_by_protocol_unreachables() {
    // nmap -sO: one bare IP packet per protocol number, the target answers the unsupported ones
    // with ICMP protocol unreachable (type 3, code 2).
    let mut flows: Vec<FlowRecord> = (0..10u8)
        .map(|p| {
            let e = Exchange {
                ip_protocol: 100 + p,
                fwd_packets: 1,
                ..Exchange::default()
            };
            flow("10.0.0.66", "10.0.0.10", 0, 0, i64::from(p), e)
        })
        .collect();
    let unreach = Exchange {
        ip_protocol: proto::ICMP,
        fwd_packets: 10,
        icmp: Some((3, 2)),
        ..Exchange::default()
    };
    flows.push(flow("10.0.0.10", "10.0.0.66", 0, 0, 20, unreach));
    let (_, labels) = run(&flows);
    assert!(all_labelled(&labels[..10], "PortScan"), "{labels:?}");
}

#[test]
fn a_hosts_port_unreachables_answer_only_probes_to_that_host_a_routers_answer_any() {
    let unreach = |code: u8, n: u32| Exchange {
        ip_protocol: proto::ICMP,
        fwd_packets: n,
        icmp: Some((3, code)),
        ..Exchange::default()
    };
    // A client sends to 6 peers that never answer; one STUN server it also used answers its 20
    // datagrams with 20 port unreachables (nDPI's zoom_p2p.pcapng): one failed contact.
    let mut flows: Vec<FlowRecord> = (0..6)
        .map(|i| {
            flow(
                "10.0.0.5",
                &format!("198.51.100.{}", i + 1),
                5000,
                3478,
                i,
                udp(20, 0, 2000, 0),
            )
        })
        .collect();
    flows.push(flow("198.51.100.1", "10.0.0.5", 0, 0, 10, unreach(3, 20)));
    let (_, labels) = run(&flows);
    assert!(labels.iter().all(Option::is_none), "{labels:?}");
    // The same with a router's code (administratively prohibited, 13) from the probed server
    // itself (its firewall): it still speaks for itself only.
    flows.pop();
    flows.push(flow("198.51.100.1", "10.0.0.5", 0, 0, 10, unreach(13, 20)));
    let (_, labels) = run(&flows);
    assert!(labels.iter().all(Option::is_none), "{labels:?}");
    // The same probes refused by a router on the way (host unreachable, code 1): a sweep of
    // unreachable hosts.
    flows.pop();
    flows.push(flow("192.0.2.1", "10.0.0.5", 0, 0, 10, unreach(1, 6)));
    let (_, labels) = run(&flows);
    assert!(all_labelled(&labels[..6], "PortScan"), "{labels:?}");
}

#[test]
fn crafted_probes_flag_a_scan_too_short_for_the_walk() {
    // nDPI's tcp_scan.pcapng in miniature: two connect probes that find open ports (successes,
    // 2 · −1.386), then SYN, FIN, NULL and Xmas probes refused (4 · 1.386): the walk ends at
    // 2.77 < 4.595, so the walk alone flags nothing.
    let scanner = "192.168.1.178";
    let connect = tcp(2, 1, SYN, SYN | ACK | RST, SYN | ACK, 0);
    let mut flows = vec![
        flow(scanner, "192.168.1.2", 56272, 80, 0, connect),
        flow(scanner, "192.168.1.2", 56273, 443, 1, connect),
        flow(scanner, "192.168.1.2", 56274, 445, 2, refused()),
        flow(scanner, "192.168.1.2", 43067, 3389, 3, refused()),
    ];
    let (_, labels) = run(&flows);
    assert!(labels.iter().all(Option::is_none), "no crafted probe yet");
    let urg = TcpFlags::URG;
    for (i, first) in [FIN, 0, FIN | PSH | urg].into_iter().enumerate() {
        let probe = tcp(1, 1, first, first, RST | ACK, 0);
        flows.push(flow(
            scanner,
            "192.168.1.2",
            62971,
            3390 + i as u16,
            4 + i as i64,
            probe,
        ));
    }
    let (h, labels) = run(&flows);
    assert!(
        all_labelled(&labels, "PortScan"),
        "every probe, the connect probes too: {labels:?}"
    );
    let evidence = h.judge(&flows[6]).unwrap().evidence;
    assert_eq!(evidence.detector, "scan.crafted");
    assert!(
        evidence
            .summary
            .starts_with("3 crafted probe(s), the first a TCP FIN segment without ACK"),
        "{}",
        evidence.summary
    );
}

#[test]
fn ordinary_first_segments_are_not_crafted_probes() {
    // A SYN (with ECN's ECE+CWR), a stray FIN+ACK or RST of an older connection, and an echo
    // request are what stacks send: one of each from one host flags nothing.
    let ecn_syn = tcp(1, 1, SYN | 0x40 | 0x80, SYN | 0x40 | 0x80, SYN | ACK, 0);
    let stray_fin = tcp(1, 1, FIN | ACK, FIN | ACK, RST, 0);
    let stray_rst = tcp(1, 0, RST, RST, 0, 0);
    // A flagless segment with data (nDPI's synthetic fuzzing seeds): not an empty probe.
    let mut null_with_data = tcp(1, 0, 0, 0, 0, 0);
    null_with_data.fwd_payload = 10;
    let echo = Exchange {
        ip_protocol: proto::ICMP,
        fwd_packets: 1,
        icmp: Some((8, 0)),
        fwd_icmp_types: 1 << 8 | 1 << 13, // echo and timestamp requests: monitoring does both
        ..Exchange::default()
    };
    let host = "10.0.0.9";
    let flows = vec![
        flow(host, "10.0.0.10", 40000, 443, 0, ecn_syn),
        flow(host, "10.0.0.11", 40001, 443, 1, stray_fin),
        flow(host, "10.0.0.12", 40002, 443, 2, stray_rst),
        flow(host, "10.0.0.13", 0, 0, 3, echo),
        flow(host, "10.0.0.14", 1, 1119, 4, null_with_data),
    ];
    let (_, labels) = run(&flows);
    assert!(labels.iter().all(Option::is_none), "{labels:?}");
    for f in &flows {
        assert_eq!(mlids_behaviour::scan::crafted_probe(&f.exchange), None);
    }
}

#[test]
fn an_address_mask_request_is_an_os_fingerprinting_probe() {
    // ppa_osfingerprinting.pcap: pings and timestamp queries answered, then address-mask and
    // information requests, all in one ICMP flow between the two hosts.
    let query = |t: u8| Exchange {
        ip_protocol: proto::ICMP,
        fwd_packets: 6,
        bwd_packets: 4,
        icmp: Some((8, 0)),
        fwd_icmp_types: 1 << 8 | 1 << 13 | 1 << t,
        ..Exchange::default()
    };
    let flows = vec![
        flow("10.0.0.29", "10.0.0.2", 0, 0, 0, query(17)),
        flow("10.0.0.29", "10.0.0.3", 0, 0, 1, query(15)),
    ];
    let (h, labels) = run(&flows);
    assert_eq!(labels, vec![Some("PortScan".to_string()); 2]);
    let evidence = h.judge(&flows[0]).unwrap().evidence;
    assert!(
        evidence
            .summary
            .contains("ICMP address-mask request (type 17)"),
        "{}",
        evidence.summary
    );
}

#[test]
fn a_client_is_returning_from_its_third_contact_with_one_service_in_a_minute() {
    let returning = |flows: &[FlowRecord]| {
        let mut h = HostBehaviour::default();
        flows.iter().for_each(|f| h.observe(f));
        flows.iter().map(|f| h.returning(f)).collect::<Vec<_>>()
    };
    // Three SSH logins 20 s apart: every one of them is a return, the first too.
    let three = connections("10.0.0.50", 22, 3, 20_000, session());
    assert_eq!(returning(&three), [true; 3]);
    // Two are not; nor are three spread over three minutes.
    assert_eq!(returning(&three[..2]), [false; 2]);
    let spread = connections("10.0.0.51", 22, 3, 90_000, session());
    assert_eq!(returning(&spread), [false; 3]);
    // Other ports or other servers are other services.
    let mut mixed = connections("10.0.0.52", 22, 2, 1_000, session());
    mixed.push(flow(
        "10.0.0.52",
        "10.0.0.10",
        40000,
        2222,
        2_000,
        session(),
    ));
    mixed.push(flow("10.0.0.52", "10.0.0.11", 40001, 22, 3_000, session()));
    assert_eq!(returning(&mixed), [false; 4]);
    // One keep-alive connection carrying three requests is three contacts; one with two is not.
    let keep = |requests| {
        let e = Exchange {
            fwd_requests: requests,
            ..opened_with(Opening::HttpRequest)
        };
        vec![flow("10.0.0.53", "10.0.0.10", 40000, 80, 0, e)]
    };
    assert_eq!(returning(&keep(3)), [true]);
    assert_eq!(returning(&keep(2)), [false]);
    // Unanswered SYNs are no contact, and UDP is not counted at all.
    let syns = connections("10.0.0.54", 22, 5, 100, tcp(1, 0, SYN, SYN, 0, 0));
    assert_eq!(returning(&syns), [false; 5]);
    let dns = connections("10.0.0.55", 53, 5, 100, udp(1, 1, 40, 120));
    assert_eq!(returning(&dns), [false; 5]);
}

/// One-way SYN-ACKs from `reflector`:21 to 10.0.0.10:21, `n` of them on one connection.
fn syn_acks(reflector: &str, t_ms: i64, n: u32) -> FlowRecord {
    flow(
        reflector,
        "10.0.0.10",
        21,
        21,
        t_ms,
        tcp(n, 0, SYN | ACK, SYN | ACK, 0, 0),
    )
}

#[test]
fn one_connection_repeating_its_syn_ack_past_any_handshake_is_a_reflection() {
    // Two FTP servers fed SYNs forged with 10.0.0.10's address, one every 2 s for 2 minutes:
    // 60 SYN-ACKs each on one connection, far from 100 flows in 10 s, but no handshake draws
    // more than 12 (1 + 5 retransmissions + one per retransmitted SYN of the client, 6).
    let slow = vec![
        syn_acks("198.51.100.1", 0, 60),
        syn_acks("198.51.100.2", 1000, 60),
    ];
    let (h, labels) = run(&slow);
    assert!(all_labelled(&labels, "SYN-ACK reflection"), "{labels:?}");
    let f = h.judge(&slow[1]).unwrap();
    assert_eq!(f.evidence.category, "DDoS");
    assert!(
        f.evidence
            .summary
            .contains("1 of them repeat one handshake's SYN-ACK up to 60 times"),
        "{}",
        f.evidence.summary
    );
    // A server retransmitting its SYN-ACK as often as a stack does, seen from one side only.
    let handshake = vec![
        syn_acks("198.51.100.1", 0, 12),
        syn_acks("198.51.100.2", 1000, 12),
    ];
    assert_eq!(run(&handshake).1, vec![None, None]);
}

/// `n` one-way DNS answers of `size` payload bytes from each of `reflectors` servers to
/// 10.0.0.10, one server every 100 ms.
fn reflected_answers(reflectors: u8, n: u32, size: u64) -> Vec<FlowRecord> {
    (0..reflectors)
        .map(|i| {
            let src = format!("198.51.100.{}", i + 1);
            let t_ms = i64::from(i) * 100;
            flow(
                &src,
                "10.0.0.10",
                53,
                22,
                t_ms,
                udp(n, 0, u64::from(n) * size, 0),
            )
        })
        .collect()
}

#[test]
fn a_slow_reflection_from_many_resolvers_is_amplification_by_its_bytes() {
    // 50 resolvers × 10 answers of 1,400 B (DNSSEC answers arrive as IP fragments, a few hundred
    // datagrams a second): 500 packets, half the UDP flood rate, but 700 kB from 50 amplifier
    // ports the victim never asked.
    let slow = reflected_answers(50, 10, 1400);
    let (h, labels) = run(&slow);
    assert!(all_labelled(&labels, "UDP amplification"), "{labels:?}");
    let f = h.judge(&slow[0]).unwrap();
    assert_eq!(f.evidence.category, "DDoS");
    assert!(
        f.evidence.summary.contains(
            "payload bytes of one-way UDP (100 packets) to 10.0.0.10 within 10 s from 10 sender(s)"
        ),
        "{}",
        f.evidence.summary
    );
    // Nine resolvers are not a distributed reflection, whatever their bytes (9 × 20 × 1,400 B).
    let few = reflected_answers(9, 20, 1400);
    assert!(run(&few).1.iter().all(Option::is_none));
    // Twelve UPnP devices answering one M-SEARCH three times (300 B each): 10.8 kB, no attack.
    let discovery = reflected_answers(12, 3, 300);
    assert!(run(&discovery).1.iter().all(Option::is_none));
}

#[test]
fn refused_syns_hold_no_half_open_state_and_are_no_syn_flood() {
    // 150 SYNs from 150 addresses to port 139 within 1.5 s, each refused by RST: a closed port's
    // answers (a client falling back from 445, a scan), not connections filling a listen queue.
    let flows: Vec<FlowRecord> = (0..150u16)
        .map(|i| {
            let src = format!("172.16.{}.{}", i / 200, i % 200 + 1);
            flow(
                &src,
                "10.0.0.10",
                1024 + i,
                139,
                i64::from(i) * 10,
                refused(),
            )
        })
        .collect();
    let (_, labels) = run(&flows);
    assert!(
        labels.iter().all(|l| l.as_deref() != Some("SYN flood")),
        "{labels:?}"
    );
}

#[test]
fn other_traffic_to_the_victim_does_not_move_a_floods_window() {
    // One refused UDP datagram to the victim at 0 s, then 150 spoofed SYNs from 9.5 s to 11 s.
    // Were the windows shared, the one at 0 s would cut the flood at 10 s into 50 + 100 halves
    // of the 100-flow threshold's; the flood's own window begins with its first SYN.
    let mut flows = vec![flow(
        "10.0.0.5",
        "10.0.0.10",
        5000,
        9999,
        0,
        udp(1, 0, 20, 0),
    )];
    flows.extend(spoofed_syn_flood(150).into_iter().map(|mut f| {
        f.start_us += 9_500_000;
        f.end_us += 9_500_000;
        f
    }));
    let (_, labels) = run(&flows);
    assert_eq!(labels[0], None);
    assert!(all_labelled(&labels[1..], "SYN flood"), "{labels:?}");
}

#[test]
fn a_flood_the_meter_emits_at_its_idle_timeout_is_judged_against_its_own_counts() {
    // Unanswered SYNs end only at the meter's idle timeout (120 s), so a spoofed flood reaches
    // the stage two minutes late, among flows that ended long after it. Two sweeps' worth of
    // those (a sweep runs every 8,192 flows) must not forget the flood's victim between counting
    // its SYNs and judging them.
    let recent = |i: u32| {
        let client = format!("10.0.{}.{}", i / 250, i % 250 + 1);
        flow(&client, "10.0.99.1", 40000, 443, 130_000, session())
    };
    let mut h = HostBehaviour::default();
    (0..8191).for_each(|i| h.observe(&recent(i)));
    let flood = spoofed_syn_flood(150);
    flood.iter().for_each(|f| h.observe(f));
    (8191..16_400).for_each(|i| h.observe(&recent(i)));
    let labels: Vec<_> = flood.iter().map(|f| h.judge(f).map(|x| x.label)).collect();
    assert!(all_labelled(&labels, "SYN flood"), "{labels:?}");
}
