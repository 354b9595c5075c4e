//! The watch loop end to end without privileges: a crafted capture replayed (at full speed and at
//! 100×) through the run loop with the fixture model, into file sinks. Checks that completed and
//! long-running flows are classified, that a long attack flow alerts once across many snapshot
//! periods and its completion, and that stopping mid-run still flushes and classifies open flows.

use mlids_flow::synth::{pcap_bytes, tcp, Ep, Link, RawFrame, T0};
use mlids_flow::Mode;
use mlids_model::Detector;
use mlids_test_support::models::syn_flood_model;
use mlids_watch::queue::Queue;
use mlids_watch::run::WatchConfig;
use mlids_watch::sinks::{open_append, FlowsSink, LineFormat, LineSink};
use mlids_watch::{Interest, Outputs, ReplaySource};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn model() -> &'static Path {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let m = syn_flood_model(d.path());
        (d, m)
    })
    .1
}

const VICTIM: Ep = Ep("10.0.0.2", 80);
const SEC: i64 = 1_000_000;
/// Connections of the SYN flood.
const FLOOD: u16 = 150;

/// 70 s of traffic: a benign HTTP exchange, 150 half-open SYN-flood connections (SYN, SYN-ACK,
/// RST) from t = 1 s to 1.3 s — a flood to the host-behaviour stage (≥ 100 half-open connections
/// to one port within its 10 s window) — a slow attacker re-sending SYNs on one connection to the
/// flooded service every 15 s for a minute, and a second benign exchange at the end.
fn scenario() -> Vec<RawFrame> {
    let l = Link::default();
    let mut v = Vec::new();
    let http = |t0: i64, port: u16, v: &mut Vec<RawFrame>| {
        let c = Ep("10.0.0.1", port);
        for (i, (from, to, flags, len)) in [
            (c, VICTIM, "S", 0),
            (VICTIM, c, "SA", 0),
            (c, VICTIM, "A", 0),
            (c, VICTIM, "PA", 120),
            (VICTIM, c, "PA", 900),
            (VICTIM, c, "FA", 0),
        ]
        .into_iter()
        .enumerate()
        {
            v.push(tcp(t0 + i as i64 * 2000, from, to, flags, len, 29200, l));
        }
    };
    http(0, 40000, &mut v);
    for k in 0..FLOOD {
        let t = SEC + i64::from(k) * 2_000;
        let c = Ep("10.0.0.66", 2000 + k);
        v.push(tcp(t, c, VICTIM, "S", 0, 512, l));
        v.push(tcp(t + 100, VICTIM, c, "SA", 0, 64240, l));
        v.push(tcp(t + 200, c, VICTIM, "R", 0, 0, l));
    }
    let slow = Ep("10.0.0.99", 3000);
    for k in 0..5 {
        v.push(tcp(2 * SEC + k * 15 * SEC, slow, VICTIM, "S", 0, 512, l));
    }
    http(70 * SEC, 40001, &mut v);
    v.sort_by_key(|f| f.ts_us);
    for f in &mut v {
        f.ts_us += T0;
    }
    v
}

struct Run {
    report: mlids_watch::WatchReport,
    /// Every status report, in order.
    statuses: Vec<mlids_watch::Status>,
    jsonl: Vec<serde_json::Value>,
    eve: Vec<serde_json::Value>,
    flows: Vec<serde_json::Value>,
    took: Duration,
}

fn read_lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn run(speed: f64, stop_after: Option<Duration>) -> Run {
    run_with(speed, stop_after, |_| {})
}

/// [`run`] with the configuration adjusted by `tweak`.
fn run_with(speed: f64, stop_after: Option<Duration>, tweak: impl Fn(&mut WatchConfig)) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("scenario.pcap");
    std::fs::write(&pcap, pcap_bytes(&scenario(), 1, false, false)).unwrap();
    let detector = Detector::load(model()).unwrap();
    let mut cfg = WatchConfig::new(Mode::Cic2018);
    cfg.tick = Duration::from_millis(20);
    tweak(&mut cfg);
    let (jp, ep, fp) = (
        dir.path().join("alerts.jsonl"),
        dir.path().join("eve.json"),
        dir.path().join("flows.jsonl"),
    );
    let mut outputs = Outputs::default();
    outputs.add(
        Interest::flow_alerts(),
        Queue::spawn(
            "jsonl",
            1024,
            64,
            Box::new(LineSink::new(open_append(&jp).unwrap(), LineFormat::Alert)),
        ),
    );
    // Per-flow EVE alerts, as with --eve-flow-alerts.
    outputs.add(
        Interest::flow_alerts(),
        Queue::spawn(
            "eve",
            1024,
            64,
            Box::new(LineSink::new(open_append(&ep).unwrap(), LineFormat::Eve)),
        ),
    );
    outputs.add(
        Interest::flows(),
        Queue::spawn(
            "flows",
            1024,
            64,
            Box::new(FlowsSink::create(&fp, Mode::Cic2018).unwrap()),
        ),
    );
    let mut source = ReplaySource::open(&pcap, speed).unwrap();
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let mut statuses = Vec::new();
    let report = std::thread::scope(|s| {
        if let Some(after) = stop_after {
            let stop = &stop;
            s.spawn(move || {
                std::thread::sleep(after);
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            });
        }
        let mut on_status = |st: &mlids_watch::Status| statuses.push(st.clone());
        mlids_watch::run(&mut source, &detector, &cfg, outputs, &stop, &mut on_status).unwrap()
    });
    let took = started.elapsed();
    Run {
        jsonl: read_lines(&jp),
        eve: read_lines(&ep),
        flows: read_lines(&fp),
        report,
        statuses,
        took,
    }
}

fn check_full_run(r: &Run) {
    let rep = &r.report;
    assert_eq!(rep.error, None);
    assert!(!rep.stopped);
    let flows = u64::from(FLOOD) + 3;
    let alerts = u64::from(FLOOD) + 1;
    assert_eq!(rep.summary.flows_emitted(), flows, "{}", rep.summary);
    assert_eq!(rep.detection.flows, flows);
    // The flood connections and the slow attacker, each alerting exactly once.
    assert_eq!(rep.alerts(), alerts, "{rep}");
    assert_eq!(r.jsonl.len() as u64, alerts);
    assert_eq!(r.eve.len() as u64, alerts);
    let ids: HashSet<&str> = r
        .jsonl
        .iter()
        .map(|a| a["flow_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len() as u64, alerts, "one alert per flow");
    for a in &r.jsonl {
        // Half-open connections are the host-behaviour stage's: the flow model never sees them.
        assert_eq!(a["label"], "SYN flood", "{a}");
        assert_eq!(a["stage"], "host_behaviour");
        assert_eq!(a["dst_ip"], "10.0.0.2");
        assert_ne!(a["src_ip"], "10.0.0.1", "benign client never alerts: {a}");
        assert!(a["source"].as_str().unwrap().starts_with("replay:"));
    }
    // The slow attacker: open for 60 s, snapshot every 10 s, alerted while open, once.
    let slow: Vec<&serde_json::Value> = r
        .eve
        .iter()
        .filter(|e| e["src_ip"] == "10.0.0.99")
        .collect();
    assert_eq!(slow.len(), 1);
    assert_eq!(slow[0]["ml_ids"]["ongoing"], true);
    assert_eq!(slow[0]["in_iface"], "replay");
    assert!(rep.snapshots >= 4, "{rep}");
    assert!(rep.alerts_ongoing >= 1);
    // Every flow that alerted while open completed at the end: those completions are duplicates.
    assert_eq!(rep.duplicates_suppressed, rep.alerts_ongoing);
    // Every flow is in the flows file with its verdict; the HTTP exchanges are benign.
    assert_eq!(r.flows.len() as u64, flows);
    let http: Vec<_> = r
        .flows
        .iter()
        .filter(|f| f["src_ip"] == "10.0.0.1")
        .collect();
    assert_eq!(http.len(), 2);
    assert!(http.iter().all(|f| f["prediction"] == "Benign"));
    for s in &rep.sinks {
        let items = if s.name == "flows" { flows } else { alerts };
        assert_eq!(
            (s.delivered, s.dropped_queue_full, s.failed),
            (items, 0, 0),
            "{s}"
        );
    }
    // The flood's connections and the slow attacker's SYNs are one flood of the victim: the flood
    // detector's aggregate is about the victim, so its incident is grouped by victim (two
    // sources) rather than one per source. No sink asked for incidents here, but they are
    // counted, and closed at the end.
    assert_eq!(rep.incidents.opened, 1, "{rep}");
    assert_eq!(rep.incidents.closed, 1, "{rep}");
}

#[test]
fn replay_at_full_speed_alerts_once_per_attack_flow() {
    let r = run(0.0, None);
    check_full_run(&r);
}

#[test]
fn replay_at_100x_takes_the_scaled_time_and_alerts_alike() {
    let r = run(100.0, None);
    check_full_run(&r);
    // 70 s of capture at 100×: 0.7 s.
    assert!(
        r.took >= Duration::from_millis(650) && r.took < Duration::from_secs(10),
        "{:?}",
        r.took
    );
}

#[test]
fn stopping_mid_run_still_classifies_open_flows() {
    // At the recorded pace the capture would take 70 s; stop after 1.5 s (the flood has started).
    let r = run(1.0, Some(Duration::from_millis(1500)));
    let rep = &r.report;
    assert!(rep.stopped);
    assert!(r.took < Duration::from_secs(10), "{:?}", r.took);
    // 467 packets in all; the slow attacker's first SYN (t = 2 s) was never read.
    assert!(
        rep.summary.packets_read <= 6 + 3 * u64::from(FLOOD),
        "{}",
        rep.summary
    );
    // The open flood connections were flushed at the stop and classified: one alert each.
    assert_eq!(rep.alerts(), rep.summary.flows_emitted() - 1, "{rep}");
    assert_eq!(
        rep.alerts_completed,
        rep.alerts(),
        "no snapshot ran within 1.5 s"
    );
    assert_eq!(rep.summary.flows_emitted(), rep.detection.flows);
    assert_eq!(r.flows.len() as u64, rep.detection.flows);
}

#[test]
fn incidents_close_on_a_quiet_link_without_waiting_for_traffic() {
    // Incidents close 5 s (flow time) after their last attack flow. The slow attacker's incident
    // opens at a snapshot (its last SYN then at 17 s); after that nothing completes until the
    // benign exchange at 70 s, so only the tick's clock can close it before then.
    let r = run_with(100.0, None, |cfg| {
        cfg.incidents.idle_timeout_us = 5 * SEC;
        cfg.status_every = Duration::from_millis(10);
    });
    let rep = &r.report;
    assert_eq!(rep.incidents.opened, 2, "{rep}");
    // Packets read before the slow attacker's SYN at 62 s and the exchange at 70 s.
    let before_62s = 6 + 3 * u64::from(FLOOD) + 4;
    let early = r
        .statuses
        .iter()
        .find(|s| s.incidents.closed == 2)
        .unwrap_or_else(|| panic!("no status saw both closed: {rep}"));
    assert!(
        early.packets <= before_62s,
        "both incidents closed only after {} packets",
        early.packets
    );
    assert_eq!(early.incidents.open(), 0);
}
