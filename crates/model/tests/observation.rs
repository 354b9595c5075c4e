//! What the host-behaviour stage has seen when a flow is decided must not depend on how the front
//! end batches flows for the model: `detect` classifies 4,096 at a time, the stream ingest and
//! `watch` one at a time, and they must give the same verdicts for the same flows.

use mlids_flow::key::FlowKey;
use mlids_flow::packet::{proto, TcpFlags};
use mlids_flow::{
    Exchange, FlowRecord, FlowSink, Mode, Opening, SshAuth, SshPhase, Summary, Termination,
    NUM_FEATURES,
};
use mlids_model::detector::FnVerdictSink;
use mlids_model::sink::{DEFAULT_HOLD_BACK_US, FILE_HOLD_BACK_US};
use mlids_model::{Detector, DetectorSink, Verdict};
use std::net::IpAddr;
use std::path::Path;

/// An SSH connection from `src` at `t_s` seconds, lasting one second, whose one login the server
/// rejected.
fn rejected_login(src: &str, port: u16, t_s: i64) -> FlowRecord {
    let (s, d): (IpAddr, IpAddr) = (src.parse().unwrap(), "10.0.0.10".parse().unwrap());
    let flags = TcpFlags(TcpFlags::SYN | TcpFlags::ACK | TcpFlags::PSH | TcpFlags::FIN);
    FlowRecord {
        mode: Mode::Corrected,
        key: FlowKey::corrected(&s, &d, port, 22, proto::TCP),
        src: s,
        src_port: port,
        dst: d,
        dst_port: 22,
        protocol: proto::TCP,
        start_us: t_s * 1_000_000,
        end_us: t_s * 1_000_000 + 1_000_000,
        termination: Termination::Fin,
        values: [f64::NAN; NUM_FEATURES],
        exchange: Exchange {
            ip_protocol: proto::TCP,
            fwd_packets: 12,
            bwd_packets: 10,
            fwd_payload: 1500,
            bwd_payload: 1800,
            first_flags: TcpFlags(TcpFlags::SYN),
            fwd_flags: flags,
            bwd_flags: flags,
            fwd_opening: Opening::Ssh,
            bwd_opening: Opening::Ssh,
            ssh_auth: SshAuth {
                phase: SshPhase::ClientEncrypted,
                service_accept_len: 52,
                failure_len: 68,
                failures: 1,
                ..SshAuth::default()
            },
            ..Exchange::default()
        },
    }
}

fn verdicts(
    det: &Detector,
    flows: &[FlowRecord],
    batch: usize,
    hold_back_us: i64,
) -> Vec<(bool, String)> {
    let mut out = Vec::new();
    let mut sink = DetectorSink::new(
        det,
        FnVerdictSink(|_: &FlowRecord, v: &Verdict| {
            out.push((v.is_attack, v.label.clone()));
            Ok(())
        }),
    )
    .batch(batch)
    .hold_back(hold_back_us);
    for f in flows {
        sink.flow(f).unwrap();
    }
    sink.finish(&Summary::default()).unwrap();
    drop(sink);
    out
}

#[test]
fn verdicts_do_not_depend_on_the_model_batch() {
    let det = Detector::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/default"))
        .unwrap();
    // A slow brute force: one rejected login every 3 s. The tenth rejection within a minute
    // (27 s in) flags the pair from a minute before it, but a flow is decided 10 s of flow time
    // after it ended: the first attempts are decided before the flag is raised.
    let flows: Vec<FlowRecord> = (0..20)
        .map(|i| rejected_login("10.0.0.66", 40000 + i as u16, 3 * i))
        .collect();
    let live = DEFAULT_HOLD_BACK_US;
    let one_by_one = verdicts(&det, &flows, 1, live);
    assert_eq!(verdicts(&det, &flows, 4096, live), one_by_one);
    assert_eq!(verdicts(&det, &flows, 7, live), one_by_one);
    // The attempts after the flag are the brute force in every case; the first ones are not
    // (the live hold-back is 10 s of flow time, not the brute-force window of a minute).
    let brute = |v: &(bool, String)| v.0 && v.1 == "SSH-Bruteforce";
    assert!(one_by_one[10..].iter().all(brute), "{one_by_one:?}");
    assert!(!one_by_one[0].0, "{one_by_one:?}");
    // A file's flows wait a minute: every attempt is the brute force, at any batch size.
    for batch in [1, 7, 4096] {
        let file = verdicts(&det, &flows, batch, FILE_HOLD_BACK_US);
        assert!(file.iter().all(brute), "batch {batch}: {file:?}");
    }
}
