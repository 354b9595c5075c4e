//! The tracker on verdicts built by hand: grouping by attacker and family, the idle timeout in
//! flow time, throttled updates, the bound on open incidents, and the aggregates.

use mlids_behaviour::Evidence;
use mlids_flow::key::FlowKey;
use mlids_flow::{Exchange, Feature, FlowRecord, Mode, Termination, NUM_FEATURES};
use mlids_incident::{EventKind, IncidentConfig, IncidentTracker, Severity};
use mlids_model::{Contribution, Stage, Verdict};
use std::net::IpAddr;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A 3-packet TCP flow of 100 payload bytes from `src` to `dst:port`, ending at `t_s` seconds.
fn flow(src: &str, dst: &str, port: u16, t_s: f64) -> FlowRecord {
    let (s, d) = (ip(src), ip(dst));
    let mut values = [f64::NAN; NUM_FEATURES];
    values[Feature::TotFwdPkts as usize] = 2.0;
    values[Feature::TotBwdPkts as usize] = 1.0;
    values[Feature::TotLenFwdPkts as usize] = 60.0;
    values[Feature::TotLenBwdPkts as usize] = 40.0;
    let end = (t_s * 1e6) as i64;
    FlowRecord {
        mode: Mode::Corrected,
        key: FlowKey::corrected(&s, &d, 40000, port, 6),
        src: s,
        src_port: 40000,
        dst: d,
        dst_port: port,
        protocol: 6,
        start_us: end - 1000,
        end_us: end,
        termination: Termination::EndOfCapture,
        values,
        exchange: Exchange::default(),
    }
}

fn verdict(label: &str, score: f64) -> Verdict {
    Verdict {
        label: label.into(),
        probability: score,
        attack_score: score,
        is_attack: label != "Benign",
        top_features: vec![Contribution {
            feature: "flow_iat_min".into(),
            value: 1.0,
            contribution: -2.0,
        }],
        stage: Stage::FlowModel,
        evidence: None,
    }
}

fn scan_verdict(probes: u32) -> Verdict {
    Verdict {
        stage: Stage::HostBehaviour,
        top_features: vec![],
        evidence: Some(Evidence {
            detector: "scan.trw".into(),
            summary: format!("{probes} first contacts failed"),
            host: "10.0.0.66".into(),
            category: "PortScan".into(),
        }),
        ..verdict("PortScan", 0.99)
    }
}

#[test]
fn one_incident_per_attacker_and_family_with_victims_and_counts() {
    let mut t = IncidentTracker::default();
    let mut events = Vec::new();
    for i in 0..100u16 {
        let dst = if i % 4 == 0 { "10.0.0.2" } else { "10.0.0.1" };
        events.extend(t.observe(
            &flow("10.0.0.66", dst, 1 + i, 1.0 + f64::from(i) * 0.01),
            &scan_verdict(u32::from(i)),
            "PortScan",
        ));
    }
    // The same attacker brute-forcing is another incident; a benign flow is none.
    events.extend(t.observe(
        &flow("10.0.0.66", "10.0.0.1", 22, 3.0),
        &verdict("SSH-Bruteforce", 0.9),
        "BruteForce",
    ));
    events.extend(t.observe(
        &flow("10.0.0.7", "10.0.0.1", 80, 3.0),
        &verdict("Benign", 0.1),
        "Benign",
    ));
    let opened: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::Opened)
        .collect();
    assert_eq!(opened.len(), 2);
    // Each flow's record can name the open incident it joined.
    let scan_id = opened[0].incident.id.clone();
    let probe = flow("10.0.0.66", "10.0.0.10", 1, 1.0);
    assert_eq!(
        t.open_id(&probe, &scan_verdict(1), "PortScan"),
        Some(scan_id.as_str())
    );
    assert_eq!(
        t.open_id(&probe, &verdict("DoS attacks-Hulk", 0.9), "DoS"),
        None
    );
    let other = flow("10.0.0.7", "10.0.0.10", 80, 1.0);
    assert_eq!(t.open_id(&other, &verdict("Benign", 0.1), "Benign"), None);
    let closed = t.finish();
    assert_eq!(closed.len(), 2);
    assert_eq!(
        t.open_id(&probe, &scan_verdict(1), "PortScan"),
        None,
        "closed"
    );
    let scan = &closed[0].incident;
    assert!(!scan.open);
    assert_eq!(
        (scan.family.as_str(), scan.flows, scan.packets, scan.bytes),
        ("PortScan", 100, 300, 10_000)
    );
    assert_eq!(scan.attacker, ip("10.0.0.66"));
    // Victims most-hit first: 75 flows to .1 (75 ports), 25 to .2.
    assert_eq!(scan.victims.len(), 2);
    assert_eq!(
        (
            scan.victims[0].address,
            scan.victims[0].flows,
            scan.victims[0].ports
        ),
        (ip("10.0.0.1"), 75, 75)
    );
    assert_eq!(scan.victims[1].flows, 25);
    assert_eq!(scan.severity, Severity::Low);
    assert_eq!(scan.labels["PortScan"], 100);
    assert_eq!(scan.stages["host_behaviour"], 100);
    // The latest evidence per detector, and the first five flows as samples.
    assert_eq!(scan.evidence.len(), 1);
    assert_eq!(scan.evidence[0].summary, "99 first contacts failed");
    assert_eq!(scan.sample_flows.len(), 5);
    assert_eq!(scan.sample_flows[0].dest_port, 1);
    assert_eq!(scan.first_seen_us, 1_000_000 - 1000);
    assert_eq!(scan.last_seen_us, 1_990_000);
    let brute = &closed[1].incident;
    assert_eq!(
        (brute.family.as_str(), brute.flows, brute.severity),
        ("BruteForce", 1, Severity::Medium)
    );
    // Its one explained verdict: flow_iat_min weighed |−2|.
    assert_eq!(brute.top_features[0].feature, "flow_iat_min");
    assert_eq!(brute.top_features[0].weight, 2.0);
}

#[test]
fn idle_timeout_in_flow_time_splits_campaigns_and_updates_are_throttled() {
    let config = IncidentConfig {
        idle_timeout_us: 60_000_000,
        update_interval_us: 5_000_000,
        ..IncidentConfig::default()
    };
    let mut t = IncidentTracker::new(config);
    let mut events = Vec::new();
    // A flood: one flow every 10 ms for 20 s → opened once, updated every 5 s (3 updates
    // before 20 s), not 2,000 events.
    for i in 0..2000 {
        let at = 100.0 + f64::from(i) * 0.01;
        events.extend(t.observe(
            &flow("10.0.0.9", "10.0.0.1", 80, at),
            &verdict("DoS attacks-Hulk", 0.95),
            "DoS",
        ));
    }
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == EventKind::Opened).count(), 1);
    assert_eq!(
        kinds.iter().filter(|k| **k == EventKind::Updated).count(),
        3
    );
    // 59 s of silence: still open. 61 s: the next verdict (of anyone) closes it first.
    assert!(t.advance(120_000_000 + 59_000_000 - 10_000).is_empty());
    let later = t.observe(
        &flow("10.0.0.9", "10.0.0.1", 80, 181.0),
        &verdict("DoS attacks-Hulk", 0.95),
        "DoS",
    );
    assert_eq!(later.len(), 2);
    assert_eq!(later[0].kind, EventKind::Closed);
    assert_eq!(later[0].incident.flows, 2000);
    assert_eq!(later[0].incident.severity, Severity::High);
    assert_eq!(later[1].kind, EventKind::Opened);
    assert_ne!(
        later[0].incident.id, later[1].incident.id,
        "a new campaign, a new id"
    );
}

#[test]
fn open_incidents_are_bounded_and_low_confidence_lowers_severity() {
    let mut t = IncidentTracker::new(IncidentConfig {
        max_open: 3,
        ..IncidentConfig::default()
    });
    let mut closed = 0;
    for i in 0..10 {
        let src = format!("10.1.0.{i}");
        let ev = t.observe(
            &flow(&src, "10.0.0.1", 80, 1.0 + f64::from(i)),
            &verdict("DoS attacks-Hulk", 0.6),
            "DoS",
        );
        closed += ev.iter().filter(|e| e.kind == EventKind::Closed).count();
    }
    assert_eq!(
        closed, 7,
        "the longest idle closes when a fourth would open"
    );
    let open = t.open_incidents();
    assert_eq!(open.len(), 3);
    assert!(
        open.iter().all(|i| i.severity == Severity::Medium),
        "mean score 0.6 < 0.75"
    );
}

#[test]
fn an_icmp_flow_keeps_its_type_and_code_and_a_tcp_flow_has_neither() {
    let mut icmp = flow("10.0.0.66", "10.0.0.1", 0, 1.0);
    icmp.protocol = 1;
    icmp.src_port = 0;
    icmp.key = FlowKey::corrected(&icmp.src, &icmp.dst, 0, 0, 1);
    icmp.exchange.ip_protocol = 1;
    icmp.exchange.icmp = Some((8, 0));
    let mut t = IncidentTracker::default();
    let opened = t
        .observe(&icmp, &verdict("DDoS-ICMP", 0.9), "DDoS")
        .remove(0);
    let sample = &opened.incident.sample_flows[0];
    assert_eq!((sample.icmp_type, sample.icmp_code), (Some(8), Some(0)));
    let json = serde_json::to_value(&opened).unwrap();
    assert_eq!(json["incident"]["sample_flows"][0]["icmp_type"], 8);
    assert_eq!(json["incident"]["sample_flows"][0]["icmp_code"], 0);
    let back: mlids_incident::IncidentEvent = serde_json::from_value(json).unwrap();
    assert_eq!(back.incident.sample_flows[0].icmp_type, Some(8));

    // TCP: no ICMP keys at all (the JSON of existing consumers and golden files is unchanged),
    // and JSON written before the fields existed still reads.
    let opened = t
        .observe(
            &flow("10.0.0.67", "10.0.0.1", 80, 1.0),
            &verdict("DoS", 0.9),
            "DoS",
        )
        .remove(0);
    let mut json = serde_json::to_value(&opened).unwrap();
    let sample = json["incident"]["sample_flows"][0].as_object_mut().unwrap();
    assert!(!sample.contains_key("icmp_type") && !sample.contains_key("icmp_code"));
    sample.retain(|k, _| k != "icmp_type" && k != "icmp_code");
    let back: mlids_incident::IncidentEvent = serde_json::from_value(json).unwrap();
    assert_eq!(back.incident.sample_flows[0].icmp_type, None);
}

#[test]
fn a_spoofed_flood_is_one_incident_of_its_victim_not_one_per_source() {
    // 500 SYNs from 500 (spoofed) sources to one victim, decided by the flood detector, whose
    // aggregate is about the victim; beside it a scanner, whose aggregate is about itself.
    let flood = |host: &str| Verdict {
        stage: Stage::HostBehaviour,
        top_features: vec![],
        evidence: Some(Evidence {
            detector: "flood.syn".into(),
            summary: "SYN flood".into(),
            host: host.into(),
            category: "DoS".into(),
        }),
        ..verdict("SYN flood", 0.99)
    };
    let mut t = IncidentTracker::default();
    let mut events = Vec::new();
    for i in 0..500 {
        let src = format!("203.0.{}.{}", i / 250, i % 250 + 1);
        let f = flow(&src, "10.0.0.10", 80, 1.0 + i as f64 * 0.01);
        let v = flood("10.0.0.10");
        events.extend(t.observe(&f, &v, "DoS"));
        assert!(
            t.open_id(&f, &v, "DoS").is_some(),
            "the flow names its incident"
        );
    }
    for p in 0..10 {
        events.extend(t.observe(
            &flow("10.0.0.66", "10.0.0.10", 1000 + p, 2.0),
            &scan_verdict(10),
            "PortScan",
        ));
    }
    events.extend(t.finish());
    let closed: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::Closed)
        .map(|e| &e.incident)
        .collect();
    assert_eq!(closed.len(), 2, "{closed:#?}");
    let dos = closed.iter().find(|i| i.family == "DoS").unwrap();
    assert_eq!(dos.flows, 500);
    assert_eq!(dos.grouped_by, mlids_incident::Grouping::Victim);
    assert_eq!(dos.attackers, Some(500));
    assert_eq!(dos.attacker, ip("203.0.0.1"), "the first source");
    assert_eq!(dos.victims.len(), 1);
    assert_eq!(dos.victims[0].address, ip("10.0.0.10"));
    let json = serde_json::to_value(dos).unwrap();
    assert_eq!(json["grouped_by"], "victim");
    assert_eq!(json["attackers"], 500);
    let scan = closed.iter().find(|i| i.family == "PortScan").unwrap();
    assert_eq!(scan.grouped_by, mlids_incident::Grouping::Attacker);
    assert_eq!(scan.attackers, None);
    let json = serde_json::to_value(scan).unwrap();
    assert!(
        json.get("grouped_by").is_none() && json.get("attackers").is_none(),
        "unchanged JSON"
    );
    assert_ne!(dos.id, scan.id);
}
