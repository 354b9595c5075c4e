//! What an incident takes from one attack verdict, in two forms: a flow and its verdict (in the
//! process that classified it), or a [`Sighting`] (the same facts as a message, for incidents
//! built in another process — the bus workers publish them, an aggregator builds incidents).

use crate::incident::{flow_bytes, Grouping, SampleFlow};
use mlids_behaviour::Evidence;
use mlids_flow::FlowRecord;
use mlids_model::Verdict;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// One attack verdict as an incident needs it, self-contained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sighting {
    /// Attack family the verdict belongs to (the detector's category of it).
    pub family: String,
    /// Extractor mode of the flow.
    pub mode: String,
    /// Where the flow was seen (`sensor:NAME`): incidents count their flows per source.
    pub source: String,
    /// The flow and its verdict (label, score, stage).
    pub flow: SampleFlow,
    /// Payload bytes, both directions.
    pub bytes: u64,
    /// (feature, contribution) of the explained verdicts; empty when not explained.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top_features: Vec<(String, f64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

impl Sighting {
    pub fn new(flow: &FlowRecord, v: &Verdict, family: &str, source: &str) -> Sighting {
        Sighting {
            family: family.to_string(),
            mode: flow.mode.as_str().to_string(),
            source: source.to_string(),
            flow: SampleFlow::of(flow, v),
            bytes: flow_bytes(flow),
            top_features: v
                .top_features
                .iter()
                .map(|c| (c.feature.clone(), c.contribution))
                .collect(),
            evidence: v.evidence.clone(),
        }
    }
}

/// An attack verdict in either form. A flow and its verdict are read in place: the sample-flow
/// record (strings, a Community ID hash) is made only for the few flows an incident keeps.
pub(crate) enum Input<'a> {
    Verdict(&'a FlowRecord, &'a Verdict),
    Sighting(&'a Sighting),
}

impl Input<'_> {
    /// Whom the incident is about: the source, unless the host-behaviour stage's aggregate is
    /// about another host — a flood's or a reflection's victim, whose attackers are many and often
    /// spoofed (one incident per spoofed source would be thousands of incidents for one attack).
    pub fn key_host(&self) -> (IpAddr, Grouping) {
        let attacker = self.attacker();
        match self.evidence().and_then(|e| e.host.parse::<IpAddr>().ok()) {
            Some(host) if host != attacker => (host, Grouping::Victim),
            _ => (attacker, Grouping::Attacker),
        }
    }

    pub fn attacker(&self) -> IpAddr {
        match self {
            Input::Verdict(f, _) => f.src,
            Input::Sighting(s) => s.flow.src_ip,
        }
    }

    /// Destination address and port.
    pub fn victim(&self) -> (IpAddr, u16) {
        match self {
            Input::Verdict(f, _) => (f.dst, f.dst_port),
            Input::Sighting(s) => (s.flow.dest_ip, s.flow.dest_port),
        }
    }

    pub fn start_us(&self) -> i64 {
        match self {
            Input::Verdict(f, _) => f.start_us,
            Input::Sighting(s) => s.flow.start_us,
        }
    }

    pub fn end_us(&self) -> i64 {
        match self {
            Input::Verdict(f, _) => f.end_us,
            Input::Sighting(s) => s.flow.end_us,
        }
    }

    pub fn packets(&self) -> u64 {
        match self {
            Input::Verdict(f, _) => f.packets(),
            Input::Sighting(s) => s.flow.packets,
        }
    }

    pub fn bytes(&self) -> u64 {
        match self {
            Input::Verdict(f, _) => flow_bytes(f),
            Input::Sighting(s) => s.bytes,
        }
    }

    pub fn mode(&self) -> &str {
        match self {
            Input::Verdict(f, _) => f.mode.as_str(),
            Input::Sighting(s) => &s.mode,
        }
    }

    pub fn label(&self) -> &str {
        match self {
            Input::Verdict(_, v) => &v.label,
            Input::Sighting(s) => &s.flow.label,
        }
    }

    pub fn attack_score(&self) -> f64 {
        match self {
            Input::Verdict(_, v) => v.attack_score,
            Input::Sighting(s) => s.flow.attack_score,
        }
    }

    pub fn stage(&self) -> &str {
        match self {
            Input::Verdict(_, v) => v.stage.as_str(),
            Input::Sighting(s) => &s.flow.stage,
        }
    }

    /// Only sightings name a source: in one process every verdict comes from the same place.
    pub fn source(&self) -> Option<&str> {
        match self {
            Input::Verdict(..) => None,
            Input::Sighting(s) => Some(&s.source),
        }
    }

    pub fn for_each_contribution(&self, mut f: impl FnMut(&str, f64)) {
        match self {
            Input::Verdict(_, v) => v
                .top_features
                .iter()
                .for_each(|c| f(&c.feature, c.contribution)),
            Input::Sighting(s) => s.top_features.iter().for_each(|(n, c)| f(n, *c)),
        }
    }

    pub fn evidence(&self) -> Option<&Evidence> {
        match self {
            Input::Verdict(_, v) => v.evidence.as_ref(),
            Input::Sighting(s) => s.evidence.as_ref(),
        }
    }

    pub fn sample(&self) -> SampleFlow {
        match self {
            Input::Verdict(f, v) => SampleFlow::of(f, v),
            Input::Sighting(s) => s.flow.clone(),
        }
    }
}
