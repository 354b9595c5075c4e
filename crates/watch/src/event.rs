//! One detection with the context the sinks need, and its three renderings: a readable line, the
//! shared [`Alert`] JSON (JSON Lines, webhook, `ml-ids serve`), and Suricata's EVE `alert` event.

use mlids_flow::{Feature, FlowRecord};
use mlids_model::alert::{rfc3339_micros, Alert};
use mlids_model::Verdict;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// Suricata signature ids 9,100,000–9,199,999 are ml-ids's: `signature_id` is derived from the label
/// name alone, so a SIEM rule on "DoS attacks-Hulk" keeps working across retrained models.
pub const SID_BASE: u32 = 9_100_000;

#[derive(Clone, Debug)]
pub struct AlertEvent {
    /// The shared alert message (`source` is `watch:IFACE` or `replay:FILE`).
    pub alert: Alert,
    /// The label's category from the model manifest (`DoS`, `BruteForce`, … or `Attack`).
    pub category: String,
    /// Interface (or `replay`) the flow was seen on.
    pub in_iface: String,
    /// Raised from a snapshot of a flow that was still open (periodic classification).
    pub ongoing: bool,
    /// Why the flow ended (`fin`, `idle_timeout`, …); `None` while it is still open.
    pub termination: Option<&'static str>,
    pub start_us: i64,
    /// Last packet of the flow so far: the alert's event time.
    pub end_us: i64,
    pub fwd_packets: u64,
    pub bwd_packets: u64,
    /// Payload bytes per direction (the CIC "TotLen" features).
    pub fwd_bytes: u64,
    pub bwd_bytes: u64,
    /// The decision threshold the attack score was compared with.
    pub threshold: f64,
}

impl AlertEvent {
    pub fn new(
        flow: &FlowRecord,
        verdict: &Verdict,
        source: &str,
        in_iface: &str,
        category: &str,
        ongoing: bool,
        threshold: f64,
    ) -> AlertEvent {
        let count = |f: Feature| {
            let v = flow.get(f);
            if v.is_finite() && v > 0.0 {
                v as u64
            } else {
                0
            }
        };
        AlertEvent {
            alert: Alert::new(flow, verdict, source),
            category: category.to_string(),
            in_iface: in_iface.to_string(),
            ongoing,
            termination: (!ongoing).then(|| flow.termination.as_str()),
            start_us: flow.start_us,
            end_us: flow.end_us,
            fwd_packets: count(Feature::TotFwdPkts),
            bwd_packets: count(Feature::TotBwdPkts),
            fwd_bytes: count(Feature::TotLenFwdPkts),
            bwd_bytes: count(Feature::TotLenBwdPkts),
            threshold,
        }
    }

    /// A stable numeric flow id (EVE's `flow_id`): the same for the ongoing and final record of a
    /// flow, different for a later flow on the same 5-tuple. FNV-1a over the CIC flow id and start
    /// time, kept within 2^51 so JavaScript-based tools read it exactly.
    pub fn numeric_flow_id(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self
            .alert
            .flow_id
            .as_bytes()
            .iter()
            .chain(self.start_us.to_le_bytes().iter())
        {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h & ((1 << 51) - 1)
    }
}

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

/// `signature_id` for a label (see [`SID_BASE`]).
pub fn signature_id(label: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in label.as_bytes() {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    SID_BASE + h % 100_000
}

/// Suricata severity (1 high … 3 low) from the attack score.
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
/// group ml-ids alerts sensibly. The raw category is in `ml_ids.category`.
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

/// The EVE-JSON `alert` event (one line of `eve.json`). `community_id` is top-level, where
/// Suricata writes it, so a SIEM joins ml-ids alerts with Suricata and Zeek records of the same flow;
/// like Suricata, the key is left out for a flow without one.
pub fn eve_json(ev: &AlertEvent) -> Value {
    let mut e = eve_fields(ev);
    if let (Some(id), Value::Object(m)) = (&ev.alert.community_id, &mut e) {
        m.insert("community_id".into(), id.as_str().into());
    }
    e
}

/// Every EVE field but `community_id`.
fn eve_fields(ev: &AlertEvent) -> Value {
    let a = &ev.alert;
    json!({
        "timestamp": eve_timestamp(ev.end_us),
        "flow_id": ev.numeric_flow_id(),
        "in_iface": ev.in_iface,
        "event_type": "alert",
        "src_ip": a.src_ip,
        "src_port": a.src_port,
        "dest_ip": a.dst_ip,
        "dest_port": a.dst_port,
        "proto": proto_name(a.protocol),
        "alert": {
            "action": "allowed",
            "gid": 1,
            "signature_id": signature_id(&a.label),
            "rev": 1,
            "signature": format!("ML-IDS {} ({})", a.label, ev.category),
            "category": classtype(&ev.category),
            "severity": severity(a.attack_score),
        },
        "flow": {
            "pkts_toserver": ev.fwd_packets,
            "pkts_toclient": ev.bwd_packets,
            "bytes_toserver": ev.fwd_bytes,
            "bytes_toclient": ev.bwd_bytes,
            "start": eve_timestamp(ev.start_us),
        },
        "ml_ids": {
            "label": a.label,
            "category": ev.category,
            "probability": a.probability,
            "attack_score": a.attack_score,
            "threshold": ev.threshold,
            "top_features": a.top_features,
            "flow_id": a.flow_id,
            "ongoing": ev.ongoing,
            "termination": ev.termination,
            "source": a.source,
            "stage": a.stage,
            "evidence": a.evidence,
        },
    })
}

/// The shared alert JSON object (what `ml-ids serve` accepts on POST /api/alerts).
pub fn alert_json(ev: &AlertEvent) -> Value {
    serde_json::to_value(&ev.alert).unwrap_or(Value::Null)
}

/// A readable one-line summary for a terminal.
pub fn readable_line(ev: &AlertEvent) -> String {
    let a = &ev.alert;
    let mut s = format!(
        "{} ALERT {} [{}] score {:.3} {} {}:{} -> {}:{} {} pkts fwd/bwd {}/{}",
        a.time,
        a.label,
        ev.category,
        a.attack_score,
        proto_name(a.protocol),
        a.src_ip,
        a.src_port,
        a.dst_ip,
        a.dst_port,
        if ev.ongoing {
            "ongoing".to_string()
        } else {
            format!("ended:{}", ev.termination.unwrap_or("?"))
        },
        ev.fwd_packets,
        ev.bwd_packets,
    );
    if !a.top_features.is_empty() {
        s.push_str(" top:");
        for f in &a.top_features {
            let _ = write!(s, " {}{:+.2}", f.feature, f.contribution);
        }
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mlids_flow::synth::{tcp, Link, CLIENT, SERVER, T0};
    use mlids_flow::{MeterConfig, Mode, Pipeline, VecSink};
    use mlids_model::Contribution;

    pub(crate) fn sample_event(ongoing: bool) -> AlertEvent {
        let mut p = Pipeline::new(MeterConfig::new(Mode::Cic2018));
        let mut sink = VecSink::default();
        for (i, (from, to, flags, len)) in [
            (CLIENT, SERVER, "S", 0),
            (SERVER, CLIENT, "SA", 0),
            (CLIENT, SERVER, "PA", 100),
            (SERVER, CLIENT, "PA", 300),
            (CLIENT, SERVER, "FA", 0),
        ]
        .into_iter()
        .enumerate()
        {
            let f = tcp(
                T0 + i as i64 * 250_000,
                from,
                to,
                flags,
                len,
                1000,
                Link::default(),
            );
            p.push_frame(1, f.ts_us, &f.data, &mut sink).unwrap();
        }
        p.finish(&mut sink).unwrap();
        let v = Verdict {
            label: "DoS attacks-Hulk".into(),
            probability: 0.97,
            attack_score: 0.97,
            is_attack: true,
            top_features: vec![Contribution {
                feature: "tot_fwd_pkts".into(),
                value: 3.0,
                contribution: 2.5,
            }],
            stage: mlids_model::Stage::FlowModel,
            evidence: None,
        };
        AlertEvent::new(&sink.0[0], &v, "watch:eth0", "eth0", "DoS", ongoing, 0.5)
    }

    #[test]
    fn eve_alert_has_suricatas_layout() {
        let ev = sample_event(false);
        let e = eve_json(&ev);
        // Top-level keys Filebeat's Suricata module reads.
        assert_eq!(e["event_type"], "alert");
        assert_eq!(e["timestamp"], "2018-02-16T00:00:01.000000+0000");
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
        assert_eq!(a["gid"], 1);
        assert_eq!(a["rev"], 1);
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
        // One line: the whole event serialises without newlines.
        assert!(!serde_json::to_string(&e).unwrap().contains('\n'));
    }

    #[test]
    fn a_flow_without_a_community_id_has_no_key() {
        let mut ev = sample_event(false);
        ev.alert.community_id = None;
        assert!(eve_json(&ev).get("community_id").is_none());
        assert!(alert_json(&ev).get("community_id").is_none());
    }

    #[test]
    fn ongoing_and_final_alerts_of_a_flow_share_the_flow_id() {
        let (a, b) = (sample_event(true), sample_event(false));
        assert_eq!(a.numeric_flow_id(), b.numeric_flow_id());
        assert_eq!(eve_json(&a)["ml_ids"]["termination"], Value::Null);
        let mut later = sample_event(false);
        later.start_us += 1;
        assert_ne!(later.numeric_flow_id(), b.numeric_flow_id());
    }

    #[test]
    fn alert_json_round_trips_as_the_servers_alert() {
        let ev = sample_event(false);
        let json = alert_json(&ev);
        assert_eq!(json["community_id"], "1:3k1SoWXs/FltHw2aBCgUTgbDQF4=");
        let back: Alert = serde_json::from_value(json).unwrap();
        assert_eq!(back, ev.alert);
        assert!(back.validate().is_ok());
    }

    #[test]
    fn severity_and_readable_line() {
        assert_eq!((severity(0.95), severity(0.8), severity(0.5)), (1, 2, 3));
        let line = readable_line(&sample_event(true));
        assert!(line.contains("ALERT DoS attacks-Hulk [DoS] score 0.970 TCP 10.0.0.1:40000 -> 10.0.0.2:80 ongoing"), "{line}");
        assert!(line.contains("tot_fwd_pkts+2.50"), "{line}");
    }
}
