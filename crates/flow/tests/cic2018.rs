//! cic2018 mode against values worked out by hand from shared/spec/flow-features.md (§4–§5) on
//! crafted packet sequences. Each expected number is derived in the comment above it.

use mlids_flow::{Feature as F, Mode, Termination};
use mlids_test_support::capture::*;

const L: Link = Link { vlans: 0 };

/// Handshake, one request, one response, then the FIN(A) → ACK(B) → FIN(B) → ACK(A) teardown.
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
fn main_flow_ends_at_the_first_fin() {
    let (flows, summary) = run(Mode::Cic2018, &tcp_session());
    // Main flow (ends at the client's FIN), appendix flow (server ACK + server FIN); the client's last
    // ACK is a one-packet flow, dropped.
    assert_eq!(flows.len(), 2, "{flows:#?}");
    assert_eq!(summary.flows_dropped_short, 1);
    assert_eq!(summary.flows.get(&Termination::Fin), Some(&2));
    let main = &flows[0];
    assert_eq!(main.termination, Termination::Fin);
    assert_eq!(
        (main.src.to_string(), main.src_port, main.dst_port),
        ("10.0.0.1".into(), 40000, 80)
    );
    // Forward: SYN, ACK, PA(100), FA → payloads 0,0,100,0; backward: SA, PA(500) → 0,500.
    // Fwd std: mean 25, Σ(x−25)² = 3·625 + 75² = 7500, /3 = 2500 → 50.
    // Bwd std: sqrt((250² + 250²)/1) = 250·√2.
    // Flow gaps: 100, 200, 700, 2000, 3000 → mean 1200; Σ(dev²) = 6,340,000, /4 → std √1,585,000.
    // Fwd gaps (0, 300, 1000, 6000): 300, 700, 5000 → tot 6000, mean 2000, var 13,580,000/2.
    // Pkt Len values (first payload counted twice): 0,0,0,0,100,500,0 → mean 600/7;
    //   var = (260000 − 7·(600/7)²)/6 = 1,460,000/42.
    // Flags of the first packet (SYN) land in the PSH column (permutation).
    assert_features(
        main,
        &[
            (F::DstPort, 80.0),
            (F::Protocol, 6.0),
            (F::FlowDuration, 6000.0),
            (F::TotFwdPkts, 4.0),
            (F::TotBwdPkts, 2.0),
            (F::TotLenFwdPkts, 100.0),
            (F::TotLenBwdPkts, 500.0),
            (F::FwdPktLenMax, 100.0),
            (F::FwdPktLenMin, 0.0),
            (F::FwdPktLenMean, 25.0),
            (F::FwdPktLenStd, 50.0),
            (F::BwdPktLenMax, 500.0),
            (F::BwdPktLenMin, 0.0),
            (F::BwdPktLenMean, 250.0),
            (F::BwdPktLenStd, 250.0 * 2f64.sqrt()),
            (F::FlowBytsS, 600.0 / 0.006),
            (F::FlowPktsS, 6.0 / 0.006),
            (F::FlowIatMean, 1200.0),
            (F::FlowIatStd, 1_585_000f64.sqrt()),
            (F::FlowIatMax, 3000.0),
            (F::FlowIatMin, 100.0),
            (F::FwdIatTot, 6000.0),
            (F::FwdIatMean, 2000.0),
            (F::FwdIatStd, 6_790_000f64.sqrt()),
            (F::FwdIatMax, 5000.0),
            (F::FwdIatMin, 300.0),
            (F::BwdIatTot, 2900.0),
            (F::BwdIatMean, 2900.0),
            (F::BwdIatStd, 0.0),
            (F::BwdIatMax, 2900.0),
            (F::BwdIatMin, 2900.0),
            (F::FwdPshFlags, 0.0),
            (F::BwdPshFlags, 0.0),
            (F::FwdHeaderLen, 80.0),
            (F::BwdHeaderLen, 40.0),
            (F::FwdPktsS, 4.0 / 0.006),
            (F::BwdPktsS, 2.0 / 0.006),
            (F::PktLenMin, 0.0),
            (F::PktLenMax, 500.0),
            (F::PktLenMean, 600.0 / 7.0),
            (F::PktLenVar, 1_460_000.0 / 42.0),
            (F::PktLenStd, (1_460_000f64 / 42.0).sqrt()),
            (F::FinFlagCnt, 0.0),
            (F::SynFlagCnt, 0.0),
            (F::RstFlagCnt, 0.0),
            (F::PshFlagCnt, 1.0),
            (F::AckFlagCnt, 0.0),
            (F::UrgFlagCnt, 0.0),
            (F::CweFlagCount, 0.0),
            (F::EceFlagCnt, 0.0),
            (F::DownUpRatio, 0.0),
            (F::PktSizeAvg, 100.0),
            (F::FwdSegSizeAvg, 25.0),
            (F::BwdSegSizeAvg, 250.0),
            (F::FwdBytsBAvg, 0.0),
            (F::BwdBlkRateAvg, 0.0),
            (F::SubflowFwdPkts, 4.0),
            (F::SubflowFwdByts, 100.0),
            (F::SubflowBwdPkts, 2.0),
            (F::SubflowBwdByts, 500.0),
            (F::InitFwdWinByts, 8192.0),
            // The window of the *last* backward packet, not the SYN-ACK's 29200.
            (F::InitBwdWinByts, 30000.0),
            // Forward packets after the first with payload: only the request.
            (F::FwdActDataPkts, 1.0),
            (F::FwdSegSizeMin, 20.0),
            (F::ActiveMean, 0.0),
            (F::IdleMax, 0.0),
        ],
    );
    assert_eq!(main.timestamp(), "16/02/2018 12:00:00");
    assert!(
        main.get(F::FwdRstFlags).is_nan(),
        "corrected-only feature must be absent"
    );
}

#[test]
fn teardown_forms_an_appendix_flow_led_by_the_server() {
    let (flows, _) = run(Mode::Cic2018, &tcp_session());
    let app = &flows[1];
    // ACK(B) then FIN(B): both from the server, which is this record's forward side.
    assert_eq!(
        (app.src.to_string(), app.src_port, app.dst_port),
        ("10.0.0.2".into(), 80, 40000)
    );
    assert_eq!(app.termination, Termination::Fin);
    assert_features(
        app,
        &[
            (F::DstPort, 40000.0),
            (F::FlowDuration, 100.0),
            (F::TotFwdPkts, 2.0),
            (F::TotBwdPkts, 0.0),
            (F::FwdIatTot, 100.0),
            (F::FlowIatMean, 100.0),
            // First packet is a bare ACK: only the ACK column.
            (F::AckFlagCnt, 1.0),
            (F::UrgFlagCnt, 0.0),
            (F::InitFwdWinByts, 30000.0),
            (F::InitBwdWinByts, -1.0),
            (F::DownUpRatio, 0.0),
            (F::BwdPktLenMax, 0.0),
        ],
    );
}

#[test]
fn fin_from_the_responder_also_ends_the_flow_and_a_fin_first_flow_is_kept_open() {
    // The server closes first; then a stray FIN-ACK from the client starts a flow (FIN in the first
    // packet does not close it) which the capture end flushes.
    let frames = vec![
        tcp(T0, CLIENT, SERVER, "S", 0, 1000, L),
        tcp(T0 + 10, SERVER, CLIENT, "FA", 0, 2000, L),
        tcp(T0 + 20, CLIENT, SERVER, "FA", 0, 1000, L),
        tcp(T0 + 30, SERVER, CLIENT, "A", 0, 2000, L),
    ];
    let (flows, summary) = run(Mode::Cic2018, &frames);
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[0].termination, Termination::Fin);
    assert_feature(&flows[0], F::TotBwdPkts, 1.0);
    assert_eq!(flows[1].termination, Termination::EndOfCapture);
    // The appendix's first packet carries FIN: it shows in the URG column (permutation), with ACK.
    assert_features(
        &flows[1],
        &[
            (F::UrgFlagCnt, 1.0),
            (F::AckFlagCnt, 1.0),
            (F::TotFwdPkts, 1.0),
            (F::TotBwdPkts, 1.0),
        ],
    );
    assert_eq!(summary.flows_dropped_short, 0);
}

#[test]
fn flag_columns_are_permuted_and_count_the_first_packet_only() {
    // First packet RST+ECE+URG (no FIN): RST → FIN column, ECE → RST column, URG → CWE column and
    // Fwd URG Flags. The later PSH and CWR are not counted at all.
    let frames = vec![
        tcp(T0, CLIENT, SERVER, "REU", 0, 1, L),
        tcp(T0 + 5, CLIENT, SERVER, "PC", 10, 1, L),
        tcp(T0 + 9, SERVER, CLIENT, "PAC", 10, 1, L),
    ];
    let (flows, _) = run(Mode::Cic2018, &frames);
    assert_eq!(flows.len(), 1);
    assert_features(
        &flows[0],
        &[
            (F::FinFlagCnt, 1.0),
            (F::SynFlagCnt, 0.0),
            (F::RstFlagCnt, 1.0),
            (F::PshFlagCnt, 0.0),
            (F::AckFlagCnt, 0.0),
            (F::UrgFlagCnt, 0.0),
            (F::CweFlagCount, 1.0),
            (F::EceFlagCnt, 0.0),
            (F::FwdUrgFlags, 1.0),
            (F::FwdPshFlags, 0.0),
            (F::BwdPshFlags, 0.0),
        ],
    );
    // SYN Flag Cnt always equals Fwd PSH Flags, CWE equals Fwd URG (spec §12 check 1).
    let f = &flows[0];
    assert_eq!(f.get(F::SynFlagCnt), f.get(F::FwdPshFlags));
    assert_eq!(f.get(F::CweFlagCount), f.get(F::FwdUrgFlags));
}

#[test]
fn rst_does_not_end_a_flow() {
    let frames = vec![
        tcp(T0, CLIENT, SERVER, "S", 0, 1, L),
        tcp(T0 + 5, SERVER, CLIENT, "RA", 0, 0, L),
        tcp(T0 + 9, CLIENT, SERVER, "S", 0, 1, L),
    ];
    let (flows, _) = run(Mode::Cic2018, &frames);
    assert_eq!(flows.len(), 1);
    assert_feature(&flows[0], F::TotFwdPkts, 2.0);
    assert_eq!(flows[0].termination, Termination::EndOfCapture);
}

#[test]
fn active_timeout_is_measured_from_the_first_packet_and_continuation_books_forward() {
    let a = Ep("10.0.0.1", 5000);
    let b = Ep("10.0.0.2", 53);
    let s = 1_000_000;
    let frames = vec![
        udp(T0, a, b, 10),
        udp(T0 + 60 * s, b, a, 20),
        // 130 s after the first packet: cut. The continuation's first packet comes from b but is
        // booked forward; the next one from a matches the kept source address: forward too.
        udp(T0 + 130 * s, b, a, 30),
        udp(T0 + 131 * s, a, b, 40),
    ];
    let (flows, summary) = run(Mode::Cic2018, &frames);
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[0].termination, Termination::ActiveTimeout);
    assert_features(
        &flows[0],
        &[
            (F::FlowDuration, 60e6),
            (F::TotFwdPkts, 1.0),
            (F::TotBwdPkts, 1.0),
            (F::TotLenBwdPkts, 20.0),
        ],
    );
    let cont = &flows[1];
    assert_eq!(
        (cont.src.to_string(), cont.dst_port),
        ("10.0.0.1".into(), 53)
    );
    assert_features(
        cont,
        &[
            (F::DstPort, 53.0),
            (F::TotFwdPkts, 2.0),
            (F::TotBwdPkts, 0.0),
            (F::TotLenFwdPkts, 70.0),
            (F::FlowDuration, 1e6),
            // UDP: header 8 per packet, no window.
            (F::FwdHeaderLen, 16.0),
            (F::FwdSegSizeMin, 8.0),
            (F::InitFwdWinByts, -1.0),
            (F::InitBwdWinByts, -1.0),
        ],
    );
    assert_eq!(summary.flows.get(&Termination::ActiveTimeout), Some(&1));
}

#[test]
fn active_and_idle_around_five_second_gaps_drop_the_last_period() {
    let a = Ep("10.0.0.1", 5000);
    let b = Ep("10.0.0.2", 53);
    let ms = 1000;
    // Gaps: 1 s, 7 s (> 5 s), 1 s, 6 s (> 5 s), 0.5 s.
    let times = [0, 1000, 8000, 9000, 15000, 15500];
    let frames: Vec<_> = times
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i % 2 == 0 {
                udp(T0 + t * ms, a, b, 1)
            } else {
                udp(T0 + t * ms, b, a, 1)
            }
        })
        .collect();
    let (flows, _) = run(Mode::Cic2018, &frames);
    assert_eq!(flows.len(), 1);
    // Active periods recorded: 0→1 s and 8→9 s (1 s each); the last (15→15.5 s) never is.
    // Idle samples: 7 s and 6 s → mean 6.5 s, sample std √((0.5² + 0.5²)/1) s.
    assert_features(
        &flows[0],
        &[
            (F::ActiveMean, 1e6),
            (F::ActiveStd, 0.0),
            (F::ActiveMax, 1e6),
            (F::ActiveMin, 1e6),
            (F::IdleMean, 6.5e6),
            (F::IdleStd, 0.5e6 * 2f64.sqrt()),
            (F::IdleMax, 7e6),
            (F::IdleMin, 6e6),
        ],
    );
}

#[test]
fn one_packet_flows_are_dropped_and_counted() {
    let (flows, summary) = run(Mode::Cic2018, &[udp(T0, CLIENT, SERVER, 5)]);
    assert!(flows.is_empty());
    assert_eq!(summary.flows_dropped_short, 1);
    assert_eq!(summary.packets_decoded, 1);
}

#[test]
fn zero_duration_rates_are_infinite_or_nan_as_in_java() {
    let frames = vec![udp(T0, CLIENT, SERVER, 5), udp(T0, SERVER, CLIENT, 7)];
    let (flows, _) = run(Mode::Cic2018, &frames);
    assert_features(
        &flows[0],
        &[
            (F::FlowBytsS, f64::INFINITY),
            (F::FlowPktsS, f64::INFINITY),
            (F::FwdPktsS, 0.0),
        ],
    );
    let frames = vec![
        tcp(T0, CLIENT, SERVER, "S", 0, 1, L),
        tcp(T0, SERVER, CLIENT, "SA", 0, 1, L),
    ];
    let (flows, _) = run(Mode::Cic2018, &frames);
    assert_feature(&flows[0], F::FlowBytsS, f64::NAN);
}

#[test]
fn non_tcp_udp_is_protocol_zero_between_two_hosts() {
    let frames = vec![
        icmp_echo(T0, "10.0.0.1", "10.0.0.2", false, 56),
        icmp_echo(T0 + 50, "10.0.0.2", "10.0.0.1", true, 56),
        icmp_echo(T0 + 1000, "10.0.0.1", "10.0.0.2", false, 56),
    ];
    let (flows, _) = run(Mode::Cic2018, &frames);
    assert_eq!(flows.len(), 1);
    let f = &flows[0];
    assert_eq!((f.protocol, f.src_port, f.dst_port), (0, 0, 0));
    assert_eq!(f.flow_id(), "10.0.0.1-10.0.0.2-0-0-0");
    // The 2018 tool saw no payload, header or window for protocol 0.
    assert_features(
        f,
        &[
            (F::TotFwdPkts, 2.0),
            (F::TotBwdPkts, 1.0),
            (F::TotLenFwdPkts, 0.0),
            (F::FwdHeaderLen, 0.0),
            (F::InitFwdWinByts, -1.0),
            (F::FwdSegSizeMin, 0.0),
        ],
    );
}

#[test]
fn ipv6_is_ignored_and_counted() {
    let a = Ep("2001:db8::1", 40000);
    let b = Ep("2001:db8::2", 443);
    let frames = vec![
        tcp(T0, a, b, "S", 0, 1, L),
        tcp(T0 + 1, b, a, "SA", 0, 1, L),
    ];
    let (flows, summary) = run(Mode::Cic2018, &frames);
    assert!(flows.is_empty());
    assert_eq!(
        summary.skipped.get("IPv6 (ignored in cic2018 mode)"),
        Some(&2)
    );
    assert_eq!(
        summary.packets_read,
        summary.packets_decoded + summary.packets_skipped()
    );
}

#[test]
fn vlan_frames_keep_ethernet_padding_in_the_payload() {
    // 14 + 4 + 20 + 20 = 58 bytes, padded to 60: the 2018 tool skipped the trim on 802.1Q, so two
    // padding bytes count as payload. With QinQ (62 bytes) there is no padding.
    let v1 = Link { vlans: 1 };
    let frames = vec![
        tcp(T0, CLIENT, SERVER, "S", 0, 1, v1),
        tcp(T0 + 1, SERVER, CLIENT, "SA", 0, 1, v1),
    ];
    let (flows, _) = run(Mode::Cic2018, &frames);
    assert_features(
        &flows[0],
        &[(F::TotLenFwdPkts, 2.0), (F::TotLenBwdPkts, 2.0)],
    );
    let v2 = Link { vlans: 2 };
    let frames = vec![
        tcp(T0, CLIENT, SERVER, "S", 0, 1, v2),
        tcp(T0 + 1, SERVER, CLIENT, "SA", 0, 1, v2),
    ];
    let (flows, _) = run(Mode::Cic2018, &frames);
    assert_features(
        &flows[0],
        &[
            (F::TotLenFwdPkts, 0.0),
            (F::TotFwdPkts, 1.0),
            (F::TotBwdPkts, 1.0),
        ],
    );
    // Without VLAN the padding is trimmed.
    let frames = vec![
        tcp(T0, CLIENT, SERVER, "S", 0, 1, L),
        tcp(T0 + 1, SERVER, CLIENT, "SA", 0, 1, L),
    ];
    let (flows, _) = run(Mode::Cic2018, &frames);
    assert_feature(&flows[0], F::TotLenFwdPkts, 0.0);
}

#[test]
fn duplicated_first_payload_in_two_packet_flows() {
    // Spec §12 check 3: Pkt Len Mean = (2a+b)/3, Pkt Size Avg = (2a+b)/2.
    let (a, b) = (300.0, 90.0);
    let frames = vec![
        tcp(T0, CLIENT, SERVER, "PA", 300, 1, L),
        tcp(T0 + 10, SERVER, CLIENT, "PA", 90, 1, L),
    ];
    let (flows, _) = run(Mode::Cic2018, &frames);
    assert_features(
        &flows[0],
        &[
            (F::PktLenMean, (2.0 * a + b) / 3.0),
            (F::PktSizeAvg, (2.0 * a + b) / 2.0),
            (F::FwdActDataPkts, 0.0),
        ],
    );
}
