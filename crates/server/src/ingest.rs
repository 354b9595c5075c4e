//! Captures arriving over HTTP (upload or endless stream) → the flow pipeline → the Detector.
//!
//! The request body is forwarded chunk by chunk through a bounded channel to a blocking task that
//! runs `mlids_flow::Pipeline` on a `Read` adapter: parsing starts with the first bytes, memory stays
//! bounded whatever the body size, and a slow pipeline slows the client down (back-pressure).

use crate::alert::Alert;
use crate::cancel::CancelOnDrop;
use crate::error::ApiError;
use crate::state::AppState;
use crate::uploads::{Keeper, StoredFlow, UploadFlows};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use mlids_flow::{CaptureReader, FlowRecord, MeterConfig, Mode, Outcome, Pipeline, SinkError};
use mlids_incident::{EventKind, Incident, IncidentConfig, IncidentSink};
use mlids_model::output::{DetectionStats, Tally};
use mlids_model::{DetectorSink, Explain, Verdict, VerdictSink};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One classified flow in an upload's response.
#[derive(Clone, Debug, Serialize)]
pub struct FlowRow {
    /// The flow's position in the capture's output (0-based): its key in
    /// `GET /api/uploads/{id}/flows/{index}`.
    pub index: u64,
    pub time: String,
    pub src_ip: String,
    pub src_port: u16,
    pub dst_ip: String,
    pub dst_port: u16,
    pub protocol: u8,
    /// Community ID v1 (seed 0), to find the flow in Suricata, Zeek or Elastic; `null` for a flow
    /// without one (SCTP).
    pub community_id: Option<String>,
    pub packets: u64,
    pub bytes: f64,
    pub duration_us: f64,
    pub termination: String,
    pub label: String,
    pub probability: f64,
    pub attack_score: f64,
    pub is_attack: bool,
}

/// Packet accounting of an ingest.
#[derive(Clone, Debug, Serialize)]
pub struct PacketCounts {
    pub read: u64,
    pub decoded: u64,
    pub skipped: BTreeMap<String, u64>,
}

/// Attack flows per label in one minute.
#[derive(Clone, Debug, Serialize)]
pub struct TimelineBucket {
    pub minute: String,
    pub attacks: BTreeMap<String, u64>,
}

/// What an upload or a finished stream returns.
#[derive(Clone, Debug, Serialize)]
pub struct IngestReport {
    /// The upload's id: its flows can be paged and explained under `/api/uploads/{id}/flows`
    /// (none for streams and for flows sent to the bus).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    pub source: String,
    pub mode: String,
    pub packets: PacketCounts,
    pub summary: DetectionStats,
    /// Flows emitted by termination reason.
    pub flows_by_termination: BTreeMap<String, u64>,
    pub timeline: Vec<TimelineBucket>,
    /// The incidents of this capture (attack flows grouped by attacker, family and time), in the
    /// order they began; all closed, since the capture ended.
    pub incidents: Vec<Incident>,
    /// The first `max_response_flows` flows (attacks first is not guaranteed: capture order).
    pub flows: Vec<FlowRow>,
    pub flows_truncated: bool,
    /// With `serve --nats --ingest-to-bus`: flows published to the bus for the worker pool
    /// instead of being classified here (their alerts arrive over the bus).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_to_bus: Option<u64>,
}

/// Collects rows for the response and publishes an alert for every attack verdict.
struct Collector<'a> {
    state: &'a AppState,
    source: String,
    keep: usize,
    rows: Vec<FlowRow>,
    truncated: bool,
    timeline: BTreeMap<i64, BTreeMap<String, u64>>,
    /// Flows seen so far (the next flow's index).
    seen: u64,
    /// Uploads: the flows kept for paging and on-demand explanations.
    keeper: Option<Keeper>,
    progress: Arc<Progress>,
    /// Set when the client went away: the next verdict stops the pipeline.
    cancelled: Arc<AtomicBool>,
}

/// Counters the async side reads to report progress while the blocking side classifies.
#[derive(Default)]
pub struct Progress {
    pub flows: AtomicU64,
    pub attacks: AtomicU64,
}

impl Collector<'_> {
    fn timeline(&self) -> Vec<TimelineBucket> {
        self.timeline
            .iter()
            .map(|(m, attacks)| TimelineBucket {
                minute: crate::alert::rfc3339_micros(m * 60_000_000),
                attacks: attacks.clone(),
            })
            .collect()
    }
}

impl Collector<'_> {
    fn row(&self, flow: &FlowRecord, v: &Verdict) -> FlowRow {
        FlowRow {
            index: self.seen,
            time: crate::alert::rfc3339_micros(flow.start_us),
            src_ip: flow.src.to_string(),
            src_port: flow.src_port,
            dst_ip: flow.dst.to_string(),
            dst_port: flow.dst_port,
            protocol: flow.protocol,
            community_id: flow.community_id(),
            packets: flow.packets(),
            bytes: flow.get(mlids_flow::Feature::TotLenFwdPkts)
                + flow.get(mlids_flow::Feature::TotLenBwdPkts),
            duration_us: flow.get(mlids_flow::Feature::FlowDuration),
            termination: flow.termination.to_string(),
            label: v.label.clone(),
            probability: v.probability,
            attack_score: v.attack_score,
            is_attack: v.is_attack,
        }
    }
}

impl VerdictSink for Collector<'_> {
    fn verdict(&mut self, flow: &FlowRecord, v: &Verdict) -> Result<(), SinkError> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(CLIENT_GONE.into());
        }
        let listed = self.rows.len() < self.keep;
        let stored = self.keeper.as_ref().is_some_and(|k| k.wants(v.is_attack));
        if listed || stored {
            let row = self.row(flow, v);
            if stored {
                self.store(flow, row.clone())?;
            }
            if listed {
                self.rows.push(row);
            }
        }
        if !listed {
            self.truncated = true;
        }
        if !stored {
            if let Some(k) = self.keeper.as_mut() {
                k.dropped += 1;
            }
        }
        self.seen += 1;
        self.progress.flows.fetch_add(1, Ordering::Relaxed);
        if v.is_attack {
            self.progress.attacks.fetch_add(1, Ordering::Relaxed);
            *self
                .timeline
                .entry(flow.start_us.div_euclid(60_000_000))
                .or_default()
                .entry(v.label.clone())
                .or_default() += 1;
            self.state.publish(Alert::new(flow, v, &self.source));
        }
        Ok(())
    }
}

impl Collector<'_> {
    /// Keep a flow's row and feature vector for paging and on-demand explanations.
    fn store(&mut self, flow: &FlowRecord, row: FlowRow) -> Result<(), SinkError> {
        let mut features = Vec::new();
        self.state
            .detector
            .record_row(flow, &mut features)
            .map_err(|e| Box::new(e) as SinkError)?;
        if let Some(k) = self.keeper.as_mut() {
            k.keep(StoredFlow { row, features });
        }
        Ok(())
    }
}

/// A `Read` over chunks arriving from the async side.
struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    cancelled: Arc<AtomicBool>,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Err(io::Error::other(CLIENT_GONE));
        }
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// How an ingest should behave.
#[derive(Clone)]
pub struct IngestOptions {
    /// `upload:NAME`, `stream`, …: shown in alerts.
    pub source: String,
    /// Metrics label (`upload`, `stream`).
    pub kind: &'static str,
    /// Flows classified together; 1 for streams, so each alert leaves as its flow ends.
    pub batch: usize,
    /// How long (flow time) flows wait for the host-behaviour stage before their verdicts leave
    /// (`mlids_model::sink::FILE_HOLD_BACK_US` for uploads). 0 for streams: nothing moves the
    /// flow clock of a quiet stream, so a hold-back would keep its alerts back indefinitely.
    pub hold_back_us: i64,
    /// Flows listed in the report.
    pub keep_rows: usize,
    /// Largest accepted body, if any.
    pub limit: Option<u64>,
    /// Uploads: the id its flows are kept under (`/api/uploads/{id}/flows`) and its progress
    /// events carry.
    pub upload_id: Option<String>,
    /// Which verdicts are explained as they are made. Uploads: none (a flow is explained when
    /// someone opens it); streams: attacks, whose live alerts say why.
    pub explain: Explain,
}

/// Why a cancelled ingest stopped.
const CLIENT_GONE: &str = "the client went away; classification stopped";

/// An upload must keep up this average rate (bytes per second) once it has run for
/// [`UPLOAD_RATE_GRACE`], and never pause longer than that between chunks: a client sending a
/// byte a second would otherwise hold a capture slot for days. Streams are exempt (a quiet link
/// is quiet); the connection's idle timeout ends a silent one.
const MIN_UPLOAD_RATE: u64 = 1024;
const UPLOAD_RATE_GRACE: Duration = Duration::from_secs(30);

/// Progress events at most this often while a capture is classified.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Feed a body stream through the pipeline and the detector.
pub async fn ingest<S, E>(
    state: &AppState,
    mut body: S,
    opts: IngestOptions,
) -> Result<IngestReport, ApiError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let _slot = state.admission.capture_slot()?;
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(16);
    let st = state.clone();
    let progress = Arc::new(Progress::default());
    let cancelled = Arc::new(AtomicBool::new(false));
    let mut guard = CancelOnDrop(Some(cancelled.clone()));
    let job = (opts.clone(), progress.clone(), cancelled.clone());
    let worker = tokio::task::spawn_blocking(move || {
        let reader = ChannelReader {
            rx,
            current: Bytes::new(),
            cancelled: job.2.clone(),
        };
        run_blocking(&st, reader, job.0, job.1, job.2)
    });
    let mut total: u64 = 0;
    let mut too_large = false;
    let mut too_slow = None;
    let started = Instant::now();
    let mut last_progress = Instant::now();
    loop {
        let next = if opts.limit.is_some() {
            match tokio::time::timeout(UPLOAD_RATE_GRACE, body.next()).await {
                Ok(n) => n,
                Err(_) => {
                    too_slow = Some(format!(
                        "the upload stalled: no data for {} s",
                        UPLOAD_RATE_GRACE.as_secs()
                    ));
                    None
                }
            }
        } else {
            body.next().await
        };
        let Some(chunk) = next else { break };
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                let _ = tx
                    .send(Err(io::Error::other(format!("request body failed: {e}"))))
                    .await;
                break;
            }
        };
        total += chunk.len() as u64;
        if opts.limit.is_some_and(|l| total > l) {
            too_large = true;
            let _ = tx
                .send(Err(io::Error::other("upload size limit exceeded")))
                .await;
            break;
        }
        if tx.send(Ok(chunk)).await.is_err() {
            // The pipeline stopped early (unreadable capture); the rest of the body is not needed.
            break;
        }
        let elapsed = started.elapsed();
        if opts.limit.is_some()
            && elapsed >= UPLOAD_RATE_GRACE
            && total < MIN_UPLOAD_RATE.saturating_mul(elapsed.as_secs())
        {
            too_slow = Some(format!(
                "the upload is too slow: {total} bytes in {} s (at least {MIN_UPLOAD_RATE} bytes/s)",
                elapsed.as_secs()
            ));
            break;
        }
        if last_progress.elapsed() >= PROGRESS_EVERY {
            last_progress = Instant::now();
            state.publish_progress(&opts, total, &progress, false);
        }
    }
    if let Some(why) = &too_slow {
        // The work stops: the reader fails at its next read.
        cancelled.store(true, Ordering::Relaxed);
        let _ = tx.send(Err(io::Error::other(why.clone()))).await;
    }
    drop(tx);
    let result = worker
        .await
        .map_err(|e| ApiError::Internal(format!("ingest task failed: {e}")))?;
    guard.disarm();
    state.publish_progress(&opts, total, &progress, true);
    if let Some(why) = too_slow {
        return Err(ApiError::RequestTimeout(why));
    }
    if too_large {
        return Err(ApiError::PayloadTooLarge(format!(
            "the capture exceeds the {} byte upload limit (server option --max-upload); stream it to /api/stream instead",
            opts.limit.unwrap_or_default()
        )));
    }
    result
}

fn run_blocking(
    state: &AppState,
    reader: ChannelReader,
    opts: IngestOptions,
    progress: Arc<Progress>,
    cancelled: Arc<AtomicBool>,
) -> Result<IngestReport, ApiError> {
    let source = opts.source.clone();
    let mut capture = CaptureReader::from_reader(source.clone(), reader)
        .map_err(|e| ApiError::BadRequest(format!("not a readable capture: {e}")))?;
    let mode = state.detector.mode();
    let pipeline = Pipeline::new(MeterConfig::new(mode));
    if let Some(link) = state.bus.as_ref().filter(|b| b.ingests_to_bus()) {
        // The flows go to the bus for the worker pool; their verdicts come back as alerts.
        let mut sink = crate::bus::flow_sink(link, mode)?;
        let outcome = pipeline
            .run(&mut capture, &mut sink, &mut ())
            .map_err(|e| ApiError::Internal(format!("publishing flows failed: {e}")))?;
        state.metrics.packets(outcome.summary.packets_read);
        let published = outcome.summary.flows_emitted();
        return report(
            (None, source),
            mode,
            outcome,
            DetectionStats::default(),
            None,
            Some(published),
        );
    }
    let collector = Collector {
        state,
        source: source.clone(),
        keep: opts.keep_rows,
        rows: Vec::new(),
        truncated: false,
        timeline: BTreeMap::new(),
        seen: 0,
        keeper: opts
            .upload_id
            .as_ref()
            .map(|_| Keeper::new(state.config.max_response_flows)),
        progress,
        cancelled: cancelled.clone(),
    };
    let mut incidents = Vec::new();
    let on_incident = |e: &mlids_incident::IncidentEvent| {
        state.publish_incident(e);
        if e.kind == EventKind::Closed {
            incidents.push(e.incident.clone());
        }
        Ok(())
    };
    let config = IncidentConfig {
        idle_timeout_us: state.config.incident_timeout_us,
        ..IncidentConfig::default()
    };
    let stages = IncidentSink::new(&state.detector, config, Tally::new(collector), on_incident);
    let mut sink = DetectorSink::new(&state.detector, stages)
        .batch(opts.batch)
        .hold_back(opts.hold_back_us)
        .explain(opts.explain);
    let outcome = pipeline.run(&mut capture, &mut sink, &mut ());
    if cancelled.load(Ordering::Relaxed) {
        let stats = sink.inner().inner().stats();
        tracing::info!(
            "{source}: stopped, the client went away — {} flows classified ({} attacks) before",
            stats.flows,
            stats.attacks
        );
        return Err(ApiError::RequestTimeout(CLIENT_GONE.into()));
    }
    let outcome = outcome.map_err(|e| ApiError::Internal(format!("classification failed: {e}")))?;
    let (tally, _) = sink.into_inner().into_parts();
    let stats = tally.stats();
    let mut collector = tally.into_inner();
    state.metrics.packets(outcome.summary.packets_read);
    state.metrics.flows(opts.kind, stats.flows);
    if let (Some(id), Some(keeper)) = (&opts.upload_id, collector.keeper.take()) {
        state.uploads.insert(UploadFlows {
            id: id.clone(),
            flows: keeper.flows,
            dropped: keeper.dropped,
        });
    }
    mlids_incident::sort_by_start(&mut incidents);
    report(
        (opts.upload_id, source),
        mode,
        outcome,
        stats,
        Some((collector, incidents)),
        None,
    )
}

/// The one report of an ingest, whichever sink took its flows. A capture that broke off is a
/// partial answer: the report of its readable part with the error.
fn report(
    (upload_id, source): (Option<String>, String),
    mode: Mode,
    outcome: Outcome,
    summary: DetectionStats,
    classified: Option<(Collector, Vec<Incident>)>,
    published_to_bus: Option<u64>,
) -> Result<IngestReport, ApiError> {
    let (collector, incidents) = match classified {
        Some((c, i)) => (Some(c), i),
        None => (None, Vec::new()),
    };
    let packets = &outcome.summary;
    let report = IngestReport {
        upload_id,
        source,
        mode: mode.to_string(),
        packets: PacketCounts {
            read: packets.packets_read,
            decoded: packets.packets_decoded,
            skipped: packets.skipped.clone(),
        },
        summary,
        flows_by_termination: packets
            .flows
            .iter()
            .map(|(t, n)| (t.to_string(), *n))
            .collect(),
        timeline: collector
            .as_ref()
            .map(Collector::timeline)
            .unwrap_or_default(),
        incidents,
        flows_truncated: collector.as_ref().is_some_and(|c| c.truncated),
        flows: collector.map(|c| c.rows).unwrap_or_default(),
        published_to_bus,
    };
    match outcome.error {
        None => Ok(report),
        Some(e) => Err(ApiError::Partial {
            message: e.to_string(),
            partial: serde_json::to_value(&report)
                .map_err(|e| ApiError::Internal(e.to_string()))?,
        }),
    }
}
