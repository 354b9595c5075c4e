//! corrected mode (spec §7) against values worked out by hand on crafted packet sequences.

use mlids_flow::{Feature as F, MeterConfig, Mode, Termination};
use mlids_test_support::capture::*;

const L: Link = Link { vlans: 0 };

fn tcp_session() -> Vec<RawFrame> {
    vec![
        tcp(T0, CLIENT, SERVER, "S", 0, 8192, L),
        tcp(T0 + 100, SERVER, CLIENT, "SA", 0, 29200, L),
        tcp(T0 + 300, CLIENT, SERVER, "A", 0, 8192, L),
        tcp(T0 + 1000, CLIENT, SERVER, "PA", 100, 8192, L),
        tcp(T0 + 3000, SERVER, CLIENT, "PA", 500, 30000, L),
        tcp(T0 + 6000, CLIENT, SERVER, "FA", 0, 8192, L),
        tcp(T0 + 6100, SERVER, CLIENT, "A", 0, 30000, L),
        tcp(T0 + 6200, SERVER, CLIENT, "FA", 0, 30000, L),
        tcp(T0 + 6300, CLIENT, SERVER, "A", 0, 8192, L),
    ]
}

#[test]
fn whole_connection_is_one_flow_closed_by_the_last_ack() {
    let (flows, summary) = run(Mode::Corrected, &tcp_session());
    assert_eq!(flows.len(), 1, "{flows:#?}");
    let f = &flows[0];
    assert_eq!(f.termination, Termination::Fin);
    assert_eq!(summary.flows_dropped_short, 0);
    // Forward (client): S, A, PA(100), FA, A → 0,0,100,0,0: mean 20, var (4·400 + 6400)/4 = 2000.
    // Backward: SA, PA(500), A, FA → 0,500,0,0: mean 125, var (3·125² + 375²)/3 = 62500.
    // All 9 payloads once: mean 600/9, var (260000 − 9·(600/9)²)/8 = 27500.
    // Gaps 100,200,700,2000,3000,100,100,100: sum 6300.
    // No gap over 5 s: one active period 0→6300 µs, closed at the end.
    assert_features(
        f,
        &[
            (F::FlowDuration, 6300.0),
            (F::TotFwdPkts, 5.0),
            (F::TotBwdPkts, 4.0),
            (F::FwdPktLenMean, 20.0),
            (F::FwdPktLenStd, 2000f64.sqrt()),
            (F::BwdPktLenMean, 125.0),
            (F::BwdPktLenStd, 250.0),
            (F::PktLenMean, 600.0 / 9.0),
            (F::PktLenVar, 27500.0),
            (F::PktSizeAvg, 600.0 / 9.0),
            (F::FlowIatMean, 6300.0 / 8.0),
            (F::FlowBytsS, 600.0 / 0.0063),
            (F::FinFlagCnt, 2.0),
            (F::SynFlagCnt, 2.0),
            (F::RstFlagCnt, 0.0),
            (F::PshFlagCnt, 2.0),
            (F::AckFlagCnt, 8.0),
            (F::UrgFlagCnt, 0.0),
            (F::CweFlagCount, 0.0),
            (F::EceFlagCnt, 0.0),
            (F::FwdPshFlags, 1.0),
            (F::BwdPshFlags, 1.0),
            (F::FwdRstFlags, 0.0),
            (F::BwdRstFlags, 0.0),
            // First backward packet's window (the SYN-ACK), not the last one's.
            (F::InitFwdWinByts, 8192.0),
            (F::InitBwdWinByts, 29200.0),
            (F::FwdActDataPkts, 1.0),
            (F::FwdSegSizeMin, 20.0),
            (F::DownUpRatio, 0.8),
            (F::SubflowFwdPkts, 5.0),
            (F::SubflowBwdByts, 500.0),
            (F::ActiveMean, 6300.0),
            (F::ActiveMin, 6300.0),
            (F::IdleMean, 0.0),
            (F::IcmpCode, -1.0),
            (F::IcmpType, -1.0),
            (F::TotalTcpFlowTime, 6300.0),
        ],
    );
    assert_eq!(f.timestamp(), "2018-02-16 00:00:00.000000");
}

#[test]
fn trailing_packets_are_absorbed_within_the_grace_period_and_new_connections_are_not() {
    let mut frames = tcp_session();
    // A retransmitted FIN 0.1 ms later: absorbed.
    frames.push(tcp(T0 + 6400, SERVER, CLIENT, "FA", 0, 30000, L));
    // A new connection on the same ports 0.5 s later: a new flow despite the grace period.
    frames.push(tcp(T0 + 500_000, CLIENT, SERVER, "S", 0, 8192, L));
    frames.push(tcp(T0 + 500_100, SERVER, CLIENT, "SA", 0, 29200, L));
    let (flows, summary) = run(Mode::Corrected, &frames);
    assert_eq!(summary.packets_absorbed, 1);
    assert_eq!(flows.len(), 2);
    assert_feature(&flows[0], F::TotBwdPkts, 4.0);
    assert_eq!(flows[1].termination, Termination::EndOfCapture);
    assert_eq!(
        summary.packets_read,
        summary.packets_decoded + summary.packets_skipped()
    );
}

#[test]
fn rst_ends_the_flow() {
    let frames = vec![
        tcp(T0, CLIENT, SERVER, "S", 0, 1, L),
        tcp(T0 + 10, SERVER, CLIENT, "SA", 0, 2, L),
        tcp(T0 + 20, CLIENT, SERVER, "RA", 0, 0, L),
        tcp(T0 + 30, SERVER, CLIENT, "A", 0, 2, L),
    ];
    let (flows, summary) = run(Mode::Corrected, &frames);
    assert_eq!(flows.len(), 1);
    assert_eq!(flows[0].termination, Termination::Rst);
    assert_features(
        &flows[0],
        &[
            (F::TotFwdPkts, 2.0),
            (F::TotBwdPkts, 1.0),
            (F::FwdRstFlags, 1.0),
            (F::RstFlagCnt, 1.0),
        ],
    );
    assert_eq!(summary.packets_absorbed, 1);
}

#[test]
fn a_flow_first_seen_at_its_syn_ack_is_oriented_to_the_client() {
    let frames = vec![
        tcp(T0, SERVER, CLIENT, "SA", 0, 29200, L),
        tcp(T0 + 50, CLIENT, SERVER, "A", 0, 8192, L),
    ];
    let (flows, _) = run(Mode::Corrected, &frames);
    let f = &flows[0];
    assert_eq!(
        (f.src.to_string(), f.src_port, f.dst_port),
        ("10.0.0.1".into(), 40000, 80)
    );
    assert_features(
        f,
        &[
            (F::TotFwdPkts, 1.0),
            (F::TotBwdPkts, 1.0),
            (F::InitFwdWinByts, 8192.0),
            (F::InitBwdWinByts, 29200.0),
            (F::DstPort, 80.0),
        ],
    );
}

#[test]
fn one_packet_flows_are_kept_with_zero_rates() {
    let (flows, summary) = run(Mode::Corrected, &[udp(T0, CLIENT, SERVER, 5)]);
    assert_eq!(flows.len(), 1);
    assert_eq!(summary.flows_dropped_short, 0);
    assert_features(
        &flows[0],
        &[
            (F::FlowBytsS, 0.0),
            (F::FlowPktsS, 0.0),
            (F::FlowIatMean, 0.0),
            (F::TotLenFwdPkts, 5.0),
            (F::InitFwdWinByts, 0.0),
        ],
    );
}

#[test]
fn icmp_keeps_its_protocol_type_and_code() {
    let frames = vec![
        icmp_echo(T0, "10.0.0.1", "10.0.0.2", false, 56),
        icmp_echo(T0 + 50, "10.0.0.2", "10.0.0.1", true, 56),
    ];
    let (flows, _) = run(Mode::Corrected, &frames);
    let f = &flows[0];
    assert_eq!((f.protocol, f.src_port, f.dst_port), (1, 0, 0));
    // ICMP header is 8 bytes; the 56 data bytes are the payload.
    assert_features(
        f,
        &[
            (F::IcmpType, 8.0),
            (F::IcmpCode, 0.0),
            (F::TotLenFwdPkts, 56.0),
            (F::TotLenBwdPkts, 56.0),
            (F::FwdHeaderLen, 8.0),
            (F::TotalTcpFlowTime, 0.0),
        ],
    );
}

#[test]
fn ipv6_flows_are_measured() {
    let a = Ep("2001:db8::1", 40000);
    let b = Ep("2001:db8::2", 443);
    let frames = vec![
        tcp(T0, a, b, "S", 0, 1, L),
        tcp(T0 + 7, b, a, "SA", 0, 2, L),
        tcp(T0 + 9, a, b, "PA", 33, 1, L),
    ];
    let (flows, summary) = run(Mode::Corrected, &frames);
    assert_eq!(summary.packets_decoded, 3);
    let f = &flows[0];
    assert_eq!(f.src.to_string(), "2001:db8::1");
    assert_eq!(f.flow_id(), "2001:db8::1-2001:db8::2-40000-443-6");
    assert_features(
        f,
        &[
            (F::TotFwdPkts, 2.0),
            (F::TotLenFwdPkts, 33.0),
            (F::FlowDuration, 9.0),
        ],
    );
}

#[test]
fn bulk_and_subflow_features() {
    let a = Ep("10.0.0.1", 5000);
    let b = Ep("10.0.0.2", 6000);
    let ms = 1000;
    // Five 100-byte packets 100 ms apart form one bulk: the 4th packet makes it a bulk
    // (4 packets, 400 B, 300 ms), the 5th extends it (5, 500 B, 400 ms) → 500 B/bulk, 5 pkts/bulk,
    // 500/0.4 = 1250 B/s. A 2 s gap then starts a second subflow: 6 packets / 2, 600 B / 2.
    let mut frames: Vec<_> = (0..5).map(|i| udp(T0 + i * 100 * ms, a, b, 100)).collect();
    frames.push(udp(T0 + 2400 * ms, a, b, 100));
    let (flows, _) = run(Mode::Corrected, &frames);
    assert_features(
        &flows[0],
        &[
            (F::FwdBytsBAvg, 500.0),
            (F::FwdPktsBAvg, 5.0),
            (F::FwdBlkRateAvg, 1250.0),
            (F::BwdBytsBAvg, 0.0),
            (F::SubflowFwdPkts, 3.0),
            (F::SubflowFwdByts, 300.0),
            (F::ActiveMean, 2.4e6),
        ],
    );
}

#[test]
fn idle_flows_expire_on_the_timer() {
    let a = Ep("10.0.0.1", 5000);
    let b = Ep("10.0.0.2", 6000);
    let c = Ep("10.0.0.3", 7000);
    let s = 1_000_000;
    let frames = vec![
        udp(T0, a, b, 1),
        udp(T0 + s, b, a, 1),
        udp(T0 + 70 * s, a, c, 1),
        udp(T0 + 71 * s, c, a, 1),
    ];
    let (flows, summary) = run(Mode::Corrected, &frames);
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[0].termination, Termination::IdleTimeout);
    assert_eq!(flows[1].termination, Termination::EndOfCapture);
    assert_eq!(summary.flows.get(&Termination::IdleTimeout), Some(&1));
}

#[test]
fn active_timeout_continuation_keeps_the_true_endpoints() {
    let a = Ep("10.0.0.1", 5000);
    let b = Ep("10.0.0.2", 53);
    let s = 1_000_000;
    let mut frames: Vec<_> = (0..=12)
        .map(|i| {
            if i % 2 == 0 {
                udp(T0 + i * 10 * s, a, b, 1)
            } else {
                udp(T0 + i * 10 * s, b, a, 1)
            }
        })
        .collect();
    frames.push(udp(T0 + 130 * s, b, a, 7));
    frames.push(udp(T0 + 131 * s, a, b, 9));
    let mut cfg = MeterConfig::new(Mode::Corrected);
    cfg.idle_timeout_us = None;
    let (flows, _) = run_bytes(cfg, pcap_bytes(&frames, 1, false, false));
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[0].termination, Termination::ActiveTimeout);
    assert_features(&flows[0], &[(F::TotFwdPkts, 7.0), (F::TotBwdPkts, 6.0)]);
    let cont = &flows[1];
    // The continuation's first packet came from b: it is backward, since a stays the source.
    assert_eq!(cont.src.to_string(), "10.0.0.1");
    assert_features(
        cont,
        &[
            (F::TotFwdPkts, 1.0),
            (F::TotBwdPkts, 1.0),
            (F::TotLenBwdPkts, 7.0),
            (F::TotLenFwdPkts, 9.0),
        ],
    );
}

#[test]
fn max_flows_evicts_the_least_recently_seen_and_emits_them() {
    let mut cfg = MeterConfig::new(Mode::Corrected);
    cfg.max_flows = 8;
    let frames: Vec<_> = (0..20u16)
        .map(|i| udp(T0 + i64::from(i), Ep("10.0.0.1", 1000 + i), SERVER, 1))
        .collect();
    let (flows, summary) = run_bytes(cfg, pcap_bytes(&frames, 1, false, false));
    assert_eq!(flows.len(), 20, "evicted flows are emitted, never lost");
    let evicted = summary
        .flows
        .get(&Termination::Evicted)
        .copied()
        .unwrap_or(0);
    assert!(evicted >= 12, "{summary:?}");
    // The first flows (oldest) are the evicted ones.
    assert_eq!(flows[0].termination, Termination::Evicted);
    assert_eq!(flows[0].src_port, 1000);
}
