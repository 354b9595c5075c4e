//! What the watch loop hands its sinks — per-flow alerts, incidents and classified flows — and
//! their renderings for people and for JSON consumers: readable lines, the shared [`Alert`] JSON
//! (JSON Lines, webhook, `ml-ids serve`) and the incident event JSON (webhook, `--incidents`).
//! Suricata's EVE renderings are in [`crate::eve`].

use crate::eve::proto_name;
use mlids_flow::{Feature, FlowRecord};
use mlids_incident::{EventKind, Incident};
use mlids_model::alert::{rfc3339_micros, Alert};
use mlids_model::Verdict;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write as _;
use std::sync::Arc;

/// One item on a sink's queue. Each is shared (one allocation) by every sink that wants it.
#[derive(Clone, Debug)]
pub enum WatchEvent {
    /// An attack flow: one per flow, at its first attack verdict.
    FlowAlert(Arc<AlertEvent>),
    /// An incident opened, reported progress or closed.
    Incident(Arc<IncidentNote>),
    /// A completed flow with its verdict.
    Flow(Arc<ClassifiedFlow>),
}

/// Where the traffic was seen, shared by every event of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// `watch:IFACE` or `replay:FILE`.
    pub source: String,
    /// Interface (or `replay`): EVE's `in_iface`.
    pub in_iface: String,
}

/// Packets and payload bytes per direction (the CIC `Tot*` features), as EVE's `flow` counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowCounts {
    pub fwd_packets: u64,
    pub bwd_packets: u64,
    pub fwd_bytes: u64,
    pub bwd_bytes: u64,
}

impl FlowCounts {
    pub fn of(flow: &FlowRecord) -> FlowCounts {
        let count = |f: Feature| {
            let v = flow.get(f);
            if v.is_finite() && v > 0.0 {
                v as u64
            } else {
                0
            }
        };
        FlowCounts {
            fwd_packets: count(Feature::TotFwdPkts),
            bwd_packets: count(Feature::TotBwdPkts),
            fwd_bytes: count(Feature::TotLenFwdPkts),
            bwd_bytes: count(Feature::TotLenBwdPkts),
        }
    }
}

/// A stable numeric flow id (EVE's `flow_id`) from the CIC flow id and the flow's first packet:
/// the same for the snapshot and the final record of a flow and for the incident it opened,
/// different for a later flow on the same 5-tuple. FNV-1a, kept within 2^51 so JavaScript-based
/// tools read it exactly.
pub fn numeric_flow_id(cic_flow_id: &str, start_us: i64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in cic_flow_id
        .as_bytes()
        .iter()
        .chain(start_us.to_le_bytes().iter())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h & ((1 << 51) - 1)
}

/// One attack flow with the context the sinks need.
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
    /// The incident the flow's verdict went into, so a per-flow record joins its incident.
    pub incident_id: Option<String>,
    /// ICMP type and code of the flow's first ICMP packet (ICMP flows only): EVE writes them
    /// in place of ports. Not in the shared alert JSON, whose shape the server defines.
    pub icmp: Option<(u8, u8)>,
}

impl AlertEvent {
    pub fn new(
        flow: &FlowRecord,
        verdict: &Verdict,
        origin: &Origin,
        category: &str,
        ongoing: bool,
        threshold: f64,
    ) -> AlertEvent {
        let c = FlowCounts::of(flow);
        AlertEvent {
            alert: Alert::new(flow, verdict, &origin.source),
            category: category.to_string(),
            in_iface: origin.in_iface.clone(),
            ongoing,
            termination: (!ongoing).then(|| flow.termination.as_str()),
            start_us: flow.start_us,
            end_us: flow.end_us,
            fwd_packets: c.fwd_packets,
            bwd_packets: c.bwd_packets,
            fwd_bytes: c.fwd_bytes,
            bwd_bytes: c.bwd_bytes,
            threshold,
            incident_id: None,
            icmp: flow.exchange.icmp,
        }
    }

    /// EVE's `flow_id` of this flow (see [`numeric_flow_id`]).
    pub fn numeric_flow_id(&self) -> u64 {
        numeric_flow_id(&self.alert.flow_id, self.start_us)
    }
}

/// An incident event of the tracker with the context its renderings need.
#[derive(Clone, Debug)]
pub struct IncidentNote {
    pub kind: EventKind,
    pub incident: Incident,
    pub origin: Arc<Origin>,
    /// The attack flow that opened the incident (opened events only): the EVE alert's `flow`
    /// counts and the first flow's verdict come from it.
    pub trigger: Option<Arc<AlertEvent>>,
}

impl IncidentNote {
    /// EVE's `flow_id` of the incident's first flow: every EVE event of the incident carries it,
    /// as does that flow's own `flow` event.
    pub fn numeric_flow_id(&self) -> Option<u64> {
        self.incident
            .sample_flows
            .first()
            .map(|f| numeric_flow_id(&f.flow_id, f.start_us))
    }
}

/// A completed flow with its verdict, for the flows file and EVE `flow` events.
#[derive(Clone, Debug)]
pub struct ClassifiedFlow {
    pub flow: FlowRecord,
    pub verdict: Verdict,
    /// The flow raised an attack verdict (now, or while it was open).
    pub alerted: bool,
    /// The open incident its attack verdict went into.
    pub incident_id: Option<String>,
    pub origin: Arc<Origin>,
}

impl ClassifiedFlow {
    pub fn numeric_flow_id(&self) -> u64 {
        numeric_flow_id(&self.flow.flow_id(), self.flow.start_us)
    }
}

/// The shared alert JSON object (what `ml-ids serve` accepts on POST /api/alerts).
pub fn alert_json(ev: &AlertEvent) -> Value {
    serde_json::to_value(&ev.alert).unwrap_or(Value::Null)
}

/// The incident event JSON of webhooks and `--incidents`: the shape `ml-ids serve` sends on its
/// WebSocket (`type` is `incident.opened`, `incident.updated` or `incident.closed`), plus the
/// sensor's `source`.
#[derive(Serialize)]
pub struct IncidentJson<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub source: &'a str,
    pub incident: &'a Incident,
}

pub fn incident_json(n: &IncidentNote) -> IncidentJson<'_> {
    IncidentJson {
        kind: n.kind.event_name(),
        source: &n.origin.source,
        incident: &n.incident,
    }
}

/// A readable one-line summary of a per-flow alert for a terminal.
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

/// A readable line for an incident event: when it opened, what its first flow was; when it
/// closed (or reported progress), how big it grew. The time is its latest attack flow's last
/// packet.
pub fn readable_incident(n: &IncidentNote) -> String {
    let i = &n.incident;
    let victims = match (i.victim_count(), i.victims.first()) {
        (1, Some(v)) => v.address.to_string(),
        (k, Some(v)) => format!("{k} hosts (most hit {})", v.address),
        (_, None) => "?".to_string(),
    };
    let verb = match n.kind {
        EventKind::Opened => "OPENED",
        EventKind::Updated => "UPDATED",
        EventKind::Closed => "CLOSED",
    };
    let mut s = format!(
        "{} INCIDENT {verb} {} {} [{}] {} -> {victims}",
        rfc3339_micros(i.last_seen_us),
        i.id,
        i.family,
        i.severity.as_str(),
        match i.attackers {
            Some(n) if n > 1 => format!("{n} sources"),
            _ => i.attacker.to_string(),
        },
    );
    match (n.kind, i.sample_flows.first()) {
        (EventKind::Opened, Some(f)) => {
            let _ = write!(
                s,
                ": {} score {:.3} ({}) first flow {} {}:{} -> {}:{}",
                f.label,
                f.attack_score,
                f.stage,
                proto_name(f.protocol),
                f.src_ip,
                f.src_port,
                f.dest_ip,
                f.dest_port
            );
        }
        _ => {
            let _ = write!(
                s,
                ": {} flows, {} packets in {:.1}s; labels",
                i.flows,
                i.packets,
                i.duration_us() as f64 / 1e6
            );
            for (label, n) in &i.labels {
                let _ = write!(s, " {label} {n}");
            }
        }
    }
    if let Some(e) = i.evidence.last() {
        let _ = write!(s, "; evidence: {}", e.summary);
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mlids_flow::synth::{icmp_echo, tcp, Link, CLIENT, SERVER, T0};
    use mlids_flow::{MeterConfig, Mode, Pipeline, VecSink};
    use mlids_incident::IncidentTracker;
    use mlids_model::Contribution;

    pub(crate) fn origin() -> Arc<Origin> {
        Arc::new(Origin {
            source: "watch:eth0".into(),
            in_iface: "eth0".into(),
        })
    }

    /// A finished 5-packet HTTP-like flow 10.0.0.1:40000 → 10.0.0.2:80 (FIN).
    pub(crate) fn sample_flow() -> FlowRecord {
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
        sink.0.remove(0)
    }

    /// An ICMP echo request and its reply, 10.0.0.1 → 10.0.0.2, as `mode` meters them (cic2018
    /// reports the protocol as 0).
    pub(crate) fn sample_icmp_flow(mode: Mode) -> FlowRecord {
        let mut p = Pipeline::new(MeterConfig::new(mode));
        let mut sink = VecSink::default();
        for (i, reply) in [false, true].into_iter().enumerate() {
            let (from, to) = if reply {
                (SERVER.0, CLIENT.0)
            } else {
                (CLIENT.0, SERVER.0)
            };
            let f = icmp_echo(T0 + i as i64 * 1000, from, to, reply, 56);
            p.push_frame(1, f.ts_us, &f.data, &mut sink).unwrap();
        }
        p.finish(&mut sink).unwrap();
        assert_eq!(sink.0.len(), 1, "one flow for the echo and its reply");
        sink.0.remove(0)
    }

    pub(crate) fn sample_verdict() -> Verdict {
        Verdict {
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
        }
    }

    pub(crate) fn sample_event(ongoing: bool) -> AlertEvent {
        let (flow, v) = (sample_flow(), sample_verdict());
        AlertEvent::new(&flow, &v, &origin(), "DoS", ongoing, 0.5)
    }

    /// The incident the sample flow opens, as opened (with its trigger) and as closed.
    pub(crate) fn sample_incident() -> (IncidentNote, IncidentNote) {
        let (flow, v) = (sample_flow(), sample_verdict());
        let mut t = IncidentTracker::default();
        let opened = t.observe(&flow, &v, "DoS").remove(0);
        let closed = t.finish().remove(0);
        let mut trigger = AlertEvent::new(&flow, &v, &origin(), "DoS", false, 0.5);
        trigger.incident_id = Some(opened.incident.id.clone());
        let note = |e: mlids_incident::IncidentEvent, trigger| IncidentNote {
            kind: e.kind,
            incident: e.incident,
            origin: origin(),
            trigger,
        };
        (note(opened, Some(Arc::new(trigger))), note(closed, None))
    }

    pub(crate) fn sample_classified() -> ClassifiedFlow {
        let (opened, _) = sample_incident();
        ClassifiedFlow {
            flow: sample_flow(),
            verdict: sample_verdict(),
            alerted: true,
            incident_id: Some(opened.incident.id),
            origin: origin(),
        }
    }

    #[test]
    fn a_flow_its_alert_and_its_incident_share_the_numeric_flow_id() {
        let ev = sample_event(false);
        let (opened, closed) = sample_incident();
        let id = ev.numeric_flow_id();
        assert!(id < 1 << 51);
        assert_eq!(opened.numeric_flow_id(), Some(id));
        assert_eq!(closed.numeric_flow_id(), Some(id));
        assert_eq!(sample_classified().numeric_flow_id(), id);
        // Ongoing and final alerts of one flow agree; a later flow on the tuple differs.
        assert_eq!(sample_event(true).numeric_flow_id(), id);
        let mut later = sample_event(false);
        later.start_us += 1;
        assert_ne!(later.numeric_flow_id(), id);
    }

    #[test]
    fn alert_json_round_trips_as_the_servers_alert() {
        let ev = sample_event(false);
        let json = alert_json(&ev);
        assert_eq!(json["community_id"], "1:3k1SoWXs/FltHw2aBCgUTgbDQF4=");
        let back: Alert = serde_json::from_value(json).unwrap();
        assert_eq!(back, ev.alert);
        assert!(back.validate().is_ok());
        let mut none = sample_event(false);
        none.alert.community_id = None;
        assert!(alert_json(&none).get("community_id").is_none());
    }

    #[test]
    fn incident_json_is_the_servers_websocket_event_with_the_source() {
        let (opened, closed) = sample_incident();
        let o = serde_json::to_value(incident_json(&opened)).unwrap();
        assert_eq!(o["type"], "incident.opened");
        assert_eq!(o["source"], "watch:eth0");
        assert_eq!(o["incident"]["family"], "DoS");
        assert_eq!(o["incident"]["open"], true);
        let c = serde_json::to_value(incident_json(&closed)).unwrap();
        assert_eq!(c["type"], "incident.closed");
        assert_eq!(c["incident"]["id"], o["incident"]["id"]);
        assert_eq!(c["incident"]["open"], false);
    }

    #[test]
    fn readable_lines() {
        let line = readable_line(&sample_event(true));
        assert!(line.contains("ALERT DoS attacks-Hulk [DoS] score 0.970 TCP 10.0.0.1:40000 -> 10.0.0.2:80 ongoing"), "{line}");
        assert!(line.contains("tot_fwd_pkts+2.50"), "{line}");
        let (opened, closed) = sample_incident();
        let id = &opened.incident.id;
        let o = readable_incident(&opened);
        assert!(
            o.contains(&format!("INCIDENT OPENED {id} DoS [high] 10.0.0.1 -> 10.0.0.2: DoS attacks-Hulk score 0.970 (flow_model) first flow TCP 10.0.0.1:40000 -> 10.0.0.2:80")),
            "{o}"
        );
        let c = readable_incident(&closed);
        assert!(
            c.contains(&format!("INCIDENT CLOSED {id} DoS [high] 10.0.0.1 -> 10.0.0.2: 1 flows, 5 packets in 1.0s; labels DoS attacks-Hulk 1")),
            "{c}"
        );
        assert!(!o.contains('\n') && !c.contains('\n'));
    }
}
