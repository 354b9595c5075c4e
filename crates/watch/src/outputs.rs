//! Which sink receives what. Each sink states its [`Interest`] once, when it is added; the watch
//! loop then builds only the events some sink wants (a flow's record is cloned for EVE `flow`
//! events or the flows file only when one of them is on) and offers each to the sinks that want
//! it. So the readable stdout gets one line per incident while an EVE file also gets every flow,
//! without either filtering the other's traffic.

use crate::event::WatchEvent;
use crate::queue::{Queue, QueueReport};
use mlids_incident::EventKind;

/// The events a sink wants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Interest {
    /// One alert per attack flow (thousands for one scan).
    pub flow_alerts: bool,
    /// Incidents opening and closing.
    pub incidents: bool,
    /// Incidents' progress reports (at most one per incident per update interval of flow time);
    /// only with `incidents`.
    pub incident_updates: bool,
    /// Every completed flow with its verdict.
    pub flows: bool,
}

impl Interest {
    /// Incidents opening and closing, nothing else: what people read.
    pub fn incidents() -> Interest {
        Interest {
            incidents: true,
            ..Interest::default()
        }
    }

    /// Incidents with their progress reports.
    pub fn incidents_with_updates() -> Interest {
        Interest {
            incidents: true,
            incident_updates: true,
            ..Interest::default()
        }
    }

    pub fn flow_alerts() -> Interest {
        Interest {
            flow_alerts: true,
            ..Interest::default()
        }
    }

    pub fn flows() -> Interest {
        Interest {
            flows: true,
            ..Interest::default()
        }
    }

    /// Wanted by either.
    pub fn or(self, o: Interest) -> Interest {
        Interest {
            flow_alerts: self.flow_alerts || o.flow_alerts,
            incidents: self.incidents || o.incidents,
            incident_updates: self.incident_updates || o.incident_updates,
            flows: self.flows || o.flows,
        }
    }

    /// Does a sink with this interest want incident events of `kind`?
    pub fn wants_incident(&self, kind: EventKind) -> bool {
        match kind {
            EventKind::Updated => self.incidents && self.incident_updates,
            EventKind::Opened | EventKind::Closed => self.incidents,
        }
    }

    pub fn wants(&self, ev: &WatchEvent) -> bool {
        match ev {
            WatchEvent::FlowAlert(_) => self.flow_alerts,
            WatchEvent::Incident(n) => self.wants_incident(n.kind),
            WatchEvent::Flow(_) => self.flows,
        }
    }
}

/// One sink: its queue and what it wants.
pub struct Output {
    pub queue: Queue<WatchEvent>,
    pub interest: Interest,
}

/// Every sink of a run.
#[derive(Default)]
pub struct Outputs {
    pub sinks: Vec<Output>,
}

impl Outputs {
    pub fn add(&mut self, interest: Interest, queue: Queue<WatchEvent>) {
        self.sinks.push(Output { queue, interest });
    }

    /// What at least one sink wants.
    pub fn interest(&self) -> Interest {
        self.sinks
            .iter()
            .fold(Interest::default(), |a, o| a.or(o.interest))
    }

    /// Offer `ev` to every sink that wants it (never blocks; a full queue drops and counts).
    pub fn send(&self, ev: WatchEvent) {
        for o in self.sinks.iter().filter(|o| o.interest.wants(&ev)) {
            o.queue.send(ev.clone());
        }
    }

    pub fn reports(&self) -> Vec<QueueReport> {
        self.sinks.iter().map(|o| o.queue.report()).collect()
    }

    pub fn len(&self) -> usize {
        self.sinks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_need_incidents_and_union_keeps_every_want() {
        let only_updates = Interest {
            incident_updates: true,
            ..Interest::default()
        };
        assert!(!only_updates.wants_incident(EventKind::Updated));
        let i = Interest::incidents();
        assert!(i.wants_incident(EventKind::Opened) && i.wants_incident(EventKind::Closed));
        assert!(!i.wants_incident(EventKind::Updated));
        assert!(Interest::incidents_with_updates().wants_incident(EventKind::Updated));
        let u = Interest::flow_alerts().or(Interest::flows());
        assert!(u.flow_alerts && u.flows && !u.incidents);
    }
}
