//! The worker: a durable pull consumer on the flow stream, shared by every worker (JetStream hands
//! each batch to one of them), classifying through [`Detector`].
//!
//! For each group of batches it takes: decode → classify every flow in one matrix call → for each
//! batch, publish its [`VerdictBatch`] and an [`Alert`] per attack flow → wait for every publish
//! ack → ack the batch (a double ack: the server confirms it). A batch whose results could not all
//! be stored is not acked; it is redelivered (after a short nak delay), and the results it had
//! already stored come back as duplicates, recognised by their ids:
//! - verdict record: `v.SENSOR.RUN.FIRST_SEQ`
//! - alert: `a.SENSOR.RUN.SEQ`
//! - the batch's attack verdicts for the incident aggregator: `s.SENSOR.RUN.FIRST_SEQ`
//!
//! A worker that dies holds its un-acked batches until the consumer's ack wait expires; then
//! another worker gets them.
//!
//! Batches are observed into the host-behaviour stage when they arrive and decided only after a
//! *hold-back*, as `detect` does ([`mlids_model::sink`]): a flood or a scan is recognisable only
//! from the flows after its first ones, and those may come in the next pull. A batch waits, un-acked,
//! until its sensor run's flow clock has passed its last flow by the hold-back, or until the run
//! has sent nothing for [`QUIET`] (it ended, or its link went quiet), or until it has waited half
//! the ack wait, or until more than [`mlids_model::sink::MAX_HELD`] flows are held. Without it, whether a flow is judged with the
//! evidence of the flows after it depended on where a pull happened to split the stream.

use crate::codec::{decode_batch, BatchHeader};
use crate::incidents::SightingBatch;
use crate::stats::{LatencyHistogram, WorkerStats};
use crate::topology::Topology;
use crate::verdict::{alert_msg_id, VerdictBatch};
use crate::{now_us, BusError};
use async_nats::jetstream::{self, consumer, AckKind};
use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use mlids_flow::FlowRecord;
use mlids_incident::Sighting;
use mlids_model::alert::Alert;
use mlids_model::{Detector, Explain, HostBehaviour, Verdict};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A sensor run that has sent no batch for this long (wall time) has ended or gone quiet: its
/// held batches are decided, as `detect` decides what it holds when the capture ends. Far above
/// a sensor's seal delay (100 ms), far below the incident aggregator's idle timeout, which
/// closes incidents on the wall clock when no attack flow arrives.
pub const QUIET: Duration = Duration::from_secs(2);

/// Header carrying the sensor's seal time (µs) on alerts, for latency measurements.
pub const SENT_US_HEADER: &str = "Mlids-Sent-Us";

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Shown in verdict records (`worker`).
    pub worker_id: String,
    /// The durable consumer every worker shares.
    pub consumer: String,
    /// Flow batches taken and classified together.
    pub max_batches: usize,
    /// A batch not acked within this time is redelivered to another worker.
    pub ack_wait: Duration,
    /// Batches handed out and not yet acked, over all workers.
    pub max_ack_pending: i64,
    /// How long a batch waits for the flows after it before its verdicts are decided (flow time
    /// of its sensor run; in wall time at most half the ack wait, so a held batch is never
    /// redelivered for being held). Zero: decide each pull at once.
    pub hold_back: Duration,
}

impl WorkerConfig {
    pub fn new(worker_id: impl Into<String>) -> Self {
        WorkerConfig {
            worker_id: worker_id.into(),
            consumer: "mlids-workers".into(),
            max_batches: 16,
            ack_wait: Duration::from_secs(30),
            max_ack_pending: 1024,
            hold_back: Duration::from_micros(mlids_model::sink::DEFAULT_HOLD_BACK_US as u64),
        }
    }

    /// The longest a batch is held in wall time.
    fn max_wait(&self) -> Duration {
        self.hold_back.min(self.ack_wait / 2)
    }
}

/// The consumer settings (created if missing; an existing consumer keeps its settings).
pub fn consumer_config(cfg: &WorkerConfig) -> consumer::pull::Config {
    consumer::pull::Config {
        durable_name: Some(cfg.consumer.clone()),
        description: Some("ml-ids worker pool".into()),
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait: cfg.ack_wait,
        max_deliver: -1,
        max_ack_pending: cfg.max_ack_pending,
        ..Default::default()
    }
}

/// Accounting of a worker run.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct WorkerReport {
    pub batches_received: u64,
    pub batches_acked: u64,
    pub redeliveries: u64,
    pub flows_classified: u64,
    pub alerts_published: u64,
    pub alerts_duplicate: u64,
    pub publish_failures: u64,
    pub malformed: u64,
    pub mode_mismatch: u64,
}

impl WorkerReport {
    fn of(s: &WorkerStats) -> Self {
        WorkerReport {
            batches_received: s.batches_received.get(),
            batches_acked: s.batches_acked.get(),
            redeliveries: s.redeliveries.get(),
            flows_classified: s.flows_classified.get(),
            alerts_published: s.alerts_published.get(),
            alerts_duplicate: s.alerts_duplicate.get(),
            publish_failures: s.publish_failures.get(),
            malformed: s.malformed.get(),
            mode_mismatch: s.mode_mismatch.get(),
        }
    }
}

/// The worker's model, loaded once: every flow is classified once, with explanations for the
/// attack verdicts only (they become alerts). The host-behaviour stage sees the flows of the
/// batches this worker takes — with several workers, a share of each sensor's flows, so a scan
/// spread over N workers needs about N times as many probes to be flagged (docs/scale-out.md).
#[derive(Clone)]
pub struct WorkerModel {
    pub detector: Arc<Detector>,
    /// Top contributing features attached to each alert (0: none).
    pub explain_top: usize,
    pub hosts: Arc<std::sync::Mutex<HostBehaviour>>,
}

impl WorkerModel {
    pub fn load(
        dir: &std::path::Path,
        threshold: Option<f64>,
        explain_top: usize,
    ) -> Result<WorkerModel, BusError> {
        let mut detector = Detector::load(dir)?;
        if let Some(t) = threshold {
            detector.set_threshold(t)?;
        }
        Ok(WorkerModel {
            detector: Arc::new(detector),
            explain_top,
            hosts: Arc::default(),
        })
    }
}

/// One decoded batch and the message it came in.
struct Work {
    msg: jetstream::Message,
    header: BatchHeader,
    flows: Vec<FlowRecord>,
    delivered: u64,
}

impl Work {
    /// The end of its last flow (flow time).
    fn last_end_us(&self) -> i64 {
        self.flows
            .iter()
            .map(|f| f.end_us)
            .max()
            .unwrap_or(i64::MIN)
    }
}

/// Batches observed into the host-behaviour stage and waiting for their hold-back (see the
/// module doc), one queue per sensor run: flow clocks of different sensors (or of one sensor's
/// replays) have nothing to do with each other. Generic over what is held, so that its rules are
/// tested without a NATS message.
struct Holding<T> {
    hold_back_us: i64,
    max_wait: Duration,
    quiet: Duration,
    runs: HashMap<(String, u64), RunQueue<T>>,
    flows: usize,
    /// Arrival order over all runs, so batches leave in the order they came.
    arrivals: u64,
}

/// One sensor run's held batches, oldest first, and the latest flow end observed from it.
struct RunQueue<T> {
    clock_us: i64,
    last_arrival: Instant,
    batches: VecDeque<Held<T>>,
}

struct Held<T> {
    item: T,
    /// The sensor's number of the batch's first flow.
    seq: u64,
    flows: usize,
    last_end_us: i64,
    arrived: Instant,
    order: u64,
}

impl<T> Holding<T> {
    fn new(hold_back: Duration, max_wait: Duration) -> Self {
        Holding {
            hold_back_us: i64::try_from(hold_back.as_micros()).unwrap_or(i64::MAX),
            max_wait,
            quiet: QUIET.min(max_wait),
            runs: HashMap::new(),
            flows: 0,
            arrivals: 0,
        }
    }

    /// Hold a batch of `flows` flows of sensor run `run`, its first flow numbered `seq` by the
    /// sensor, the last ending at `last_end_us` (its flows already observed). A run's batches are
    /// kept, and leave, in sensor order even when the stream holds them out of order (a batch the
    /// sensor had to retry): the incident aggregator takes their sightings in the order they
    /// leave, and a jump of its flow clock closes incidents.
    fn admit(
        &mut self,
        run: (String, u64),
        seq: u64,
        item: T,
        flows: usize,
        last_end_us: i64,
        now: Instant,
    ) {
        let queue = self.runs.entry(run).or_insert_with(|| RunQueue {
            clock_us: i64::MIN,
            last_arrival: now,
            batches: VecDeque::new(),
        });
        queue.clock_us = queue.clock_us.max(last_end_us);
        queue.last_arrival = now;
        self.flows += flows;
        self.arrivals += 1;
        let at = queue.batches.partition_point(|h| h.seq <= seq);
        // Leaving with the batch it precedes keeps a run's batches in sensor order however the
        // due batches of all runs are sorted.
        let order = queue
            .batches
            .get(at)
            .map_or(self.arrivals, |next| next.order);
        queue.batches.insert(
            at,
            Held {
                item,
                seq,
                flows,
                last_end_us,
                arrived: now,
                order,
            },
        );
    }

    fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// The batches whose hold-back has passed (all of them with `all`), in arrival order; the
    /// oldest also once more than [`mlids_model::sink::MAX_HELD`] flows are held.
    fn take_due(&mut self, now: Instant, all: bool) -> Vec<T> {
        let mut due: Vec<Held<T>> = Vec::new();
        for queue in self.runs.values_mut() {
            let quiet = now.saturating_duration_since(queue.last_arrival) >= self.quiet;
            while let Some(front) = queue.batches.front() {
                let flow_time =
                    front.last_end_us.saturating_add(self.hold_back_us) <= queue.clock_us;
                let waited = now.saturating_duration_since(front.arrived) >= self.max_wait;
                if !(all || quiet || flow_time || waited) {
                    break;
                }
                due.extend(queue.batches.pop_front());
            }
        }
        self.flows -= due.iter().map(|h| h.flows).sum::<usize>();
        while self.flows > mlids_model::sink::MAX_HELD {
            let Some(oldest) = self
                .runs
                .values_mut()
                .filter(|q| !q.batches.is_empty())
                .min_by_key(|q| q.batches.front().map(|h| h.order))
                .and_then(|q| q.batches.pop_front())
            else {
                break;
            };
            self.flows -= oldest.flows;
            due.push(oldest);
        }
        self.runs.retain(|_, q| !q.batches.is_empty());
        due.sort_by_key(|h| h.order);
        due.into_iter().map(|h| h.item).collect()
    }
}

/// What one batch produced.
struct Output {
    verdicts: VerdictBatch,
    alerts: Vec<(String, Bytes)>,
    /// Its attack verdicts for the incident aggregator (`None`: no attack in the batch).
    sightings: Option<SightingBatch>,
}

/// Run until `stop` is set. Returns the accounting.
pub async fn run_worker(
    js: jetstream::Context,
    topology: &Topology,
    cfg: WorkerConfig,
    model: WorkerModel,
    stats: WorkerStats,
    latency: LatencyHistogram,
    stop: Arc<AtomicBool>,
) -> Result<WorkerReport, BusError> {
    crate::check_id("worker", &cfg.worker_id)?;
    let (flows, _) = topology.ensure(&js, Duration::from_secs(30)).await?;
    let consumer =
        crate::topology::durable_consumer(&flows, &cfg.consumer, consumer_config(&cfg)).await?;
    let mode = model.detector.mode();
    let mut holding = Holding::new(cfg.hold_back, cfg.max_wait());
    let ctx = Ctx {
        js: &js,
        topology,
        cfg: &cfg,
        model: &model,
        stats: &stats,
        latency: &latency,
    };
    'outer: while !stop.load(Ordering::Relaxed) {
        let Some(mut messages) = crate::topology::pull(&consumer, cfg.max_batches).await else {
            continue;
        };
        loop {
            if stop.load(Ordering::Relaxed) {
                break 'outer;
            }
            let first =
                match tokio::time::timeout(Duration::from_millis(250), messages.next()).await {
                    Err(_) => {
                        release(&ctx, &mut holding, false).await;
                        continue;
                    }
                    Ok(None) => continue 'outer,
                    Ok(Some(Err(e))) => {
                        debug(&format!("consumer stream: {e}"));
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue 'outer;
                    }
                    Ok(Some(Ok(m))) => m,
                };
            let mut group = vec![first];
            while group.len() < cfg.max_batches {
                match messages.next().now_or_never() {
                    Some(Some(Ok(m))) => group.push(m),
                    _ => break,
                }
            }
            let now = Instant::now();
            for work in receive(&model, mode, &stats, group).await {
                let run = (work.header.sensor.clone(), work.header.run);
                let (seq, flows, last_end_us) =
                    (work.header.first_seq, work.flows.len(), work.last_end_us());
                holding.admit(run, seq, work, flows, last_end_us, now);
            }
            release(&ctx, &mut holding, false).await;
        }
    }
    // Stopping: decide and store what is held rather than leave it to another worker's redelivery.
    release(&ctx, &mut holding, true).await;
    Ok(WorkerReport::of(&stats))
}

/// What publishing a worker's results needs.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    js: &'a jetstream::Context,
    topology: &'a Topology,
    cfg: &'a WorkerConfig,
    model: &'a WorkerModel,
    stats: &'a WorkerStats,
    latency: &'a LatencyHistogram,
}

/// Decide, store and ack the held batches that are due (all of them with `all`).
async fn release(ctx: &Ctx<'_>, holding: &mut Holding<Work>, all: bool) {
    if holding.is_empty() {
        return;
    }
    let due = holding.take_due(Instant::now(), all);
    if !due.is_empty() {
        process(ctx, due).await;
    }
}

/// Decode a pull's messages (malformed batches and batches of the other mode are terminated) and
/// observe their flows into the host-behaviour stage.
async fn receive(
    model: &WorkerModel,
    mode: mlids_flow::Mode,
    stats: &WorkerStats,
    group: Vec<jetstream::Message>,
) -> Vec<Work> {
    let mut work = Vec::with_capacity(group.len());
    for msg in group {
        stats.batches_received.inc();
        let delivered = msg.info().map(|i| i.delivered.max(1) as u64).unwrap_or(1);
        if delivered > 1 {
            stats.redeliveries.inc();
        }
        match decode_batch(&msg.payload) {
            Ok((header, flows)) if header.mode == mode => work.push(Work {
                msg,
                header,
                flows,
                delivered,
            }),
            Ok((header, _)) => {
                stats.mode_mismatch.inc();
                eprintln!(
                    "mlids worker: batch {} holds {} flows but the model needs {mode} flows; discarded",
                    header.msg_id(),
                    header.mode
                );
                let _ = msg.ack_with(AckKind::Term).await;
            }
            Err(e) => {
                stats.malformed.inc();
                eprintln!("mlids worker: discarding a malformed batch: {e}");
                let _ = msg.ack_with(AckKind::Term).await;
            }
        }
    }
    // A poisoned lock only means another classification panicked; the counts are still usable.
    let mut hosts = model.hosts.lock().unwrap_or_else(|p| p.into_inner());
    work.iter()
        .for_each(|w| w.flows.iter().for_each(|f| hosts.observe(f)));
    work
}

/// Classify held batches whose hold-back has passed, store their results and ack them.
async fn process(ctx: &Ctx<'_>, mut work: Vec<Work>) {
    let Ctx {
        js,
        topology,
        cfg,
        model,
        stats,
        latency,
    } = *ctx;
    // Classification is CPU work: off the async threads.
    let (m, worker_id) = (model.clone(), cfg.worker_id.clone());
    let batches: Vec<(BatchHeader, Vec<FlowRecord>, u64)> = work
        .iter_mut()
        .map(|w| (w.header.clone(), std::mem::take(&mut w.flows), w.delivered))
        .collect();
    let outputs = match tokio::task::spawn_blocking(move || classify(&m, &worker_id, &batches))
        .await
    {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            eprintln!("mlids worker: classification failed: {e}; the batches will be redelivered");
            for w in &work {
                stats.publish_failures.inc();
                let _ = w
                    .msg
                    .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                    .await;
            }
            return;
        }
        Err(e) => {
            eprintln!("mlids worker: classification task failed: {e}");
            return;
        }
    };
    // Publish each batch's results in batch order (each batch's messages pipelined, their acks
    // awaited together), then ack each batch whose results are stored. Batches published
    // concurrently interleaved their messages: a later batch's sightings could reach the stream
    // before an earlier one's, and the aggregator would open an incident at a later flow than
    // `detect` does (its id names its first flow's start), depending on timing.
    let publishes = work.iter().zip(outputs).map(|(w, out)| {
        let subject_v = topology.verdicts_subject(&w.header.sensor);
        let subject_a = topology.alerts_subject(&w.header.sensor);
        let subject_s = topology.sightings_subject(&w.header.sensor);
        async move {
            let n = out.verdicts.len() as u64;
            let sent = w.header.sent_us;
            let subjects = [subject_v.as_str(), subject_a.as_str(), subject_s.as_str()];
            let r = publish_results(js, subjects, &out, sent, stats).await;
            (w, n, sent, r)
        }
    });
    let mut results = Vec::with_capacity(work.len());
    for publish in publishes {
        results.push(publish.await);
    }
    for (w, n, sent, r) in results {
        match r {
            Ok(()) => match w.msg.double_ack().await {
                Ok(()) => {
                    stats.batches_acked.inc();
                    stats.flows_classified.inc_by(n);
                    latency
                        .0
                        .observe(now_us().saturating_sub(sent) as f64 / 1e6);
                }
                // The batch will come back; its results are already stored and will dedup.
                Err(e) => debug(&format!("ack of {} failed: {e}", w.header.msg_id())),
            },
            Err(e) => {
                stats.publish_failures.inc();
                debug(&format!("results of {} not stored: {e}", w.header.msg_id()));
                let _ = w
                    .msg
                    .ack_with(AckKind::Nak(Some(Duration::from_millis(500))))
                    .await;
            }
        }
    }
}

fn classify(
    model: &WorkerModel,
    worker_id: &str,
    batches: &[(BatchHeader, Vec<FlowRecord>, u64)],
) -> Result<Vec<Output>, BusError> {
    // The batches' flows, and those of every batch that came after them, were observed when
    // they arrived ([`receive`]).
    let verdicts: Vec<Vec<Verdict>> = {
        let hosts = model.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let explain = Explain::attacks(model.explain_top);
        batches
            .iter()
            .map(|(_, flows, _)| model.detector.judge(flows, explain, Some(&hosts)))
            .collect::<Result<_, _>>()?
    };
    let now = now_us();
    let mut out = Vec::with_capacity(batches.len());
    for ((h, flows, delivered), verdicts) in batches.iter().zip(&verdicts) {
        let mut vb = VerdictBatch::new(h, worker_id, *delivered, now);
        let mut alerts = Vec::new();
        let source = format!("sensor:{}", h.sensor);
        let mut sightings = SightingBatch::new(h);
        for (k, (f, v)) in flows.iter().zip(verdicts).enumerate() {
            vb.push(&v.label, v.attack_score, v.is_attack);
            if v.is_attack {
                let family = model.detector.verdict_category(v);
                sightings
                    .sightings
                    .push(Sighting::new(f, v, family, &source));
                let alert = Alert::new(f, v, &source);
                let body = serde_json::to_vec(&alert)
                    .map_err(|e| BusError::Codec(format!("alert JSON: {e}")))?;
                alerts.push((
                    alert_msg_id(&h.sensor, h.run, h.first_seq + k as u64),
                    Bytes::from(body),
                ));
            }
        }
        out.push(Output {
            verdicts: vb,
            alerts,
            sightings: (!sightings.sightings.is_empty()).then_some(sightings),
        });
    }
    Ok(out)
}

/// Store a batch's alerts, sightings and verdict record; `subjects` are (verdicts, alerts,
/// sightings).
async fn publish_results(
    js: &jetstream::Context,
    [subject_v, subject_a, subject_s]: [&str; 3],
    out: &Output,
    sent_us: u64,
    stats: &WorkerStats,
) -> Result<(), String> {
    let verdict_body = serde_json::to_vec(&out.verdicts).map_err(|e| e.to_string())?;
    let mut acks = Vec::with_capacity(out.alerts.len() + 1);
    let headers = |id: &str| {
        let mut h = async_nats::HeaderMap::new();
        h.insert(async_nats::header::NATS_MESSAGE_ID, id);
        h.insert(SENT_US_HEADER, sent_us.to_string().as_str());
        h
    };
    for (id, body) in &out.alerts {
        let f = js
            .publish_with_headers(subject_a.to_string(), headers(id), body.clone())
            .await
            .map_err(|e| e.to_string())?;
        acks.push((Stored::Alert, f));
    }
    if let Some(sightings) = &out.sightings {
        let body = serde_json::to_vec(sightings).map_err(|e| e.to_string())?;
        let f = js
            .publish_with_headers(
                subject_s.to_string(),
                headers(&sightings.msg_id()),
                Bytes::from(body),
            )
            .await
            .map_err(|e| e.to_string())?;
        acks.push((Stored::Sightings, f));
    }
    let f = js
        .publish_with_headers(
            subject_v.to_string(),
            headers(&out.verdicts.msg_id()),
            Bytes::from(verdict_body),
        )
        .await
        .map_err(|e| e.to_string())?;
    acks.push((Stored::Verdicts, f));
    let mut first_err = None;
    for (kind, f) in acks {
        match f.await {
            Ok(ack) => match kind {
                Stored::Alert => {
                    stats.alerts_published.inc();
                    if ack.duplicate {
                        stats.alerts_duplicate.inc();
                    }
                }
                Stored::Sightings if ack.duplicate => {
                    stats.sighting_batches_duplicate.inc();
                }
                Stored::Verdicts if ack.duplicate => {
                    stats.verdict_batches_duplicate.inc();
                }
                _ => {}
            },
            Err(e) => {
                first_err.get_or_insert(e.to_string());
            }
        }
    }
    match first_err {
        None => Ok(()),
        Some(e) => Err(e),
    }
}

/// What a publish ack is for (counted apart).
enum Stored {
    Alert,
    Sightings,
    Verdicts,
}

fn debug(msg: &str) {
    if std::env::var_os("MLIDS_BUS_DEBUG").is_some() {
        eprintln!("mlids-bus: {msg}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    fn run(sensor: &str) -> (String, u64) {
        (sensor.to_string(), 1)
    }

    #[test]
    fn a_batch_waits_until_its_runs_flow_clock_passes_it_by_the_hold_back() {
        let t0 = Instant::now();
        let mut h = Holding::new(Duration::from_secs(10), Duration::from_secs(15));
        h.admit(run("a"), 1, "first", 256, 100 * S, t0);
        h.admit(run("a"), 2, "second", 256, 109 * S, t0);
        assert!(h.take_due(t0, false).is_empty(), "9 s later is not enough");
        h.admit(run("a"), 3, "third", 256, 110 * S, t0);
        assert_eq!(h.take_due(t0, false), ["first"]);
        // Another sensor's clock says nothing about this one's batches.
        h.admit(run("b"), 4, "other", 10, 500 * S, t0);
        assert!(h.take_due(t0, false).is_empty());
        assert_eq!(h.take_due(t0, true), ["second", "third", "other"]);
        assert!(h.is_empty());
    }

    #[test]
    fn a_quiet_or_finished_sensors_batches_leave_once_it_has_sent_nothing_for_a_while() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut h = Holding::new(Duration::from_secs(10), Duration::from_secs(15));
        h.admit(run("a"), 5, 1, 5, 100 * S, t0);
        h.admit(run("b"), 6, 9, 5, 100 * S, t0 + ms(1500));
        h.admit(run("a"), 7, 2, 5, 101 * S, t0 + ms(1500));
        // Run a sent its second batch 1.5 s later: not quiet yet.
        assert!(h.take_due(t0 + ms(3499), false).is_empty());
        assert_eq!(h.take_due(t0 + ms(3500), false), [1, 9, 2]);
    }

    #[test]
    fn a_busy_runs_batch_leaves_after_half_the_ack_wait_at_the_latest() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut h = Holding::new(Duration::from_secs(10), Duration::from_secs(4));
        h.admit(run("a"), 8, 1, 5, 100 * S, t0);
        for k in 1..=4 {
            h.admit(run("a"), 9 + k, 2, 5, 100 * S, t0 + ms(1000 * k));
        }
        assert!(h.take_due(t0 + ms(3999), false).is_empty());
        assert_eq!(h.take_due(t0 + ms(4000), false), [1]);
    }

    #[test]
    fn beyond_max_held_flows_the_oldest_batches_leave_early() {
        let t0 = Instant::now();
        let mut h = Holding::new(Duration::from_secs(10), Duration::from_secs(15));
        let per = mlids_model::sink::MAX_HELD / 4;
        for k in 0..6 {
            h.admit(
                run(if k % 2 == 0 { "a" } else { "b" }),
                k as u64,
                k,
                per,
                S,
                t0,
            );
        }
        assert_eq!(h.take_due(t0, false), [0, 1]);
        assert_eq!(h.flows, 4 * per);
    }

    #[test]
    fn a_runs_batches_leave_in_sensor_order_whatever_order_they_arrived_in() {
        let t0 = Instant::now();
        let mut h = Holding::new(Duration::from_secs(10), Duration::from_secs(15));
        // Run a's batch 256 was retried by its sensor and reached the stream after 512 and 768.
        h.admit(run("a"), 0, "a0", 256, 100 * S, t0);
        h.admit(run("b"), 0, "b0", 256, 100 * S, t0);
        h.admit(run("a"), 512, "a512", 256, 102 * S, t0);
        h.admit(run("a"), 768, "a768", 256, 103 * S, t0);
        h.admit(run("a"), 256, "a256", 256, 101 * S, t0);
        h.admit(run("b"), 256, "b256", 256, 101 * S, t0);
        assert_eq!(
            h.take_due(t0, true),
            ["a0", "b0", "a256", "a512", "a768", "b256"]
        );
    }

    #[test]
    fn no_hold_back_decides_each_batch_at_once() {
        let t0 = Instant::now();
        let mut h = Holding::new(Duration::ZERO, Duration::ZERO);
        h.admit(run("a"), 11, 7, 3, S, t0);
        assert_eq!(h.take_due(t0, false), [7]);
    }

    #[test]
    fn the_wall_wait_stays_under_the_ack_wait() {
        let mut cfg = WorkerConfig::new("w");
        cfg.ack_wait = Duration::from_secs(3);
        assert_eq!(cfg.max_wait(), Duration::from_millis(1500));
        cfg.ack_wait = Duration::from_secs(30);
        assert_eq!(cfg.max_wait(), Duration::from_secs(10));
    }
}
