//! Our EVE events against Suricata's own schema of EVE (`etc/schema.json`).
//!
//! `tests/fixtures/suricata_eve_schema_subset.json` is the part of that schema our events touch —
//! every top-level field's name and JSON type, and the `alert` and `flow` objects' fields —
//! derived by `scripts/eve_schema_subset.py` from a named Suricata commit. The checker below
//! applies its keywords (`type`, `properties`, `additionalProperties: false`, `required`, `enum`
//! and the timestamp `pattern`) to every event of a replay of the shipped sample with every EVE
//! option on, so a field of the wrong type, or a field name Suricata does not define at the top
//! level or in `alert`/`flow`, fails the test. ml-ids's one extension is its own payload objects:
//! `ml_ids` (every event) and `ml_ids_incident` (the payload of our `ml_ids_incident` events).
//!
//! The sample has no ICMP, so ICMP flows (a crafted echo, and real ICMP and ICMPv6 captures from
//! the shared data) are checked on their own: every kind of event, with `icmp_type`/`icmp_code`
//! and no ports, as Suricata writes them.

mod common;

use common::{of_type, replay_demo};
use mlids_flow::synth::{icmp_echo, T0};
use mlids_flow::{CaptureReader, FlowRecord, MeterConfig, Mode, Pipeline, VecSink};
use mlids_incident::{IncidentEvent, IncidentTracker};
use mlids_model::{Stage, Verdict};
use mlids_watch::eve::eve_value;
use mlids_watch::event::Origin;
use mlids_watch::{AlertEvent, ClassifiedFlow, IncidentNote, Interest, WatchEvent};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

/// Top-level fields that are ours, not Suricata's: each must be an object.
const EXTENSIONS: [&str; 2] = ["ml_ids", "ml_ids_incident"];
/// The event types we write.
const EVENT_TYPES: [&str; 3] = ["alert", "flow", "ml_ids_incident"];
/// The one `pattern` in the subset: Suricata's timestamp.
const TIMESTAMP_PATTERN: &str = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+[+\-]\d+$";

fn schema() -> Value {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/suricata_eve_schema_subset.json"
    );
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        other => panic!("schema type {other} not handled"),
    }
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `TIMESTAMP_PATTERN` without a regex engine: date, `T`, time, `.fraction`, `+`/`-` offset.
fn suricata_timestamp(s: &str) -> bool {
    let Some((date_time, rest)) = s.split_once('.') else {
        return false;
    };
    let Some(cut) = rest.find(['+', '-']) else {
        return false;
    };
    let (frac, offset) = (&rest[..cut], &rest[cut + 1..]);
    let shape = date_time.len() == 19
        && date_time.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    shape && digits(frac) && digits(offset)
}

/// Check `v` against schema node `node`; errors name the path.
fn check(node: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(t) = node.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => panic!("type {t}"),
        };
        if !types.iter().any(|t| has_type(v, t)) {
            errors.push(format!("{path}: {v} is not of type {t}"));
        }
    }
    if let Some(allowed) = node.get("enum").and_then(Value::as_array) {
        if !allowed.contains(v) {
            errors.push(format!("{path}: {v} is not one of {allowed:?}"));
        }
    }
    if let Some(p) = node.get("pattern") {
        assert_eq!(p, TIMESTAMP_PATTERN, "a pattern this checker does not know");
        if !v.as_str().is_some_and(suricata_timestamp) {
            errors.push(format!("{path}: {v} does not match {TIMESTAMP_PATTERN}"));
        }
    }
    let Some(obj) = v.as_object() else { return };
    for r in node
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if !obj.contains_key(r.as_str().unwrap()) {
            errors.push(format!("{path}: required {r} missing"));
        }
    }
    let props = node.get("properties");
    let closed = node.get("additionalProperties") == Some(&Value::Bool(false));
    for (k, sub) in obj {
        match props.and_then(|p| p.get(k)) {
            Some(s) => check(s, sub, &format!("{path}.{k}"), errors),
            None if closed => errors.push(format!("{path}: unknown field {k}")),
            None => {}
        }
    }
}

/// Every way `event` departs from Suricata's schema and from the formats we promise.
fn violations(schema: &Value, event: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let mut e = event.clone();
    let obj = e.as_object_mut().expect("an event is an object");
    for k in EXTENSIONS {
        if let Some(x) = obj.remove(k) {
            if !x.is_object() {
                errors.push(format!("$.{k} is not an object"));
            }
        }
    }
    check(schema, &e, "$", &mut errors);
    let t = event["event_type"].as_str().unwrap_or("");
    if !EVENT_TYPES.contains(&t) {
        errors.push(format!("$.event_type {t} is not one we write"));
    }
    if (t == "ml_ids_incident") != event.get("ml_ids_incident").is_some() {
        errors.push("ml_ids_incident is the payload of ml_ids_incident events only".into());
    }
    // Ours, stricter than the schema: `2026-12-01T10:00:00.123456+0000`, a numeric flow id that
    // JavaScript reads exactly, a Community ID v1 (base64 of 20 bytes).
    let ts = event["timestamp"].as_str().unwrap_or("");
    if !(ts.len() == 31 && ts.ends_with("+0000") && ts.as_bytes()[19] == b'.') {
        errors.push(format!(
            "$.timestamp {ts} is not YYYY-MM-DDTHH:MM:SS.uuuuuu+0000"
        ));
    }
    let flow_id = event["flow_id"].as_u64();
    if flow_id.is_none_or(|id| id >= 1 << 51) {
        errors.push(format!(
            "$.flow_id {} is not a number below 2^51",
            event["flow_id"]
        ));
    }
    if let Some(c) = event.get("community_id") {
        let ok = c
            .as_str()
            .is_some_and(|c| c.starts_with("1:") && c.len() == 30 && c.ends_with('='));
        if !ok {
            errors.push(format!("$.community_id {c} is not 1:<base64 of 20 bytes>"));
        }
    }
    errors
}

#[test]
fn every_event_of_a_replay_fits_suricatas_schema() {
    let every = Interest {
        flow_alerts: true,
        flows: true,
        ..Interest::incidents_with_updates()
    };
    let run = replay_demo(every);
    let schema = schema();
    let mut bad = Vec::new();
    for e in &run.eve {
        for v in violations(&schema, e) {
            bad.push(format!("{v} in {e}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} violations, first: {:#?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    // Every kind was there to check: incident alerts and per-flow alerts, closes, flows.
    let alerts = of_type(&run.eve, "alert");
    let incident_alerts = alerts
        .iter()
        .filter(|a| a["ml_ids"].get("family").is_some())
        .count();
    assert_eq!(incident_alerts as u64, run.report.incidents.opened);
    assert_eq!((alerts.len() - incident_alerts) as u64, run.report.alerts());
    assert_eq!(
        of_type(&run.eve, "flow").len() as u64,
        run.report.detection.flows
    );
    assert!(of_type(&run.eve, "ml_ids_incident").len() as u64 >= run.report.incidents.closed);
}

/// A change that breaks an event.
type Breakage = dyn Fn(&mut Value);

/// A valid incident alert, as we write them.
fn good_alert() -> Value {
    json!({
        "timestamp": "2026-12-01T10:00:00.123456+0000",
        "flow_id": 1_234_567_890_123u64,
        "in_iface": "eth0",
        "event_type": "alert",
        "src_ip": "10.77.0.101", "src_port": 65042, "dest_ip": "10.77.0.10", "dest_port": 25,
        "proto": "TCP",
        "community_id": "1:+AYoh8KmVZdfFc16dNb3tri9uI4=",
        "alert": {"action": "allowed", "gid": 1, "signature_id": 9_212_345, "rev": 1,
                  "signature": "ML-IDS PortScan incident (PortScan)",
                  "category": "Detection of a Network Scan", "severity": 3},
        "flow": {"pkts_toserver": 1, "pkts_toclient": 1, "bytes_toserver": 0,
                 "bytes_toclient": 0, "start": "2026-12-01T10:00:00.100000+0000"},
        "ml_ids": {"incident_id": "15cc48258e5c680e", "family": "PortScan"}
    })
}

#[test]
fn the_checker_rejects_wrong_types_unknown_fields_and_bad_formats() {
    let schema = schema();
    assert_eq!(violations(&schema, &good_alert()), Vec::<String>::new());
    let broken = |f: &Breakage| {
        let mut e = good_alert();
        f(&mut e);
        violations(&schema, &e)
    };
    let cases: [(&str, &Breakage); 9] = [
        ("severity as a string", &|e| {
            e["alert"]["severity"] = json!("3")
        }),
        ("unknown alert field", &|e| e["alert"]["score"] = json!(0.9)),
        ("unknown top-level field", &|e| e["ml_score"] = json!(0.9)),
        ("flow_id as a string", &|e| e["flow_id"] = json!("1234")),
        ("port as a string", &|e| e["src_port"] = json!("65042")),
        ("unknown flow field", &|e| e["flow"]["packets"] = json!(2)),
        ("timestamp with Z", &|e| {
            e["timestamp"] = json!("2026-12-01T10:00:00.123456Z")
        }),
        ("community id of another version", &|e| {
            e["community_id"] = json!("2:abc")
        }),
        ("ml_ids not an object", &|e| e["ml_ids"] = json!("PortScan")),
    ];
    for (what, f) in cases {
        assert!(!broken(f).is_empty(), "{what} passed the check");
    }
    // The schema's own timestamp rule, beside our stricter one.
    assert!(suricata_timestamp("2026-12-01T10:00:00.123456+0100"));
    assert!(!suricata_timestamp("2026-12-01 10:00:00.123456+0000"));
}

/// The flows of a capture in corrected mode.
fn flows_of(path: &Path) -> Vec<FlowRecord> {
    let mut p = Pipeline::new(MeterConfig::new(Mode::Corrected));
    let mut sink = VecSink::default();
    let mut r = CaptureReader::open(path).unwrap();
    p.feed(&mut r, &mut sink, &mut ()).unwrap();
    p.finish(&mut sink).unwrap();
    sink.0
}

/// A crafted echo request and reply, 10.0.0.1 ↔ 10.0.0.2, in `mode`.
fn echo_flow(mode: Mode) -> FlowRecord {
    let mut p = Pipeline::new(MeterConfig::new(mode));
    let mut sink = VecSink::default();
    for (i, (from, to, reply)) in [
        ("10.0.0.1", "10.0.0.2", false),
        ("10.0.0.2", "10.0.0.1", true),
    ]
    .into_iter()
    .enumerate()
    {
        let f = icmp_echo(T0 + i as i64 * 1000, from, to, reply, 56);
        p.push_frame(1, f.ts_us, &f.data, &mut sink).unwrap();
    }
    p.finish(&mut sink).unwrap();
    sink.0.remove(0)
}

/// Every EVE event ml-ids writes for `flow` taken as an attack: its per-flow alert, the incident
/// it opens (alert) and closes (`ml_ids_incident`), and its `flow` event.
fn every_event_of(flow: &FlowRecord) -> Vec<Value> {
    let origin = Arc::new(Origin {
        source: "watch:eth0".into(),
        in_iface: "eth0".into(),
    });
    let verdict = Verdict {
        label: "DDoS-ICMP".into(),
        probability: 0.95,
        attack_score: 0.95,
        is_attack: true,
        top_features: vec![],
        stage: Stage::FlowModel,
        evidence: None,
    };
    let alert = Arc::new(AlertEvent::new(flow, &verdict, &origin, "DDoS", false, 0.5));
    let mut tracker = IncidentTracker::default();
    let opened = tracker.observe(flow, &verdict, "DDoS").remove(0);
    let closed = tracker.finish().remove(0);
    let note = |e: IncidentEvent, trigger| {
        WatchEvent::Incident(Arc::new(IncidentNote {
            kind: e.kind,
            incident: e.incident,
            origin: origin.clone(),
            trigger,
        }))
    };
    let classified = ClassifiedFlow {
        flow: flow.clone(),
        verdict: verdict.clone(),
        alerted: true,
        incident_id: Some(opened.incident.id.clone()),
        origin: origin.clone(),
    };
    [
        WatchEvent::FlowAlert(alert.clone()),
        note(opened, Some(alert)),
        note(closed, None),
        WatchEvent::Flow(Arc::new(classified)),
    ]
    .iter()
    .map(|e| eve_value(e).expect("an EVE event"))
    .collect()
}

/// Check every event of each ICMP flow against the schema and Suricata's ICMP fields; returns
/// how many flows were checked.
fn check_icmp_flows(what: &str, flows: &[FlowRecord], proto: &str) -> usize {
    let schema = schema();
    let mut checked = 0;
    for flow in flows.iter().filter(|f| f.exchange.is_icmp()) {
        let (icmp_type, icmp_code) = flow.exchange.icmp.expect("a decoded ICMP header");
        let events = every_event_of(flow);
        let types: Vec<&Value> = events.iter().map(|e| &e["event_type"]).collect();
        assert_eq!(
            types,
            ["alert", "alert", "ml_ids_incident", "flow"],
            "{what}"
        );
        for e in &events {
            let bad = violations(&schema, e);
            assert!(bad.is_empty(), "{what}: {bad:?} in {e}");
            assert_eq!(e["proto"], proto, "{what}: {e}");
            assert_eq!(e["icmp_type"], icmp_type, "{what}: {e}");
            assert_eq!(e["icmp_code"], icmp_code, "{what}: {e}");
            assert!(
                e.get("src_port").is_none() && e.get("dest_port").is_none(),
                "{what}: ICMP has no ports: {e}"
            );
            assert_eq!(e["src_ip"], flow.src.to_string(), "{what}");
        }
        checked += 1;
    }
    checked
}

#[test]
fn icmp_events_fit_suricatas_schema_with_type_and_code_instead_of_ports() {
    // Crafted, in both modes (cic2018 reports ICMP's protocol as 0; EVE names it ICMP).
    for mode in [Mode::Corrected, Mode::Cic2018] {
        let flow = echo_flow(mode);
        assert_eq!(
            flow.exchange.icmp,
            Some((8, 0)),
            "the echo request came first"
        );
        assert_eq!(
            check_icmp_flows(&format!("echo ({mode})"), &[flow], "ICMP"),
            1
        );
    }
    // The schema itself refuses ICMP fields of the wrong type, so the checks above can fail.
    let mut bad = good_alert();
    bad["icmp_type"] = json!("8");
    assert!(!violations(&schema(), &bad).is_empty());

    // Real captures: ping, and thc-ipv6's router-advertisement attack (ICMPv6 type 134).
    let Some(data) = mlids_test_support::shared_data() else {
        return;
    };
    let ping = flows_of(&data.join("pcap/benign/icmp/sv_icmpv4-ping.pcap"));
    assert!(check_icmp_flows("sv_icmpv4-ping.pcap", &ping, "ICMP") >= 1);
    let ra = flows_of(&data.join("pcap/attack/ipv6-dos/sv_kill_router6.pcap"));
    assert!(check_icmp_flows("sv_kill_router6.pcap", &ra, "IPv6-ICMP") >= 1);
}
