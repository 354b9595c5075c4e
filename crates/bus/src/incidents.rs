//! Incidents on the bus: one story per attack even when the attacker's flows were seen by several
//! sensors and classified by several workers.
//!
//! A worker sees only the batches JetStream hands it, so an incident built in a worker would be a
//! fragment (one attacker's scan split over N workers is N partial incidents with N ids), and a
//! batch redelivered to a second worker would be counted by both. So workers build no incidents:
//! with each batch's verdicts they store its attack verdicts as one [`SightingBatch`]
//! (`mlids.sightings.<sensor>`, message id `s.SENSOR.RUN.FIRST_SEQ`, so a redelivered batch's copy
//! is dropped by JetStream like its alerts). An aggregator ([`run_incident_aggregator`]) reads
//! every sensor's sightings in stream order into one [`IncidentTracker`] — the same one `detect`,
//! `serve` and `watch` use — and stores the incident events on `mlids.incidents.<family>`.
//!
//! - Exactly once: each sighting batch is stored once; the aggregator acks a batch after the events
//!   it caused are stored, and skips a batch id it has already taken (a redelivery after a slow
//!   ack), so no attack flow is counted twice.
//! - Several aggregators (`ml-ids worker --incidents` on two workers, for availability) each read
//!   the whole stream with their own durable consumer and compute the same incidents: ids come
//!   from attacker, family and first flow, event ids from id, kind and flow count, so JetStream
//!   keeps one copy of each event.
//! - Time: incidents close on flow time (the flows' own clock), and, when no sightings arrive at
//!   all, on the wall clock since the last one — otherwise the last attack would never close.
//! - An aggregator that restarts has lost its open incidents: it closed them when it stopped, and
//!   the attack's next flows open a new incident.

use crate::codec::{batch_msg_id, BatchHeader};
use crate::stats::AggregatorStats;
use crate::topology::Topology;
use crate::BusError;
use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;
use mlids_incident::{EventKind, IncidentConfig, IncidentEvent, IncidentTracker, Sighting};
use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The attack verdicts of one flow batch, as the worker that classified it stores them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SightingBatch {
    pub version: u8,
    pub sensor: String,
    pub run: u64,
    pub first_seq: u64,
    pub sightings: Vec<Sighting>,
}

impl SightingBatch {
    pub fn new(h: &BatchHeader) -> SightingBatch {
        SightingBatch {
            version: 1,
            sensor: h.sensor.clone(),
            run: h.run,
            first_seq: h.first_seq,
            sightings: Vec::new(),
        }
    }

    /// `Nats-Msg-Id`: derived from the flow batch's id, like the verdict record's.
    pub fn msg_id(&self) -> String {
        format!("s.{}", batch_msg_id(&self.sensor, self.run, self.first_seq))
    }
}

/// `Nats-Msg-Id` of an incident event: the same event computed by two aggregators has one id.
pub fn incident_event_msg_id(e: &IncidentEvent) -> String {
    let kind = match e.kind {
        EventKind::Opened => "o",
        EventKind::Updated => "u",
        EventKind::Closed => "c",
    };
    format!("i.{}.{kind}.{}", e.incident.id, e.incident.flows)
}

#[derive(Clone, Debug)]
pub struct AggregatorConfig {
    /// Names the aggregator's durable consumer (`mlids-incidents-<id>`).
    pub id: String,
    pub incidents: IncidentConfig,
    /// A sighting batch not acked within this time is delivered again.
    pub ack_wait: Duration,
    /// A durable consumer nobody has read for this long is deleted by JetStream (aggregators
    /// that were retired do not pile up).
    pub inactive_threshold: Duration,
}

impl AggregatorConfig {
    pub fn new(id: impl Into<String>, incidents: IncidentConfig) -> Self {
        AggregatorConfig {
            id: id.into(),
            incidents,
            ack_wait: Duration::from_secs(30),
            inactive_threshold: Duration::from_secs(3600),
        }
    }

    pub fn consumer_name(&self) -> String {
        format!("mlids-incidents-{}", self.id)
    }
}

/// Batch ids remembered to recognise a redelivery of a batch already taken.
const REMEMBERED_BATCHES: usize = 65_536;

/// How long a publish of an incident event is retried before it is given up (and counted).
const PUBLISH_PATIENCE: Duration = Duration::from_secs(30);

/// Run until `stop` is set; then close every open incident and store the closing events.
pub async fn run_incident_aggregator(
    js: jetstream::Context,
    topology: &Topology,
    cfg: AggregatorConfig,
    stats: AggregatorStats,
    stop: Arc<AtomicBool>,
) -> Result<(), BusError> {
    crate::check_id("incident aggregator", &cfg.id)?;
    let (_, alerts) = topology.ensure(&js, Duration::from_secs(30)).await?;
    let consumer_cfg = consumer::pull::Config {
        durable_name: Some(cfg.consumer_name()),
        description: Some("ml-ids incident aggregator".into()),
        filter_subject: topology.all_sightings(),
        // A new aggregator starts with the attacks of now; an existing one resumes.
        deliver_policy: consumer::DeliverPolicy::New,
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: cfg.ack_wait,
        max_deliver: -1,
        inactive_threshold: cfg.inactive_threshold,
        ..Default::default()
    };
    let consumer =
        crate::topology::durable_consumer(&alerts, &cfg.consumer_name(), consumer_cfg).await?;
    let mut agg = Aggregator {
        js: &js,
        topology,
        tracker: IncidentTracker::new(cfg.incidents.clone()),
        stats: &stats,
        taken: Remembered::default(),
        anchor: None,
    };
    'outer: while !stop.load(Ordering::Relaxed) {
        let Some(mut messages) = crate::topology::pull(&consumer, 64).await else {
            continue;
        };
        while !stop.load(Ordering::Relaxed) {
            match tokio::time::timeout(Duration::from_millis(250), messages.next()).await {
                Err(_) => agg.idle().await,
                Ok(None) => continue 'outer,
                Ok(Some(Err(e))) => {
                    debug(&format!("sighting stream: {e}"));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue 'outer;
                }
                Ok(Some(Ok(m))) => agg.take(m).await,
            }
        }
    }
    let closing = agg.tracker.finish();
    agg.publish(closing).await;
    Ok(())
}

struct Aggregator<'a> {
    js: &'a jetstream::Context,
    topology: &'a Topology,
    tracker: IncidentTracker,
    stats: &'a AggregatorStats,
    taken: Remembered,
    /// Flow time of the latest sighting and when it arrived: the clock when no sighting comes.
    anchor: Option<(i64, Instant)>,
}

impl Aggregator<'_> {
    async fn take(&mut self, msg: jetstream::Message) {
        let id = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
            .map(|v| v.to_string());
        if id.as_ref().is_some_and(|id| !self.taken.insert(id)) {
            // Taken already; its first ack was lost.
            let _ = msg.ack().await;
            return;
        }
        match serde_json::from_slice::<SightingBatch>(&msg.payload) {
            Ok(batch) => {
                self.stats.sighting_batches.inc();
                let mut events = Vec::new();
                for s in &batch.sightings {
                    self.stats.sightings.inc();
                    events.extend(self.tracker.observe_sighting(s));
                }
                self.anchor = Some((self.tracker.clock_us(), Instant::now()));
                self.publish(events).await;
            }
            Err(e) => {
                self.stats.malformed.inc();
                eprintln!("mlids incident aggregator: skipping a malformed sighting batch: {e}");
            }
        }
        if let Err(e) = msg.ack().await {
            debug(&format!("ack of a sighting batch failed: {e}"));
        }
    }

    /// No sighting for a while: move the clock on by the wall time since the last one.
    async fn idle(&mut self) {
        let Some((flow_us, at)) = self.anchor else {
            return;
        };
        let now = flow_us.saturating_add(at.elapsed().as_micros() as i64);
        let events = self.tracker.advance(now);
        self.publish(events).await;
    }

    async fn publish(&mut self, events: Vec<IncidentEvent>) {
        for e in events {
            match e.kind {
                EventKind::Opened => {
                    self.stats.incidents_opened.inc();
                }
                EventKind::Closed => {
                    self.stats.incidents_closed.inc();
                }
                EventKind::Updated => {}
            }
            let subject = self.topology.incidents_subject(&e.incident.family);
            let body = match serde_json::to_vec(&e) {
                Ok(b) => bytes::Bytes::from(b),
                Err(err) => {
                    eprintln!("mlids incident aggregator: cannot encode an incident: {err}");
                    self.stats.publish_failures.inc();
                    continue;
                }
            };
            let id = incident_event_msg_id(&e);
            let deadline = Instant::now() + PUBLISH_PATIENCE;
            loop {
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(async_nats::header::NATS_MESSAGE_ID, id.as_str());
                let stored = async {
                    self.js
                        .publish_with_headers(subject.clone(), headers, body.clone())
                        .await
                        .map_err(|e| e.to_string())?
                        .await
                        .map_err(|e| e.to_string())
                };
                match stored.await {
                    Ok(ack) => {
                        self.stats.events_published.inc();
                        if ack.duplicate {
                            self.stats.events_duplicate.inc();
                        }
                        break;
                    }
                    Err(err) if Instant::now() < deadline => {
                        debug(&format!("storing incident event {id}: {err}; retrying"));
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(err) => {
                        eprintln!(
                            "mlids incident aggregator: incident event {id} not stored: {err}"
                        );
                        self.stats.publish_failures.inc();
                        break;
                    }
                }
            }
        }
    }
}

/// The most recent batch ids taken, bounded.
#[derive(Default)]
struct Remembered {
    set: HashSet<String>,
    order: VecDeque<String>,
}

impl Remembered {
    /// False when `id` was taken already.
    fn insert(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() >= REMEMBERED_BATCHES {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.set.insert(id.to_string());
        self.order.push_back(id.to_string());
        true
    }
}

fn debug(msg: &str) {
    if std::env::var_os("MLIDS_BUS_DEBUG").is_some() {
        eprintln!("mlids-bus: {msg}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redelivered_batch_is_recognised_and_memory_stays_bounded() {
        let mut r = Remembered::default();
        assert!(r.insert("s.a.1.0"));
        assert!(!r.insert("s.a.1.0"));
        for i in 0..REMEMBERED_BATCHES + 10 {
            r.insert(&format!("s.b.1.{i}"));
        }
        assert_eq!(r.set.len(), REMEMBERED_BATCHES);
        assert_eq!(r.order.len(), REMEMBERED_BATCHES);
        // The oldest were forgotten, the newest are still known.
        assert!(r.insert("s.a.1.0"));
        assert!(!r.insert(&format!("s.b.1.{}", REMEMBERED_BATCHES + 9)));
    }
}
