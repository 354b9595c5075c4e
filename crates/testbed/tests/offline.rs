//! Tests that need neither root nor the testbed's tools: labels, and splitting + labelling a capture.

use mlids_dataset::{AttemptedPolicy, Category, LabelMap};
use mlids_flow::synth::{self, Ep};
use mlids_flow::Mode;
use mlids_testbed::catalog::{Kind, CATALOGUE};
use mlids_testbed::extract::{split_and_label, Target};
use mlids_testbed::routing::Routing;
use std::net::IpAddr;

#[test]
fn every_scenario_label_is_in_the_dataset_label_table() {
    let table = LabelMap::builtin();
    for s in CATALOGUE {
        let m = table.map(s.label, None, AttemptedPolicy::Benign);
        assert!(
            !m.unknown,
            "{}: label {:?} is not in crates/dataset/labels.csv",
            s.name, s.label
        );
        assert_eq!(
            m.canonical, s.label,
            "{}: labels must already be canonical",
            s.name
        );
        assert_eq!(
            m.category == Category::Benign,
            s.kind == Kind::Benign,
            "{}",
            s.name
        );
    }
}

fn tcp(ts: i64, from: Ep, to: Ep, flags: &str, payload: usize) -> synth::RawFrame {
    synth::tcp(ts, from, to, flags, payload, 64240, synth::Link::default())
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A crafted capture with traffic of two scenarios and one stranger: each scenario's pcap gets its
/// hosts' packets, flows.csv gets labelled rows that `ml-ids dataset import` recognises, and flows
/// outside a scenario's window or of unknown hosts are counted, not labelled.
#[test]
fn split_and_label_a_crafted_capture() {
    let t0 = 1_700_000_000_000_000i64;
    // scenario 0 (benign host .21): an HTTP exchange to the victim
    let mut frames = vec![
        tcp(t0, Ep("10.77.0.21", 40000), Ep("10.77.0.10", 80), "S", 0),
        tcp(
            t0 + 100,
            Ep("10.77.0.10", 80),
            Ep("10.77.0.21", 40000),
            "SA",
            0,
        ),
        tcp(
            t0 + 200,
            Ep("10.77.0.21", 40000),
            Ep("10.77.0.10", 80),
            "PA",
            300,
        ),
        tcp(
            t0 + 300,
            Ep("10.77.0.10", 80),
            Ep("10.77.0.21", 40000),
            "PA",
            900,
        ),
    ];
    // scenario 1 (attacker .101): three SYN probes answered by RST, inside its window
    for k in 0..3u16 {
        let ts = t0 + 2_000_000 + k as i64 * 1000;
        frames.push(tcp(
            ts,
            Ep("10.77.0.101", 50000 + k),
            Ep("10.77.0.10", 22 + k),
            "S",
            0,
        ));
        frames.push(tcp(
            ts + 10,
            Ep("10.77.0.10", 22 + k),
            Ep("10.77.0.101", 50000 + k),
            "RA",
            0,
        ));
    }
    // scenario 1's host long after its window: counted as outside
    frames.push(synth::udp(
        t0 + 60_000_000,
        Ep("10.77.0.101", 5000),
        Ep("10.77.0.10", 53),
        40,
    ));
    frames.push(synth::udp(
        t0 + 60_000_100,
        Ep("10.77.0.10", 53),
        Ep("10.77.0.101", 5000),
        80,
    ));
    // a host of no scenario
    frames.push(synth::udp(
        t0 + 3_000_000,
        Ep("10.77.0.99", 5000),
        Ep("10.77.0.10", 53),
        40,
    ));
    frames.push(synth::udp(
        t0 + 3_000_100,
        Ep("10.77.0.10", 53),
        Ep("10.77.0.99", 5000),
        80,
    ));
    let dir = tempfile::tempdir().unwrap();
    let merged = dir.path().join("capture.pcap");
    std::fs::write(&merged, synth::pcap_bytes(&frames, 1, false, false)).unwrap();

    let routing = Routing::new(
        &[vec![ip("10.77.0.21")], vec![ip("10.77.0.101")]],
        vec![
            (t0 - 1_000_000, t0 + 70_000_000),
            (t0 + 1_900_000, t0 + 2_500_000),
        ],
    );
    let targets = vec![
        Target {
            label: "Benign".into(),
            pcap: dir.path().join("benign.pcap"),
        },
        Target {
            label: "PortScan".into(),
            pcap: dir.path().join("scan.pcap"),
        },
    ];
    for mode in [Mode::Cic2018, Mode::Corrected] {
        let csv = dir.path().join(format!("flows-{mode}.csv"));
        let ex = split_and_label(&merged, &routing, &targets, mode, &csv).unwrap();
        assert_eq!(ex.per_scenario[0].packets, 4);
        assert_eq!(ex.per_scenario[1].packets, 8);
        assert_eq!(ex.unattributed_packets, 2);
        assert_eq!(
            (ex.per_scenario[0].flows, ex.per_scenario[1].flows),
            (1, 3),
            "{mode}"
        );
        assert_eq!(ex.per_scenario[1].outside_window, 1);
        assert_eq!(ex.unattributed_flows, 1);
        // The per-scenario pcaps hold exactly their packets and read back.
        let mut r = mlids_flow::CaptureReader::open(&dir.path().join("scan.pcap")).unwrap();
        let mut n = 0;
        while r.next_frame().unwrap().is_some() {
            n += 1;
        }
        assert_eq!(n, 8);
        // flows.csv: one header, labelled rows, read by the dataset importer in the right mode.
        let text = std::fs::read_to_string(&csv).unwrap();
        assert_eq!(text.lines().count(), 1 + 4);
        assert_eq!(text.lines().filter(|l| l.ends_with(",PortScan")).count(), 3);
        let out = dir.path().join(format!("ds-{mode}"));
        let card = mlids_dataset::import(
            std::slice::from_ref(&csv),
            &out,
            &mlids_dataset::ImportOptions::default(),
            &mut mlids_dataset::NoProgress,
        )
        .unwrap();
        assert_eq!(card.rows, 4);
        assert_eq!(card.mode, mode.to_string());
    }
}
