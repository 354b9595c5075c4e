//! Suricata's EVE-JSON for the watch events, so Filebeat's Suricata module, Elastic, Splunk or
//! any EVE consumer ingest ml-ids as they ingest `eve.json`:
//!
//! - an incident opening is one `alert` event (Suricata alerts in real time; a scan of 4,000
//!   flows is one alert, not 4,000), on the incident's first flow: its `flow_id`,
//!   `community_id`, addresses and ports;
//! - an incident's progress reports and its close are `ml_ids_incident` events (an event type of
//!   our own, as Suricata's own modules each have theirs), with the same `flow_id` and
//!   `community_id`, so a SIEM groups an incident's events as it groups a flow's;
//! - per-flow alerts (`--eve-flow-alerts`) are `alert` events on their own flows;
//! - classified flows (`--eve-flows`) are `flow` events whose `flow_id` and `community_id` are
//!   the ones the alerts carry, so a SIEM joins an alert with its flow;
//! - ICMP and ICMPv6 events have `icmp_type` and `icmp_code` instead of ports, as Suricata's.
//!
//! Every event has Suricata's common header (`timestamp`, `flow_id`, `in_iface`, `event_type`,
//! the 5-tuple, `community_id`) in Suricata's order and types, checked against Suricata's own
//! schema in `tests/eve_schema.rs`; ml-ids's own fields are under one `ml_ids` object (or
//! `ml_ids_incident`, the payload key of that event type, as Suricata names payloads after their
//! event types).

use crate::event::{AlertEvent, ClassifiedFlow, IncidentNote, WatchEvent};
use mlids_flow::Termination;
use mlids_incident::{EventKind, Incident, TopFeature};
use mlids_model::alert::{rfc3339_micros, AlertFeature};
use mlids_model::Evidence;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

/// Suricata signature ids 9,100,000–9,199,999 are ml-ids's per-flow alerts: `signature_id` is
/// derived from the label name alone, so a SIEM rule on "DoS attacks-Hulk" keeps working across
/// retrained models.
pub const SID_BASE: u32 = 9_100_000;
/// Signature ids 9,200,000–9,299,999 are ml-ids's incident alerts, derived from the family and
/// the label that opened the incident (so one id has one `signature` text, as in Suricata).
pub const INCIDENT_SID_BASE: u32 = 9_200_000;

/// Suricata's `proto` spelling.
pub fn proto_name(p: u8) -> String {
    match p {
        1 => "ICMP".into(),
        6 => "TCP".into(),
        17 => "UDP".into(),
        58 => "IPv6-ICMP".into(),
        other => other.to_string(),
    }
}

/// FNV-1a (32 bits) over `parts`, each followed by a zero byte except the last.
fn fnv32(parts: &[&str]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |b: u8| {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    };
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            eat(0);
        }
        p.bytes().for_each(&mut eat);
    }
    h
}

/// `signature_id` of a per-flow alert for a label (see [`SID_BASE`]).
pub fn signature_id(label: &str) -> u32 {
    SID_BASE + fnv32(&[label]) % 100_000
}

/// `signature_id` of an incident alert (see [`INCIDENT_SID_BASE`]).
pub fn incident_signature_id(family: &str, label: &str) -> u32 {
    INCIDENT_SID_BASE + fnv32(&[family, label]) % 100_000
}

/// Suricata severity (1 high … 3 low) of a per-flow alert, from the attack score.
pub fn severity(attack_score: f64) -> u8 {
    if attack_score >= 0.9 {
        1
    } else if attack_score >= 0.7 {
        2
    } else {
        3
    }
}

/// A Suricata classtype description for a label category, so SIEM dashboards built for Suricata
/// group ml-ids alerts sensibly. The raw category is in `ml_ids.category` (or `ml_ids.family`).
pub fn classtype(category: &str) -> &'static str {
    match category {
        "DoS" | "DDoS" => "Attempted Denial of Service",
        "BruteForce" => "Attempted User Privilege Gain",
        "WebAttack" => "Web Application Attack",
        "Bot" => "A Network Trojan was detected",
        "Infiltration" => "Successful Administrator Privilege Gain",
        "PortScan" => "Detection of a Network Scan",
        "Heartbleed" => "Attempted Information Leak",
        _ => "Misc Attack",
    }
}

/// EVE's timestamp format: `2018-02-16T13:47:37.250000+0000`.
pub fn eve_timestamp(us: i64) -> String {
    let s = rfc3339_micros(us);
    format!("{}+0000", s.trim_end_matches('Z'))
}

/// The fields every EVE event starts with, in Suricata's order.
#[derive(Serialize)]
struct Header<'a> {
    timestamp: String,
    flow_id: u64,
    in_iface: &'a str,
    event_type: &'static str,
    #[serde(flatten)]
    tuple: Tuple,
    /// Top-level, where Suricata writes it; left out, like Suricata, for a flow without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    community_id: Option<String>,
}

/// The addresses, ports and protocol of an event, as Suricata writes them: ICMP and ICMPv6 have
/// no ports, so their events carry no `src_port`/`dest_port` but the `icmp_type` and `icmp_code`
/// of the flow's first ICMP packet (when its header was decoded), as Suricata's do; a SIEM that
/// keys on those fields then reads an ml-ids ICMP event as it reads Suricata's.
#[derive(Serialize)]
struct Tuple {
    src_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_port: Option<u16>,
    dest_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    dest_port: Option<u16>,
    proto: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icmp_code: Option<u8>,
}

impl Tuple {
    /// `protocol` is the flow's as ml-ids reports it, which cic2018 mode folds to 0 for anything
    /// but TCP and UDP; a flow with an ICMP type is ICMP whatever that says (ICMPv6 over IPv6),
    /// so EVE names the real protocol, as Suricata would.
    fn new(
        src: String,
        (src_port, dest_port): (u16, u16),
        dest: String,
        protocol: u8,
        icmp: Option<(u8, u8)>,
    ) -> Tuple {
        let protocol = match (protocol, icmp) {
            // Of the address forms only IPv6's has colons.
            (0, Some(_)) if src.contains(':') => ICMPV6,
            (0, Some(_)) => ICMP,
            (p, _) => p,
        };
        let is_icmp = protocol == ICMP || protocol == ICMPV6;
        let (icmp, ports) = if is_icmp {
            (icmp, None)
        } else {
            (None, Some((src_port, dest_port)))
        };
        Tuple {
            src_ip: src,
            src_port: ports.map(|p| p.0),
            dest_ip: dest,
            dest_port: ports.map(|p| p.1),
            proto: proto_name(protocol),
            icmp_type: icmp.map(|(t, _)| t),
            icmp_code: icmp.map(|(_, c)| c),
        }
    }
}

/// IP protocol numbers of ICMP and ICMPv6.
const ICMP: u8 = 1;
const ICMPV6: u8 = 58;

/// Suricata's `alert` object.
#[derive(Serialize)]
struct AlertObject {
    action: &'static str,
    gid: u32,
    signature_id: u32,
    rev: u32,
    signature: String,
    category: &'static str,
    severity: u8,
}

impl AlertObject {
    /// ml-ids detects, it does not block: every alert is `allowed`.
    fn new(signature_id: u32, signature: String, category: &str, severity: u8) -> AlertObject {
        AlertObject {
            action: "allowed",
            gid: 1,
            signature_id,
            rev: 1,
            signature,
            category: classtype(category),
            severity,
        }
    }
}

/// Suricata's `flow` object: the counts of alert events, and for `flow` events also the end,
/// age, state, why it was logged and whether it alerted.
#[derive(Serialize)]
struct FlowObject {
    pkts_toserver: u64,
    pkts_toclient: u64,
    bytes_toserver: u64,
    bytes_toclient: u64,
    start: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    age: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alerted: Option<bool>,
}

impl FlowObject {
    fn of_alert(ev: &AlertEvent) -> FlowObject {
        FlowObject {
            pkts_toserver: ev.fwd_packets,
            pkts_toclient: ev.bwd_packets,
            bytes_toserver: ev.fwd_bytes,
            bytes_toclient: ev.bwd_bytes,
            start: eve_timestamp(ev.start_us),
            end: None,
            age: None,
            state: None,
            reason: None,
            alerted: None,
        }
    }
}

/// Suricata's flow `state`: `new` when only one side spoke, `closed` after a FIN or RST, else
/// `established`.
fn flow_state(t: Termination, bwd_packets: u64) -> &'static str {
    match t {
        Termination::Fin | Termination::Rst => "closed",
        _ if bwd_packets == 0 => "new",
        _ => "established",
    }
}

/// Suricata's flow `reason` (why the record was logged): flows that ended or timed out are
/// `timeout` (Suricata logs a closed flow at its timeout too), the capture's end `shutdown`, an
/// eviction from a full table `forced`. The exact cause is in `ml_ids.termination`.
fn flow_reason(t: Termination) -> &'static str {
    match t {
        Termination::EndOfCapture => "shutdown",
        Termination::Evicted => "forced",
        _ => "timeout",
    }
}

/// `ml_ids` of a per-flow alert: the model's view of the flow.
#[derive(Serialize)]
struct FlowAlertDetails<'a> {
    label: &'a str,
    category: &'a str,
    probability: f64,
    attack_score: f64,
    threshold: f64,
    top_features: &'a [AlertFeature],
    flow_id: &'a str,
    ongoing: bool,
    termination: Option<&'static str>,
    source: &'a str,
    stage: mlids_model::Stage,
    evidence: &'a Option<Evidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incident_id: Option<&'a str>,
}

#[derive(Serialize)]
struct FlowAlertEve<'a> {
    #[serde(flatten)]
    header: Header<'a>,
    alert: AlertObject,
    flow: FlowObject,
    ml_ids: FlowAlertDetails<'a>,
}

fn flow_alert(ev: &AlertEvent) -> FlowAlertEve<'_> {
    let a = &ev.alert;
    FlowAlertEve {
        header: Header {
            timestamp: eve_timestamp(ev.end_us),
            flow_id: ev.numeric_flow_id(),
            in_iface: &ev.in_iface,
            event_type: "alert",
            tuple: Tuple::new(
                a.src_ip.clone(),
                (a.src_port, a.dst_port),
                a.dst_ip.clone(),
                a.protocol,
                ev.icmp,
            ),
            community_id: a.community_id.clone(),
        },
        alert: AlertObject::new(
            signature_id(&a.label),
            format!("ML-IDS {} ({})", a.label, ev.category),
            &ev.category,
            severity(a.attack_score),
        ),
        flow: FlowObject::of_alert(ev),
        ml_ids: FlowAlertDetails {
            label: &a.label,
            category: &ev.category,
            probability: a.probability,
            attack_score: a.attack_score,
            threshold: ev.threshold,
            top_features: &a.top_features,
            flow_id: &a.flow_id,
            ongoing: ev.ongoing,
            termination: ev.termination,
            source: &a.source,
            stage: a.stage,
            evidence: &a.evidence,
            incident_id: ev.incident_id.as_deref(),
        },
    }
}

/// The header of an incident's events: its first flow's id, tuple and Community ID, at the time
/// of its latest attack flow.
fn incident_header<'a>(n: &'a IncidentNote, event_type: &'static str) -> Option<Header<'a>> {
    let f = n.incident.sample_flows.first()?;
    Some(Header {
        timestamp: eve_timestamp(n.incident.last_seen_us),
        flow_id: n.numeric_flow_id()?,
        in_iface: &n.origin.in_iface,
        event_type,
        tuple: Tuple::new(
            f.src_ip.to_string(),
            (f.src_port, f.dest_port),
            f.dest_ip.to_string(),
            f.protocol,
            f.icmp_type.zip(f.icmp_code),
        ),
        community_id: f.community_id.clone(),
    })
}

/// `ml_ids` of an incident alert: the incident as it opened, and its first flow's verdict.
#[derive(Serialize)]
struct IncidentAlertDetails<'a> {
    incident_id: &'a str,
    family: &'a str,
    severity: &'static str,
    attacker: String,
    labels: &'a BTreeMap<String, u64>,
    /// Distinct victims so far.
    victims: usize,
    evidence: &'a [Evidence],
    top_features: &'a [TopFeature],
    /// The first flow's label, attack score, deciding stage and CIC flow id.
    label: &'a str,
    attack_score: f64,
    stage: &'a str,
    flow_id: &'a str,
    source: &'a str,
}

#[derive(Serialize)]
struct IncidentAlertEve<'a> {
    #[serde(flatten)]
    header: Header<'a>,
    alert: AlertObject,
    #[serde(skip_serializing_if = "Option::is_none")]
    flow: Option<FlowObject>,
    ml_ids: IncidentAlertDetails<'a>,
}

fn incident_alert(n: &IncidentNote) -> Option<IncidentAlertEve<'_>> {
    let i = &n.incident;
    let first = i.sample_flows.first()?;
    let mut header = incident_header(n, "alert")?;
    if let Some(t) = &n.trigger {
        // The alert is raised when the first flow's verdict is in: that flow's last packet.
        header.timestamp = eve_timestamp(t.end_us);
    }
    Some(IncidentAlertEve {
        header,
        alert: AlertObject::new(
            incident_signature_id(&i.family, &first.label),
            format!("ML-IDS {} incident ({})", i.family, first.label),
            &i.family,
            i.severity.suricata(),
        ),
        flow: n.trigger.as_deref().map(FlowObject::of_alert),
        ml_ids: IncidentAlertDetails {
            incident_id: &i.id,
            family: &i.family,
            severity: i.severity.as_str(),
            attacker: i.attacker.to_string(),
            labels: &i.labels,
            victims: i.victim_count(),
            evidence: &i.evidence,
            top_features: &i.top_features,
            label: &first.label,
            attack_score: first.attack_score,
            stage: &first.stage,
            flow_id: &first.flow_id,
            source: &n.origin.source,
        },
    })
}

/// The payload of an `ml_ids_incident` event: the whole incident with its state.
#[derive(Serialize)]
struct IncidentState<'a> {
    /// `updated` or `closed` (`opened` is the alert).
    state: &'static str,
    first_seen: String,
    last_seen: String,
    source: &'a str,
    #[serde(flatten)]
    incident: &'a Incident,
}

#[derive(Serialize)]
struct IncidentEve<'a> {
    #[serde(flatten)]
    header: Header<'a>,
    ml_ids_incident: IncidentState<'a>,
}

fn incident_event(n: &IncidentNote) -> Option<IncidentEve<'_>> {
    let i = &n.incident;
    Some(IncidentEve {
        header: incident_header(n, "ml_ids_incident")?,
        ml_ids_incident: IncidentState {
            state: match n.kind {
                EventKind::Opened => "opened",
                EventKind::Updated => "updated",
                EventKind::Closed => "closed",
            },
            first_seen: eve_timestamp(i.first_seen_us),
            last_seen: eve_timestamp(i.last_seen_us),
            source: &n.origin.source,
            incident: i,
        },
    })
}

/// `ml_ids` of a flow event: the flow's verdict and the incident it went into.
#[derive(Serialize)]
struct FlowDetails<'a> {
    label: &'a str,
    attack_score: f64,
    is_attack: bool,
    stage: mlids_model::Stage,
    flow_id: String,
    termination: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    incident_id: Option<&'a str>,
    source: &'a str,
}

#[derive(Serialize)]
struct FlowEve<'a> {
    #[serde(flatten)]
    header: Header<'a>,
    flow: FlowObject,
    ml_ids: FlowDetails<'a>,
}

fn flow_event(c: &ClassifiedFlow) -> FlowEve<'_> {
    let f = &c.flow;
    let n = crate::event::FlowCounts::of(f);
    let cic = f.flow_id();
    FlowEve {
        header: Header {
            // Suricata stamps a flow event when it logs it: here, when the flow ended.
            timestamp: eve_timestamp(f.end_us),
            flow_id: crate::event::numeric_flow_id(&cic, f.start_us),
            in_iface: &c.origin.in_iface,
            event_type: "flow",
            tuple: Tuple::new(
                f.src.to_string(),
                (f.src_port, f.dst_port),
                f.dst.to_string(),
                f.protocol,
                f.exchange.icmp,
            ),
            community_id: f.community_id(),
        },
        flow: FlowObject {
            pkts_toserver: n.fwd_packets,
            pkts_toclient: n.bwd_packets,
            bytes_toserver: n.fwd_bytes,
            bytes_toclient: n.bwd_bytes,
            start: eve_timestamp(f.start_us),
            end: Some(eve_timestamp(f.end_us)),
            // Whole seconds, as Suricata counts it.
            age: Some(f.end_us.div_euclid(1_000_000) - f.start_us.div_euclid(1_000_000)),
            state: Some(flow_state(f.termination, n.bwd_packets)),
            reason: Some(flow_reason(f.termination)),
            alerted: Some(c.alerted),
        },
        ml_ids: FlowDetails {
            label: &c.verdict.label,
            attack_score: c.verdict.attack_score,
            is_attack: c.verdict.is_attack,
            stage: c.verdict.stage,
            flow_id: cic,
            termination: f.termination.as_str(),
            incident_id: c.incident_id.as_deref(),
            source: &c.origin.source,
        },
    }
}

/// Write the EVE event of `ev` (one line, no newline) to `out`; `Ok(false)` if it has none (an
/// incident without flows, which the tracker never makes).
pub fn write_eve<W: Write>(out: &mut W, ev: &WatchEvent) -> serde_json::Result<bool> {
    match ev {
        WatchEvent::FlowAlert(a) => serde_json::to_writer(out, &flow_alert(a))?,
        WatchEvent::Incident(n) if n.kind == EventKind::Opened => match incident_alert(n) {
            Some(e) => serde_json::to_writer(out, &e)?,
            None => return Ok(false),
        },
        WatchEvent::Incident(n) => match incident_event(n) {
            Some(e) => serde_json::to_writer(out, &e)?,
            None => return Ok(false),
        },
        WatchEvent::Flow(c) => serde_json::to_writer(out, &flow_event(c))?,
    }
    Ok(true)
}

/// The EVE event of `ev` as one line of bytes (no newline), if it has one.
pub fn eve_line(ev: &WatchEvent) -> Option<Vec<u8>> {
    let mut line = Vec::with_capacity(512);
    match write_eve(&mut line, ev) {
        Ok(true) => Some(line),
        _ => None,
    }
}

/// The EVE event of `ev` parsed back (tests, and callers that want a `Value`).
pub fn eve_value(ev: &WatchEvent) -> Option<serde_json::Value> {
    eve_line(ev).and_then(|l| serde_json::from_slice(&l).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::{
        origin, sample_classified, sample_event, sample_icmp_flow, sample_incident, sample_verdict,
    };
    use crate::event::{AlertEvent, ClassifiedFlow, IncidentNote};
    use mlids_flow::Mode;
    use mlids_incident::IncidentTracker;
    use serde_json::Value;
    use std::sync::Arc;

    fn alert_of(ev: crate::event::AlertEvent) -> Value {
        eve_value(&WatchEvent::FlowAlert(Arc::new(ev))).unwrap()
    }

    #[test]
    fn per_flow_alert_has_suricatas_layout() {
        let mut ev = sample_event(false);
        ev.incident_id = Some("00112233deadbeef".into());
        let line =
            String::from_utf8(eve_line(&WatchEvent::FlowAlert(Arc::new(ev.clone()))).unwrap())
                .unwrap();
        // Suricata's header order: timestamp first, then flow_id, in_iface, event_type.
        assert!(
            line.starts_with("{\"timestamp\":\"2018-02-16T00:00:01.000000+0000\",\"flow_id\":"),
            "{line}"
        );
        assert!(!line.contains('\n'));
        let e = alert_of(ev);
        assert_eq!(e["event_type"], "alert");
        assert_eq!(e["src_ip"], "10.0.0.1");
        assert_eq!(e["src_port"], 40000);
        assert_eq!(e["dest_ip"], "10.0.0.2");
        assert_eq!(e["dest_port"], 80);
        assert_eq!(e["proto"], "TCP");
        // 10.0.0.1, 10.0.0.2, TCP, ports 40000, 80 (by hand with Python's hashlib, as in
        // crates/flow/tests/community_id.rs).
        assert_eq!(e["community_id"], "1:3k1SoWXs/FltHw2aBCgUTgbDQF4=");
        assert_eq!(e["in_iface"], "eth0");
        assert!(e["flow_id"].as_u64().unwrap() < 1 << 51);
        let a = &e["alert"];
        assert_eq!(a["action"], "allowed");
        assert_eq!((a["gid"].as_u64(), a["rev"].as_u64()), (Some(1), Some(1)));
        let sid = a["signature_id"].as_u64().unwrap();
        assert!((9_100_000..9_200_000).contains(&sid));
        assert_eq!(sid, u64::from(signature_id("DoS attacks-Hulk")));
        assert_eq!(a["signature"], "ML-IDS DoS attacks-Hulk (DoS)");
        assert_eq!(a["category"], "Attempted Denial of Service");
        assert_eq!(a["severity"], 1);
        assert_eq!(e["flow"]["pkts_toserver"], 3);
        assert_eq!(e["flow"]["pkts_toclient"], 2);
        assert_eq!(e["flow"]["bytes_toserver"], 100);
        assert_eq!(e["flow"]["bytes_toclient"], 300);
        assert_eq!(e["flow"]["start"], "2018-02-16T00:00:00.000000+0000");
        let m = &e["ml_ids"];
        assert_eq!(m["label"], "DoS attacks-Hulk");
        assert_eq!(m["probability"], 0.97);
        assert_eq!(m["top_features"][0]["feature"], "tot_fwd_pkts");
        assert_eq!(m["flow_id"], "10.0.0.1-10.0.0.2-40000-80-6");
        assert_eq!(m["ongoing"], false);
        assert_eq!(m["termination"], "fin");
        assert_eq!(m["incident_id"], "00112233deadbeef");
    }

    #[test]
    fn signature_ids_stay_what_they_were() {
        // The per-flow ids SIEM rules were written against before incidents existed.
        assert_eq!(
            signature_id("DoS attacks-Hulk"),
            9_100_000 + {
                let mut h: u32 = 0x811c_9dc5;
                for b in "DoS attacks-Hulk".bytes() {
                    h ^= u32::from(b);
                    h = h.wrapping_mul(0x0100_0193);
                }
                h % 100_000
            }
        );
        let s = incident_signature_id("PortScan", "PortScan");
        assert!((9_200_000..9_300_000).contains(&s));
        assert_ne!(s, incident_signature_id("DoS", "PortScan"));
        assert_eq!((severity(0.95), severity(0.8), severity(0.5)), (1, 2, 3));
    }

    #[test]
    fn a_flow_without_a_community_id_has_no_key() {
        let mut ev = sample_event(false);
        ev.alert.community_id = None;
        assert!(alert_of(ev).get("community_id").is_none());
    }

    #[test]
    fn an_incident_opens_as_one_alert_on_its_first_flow() {
        let (opened, _) = sample_incident();
        let trigger = opened.trigger.clone().unwrap();
        let id = opened.incident.id.clone();
        let e = eve_value(&WatchEvent::Incident(Arc::new(opened))).unwrap();
        assert_eq!(e["event_type"], "alert");
        assert_eq!(e["flow_id"], trigger.numeric_flow_id());
        assert_eq!(e["community_id"], "1:3k1SoWXs/FltHw2aBCgUTgbDQF4=");
        assert_eq!(e["timestamp"], "2018-02-16T00:00:01.000000+0000");
        assert_eq!(
            (e["src_ip"].as_str(), e["dest_port"].as_u64()),
            (Some("10.0.0.1"), Some(80))
        );
        let a = &e["alert"];
        assert_eq!(a["signature"], "ML-IDS DoS incident (DoS attacks-Hulk)");
        assert_eq!(
            a["signature_id"],
            incident_signature_id("DoS", "DoS attacks-Hulk")
        );
        assert_eq!(a["category"], "Attempted Denial of Service");
        assert_eq!(a["severity"], 1, "high is Suricata's 1");
        assert_eq!(e["flow"]["pkts_toserver"], 3);
        let m = &e["ml_ids"];
        assert_eq!(m["incident_id"], id.as_str());
        assert_eq!(m["family"], "DoS");
        assert_eq!(m["labels"]["DoS attacks-Hulk"], 1);
        assert_eq!(m["victims"], 1);
        assert_eq!(m["label"], "DoS attacks-Hulk");
        assert_eq!(m["flow_id"], "10.0.0.1-10.0.0.2-40000-80-6");
    }

    #[test]
    fn an_incident_closes_as_an_ml_ids_incident_event_with_the_same_ids() {
        let (opened, closed) = sample_incident();
        let o = eve_value(&WatchEvent::Incident(Arc::new(opened))).unwrap();
        let c = eve_value(&WatchEvent::Incident(Arc::new(closed))).unwrap();
        assert_eq!(c["event_type"], "ml_ids_incident");
        assert_eq!(c["flow_id"], o["flow_id"]);
        assert_eq!(c["community_id"], o["community_id"]);
        let i = &c["ml_ids_incident"];
        assert_eq!(i["state"], "closed");
        assert_eq!(i["id"], o["ml_ids"]["incident_id"]);
        assert_eq!(i["open"], false);
        assert_eq!(i["flows"], 1);
        assert_eq!(i["first_seen"], "2018-02-16T00:00:00.000000+0000");
        assert_eq!(i["last_seen"], "2018-02-16T00:00:01.000000+0000");
        assert!(c.get("alert").is_none());
    }

    #[test]
    fn a_flow_event_carries_the_alerts_ids_and_suricatas_flow_fields() {
        let c = sample_classified();
        let (opened, _) = sample_incident();
        let alert = eve_value(&WatchEvent::Incident(Arc::new(opened))).unwrap();
        let e = eve_value(&WatchEvent::Flow(Arc::new(c))).unwrap();
        assert_eq!(e["event_type"], "flow");
        assert_eq!(e["flow_id"], alert["flow_id"]);
        assert_eq!(e["community_id"], alert["community_id"]);
        let f = &e["flow"];
        assert_eq!(
            (f["pkts_toserver"].as_u64(), f["pkts_toclient"].as_u64()),
            (Some(3), Some(2))
        );
        assert_eq!(f["start"], "2018-02-16T00:00:00.000000+0000");
        assert_eq!(f["end"], "2018-02-16T00:00:01.000000+0000");
        assert_eq!(f["age"], 1);
        assert_eq!(f["state"], "closed");
        assert_eq!(f["reason"], "timeout");
        assert_eq!(f["alerted"], true);
        assert_eq!(e["ml_ids"]["incident_id"], alert["ml_ids"]["incident_id"]);
        assert_eq!(e["ml_ids"]["termination"], "fin");
        assert_eq!(
            (
                flow_state(Termination::IdleTimeout, 0),
                flow_reason(Termination::EndOfCapture)
            ),
            ("new", "shutdown")
        );
    }

    /// Every EVE event of one ICMP echo flow in `mode`: per-flow alert, incident alert, incident
    /// close, flow.
    fn icmp_events(mode: Mode) -> Vec<Value> {
        let (flow, v) = (sample_icmp_flow(mode), sample_verdict());
        let alert = AlertEvent::new(&flow, &v, &origin(), "DoS", false, 0.5);
        let mut t = IncidentTracker::default();
        let opened = t.observe(&flow, &v, "DoS").remove(0);
        let closed = t.finish().remove(0);
        let note = |e: mlids_incident::IncidentEvent, trigger| IncidentNote {
            kind: e.kind,
            incident: e.incident,
            origin: origin(),
            trigger,
        };
        let classified = ClassifiedFlow {
            flow: flow.clone(),
            verdict: v.clone(),
            alerted: true,
            incident_id: Some(opened.incident.id.clone()),
            origin: origin(),
        };
        let alert = Arc::new(alert);
        [
            WatchEvent::FlowAlert(alert.clone()),
            WatchEvent::Incident(Arc::new(note(opened, Some(alert)))),
            WatchEvent::Incident(Arc::new(note(closed, None))),
            WatchEvent::Flow(Arc::new(classified)),
        ]
        .iter()
        .map(|e| eve_value(e).unwrap())
        .collect()
    }

    #[test]
    fn icmp_events_carry_type_and_code_instead_of_ports() {
        for mode in [Mode::Corrected, Mode::Cic2018] {
            let events = icmp_events(mode);
            let types: Vec<&str> = events
                .iter()
                .map(|e| e["event_type"].as_str().unwrap())
                .collect();
            assert_eq!(types, ["alert", "alert", "ml_ids_incident", "flow"]);
            for e in &events {
                // cic2018 reports the protocol as 0; EVE names the real one.
                assert_eq!(e["proto"], "ICMP", "{mode}: {e}");
                assert_eq!(
                    (&e["src_ip"], &e["dest_ip"]),
                    (&"10.0.0.1".into(), &"10.0.0.2".into())
                );
                // The echo request (type 8, code 0) came first.
                assert_eq!(e["icmp_type"], 8, "{mode}: {e}");
                assert_eq!(e["icmp_code"], 0, "{mode}: {e}");
                let o = e.as_object().unwrap();
                assert!(
                    !o.contains_key("src_port") && !o.contains_key("dest_port"),
                    "{e}"
                );
                assert!(e["community_id"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("1:")));
            }
            assert_eq!(events[0]["flow_id"], events[3]["flow_id"]);
        }
        // Suricata's order: the protocol, then the ICMP fields, then the Community ID.
        let flow = sample_icmp_flow(Mode::Corrected);
        let ev = AlertEvent::new(&flow, &sample_verdict(), &origin(), "DoS", false, 0.5);
        let line =
            String::from_utf8(eve_line(&WatchEvent::FlowAlert(Arc::new(ev))).unwrap()).unwrap();
        assert!(
            line.contains(
                r#""dest_ip":"10.0.0.2","proto":"ICMP","icmp_type":8,"icmp_code":0,"community_id":"#
            ),
            "{line}"
        );
        // A TCP flow is untouched: ports, and no ICMP fields.
        let tcp = alert_of(sample_event(false));
        assert_eq!(
            (tcp["src_port"].as_u64(), tcp["dest_port"].as_u64()),
            (Some(40000), Some(80))
        );
        assert!(tcp.get("icmp_type").is_none() && tcp.get("icmp_code").is_none());
    }
}
