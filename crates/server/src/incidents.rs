//! The incidents this server has seen, for `GET /api/incidents`: the latest state of each, by id.
//!
//! Ids are derived from attacker, family and first flow, so the same traffic seen twice (an upload
//! repeated, two sensors on one link) updates one incident instead of making two. Bounded: past
//! [`MAX_INCIDENTS`] the incident updated longest ago is forgotten.

use mlids_incident::{Incident, IncidentEvent, Severity};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;

/// Incidents kept in memory.
pub const MAX_INCIDENTS: usize = 10_000;

#[derive(Default)]
pub struct IncidentStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<String, (u64, Incident)>,
    /// Update sequence → id, oldest first (for eviction).
    order: BTreeMap<u64, String>,
    seq: u64,
}

/// Which incidents a query wants.
#[derive(Clone, Debug, Default)]
pub struct IncidentQuery {
    pub family: Option<String>,
    /// At least this severe.
    pub min_severity: Option<Severity>,
    /// Active at or after (last seen ≥), µs since the epoch.
    pub since_us: Option<i64>,
    /// Active at or before (first seen ≤), µs since the epoch.
    pub until_us: Option<i64>,
    /// The attacker or one of the listed victims.
    pub address: Option<IpAddr>,
    pub open: Option<bool>,
    pub limit: usize,
}

impl IncidentQuery {
    fn keeps(&self, i: &Incident) -> bool {
        self.family
            .as_ref()
            .is_none_or(|f| f.eq_ignore_ascii_case(&i.family))
            && self.min_severity.is_none_or(|s| i.severity >= s)
            && self.since_us.is_none_or(|t| i.last_seen_us >= t)
            && self.until_us.is_none_or(|t| i.first_seen_us <= t)
            && self.open.is_none_or(|o| i.open == o)
            && self
                .address
                .is_none_or(|a| i.attacker == a || i.victims.iter().any(|v| v.address == a))
    }
}

impl IncidentStore {
    /// Record the incident's state carried by an event.
    pub fn record(&self, event: &IncidentEvent) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let inner = &mut *g;
        inner.seq += 1;
        let seq = inner.seq;
        let id = event.incident.id.clone();
        if let Some((old, _)) = inner
            .by_id
            .insert(id.clone(), (seq, event.incident.clone()))
        {
            inner.order.remove(&old);
        }
        inner.order.insert(seq, id);
        while inner.by_id.len() > MAX_INCIDENTS {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            inner.by_id.remove(&oldest);
        }
    }

    /// Incidents matching the query, most recently active first, at most `limit`.
    pub fn query(&self, q: &IncidentQuery) -> Vec<Incident> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut found: Vec<&Incident> = g
            .by_id
            .values()
            .map(|(_, i)| i)
            .filter(|i| q.keeps(i))
            .collect();
        found.sort_by(|a, b| b.last_seen_us.cmp(&a.last_seen_us).then(a.id.cmp(&b.id)));
        found.into_iter().take(q.limit).cloned().collect()
    }

    pub fn get(&self, id: &str) -> Option<Incident> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.by_id.get(id).map(|(_, i)| i.clone())
    }
}
