//! The edge: frames → the flow pipeline → [`BusSink`] → [`FlowPublisher`] → the flow stream.
//!
//! [`BusSink`] is a synchronous [`FlowSink`]: it encodes flows into a batch and, when the batch is
//! full or has waited `linger`, seals it (allocating its sequence numbers) and hands it to the
//! publisher task. Sealed batches hold permits of a semaphore sized `buffer_flows`: that is the
//! bound on flows waiting to be published or acknowledged. When it is exhausted (NATS unreachable,
//! stream full, workers far behind), [`OnFull::Drop`] drops the new batch and counts it — live
//! capture cannot pause — and [`OnFull::Block`] waits, slowing down a replay instead.
//!
//! The publisher task sends batches in the order they were sealed and keeps up to `max_inflight`
//! of them waiting for their acknowledgement; it retries each one, with the same `Nats-Msg-Id`,
//! until JetStream acknowledges it; a retry of a batch that had in fact been stored is
//! acknowledged as a duplicate and not stored twice. Only the acks are awaited concurrently: the
//! workers and the incident aggregator take flows in stream order, and batches sent from
//! concurrent tasks reached the stream out of order (a batch of flows 10 s later stored before
//! the scan's last probes closed the scan's incident early on the aggregator's flow clock).
//! Only a retried batch can land behind later ones.

use crate::codec::{batch_msg_id, BatchEncoder};
use crate::stats::SensorStats;
use crate::topology::Topology;
use crate::{now_us, BusError};
use async_nats::jetstream;
use bytes::Bytes;
use mlids_flow::{
    FlowRecord, FlowSink, MeterConfig, Mode, PacketSource, Pipeline, RunHooks, SinkError, Summary,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// What to do with a sealed batch when the buffer is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFull {
    /// Drop it and count the flows in `flows_dropped` (live capture: never stall the capture).
    Drop,
    /// Wait for room (replays and uploads: slow the reader down, lose nothing).
    Block,
}

#[derive(Clone, Debug)]
pub struct PublisherConfig {
    /// Subject token and id prefix (`edge-1`).
    pub sensor_id: String,
    /// Distinguishes runs of the same sensor id (default: start time in µs), so ids stay unique
    /// across restarts.
    pub run: u64,
    /// Flows per message.
    pub batch_flows: usize,
    /// Longest time a flow waits for its batch to fill.
    pub linger: Duration,
    /// Flows that may wait for publishing or acknowledgement before [`OnFull`] applies.
    pub buffer_flows: usize,
    /// Batches published concurrently (awaiting their acks).
    pub max_inflight: usize,
    pub on_full: OnFull,
    /// At shutdown, how long unacknowledged batches may still be retried; what remains is
    /// counted in `flows_lost`.
    pub drain_timeout: Duration,
}

impl PublisherConfig {
    pub fn new(sensor_id: impl Into<String>) -> Self {
        PublisherConfig {
            sensor_id: sensor_id.into(),
            run: now_us(),
            batch_flows: 256,
            linger: Duration::from_millis(100),
            buffer_flows: 100_000,
            max_inflight: 32,
            on_full: OnFull::Drop,
            drain_timeout: Duration::from_secs(30),
        }
    }

    pub fn validate(&self) -> Result<(), BusError> {
        crate::check_id("sensor", &self.sensor_id)?;
        if self.batch_flows == 0 || self.batch_flows > 65_536 {
            return Err(BusError::Config("--batch must be 1..=65536 flows".into()));
        }
        if self.buffer_flows < self.batch_flows || self.buffer_flows > u32::MAX as usize {
            return Err(BusError::Config(format!(
                "--buffer ({}) must hold at least one batch ({} flows)",
                self.buffer_flows, self.batch_flows
            )));
        }
        if self.max_inflight == 0 {
            return Err(BusError::Config("--max-inflight must be at least 1".into()));
        }
        Ok(())
    }
}

/// One sealed batch on its way to JetStream.
struct Sealed {
    msg_id: String,
    payload: Bytes,
    count: u32,
    _permit: OwnedSemaphorePermit,
}

enum Msg {
    Batch(Sealed),
    Close,
}

struct Shared {
    cfg: PublisherConfig,
    seq: AtomicU64,
    buffer: Arc<Semaphore>,
    tx: mpsc::UnboundedSender<Msg>,
    stats: SensorStats,
    runtime: tokio::runtime::Handle,
}

/// Publishes sealed flow batches; make [`BusSink`]s with [`FlowPublisher::sink`].
pub struct FlowPublisher {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

/// Accounting of a publisher, final after [`FlowPublisher::close`].
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SensorReport {
    pub sensor_id: String,
    pub run: u64,
    /// Sequence numbers allocated: ids `SENSOR.RUN.0 ..= SENSOR.RUN.(next_seq-1)` minus dropped ones.
    pub next_seq: u64,
    pub flows_in: u64,
    pub flows_published: u64,
    pub flows_duplicate: u64,
    pub flows_dropped: u64,
    pub flows_lost: u64,
    pub batches_published: u64,
    pub publish_retries: u64,
    pub bytes_published: u64,
}

impl FlowPublisher {
    /// Start the publisher task on the current runtime.
    pub fn start(
        js: jetstream::Context,
        topology: &Topology,
        cfg: PublisherConfig,
        stats: SensorStats,
    ) -> Result<FlowPublisher, BusError> {
        cfg.validate()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let subject = topology.flows_subject(&cfg.sensor_id);
        let shared = Arc::new(Shared {
            seq: AtomicU64::new(0),
            buffer: Arc::new(Semaphore::new(cfg.buffer_flows)),
            tx,
            stats: stats.clone(),
            runtime: tokio::runtime::Handle::current(),
            cfg: cfg.clone(),
        });
        let task = tokio::spawn(publish_loop(js, subject, rx, cfg, stats));
        Ok(FlowPublisher { shared, task })
    }

    /// A sink for flows of `mode`. Several sinks may share one publisher (concurrent uploads);
    /// sequence numbers are allocated when batches are sealed, so ids never collide.
    pub fn sink(&self, mode: Mode) -> BusSink {
        BusSink {
            enc: BatchEncoder::new(mode, &self.shared.cfg.sensor_id, self.shared.cfg.run),
            shared: self.shared.clone(),
            oldest: None,
        }
    }

    pub fn stats(&self) -> &SensorStats {
        &self.shared.stats
    }

    pub fn report(&self) -> SensorReport {
        FlowPublisher::report_of(&self.shared)
    }

    fn report_of(shared: &Shared) -> SensorReport {
        let s = &shared.stats;
        SensorReport {
            sensor_id: shared.cfg.sensor_id.clone(),
            run: shared.cfg.run,
            next_seq: shared.seq.load(Ordering::SeqCst),
            flows_in: s.flows_in.get(),
            flows_published: s.flows_published.get(),
            flows_duplicate: s.flows_duplicate.get(),
            flows_dropped: s.flows_dropped.get(),
            flows_lost: s.flows_lost.get(),
            batches_published: s.batches_published.get(),
            publish_retries: s.publish_retries.get(),
            bytes_published: s.bytes_published.get(),
        }
    }

    /// Publish what is queued (retrying for up to `drain_timeout`), count the rest as lost, stop.
    /// Sinks must have been flushed (their `finish`) before.
    pub async fn close(self) -> SensorReport {
        let _ = self.shared.tx.send(Msg::Close);
        let FlowPublisher { shared, task } = self;
        let _ = task.await;
        FlowPublisher::report_of(&shared)
    }
}

async fn publish_loop(
    js: jetstream::Context,
    subject: String,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    cfg: PublisherConfig,
    stats: SensorStats,
) {
    let inflight = Arc::new(Semaphore::new(cfg.max_inflight));
    let mut tasks = JoinSet::new();
    while let Some(msg) = rx.recv().await {
        let batch = match msg {
            Msg::Batch(b) => b,
            Msg::Close => break,
        };
        let permit = inflight
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        dispatch(&mut tasks, &js, &subject, batch, &stats, Some(permit)).await;
        while tasks.try_join_next().is_some() {}
    }
    // Batches sealed after Close was sent are still in the channel: publish them too.
    rx.close();
    while let Some(msg) = rx.recv().await {
        if let Msg::Batch(batch) = msg {
            dispatch(&mut tasks, &js, &subject, batch, &stats, None).await;
        }
    }
    let drained = tokio::time::timeout(cfg.drain_timeout, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    // Whatever is still counted as buffered was never acknowledged.
    let left = stats.buffered_flows.get().max(0);
    stats.flows_lost.inc_by(left as u64);
    stats.buffered_flows.dec_by(left);
}

/// Send a batch now, in sealing order, and await its ack (retrying it if need be) in a task
/// holding its in-flight permit.
async fn dispatch(
    tasks: &mut JoinSet<()>,
    js: &jetstream::Context,
    subject: &str,
    batch: Sealed,
    stats: &SensorStats,
    permit: Option<OwnedSemaphorePermit>,
) {
    let sent = send(js, subject, &batch).await;
    let (js, subject, stats) = (js.clone(), subject.to_string(), stats.clone());
    tasks.spawn(async move {
        publish_until_acked(&js, &subject, &batch, &stats, sent).await;
        drop(permit);
        drop(batch);
    });
}

/// How long handing a batch to the connection may take before it is retried in its own task:
/// the publish loop sends in order and must not stall behind a connection that has stopped
/// taking messages (the drain timeout bounds only the tasks).
const SEND_PATIENCE: Duration = Duration::from_secs(5);

/// Hand a batch to the connection (in the order of the calls); the future resolves with
/// JetStream's acknowledgement.
async fn send(
    js: &jetstream::Context,
    subject: &str,
    batch: &Sealed,
) -> Result<jetstream::context::PublishAckFuture, String> {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, batch.msg_id.as_str());
    let publish = js.publish_with_headers(subject.to_string(), headers, batch.payload.clone());
    match tokio::time::timeout(SEND_PATIENCE, publish).await {
        Ok(sent) => sent.map_err(|e| e.to_string()),
        Err(_) => Err(format!(
            "not taken by the connection within {SEND_PATIENCE:?}"
        )),
    }
}

fn count_published(batch: &Sealed, duplicate: bool, stats: &SensorStats) {
    let n = u64::from(batch.count);
    if duplicate {
        stats.flows_duplicate.inc_by(n);
    }
    stats.flows_published.inc_by(n);
    stats.batches_published.inc();
    stats.bytes_published.inc_by(batch.payload.len() as u64);
    stats.buffered_flows.dec_by(n as i64);
}

fn retrying(batch: &Sealed, error: &str, stats: &SensorStats) {
    stats.publish_retries.inc();
    if std::env::var_os("MLIDS_BUS_DEBUG").is_some() {
        eprintln!(
            "mlids-bus: publish of {} failed ({error}); retrying",
            batch.msg_id
        );
    }
}

/// Await the ack of a batch sent as `sent`, and send it again, backing off between tries, until
/// JetStream acknowledges it.
async fn publish_until_acked(
    js: &jetstream::Context,
    subject: &str,
    batch: &Sealed,
    stats: &SensorStats,
    mut sent: Result<jetstream::context::PublishAckFuture, String>,
) {
    let mut delay = Duration::from_millis(50);
    loop {
        let acked = match sent {
            Ok(ack) => ack.await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match acked {
            Ok(ack) => return count_published(batch, ack.duplicate, stats),
            Err(e) => retrying(batch, &e, stats),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
        sent = send(js, subject, batch).await;
    }
}

/// A [`FlowSink`] that batches flows onto the bus. Call [`BusSink::tick`] periodically so a
/// partial batch leaves after `linger` on a quiet link.
pub struct BusSink {
    enc: BatchEncoder,
    shared: Arc<Shared>,
    /// When the oldest flow of the current batch arrived.
    oldest: Option<Instant>,
}

impl BusSink {
    /// Seal the current batch if it has waited `linger`.
    pub fn tick(&mut self) {
        if self
            .oldest
            .is_some_and(|t| t.elapsed() >= self.shared.cfg.linger)
        {
            self.seal();
        }
    }

    /// Seal the current batch now.
    pub fn flush(&mut self) {
        if !self.enc.is_empty() {
            self.seal();
        }
    }

    fn seal(&mut self) {
        self.oldest = None;
        let n = self.enc.len() as u32;
        let sh = &self.shared;
        let permit = match sh.cfg.on_full {
            OnFull::Drop => sh.buffer.clone().try_acquire_many_owned(n).ok(),
            // Called from the capture thread, never from inside the runtime.
            OnFull::Block => sh
                .runtime
                .block_on(sh.buffer.clone().acquire_many_owned(n))
                .ok(),
        };
        let Some(permit) = permit else {
            self.enc.seal(0, 0);
            sh.stats.flows_dropped.inc_by(u64::from(n));
            return;
        };
        let first_seq = sh.seq.fetch_add(u64::from(n), Ordering::SeqCst);
        let payload = Bytes::from(self.enc.seal(first_seq, now_us()));
        sh.stats.buffered_flows.inc_by(i64::from(n));
        let sealed = Sealed {
            msg_id: batch_msg_id(&sh.cfg.sensor_id, sh.cfg.run, first_seq),
            payload,
            count: n,
            _permit: permit,
        };
        if sh.tx.send(Msg::Batch(sealed)).is_err() {
            // The publisher has stopped: nothing will take these flows.
            sh.stats.buffered_flows.dec_by(i64::from(n));
            sh.stats.flows_dropped.inc_by(u64::from(n));
        }
    }
}

impl FlowSink for BusSink {
    fn flow(&mut self, flow: &FlowRecord) -> Result<(), SinkError> {
        self.enc.push(flow)?;
        self.shared.stats.flows_in.inc();
        if self.oldest.is_none() {
            self.oldest = Some(Instant::now());
        }
        if self.enc.len() >= self.shared.cfg.batch_flows {
            self.seal();
        }
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), SinkError> {
        self.flush();
        Ok(())
    }
}

/// A sink dropped without `finish` (its pipeline failed) cannot publish what it still holds:
/// those flows are counted as dropped, so the accounting stays complete.
impl Drop for BusSink {
    fn drop(&mut self) {
        if !self.enc.is_empty() {
            self.shared
                .stats
                .flows_dropped
                .inc_by(self.enc.len() as u64);
            self.enc.seal(0, 0);
        }
    }
}

/// How the sensor loop runs.
#[derive(Clone, Debug)]
pub struct SensorConfig {
    pub meter: MeterConfig,
    /// How often (wall time) the flow clock is advanced from the source, expired flows are
    /// drained and a lingering batch is sealed.
    pub tick: Duration,
    /// How often `on_status` is called (zero: never).
    pub status_every: Duration,
}

impl SensorConfig {
    /// Live-capture meter settings of `mode` (idle flows expire; see [`MeterConfig::live`]).
    pub fn new(mode: Mode) -> Self {
        SensorConfig {
            meter: MeterConfig::live(mode),
            tick: Duration::from_millis(100),
            status_every: Duration::from_secs(10),
        }
    }
}

/// The sensor's timers on the one run loop: seal a lingering batch, export packet and drop
/// counters, report status.
struct SensorHooks<'a, F: FnMut(&Summary)> {
    cfg: &'a SensorConfig,
    stop: &'a AtomicBool,
    stats: SensorStats,
    packets_reported: u64,
    last_status: Instant,
    on_status: F,
}

impl<F: FnMut(&Summary)> RunHooks<BusSink> for SensorHooks<'_, F> {
    fn tick_every(&self) -> Option<Duration> {
        Some(self.cfg.tick)
    }

    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn tick(
        &mut self,
        pipeline: &mut Pipeline,
        sink: &mut BusSink,
        source: &mut dyn PacketSource,
    ) -> Result<(), SinkError> {
        sink.tick();
        let read = pipeline.summary().packets_read;
        self.stats.packets_read.inc_by(read - self.packets_reported);
        self.packets_reported = read;
        if let Some(c) = source.stats() {
            self.stats
                .capture_dropped
                .set((c.dropped + c.if_dropped) as i64);
        }
        if !self.cfg.status_every.is_zero() && self.last_status.elapsed() >= self.cfg.status_every {
            self.last_status = Instant::now();
            (self.on_status)(&pipeline.summary());
        }
        Ok(())
    }
}

/// Run the flow pipeline over `source` until it ends or `stop` is set, publishing flows through
/// `sink`. Blocking: run it on its own thread. Returns the pipeline's accounting; a source that
/// broke off is an error, after the flows read before it were published.
pub fn run_sensor(
    source: &mut dyn PacketSource,
    sink: &mut BusSink,
    cfg: &SensorConfig,
    stop: &AtomicBool,
    on_status: impl FnMut(&Summary),
) -> Result<Summary, BusError> {
    let mut hooks = SensorHooks {
        cfg,
        stop,
        stats: sink.shared.stats.clone(),
        packets_reported: 0,
        last_status: Instant::now(),
        on_status,
    };
    let outcome = Pipeline::new(cfg.meter.clone())
        .run(source, sink, &mut hooks)
        .map_err(|e| BusError::Config(format!("flow sink failed: {e}")))?;
    hooks
        .stats
        .packets_read
        .inc_by(outcome.summary.packets_read - hooks.packets_reported);
    match outcome.error {
        Some(e) => Err(e.into()),
        None => Ok(outcome.summary),
    }
}
