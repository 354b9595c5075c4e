//! The shipped sample replayed through the watch loop with the shipped model: what the EVE and
//! incident tests read.

use mlids_model::Detector;
use mlids_watch::queue::Queue;
use mlids_watch::run::WatchConfig;
use mlids_watch::sinks::{open_append, LineFormat, LineSink};
use mlids_watch::{Interest, Outputs, ReplaySource, WatchReport};
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

pub struct DemoRun {
    pub report: WatchReport,
    /// The EVE file, one event per line.
    pub eve: Vec<Value>,
    /// The `--incidents` file: every incident event.
    #[allow(dead_code)] // each test binary compiles this module; not every one reads this file
    pub incidents: Vec<Value>,
}

pub fn read_lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `samples/demo.pcap` (a SYN port scan, SSH brute force, slowloris and XSS from four attackers
/// beside benign users) replayed as fast as possible with `models/default`, into an EVE file
/// whose sink wants `eve` and an incidents file.
pub fn replay_demo(eve: Interest) -> DemoRun {
    let root = mlids_test_support::workspace_root();
    let detector = Detector::load(&root.join("models/default")).unwrap();
    let mut cfg = WatchConfig::new(detector.mode());
    cfg.tick = Duration::from_millis(20);
    let dir = tempfile::tempdir().unwrap();
    let (ep, ip) = (
        dir.path().join("eve.json"),
        dir.path().join("incidents.jsonl"),
    );
    let mut outputs = Outputs::default();
    let line = |p: &Path, f| Box::new(LineSink::new(open_append(p).unwrap(), f));
    outputs.add(
        eve,
        Queue::spawn("eve", 65_536, 256, line(&ep, LineFormat::Eve)),
    );
    outputs.add(
        Interest::incidents_with_updates(),
        Queue::spawn("incidents", 1024, 64, line(&ip, LineFormat::Incident)),
    );
    let mut source = ReplaySource::open(&root.join("samples/demo.pcap"), 0.0).unwrap();
    let stop = AtomicBool::new(false);
    let report =
        mlids_watch::run(&mut source, &detector, &cfg, outputs, &stop, &mut |_| {}).unwrap();
    assert_eq!(report.error, None);
    for s in &report.sinks {
        assert_eq!((s.dropped_queue_full, s.failed), (0, 0), "{s}");
    }
    DemoRun {
        eve: read_lines(&ep),
        incidents: read_lines(&ip),
        report,
    }
}

/// The events of one `event_type`.
pub fn of_type<'a>(eve: &'a [Value], t: &str) -> Vec<&'a Value> {
    eve.iter().filter(|e| e["event_type"] == t).collect()
}
