//! One incident and how a verdict updates it.

use crate::sighting::Input;
use crate::timeline::Timeline;
use mlids_behaviour::Evidence;
use mlids_flow::FlowRecord;
use mlids_model::Verdict;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

/// How urgent an incident is, from its family and the confidence of its verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Suricata's `alert.severity`: 1 is the most severe, 3 the least.
    pub fn suricata(self) -> u8 {
        match self {
            Severity::Critical | Severity::High => 1,
            Severity::Medium => 2,
            Severity::Low => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The family's severity when the verdicts are confident: reconnaissance is low, guessing
    /// passwords medium, denial of service and web attacks high, a host already controlled
    /// (bot, infiltration) or a memory leak (Heartbleed) critical.
    fn of_family(family: &str) -> Severity {
        match family {
            "PortScan" => Severity::Low,
            "BruteForce" => Severity::Medium,
            "DoS" | "DDoS" | "WebAttack" => Severity::High,
            "Bot" | "Infiltration" | "Heartbleed" => Severity::Critical,
            _ => Severity::Medium,
        }
    }

    fn lower(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            _ => Severity::Low,
        }
    }

    /// The family's severity, one step lower when the mean attack score is under
    /// [`CONFIDENT_SCORE`].
    pub fn assess(family: &str, mean_score: f64) -> Severity {
        let s = Severity::of_family(family);
        if mean_score < CONFIDENT_SCORE {
            s.lower()
        } else {
            s
        }
    }
}

/// Mean attack score below which an incident is one severity step lower.
pub const CONFIDENT_SCORE: f64 = 0.75;

/// What an incident groups verdicts by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grouping {
    /// One attacker's verdicts of one family (scans, brute force, web attacks, a bot).
    #[default]
    Attacker,
    /// Every source's verdicts against one victim (floods and reflection, where the sources are
    /// many and often spoofed): `attacker` is the first source seen, `attackers` counts them.
    Victim,
}

impl Grouping {
    fn is_attacker(&self) -> bool {
        *self == Grouping::Attacker
    }
}

/// Distinct sources counted per victim-grouped incident (beyond it the count stops growing).
pub const MAX_ATTACKERS_COUNTED: usize = 65_536;

/// A victim of an incident: an address the attacker's flows went to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Victim {
    pub address: IpAddr,
    pub flows: u64,
    /// Distinct destination ports seen (up to [`MAX_PORTS_PER_VICTIM`] are counted).
    pub ports: usize,
}

/// Distinct ports counted per victim: enough to tell one service from a sweep.
pub const MAX_PORTS_PER_VICTIM: usize = 1024;

/// A feature that weighed in the incident's flow-classifier verdicts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopFeature {
    pub feature: String,
    /// Mean |contribution| (log-odds) over the explained verdicts.
    pub weight: f64,
    /// Explained verdicts it appeared in.
    pub flows: u64,
}

/// One flow of the incident, as an analyst would look it up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleFlow {
    pub flow_id: String,
    /// Community ID v1 (the id Suricata, Zeek and Elastic join on; none for SCTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community_id: Option<String>,
    pub src_ip: IpAddr,
    pub src_port: u16,
    pub dest_ip: IpAddr,
    pub dest_port: u16,
    pub protocol: u8,
    pub start_us: i64,
    pub end_us: i64,
    pub packets: u64,
    pub label: String,
    pub attack_score: f64,
    pub stage: String,
    /// ICMP type and code of the flow's first ICMP packet (ICMP and ICMPv6 flows only): ICMP has
    /// no ports, and Suricata's EVE names an ICMP flow by these instead. Absent for every other
    /// protocol, so the JSON of TCP and UDP flows is what it was before the fields existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
}

impl SampleFlow {
    pub(crate) fn of(flow: &FlowRecord, v: &Verdict) -> SampleFlow {
        SampleFlow {
            flow_id: flow.flow_id(),
            community_id: flow.community_id(),
            src_ip: flow.src,
            src_port: flow.src_port,
            dest_ip: flow.dst,
            dest_port: flow.dst_port,
            protocol: flow.protocol,
            start_us: flow.start_us,
            end_us: flow.end_us,
            packets: flow.packets(),
            label: v.label.clone(),
            attack_score: v.attack_score,
            stage: v.stage.as_str().to_string(),
            icmp_type: flow.exchange.icmp.map(|(t, _)| t),
            icmp_code: flow.exchange.icmp.map(|(_, c)| c),
        }
    }
}

/// Sample flows kept per incident: the first ones, where an analyst starts.
pub const SAMPLE_FLOWS: usize = 5;
/// Victims listed per incident (the rest are counted in `other_victims`).
pub const MAX_VICTIMS: usize = 256;
/// Features listed per incident.
pub const TOP_FEATURES: usize = 5;

/// An attack told once: who, what, against whom, from when to when, how much and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Stable for the same traffic: derived from attacker, family and the first flow's start.
    pub id: String,
    /// The attacker; for an incident grouped by victim, the first source seen.
    pub attacker: IpAddr,
    /// Grouped by attacker (absent in JSON) or by victim (floods, reflection).
    #[serde(default, skip_serializing_if = "Grouping::is_attacker")]
    pub grouped_by: Grouping,
    /// Distinct sources of an incident grouped by victim (counted up to
    /// [`MAX_ATTACKERS_COUNTED`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attackers: Option<u64>,
    /// Attack family (`PortScan`, `DoS`, `DDoS`, `BruteForce`, `WebAttack`, `Bot`, …).
    pub family: String,
    /// Canonical labels of its verdicts and how many flows had each.
    pub labels: BTreeMap<String, u64>,
    pub severity: Severity,
    /// Extractor mode of its flows (`cic2018` or `corrected`; the flow ids' form depends on it).
    pub mode: String,
    pub first_seen_us: i64,
    pub last_seen_us: i64,
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
    /// Mean and highest attack score of its verdicts.
    pub mean_score: f64,
    pub max_score: f64,
    /// Flows decided by each stage (`flow_model`, `host_behaviour`).
    pub stages: BTreeMap<String, u64>,
    /// Most-hit first.
    pub victims: Vec<Victim>,
    /// Victims beyond [`MAX_VICTIMS`].
    pub other_victims: u64,
    /// Attack flows per place they were seen (`sensor:NAME`), when the incident was built from
    /// the bus: one incident merges what several sensors saw of one attacker.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, u64>,
    /// The host-behaviour stage's latest evidence per detector.
    pub evidence: Vec<Evidence>,
    pub top_features: Vec<TopFeature>,
    pub sample_flows: Vec<SampleFlow>,
    /// Its flows per label over time.
    pub timeline: Timeline,
    /// Still open (verdicts may still join) or closed (idle timeout passed, or input ended).
    pub open: bool,
    /// Not sent: an incident received from elsewhere (the bus, `POST /api/incidents`) is a
    /// snapshot, never updated again.
    #[serde(skip)]
    state: Accumulators,
}

/// What the published fields are computed from.
#[derive(Clone, Debug, Default, PartialEq)]
struct Accumulators {
    score_sum: f64,
    victims: HashMap<IpAddr, (u64, Vec<u16>)>,
    /// Sources of a victim-grouped incident.
    sources: HashSet<IpAddr>,
    features: HashMap<String, (f64, u64)>,
    evidence: BTreeMap<String, Evidence>,
}

impl Incident {
    /// A new incident from its first attack verdict.
    pub(crate) fn open(first: &Input, family: &str) -> Incident {
        let (host, grouped_by) = first.key_host();
        let id = match grouped_by {
            Grouping::Attacker => incident_id(host, family, first.start_us()),
            Grouping::Victim => incident_id(host, &format!("{family}@victim"), first.start_us()),
        };
        let mut inc = Incident {
            id,
            attacker: first.attacker(),
            grouped_by,
            attackers: (grouped_by == Grouping::Victim).then_some(0),
            family: family.to_string(),
            labels: BTreeMap::new(),
            severity: Severity::assess(family, first.attack_score()),
            mode: first.mode().to_string(),
            first_seen_us: first.start_us(),
            last_seen_us: first.end_us(),
            flows: 0,
            packets: 0,
            bytes: 0,
            mean_score: 0.0,
            max_score: 0.0,
            stages: BTreeMap::new(),
            victims: Vec::new(),
            other_victims: 0,
            sources: BTreeMap::new(),
            evidence: Vec::new(),
            top_features: Vec::new(),
            sample_flows: Vec::new(),
            timeline: Timeline::new(first.start_us()),
            open: true,
            state: Accumulators::default(),
        };
        inc.add(first);
        inc
    }

    /// Take one more attack verdict of this attacker and family into account.
    pub(crate) fn add(&mut self, input: &Input) {
        let (start_us, end_us, label) = (input.start_us(), input.end_us(), input.label());
        self.flows += 1;
        self.packets += input.packets();
        self.bytes += input.bytes();
        self.first_seen_us = self.first_seen_us.min(start_us);
        self.last_seen_us = self.last_seen_us.max(end_us);
        *self.labels.entry(label.to_string()).or_default() += 1;
        self.timeline.add(start_us, label);
        *self.stages.entry(input.stage().to_string()).or_default() += 1;
        if let Some(source) = input.source() {
            *self.sources.entry(source.to_string()).or_default() += 1;
        }
        if self.grouped_by == Grouping::Victim && self.state.sources.len() < MAX_ATTACKERS_COUNTED {
            self.state.sources.insert(input.attacker());
        }
        let score = input.attack_score();
        self.state.score_sum += score;
        self.max_score = self.max_score.max(score);
        let (victim_ip, victim_port) = input.victim();
        let victim = self.state.victims.entry(victim_ip).or_default();
        victim.0 += 1;
        if victim.1.len() < MAX_PORTS_PER_VICTIM && !victim.1.contains(&victim_port) {
            victim.1.push(victim_port);
        }
        input.for_each_contribution(|feature, contribution| {
            let e = self.state.features.entry(feature.to_string()).or_default();
            e.0 += contribution.abs();
            e.1 += 1;
        });
        if let Some(e) = input.evidence() {
            self.state.evidence.insert(e.detector.clone(), e.clone());
        }
        if self.sample_flows.len() < SAMPLE_FLOWS {
            self.sample_flows.push(input.sample());
        }
    }

    /// Bring the published fields up to date with the accumulators (before an event leaves).
    pub(crate) fn refresh(&mut self) {
        self.mean_score = self.state.score_sum / self.flows.max(1) as f64;
        if self.grouped_by == Grouping::Victim {
            self.attackers = Some(self.state.sources.len() as u64);
        }
        self.severity = Severity::assess(&self.family, self.mean_score);
        let mut victims: Vec<Victim> = self
            .state
            .victims
            .iter()
            .map(|(&address, (flows, ports))| Victim {
                address,
                flows: *flows,
                ports: ports.len(),
            })
            .collect();
        victims.sort_by(|a, b| b.flows.cmp(&a.flows).then(a.address.cmp(&b.address)));
        self.other_victims = victims.len().saturating_sub(MAX_VICTIMS) as u64;
        victims.truncate(MAX_VICTIMS);
        self.victims = victims;
        let mut features: Vec<TopFeature> = self
            .state
            .features
            .iter()
            .map(|(f, &(sum, n))| TopFeature {
                feature: f.clone(),
                weight: sum / n.max(1) as f64,
                flows: n,
            })
            .collect();
        features.sort_by(|a, b| {
            (b.weight * b.flows as f64)
                .total_cmp(&(a.weight * a.flows as f64))
                .then(a.feature.cmp(&b.feature))
        });
        features.truncate(TOP_FEATURES);
        self.top_features = features;
        self.evidence = self.state.evidence.values().cloned().collect();
    }

    /// Distinct victims (all of them, listed or not).
    pub fn victim_count(&self) -> usize {
        self.victims.len() + self.other_victims as usize
    }

    /// The most frequent label: the incident's signature.
    pub fn main_label(&self) -> &str {
        self.labels
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map_or("", |(l, _)| l.as_str())
    }

    /// Duration from the first packet to the last, µs.
    pub fn duration_us(&self) -> i64 {
        self.last_seen_us - self.first_seen_us
    }
}

/// Incidents in the order they began (ties by id): the order every list of them is written in.
pub fn sort_by_start(incidents: &mut [Incident]) {
    incidents.sort_by(|a, b| (a.first_seen_us, &a.id).cmp(&(b.first_seen_us, &b.id)));
}

/// Bytes of a flow: forward and backward payload totals.
pub(crate) fn flow_bytes(flow: &FlowRecord) -> u64 {
    use mlids_flow::Feature;
    let b = flow.get(Feature::TotLenFwdPkts) + flow.get(Feature::TotLenBwdPkts);
    if b.is_finite() && b > 0.0 {
        b as u64
    } else {
        0
    }
}

/// FNV-1a over the attacker, family and first start: the same traffic gives the same id in
/// every run and on every sensor (so incidents merge by id), and 64 bits keep collisions out of
/// reach for a capture's worth of incidents.
fn incident_id(attacker: IpAddr, family: &str, start_us: i64) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    match attacker {
        IpAddr::V4(a) => eat(&a.octets()),
        IpAddr::V6(a) => eat(&a.octets()),
    }
    eat(family.as_bytes());
    eat(&start_us.to_be_bytes());
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_follows_family_and_confidence() {
        assert_eq!(Severity::assess("PortScan", 0.99), Severity::Low);
        assert_eq!(Severity::assess("BruteForce", 0.9), Severity::Medium);
        assert_eq!(Severity::assess("DoS", 0.9), Severity::High);
        assert_eq!(Severity::assess("DoS", 0.6), Severity::Medium);
        assert_eq!(Severity::assess("Bot", 0.95), Severity::Critical);
        assert_eq!(Severity::Critical.suricata(), 1);
        assert_eq!(Severity::Low.suricata(), 3);
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(incident_id(a, "DoS", 5), incident_id(a, "DoS", 5));
        assert_ne!(incident_id(a, "DoS", 5), incident_id(b, "DoS", 5));
        assert_ne!(incident_id(a, "DoS", 5), incident_id(a, "DDoS", 5));
        assert_ne!(incident_id(a, "DoS", 5), incident_id(a, "DoS", 6));
        assert_eq!(incident_id(a, "DoS", 5).len(), 16);
    }
}
