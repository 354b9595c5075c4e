//! Grouping attack verdicts into incidents over flow time.

use crate::incident::{Grouping, Incident};
use crate::sighting::{Input, Sighting};
use mlids_flow::FlowRecord;
use mlids_model::Verdict;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;

/// When incidents close and how often they report.
#[derive(Clone, Debug)]
pub struct IncidentConfig {
    /// An incident closes when none of its attacker's verdicts of its family arrived for this
    /// long (flow time). Two minutes: longer than the pauses inside one scan or brute-force run,
    /// shorter than the gap between an attacker's separate campaigns.
    pub idle_timeout_us: i64,
    /// An open incident reports an update at most this often (flow time), so a flood of a
    /// million flows is a handful of events rather than a million.
    pub update_interval_us: i64,
    /// Open incidents at most; beyond it the one idle longest is closed early (memory stays
    /// bounded whatever the traffic).
    pub max_open: usize,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        IncidentConfig {
            idle_timeout_us: 120_000_000,
            update_interval_us: 5_000_000,
            max_open: 16_384,
        }
    }
}

impl IncidentConfig {
    /// The defaults with an idle timeout of `secs` seconds (the `--incident-timeout` of every
    /// command); refused unless positive and finite.
    pub fn with_idle_timeout_secs(secs: f64) -> Result<IncidentConfig, String> {
        if !(secs > 0.0 && secs.is_finite()) {
            return Err(format!(
                "{secs}: the incident timeout must be a positive number of seconds"
            ));
        }
        Ok(IncidentConfig {
            idle_timeout_us: (secs * 1e6) as i64,
            ..IncidentConfig::default()
        })
    }
}

/// What happened to an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Opened,
    Updated,
    Closed,
}

impl EventKind {
    /// The WebSocket/bus event name: `incident.opened`, `incident.updated`, `incident.closed`.
    pub fn event_name(self) -> &'static str {
        match self {
            EventKind::Opened => "incident.opened",
            EventKind::Updated => "incident.updated",
            EventKind::Closed => "incident.closed",
        }
    }
}

/// An incident as it was when something happened to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentEvent {
    pub kind: EventKind,
    pub incident: Incident,
}

/// What an open incident is found by: the attacker (or, grouped by victim, the victim), the
/// family and the grouping.
type Key = (IpAddr, String, Grouping);

/// The open incidents, by key.
pub struct IncidentTracker {
    config: IncidentConfig,
    open: HashMap<Key, Tracked>,
    /// Latest flow time seen.
    clock_us: i64,
}

struct Tracked {
    incident: Incident,
    /// Flow time of the last event sent for it.
    reported_us: i64,
}

impl Default for IncidentTracker {
    fn default() -> Self {
        IncidentTracker::new(IncidentConfig::default())
    }
}

impl IncidentTracker {
    pub fn new(config: IncidentConfig) -> Self {
        IncidentTracker {
            config,
            open: HashMap::new(),
            clock_us: i64::MIN,
        }
    }

    /// Take one verdict (benign ones are ignored) of family `family`; returns the events it
    /// caused, oldest first: incidents idle past the timeout close, then this verdict's incident
    /// opens or (at most once per update interval) reports an update.
    pub fn observe(&mut self, flow: &FlowRecord, v: &Verdict, family: &str) -> Vec<IncidentEvent> {
        if !v.is_attack {
            return self.advance(flow.end_us);
        }
        self.take(&Input::Verdict(flow, v), family)
    }

    /// Take one attack verdict made elsewhere (a bus worker's [`Sighting`]): the same as
    /// [`Self::observe`] for its flow and verdict, and its source is counted.
    pub fn observe_sighting(&mut self, s: &Sighting) -> Vec<IncidentEvent> {
        self.take(&Input::Sighting(s), &s.family)
    }

    fn take(&mut self, input: &Input, family: &str) -> Vec<IncidentEvent> {
        let end_us = input.end_us();
        let mut events = self.advance(end_us);
        let (host, grouping) = input.key_host();
        let key = (host, family.to_string(), grouping);
        match self.open.get_mut(&key) {
            Some(t) => {
                t.incident.add(input);
                if end_us.saturating_sub(t.reported_us) >= self.config.update_interval_us {
                    events.push(t.report(EventKind::Updated, end_us));
                }
            }
            None => {
                if self.open.len() >= self.config.max_open {
                    events.extend(self.close_longest_idle());
                }
                let mut t = Tracked {
                    incident: Incident::open(input, family),
                    reported_us: end_us,
                };
                events.push(t.report(EventKind::Opened, end_us));
                self.open.insert(key, t);
            }
        }
        events
    }

    /// Latest flow time seen (`i64::MIN` before the first verdict).
    pub fn clock_us(&self) -> i64 {
        self.clock_us
    }

    /// Whether this attack verdict would be one of its incident's sample flows (the incident is
    /// new or has fewer than [`crate::incident::SAMPLE_FLOWS`]): those are the flows worth
    /// explaining when verdicts arrive unexplained.
    pub fn wants_sample(&self, flow: &FlowRecord, v: &Verdict, family: &str) -> bool {
        self.open
            .get(&Self::key(flow, v, family))
            .is_none_or(|t| t.incident.sample_flows.len() < crate::incident::SAMPLE_FLOWS)
    }

    fn key(flow: &FlowRecord, v: &Verdict, family: &str) -> Key {
        let (host, grouping) = Input::Verdict(flow, v).key_host();
        (host, family.to_string(), grouping)
    }

    /// The flow clock moved to `now_us`: close the incidents idle past the timeout.
    pub fn advance(&mut self, now_us: i64) -> Vec<IncidentEvent> {
        self.clock_us = self.clock_us.max(now_us);
        let timeout = self.config.idle_timeout_us;
        let clock = self.clock_us;
        let idle: Vec<Key> = self
            .open
            .iter()
            .filter(|(_, t)| t.incident.last_seen_us.saturating_add(timeout) <= clock)
            .map(|(k, _)| k.clone())
            .collect();
        self.close(idle)
    }

    /// The input ended: close every open incident.
    pub fn finish(&mut self) -> Vec<IncidentEvent> {
        let all: Vec<Key> = self.open.keys().cloned().collect();
        self.close(all)
    }

    /// The id of the open incident this attack verdict went into, if any: what a flow's own record
    /// (an EVE `flow` event, a per-flow alert) names to join its incident.
    pub fn open_id(&self, flow: &FlowRecord, v: &Verdict, family: &str) -> Option<&str> {
        self.open
            .get(&Self::key(flow, v, family))
            .map(|t| t.incident.id.as_str())
    }

    /// The open incidents as of now (published fields up to date).
    pub fn open_incidents(&mut self) -> Vec<Incident> {
        self.open
            .values_mut()
            .map(|t| {
                t.incident.refresh();
                t.incident.clone()
            })
            .collect()
    }

    fn close_longest_idle(&mut self) -> Vec<IncidentEvent> {
        let oldest = self
            .open
            .iter()
            .min_by_key(|(_, t)| t.incident.last_seen_us)
            .map(|(k, _)| k.clone());
        self.close(oldest.into_iter().collect())
    }

    /// Close these incidents, in the order they were first seen (deterministic output).
    fn close(&mut self, keys: Vec<Key>) -> Vec<IncidentEvent> {
        let mut closed: Vec<Incident> = keys
            .into_iter()
            .filter_map(|k| self.open.remove(&k))
            .map(|mut t| {
                t.incident.open = false;
                t.incident.refresh();
                t.incident
            })
            .collect();
        crate::incident::sort_by_start(&mut closed);
        closed
            .into_iter()
            .map(|incident| IncidentEvent {
                kind: EventKind::Closed,
                incident,
            })
            .collect()
    }
}

impl Tracked {
    fn report(&mut self, kind: EventKind, now_us: i64) -> IncidentEvent {
        self.reported_us = now_us;
        self.incident.refresh();
        IncidentEvent {
            kind,
            incident: self.incident.clone(),
        }
    }
}
