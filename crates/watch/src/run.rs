//! The watch loop: frames → the one flow pipeline → classification → alert queues.
//!
//! Completed flows are classified in small batches (at least every `tick`, so alerts are timely on
//! a quiet link). Every `snapshot_every` of capture time the flows that have been open for at least
//! `snapshot_min_age` are classified as they stand, so a slow DoS that keeps its connections open is
//! reported within seconds instead of at the 120 s active timeout; a flow that alerted this way does
//! not alert again, at later snapshots or when it completes. A timer advances the flow clock from
//! the source when no packets arrive, so idle flows expire on a silent link too.

use crate::dedup::Dedup;
use crate::error::WatchError;
use crate::event::AlertEvent;
use crate::queue::{Queue, QueueReport};
use crate::sinks::{AlertItem, FlowItem};
use crate::source::{CaptureStats, Next, PacketSource};
use mlids_flow::{FlowRecord, FlowSink, MeterConfig, Mode, Pipeline, SinkError, Summary};
use mlids_model::output::{DetectionStats, Tally};
use mlids_model::{Detector, Verdict, VerdictSink};
use serde_json::json;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The model, loaded twice: classifying every flow without explanations (fast), and explaining
/// only the flows that become alerts.
pub struct Models {
    pub plain: Detector,
    pub explaining: Detector,
    /// Label → category, from the manifest.
    categories: HashMap<String, String>,
}

impl Models {
    /// Load a bundle; `threshold` overrides the manifest's decision threshold, `explain_top` is the
    /// number of top contributing features attached to each alert.
    pub fn load(
        dir: &Path,
        threshold: Option<f64>,
        explain_top: usize,
    ) -> Result<Models, WatchError> {
        let mut plain = Detector::load(dir)?;
        let mut explaining = Detector::load(dir)?;
        if let Some(t) = threshold {
            plain.set_threshold(t)?;
            explaining.set_threshold(t)?;
        }
        plain.set_explain(0);
        explaining.set_explain(explain_top);
        Ok(Self::new(plain, explaining))
    }

    pub fn new(plain: Detector, explaining: Detector) -> Models {
        let categories = plain
            .manifest()
            .labels
            .iter()
            .map(|l| (l.name.clone(), l.category.clone()))
            .collect();
        Models {
            plain,
            explaining,
            categories,
        }
    }

    pub fn mode(&self) -> Mode {
        self.plain.mode()
    }

    fn category(&self, label: &str) -> &str {
        self.categories.get(label).map_or("Attack", |c| c.as_str())
    }
}

/// The flow-meter settings for live capture in `mode`.
///
/// cic2018 mode has no idle timeout (the 2018 tool had none): a finished connection that ended
/// without a FIN (a SYN flood's half-open flows, RST-closed connections, UDP) would stay in the
/// table until the 120 s active timeout cut it at its next packet, or forever if none comes. Live
/// capture therefore expires flows idle for as long as the active timeout. That changes no feature
/// value: a packet arriving after such a gap would have been past the active timeout anyway and
/// started a new flow. (The only difference is the new flow's orientation: the 2018 tool's
/// continuation kept the old flow's direction, an idle-expired flow's successor is oriented by its
/// own first packet.) Corrected mode keeps its own 60 s idle timeout.
pub fn live_meter_config(mode: Mode) -> MeterConfig {
    let mut cfg = MeterConfig::new(mode);
    if cfg.idle_timeout_us.is_none() {
        cfg.idle_timeout_us = Some(cfg.active_timeout_us);
    }
    cfg
}

#[derive(Clone, Debug)]
pub struct WatchConfig {
    pub meter: MeterConfig,
    /// Capture time between snapshots of long-running flows (0: never).
    pub snapshot_every_us: i64,
    /// Flows open for at least this long are classified at each snapshot.
    pub snapshot_min_age_us: i64,
    /// How often (wall time) pending flows are classified and the flow clock is advanced.
    pub tick: Duration,
    /// How often (wall time) `on_status` is called (zero: never).
    pub status_every: Duration,
    /// Completed flows are classified in batches of up to this many (or at each tick).
    pub batch: usize,
    /// After the run, how long the sinks may take to deliver what is queued.
    pub drain_grace: Duration,
}

impl WatchConfig {
    pub fn new(mode: Mode) -> WatchConfig {
        WatchConfig {
            meter: live_meter_config(mode),
            snapshot_every_us: 10_000_000,
            snapshot_min_age_us: 10_000_000,
            tick: Duration::from_millis(200),
            status_every: Duration::from_secs(10),
            batch: 512,
            drain_grace: Duration::from_secs(5),
        }
    }
}

/// Where alerts and classified flows go.
#[derive(Default)]
pub struct Outputs {
    pub alerts: Vec<Queue<AlertItem>>,
    /// Every classified flow with its verdict (`--flows`).
    pub flows: Option<Queue<FlowItem>>,
}

/// Progress, handed to `on_status` every `status_every`.
#[derive(Clone, Debug)]
pub struct Status {
    pub source: String,
    pub elapsed: Duration,
    pub packets: u64,
    pub capture: Option<CaptureStats>,
    pub open_flows: usize,
    pub flows_classified: u64,
    pub alerts: u64,
    pub sinks: Vec<QueueReport>,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{} +{}s] packets {}",
            self.source,
            self.elapsed.as_secs(),
            self.packets
        )?;
        if let Some(c) = self.capture {
            write!(
                f,
                " (libpcap: received {}, dropped {}, interface dropped {})",
                c.received, c.dropped, c.if_dropped
            )?;
        }
        write!(
            f,
            "; flows open {}, classified {}; alerts {}",
            self.open_flows, self.flows_classified, self.alerts
        )?;
        for s in &self.sinks {
            let lost = s.dropped_queue_full + s.failed;
            if lost > 0 || s.last_error.is_some() {
                write!(
                    f,
                    "; {}: {} lost ({} queue full, {} failed)",
                    s.name, lost, s.dropped_queue_full, s.failed
                )?;
                if let Some(e) = &s.last_error {
                    write!(f, ", last error: {e}")?;
                }
            }
        }
        Ok(())
    }
}

/// Everything a run did.
#[derive(Clone, Debug)]
pub struct WatchReport {
    pub source: String,
    pub elapsed: Duration,
    /// Packet and flow accounting of the pipeline.
    pub summary: Summary,
    /// Verdicts of completed flows.
    pub detection: DetectionStats,
    pub capture: Option<CaptureStats>,
    /// Alerts raised for completed flows.
    pub alerts_completed: u64,
    /// Alerts raised for flows still open (periodic snapshots).
    pub alerts_ongoing: u64,
    /// Alerts not raised because the flow had already alerted.
    pub duplicates_suppressed: u64,
    pub snapshots: u64,
    /// Open-flow records classified at snapshots.
    pub snapshot_flows_classified: u64,
    pub sinks: Vec<QueueReport>,
    pub flows_sink: Option<QueueReport>,
    /// Ctrl-C / SIGTERM (or the caller's stop flag) ended the run.
    pub stopped: bool,
    /// The error that ended the run early; flows seen until then were still classified.
    pub error: Option<String>,
}

impl WatchReport {
    pub fn alerts(&self) -> u64 {
        self.alerts_completed + self.alerts_ongoing
    }

    /// The report as JSON (`--report FILE`).
    pub fn to_json(&self) -> serde_json::Value {
        let s = &self.summary;
        json!({
            "source": self.source,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "packets": {
                "read": s.packets_read,
                "decoded": s.packets_decoded,
                "skipped": s.skipped,
            },
            "flows": {
                "emitted": s.flows_emitted(),
                "by_termination": s.flows.iter().map(|(k, v)| (k.as_str(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
                "dropped_short": s.flows_dropped_short,
            },
            "detection": self.detection,
            "capture": self.capture,
            "alerts": {
                "total": self.alerts(),
                "completed_flows": self.alerts_completed,
                "ongoing_flows": self.alerts_ongoing,
                "duplicates_suppressed": self.duplicates_suppressed,
            },
            "snapshots": {
                "runs": self.snapshots,
                "flows_classified": self.snapshot_flows_classified,
            },
            "sinks": self.sinks,
            "flows_sink": self.flows_sink,
            "stopped": self.stopped,
            "error": self.error,
        })
    }
}

impl fmt::Display for WatchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "watch {}: {:.1}s{}",
            self.source,
            self.elapsed.as_secs_f64(),
            if self.stopped { " (stopped)" } else { "" }
        )?;
        write!(f, "{}", self.summary)?;
        if let Some(c) = self.capture {
            writeln!(
                f,
                "libpcap: received {}, dropped {} (buffer full), interface dropped {}",
                c.received, c.dropped, c.if_dropped
            )?;
        }
        write!(f, "{}", self.detection)?;
        writeln!(
            f,
            "alerts raised:     {} ({} completed flows, {} still-open flows; {} duplicates suppressed)",
            self.alerts(),
            self.alerts_completed,
            self.alerts_ongoing,
            self.duplicates_suppressed
        )?;
        writeln!(
            f,
            "snapshots:         {} ({} open-flow records classified)",
            self.snapshots, self.snapshot_flows_classified
        )?;
        for s in self.sinks.iter().chain(self.flows_sink.as_ref()) {
            writeln!(f, "sink {s}")?;
        }
        if let Some(e) = &self.error {
            writeln!(f, "error: {e}")?;
        }
        Ok(())
    }
}

/// Verdicts are only tallied here; alerts and flows are routed by [`Classify`] itself.
struct Discard;

impl VerdictSink for Discard {
    fn verdict(&mut self, _f: &FlowRecord, _v: &Verdict) -> Result<(), SinkError> {
        Ok(())
    }
}

/// The classifying flow sink of the run loop.
struct Classify<'a> {
    models: &'a Models,
    outputs: &'a Outputs,
    alert_source: String,
    in_iface: String,
    pending: Vec<FlowRecord>,
    batch: usize,
    tally: Tally<Discard>,
    dedup: Dedup,
    classified: u64,
    alerts_completed: u64,
    alerts_ongoing: u64,
    snapshots: u64,
    snapshot_classified: u64,
}

impl Classify<'_> {
    /// Plain verdicts for `flows`, with the attack ones replaced by explained verdicts.
    fn verdicts(&self, flows: &[FlowRecord]) -> Result<Vec<Verdict>, WatchError> {
        let mut verdicts = self.models.plain.classify_records(flows)?;
        let attacks: Vec<usize> = (0..flows.len())
            .filter(|&i| verdicts[i].is_attack)
            .collect();
        if !attacks.is_empty() {
            let sel: Vec<FlowRecord> = attacks.iter().map(|&i| flows[i].clone()).collect();
            let explained = self.models.explaining.classify_records(&sel)?;
            for (i, v) in attacks.into_iter().zip(explained) {
                verdicts[i] = v;
            }
        }
        Ok(verdicts)
    }

    fn alert(&self, flow: &FlowRecord, v: &Verdict, ongoing: bool) {
        let ev = std::sync::Arc::new(AlertEvent::new(
            flow,
            v,
            &self.alert_source,
            &self.in_iface,
            self.models.category(&v.label),
            ongoing,
            self.models.plain.threshold(),
        ));
        for q in &self.outputs.alerts {
            q.send(ev.clone());
        }
    }

    /// Classify the completed flows waiting for a batch.
    fn flush(&mut self) -> Result<(), WatchError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let flows = std::mem::take(&mut self.pending);
        let verdicts = self.verdicts(&flows)?;
        self.classified += flows.len() as u64;
        for (flow, v) in flows.into_iter().zip(verdicts) {
            let _ = self.tally.verdict(&flow, &v);
            let already = self.dedup.completed(&flow, v.is_attack);
            if v.is_attack && !already {
                self.alerts_completed += 1;
                self.alert(&flow, &v, false);
            }
            if let Some(q) = &self.outputs.flows {
                q.send(Box::new((flow, v)));
            }
        }
        Ok(())
    }

    /// Classify open flows as they stand; alert once per flow.
    fn snapshot(&mut self, open: Vec<FlowRecord>) -> Result<(), WatchError> {
        self.snapshots += 1;
        self.dedup.retain_live(&open);
        let fresh: Vec<FlowRecord> = open
            .into_iter()
            .filter(|f| !self.dedup.is_alerted(f))
            .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        let verdicts = self.verdicts(&fresh)?;
        self.snapshot_classified += fresh.len() as u64;
        for (flow, v) in fresh.iter().zip(&verdicts) {
            if v.is_attack && self.dedup.ongoing(flow) {
                self.alerts_ongoing += 1;
                self.alert(flow, v, true);
            }
        }
        Ok(())
    }
}

impl FlowSink for Classify<'_> {
    fn flow(&mut self, flow: &FlowRecord) -> Result<(), SinkError> {
        self.pending.push(flow.clone());
        if self.pending.len() >= self.batch {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), SinkError> {
        Ok(self.flush()?)
    }
}

fn classify_err(e: SinkError) -> WatchError {
    WatchError::Classify(e.to_string())
}

/// Run until the source ends, `stop` is set (Ctrl-C, SIGTERM) or the source fails. Open flows are
/// then flushed and classified, the sinks get `cfg.drain_grace` to deliver, and the report says
/// what happened; a source failure is in [`WatchReport::error`], with everything seen before it
/// still classified.
pub fn run(
    source: &mut dyn PacketSource,
    models: &Models,
    cfg: &WatchConfig,
    outputs: Outputs,
    stop: &AtomicBool,
    on_status: &mut dyn FnMut(&Status),
) -> Result<WatchReport, WatchError> {
    if cfg.meter.mode != models.mode() {
        return Err(WatchError::Config(format!(
            "the model was trained on {}-mode features but flows would be built in {} mode",
            models.mode(),
            cfg.meter.mode
        )));
    }
    let started = Instant::now();
    let name = source.name().to_string();
    let (alert_source, in_iface) = match name.strip_prefix("replay:") {
        Some(_) => (name.clone(), "replay".to_string()),
        None => (format!("watch:{name}"), name.clone()),
    };
    let mut pipeline = Pipeline::new(cfg.meter.clone());
    let mut sink = Classify {
        models,
        outputs: &outputs,
        alert_source,
        in_iface,
        pending: Vec::new(),
        batch: cfg.batch.max(1),
        tally: Tally::new(Discard),
        dedup: Dedup::default(),
        classified: 0,
        alerts_completed: 0,
        alerts_ongoing: 0,
        snapshots: 0,
        snapshot_classified: 0,
    };
    let mut next_tick = started + cfg.tick;
    let mut next_status = (!cfg.status_every.is_zero())
        .then(|| started.checked_add(cfg.status_every))
        .flatten();
    let mut next_snapshot: Option<i64> = None;
    let mut stopped = false;
    let outcome: Result<(), WatchError> = (|| loop {
        if stop.load(Ordering::Relaxed) {
            stopped = true;
            return Ok(());
        }
        match source.next()? {
            Next::Frame {
                linktype,
                ts_us,
                data,
            } => pipeline
                .push_frame(linktype, ts_us, data, &mut sink)
                .map_err(classify_err)?,
            Next::Idle => {}
            Next::End => return Ok(()),
        }
        if cfg.snapshot_every_us > 0 {
            let now = pipeline.meter().now_us();
            if now != i64::MIN {
                match next_snapshot {
                    None => next_snapshot = Some(now + cfg.snapshot_every_us),
                    Some(t) if now >= t => {
                        // Completed flows first: a flow that alerted while open and has just
                        // completed must be matched against its alert before the snapshot forgets it.
                        pipeline.drain(&mut sink).map_err(classify_err)?;
                        sink.flush()?;
                        let open = pipeline
                            .meter()
                            .snapshot_long_running(cfg.snapshot_min_age_us);
                        sink.snapshot(open)?;
                        next_snapshot = Some(now + cfg.snapshot_every_us);
                    }
                    Some(_) => {}
                }
            }
        }
        let now = Instant::now();
        if now >= next_tick {
            next_tick = now + cfg.tick;
            if let Some(clock) = source.clock_us() {
                pipeline.meter_mut().advance_clock(clock);
                pipeline.drain(&mut sink).map_err(classify_err)?;
            }
            sink.flush()?;
            if next_status.is_some_and(|t| now >= t) {
                next_status = now.checked_add(cfg.status_every);
                let status = Status {
                    source: name.clone(),
                    elapsed: started.elapsed(),
                    packets: pipeline.summary().packets_read,
                    capture: source.stats(),
                    open_flows: pipeline.meter().live_flows(),
                    flows_classified: sink.classified,
                    alerts: sink.alerts_completed + sink.alerts_ongoing,
                    sinks: outputs
                        .alerts
                        .iter()
                        .map(|q| q.report())
                        .chain(outputs.flows.as_ref().map(|q| q.report()))
                        .collect(),
                };
                on_status(&status);
            }
        }
    })();
    let mut error = outcome.err().map(|e| e.to_string());
    // Flush open flows and classify them, even after a capture error.
    let summary = match pipeline.finish(&mut sink) {
        Ok(s) => s,
        Err(e) => {
            error.get_or_insert_with(|| e.to_string());
            Summary::default()
        }
    };
    let capture = source.stats();
    let detection = sink.tally.stats();
    let (alerts_completed, alerts_ongoing, snapshots, snapshot_flows_classified) = (
        sink.alerts_completed,
        sink.alerts_ongoing,
        sink.snapshots,
        sink.snapshot_classified,
    );
    let duplicates_suppressed = sink.dedup.suppressed();
    drop(sink);
    let Outputs { alerts, flows } = outputs;
    let sinks = alerts
        .into_iter()
        .map(|q| q.close(cfg.drain_grace))
        .collect();
    let flows_sink = flows.map(|q| q.close(cfg.drain_grace));
    Ok(WatchReport {
        source: name,
        elapsed: started.elapsed(),
        summary,
        detection,
        capture,
        alerts_completed,
        alerts_ongoing,
        duplicates_suppressed,
        snapshots,
        snapshot_flows_classified,
        sinks,
        flows_sink,
        stopped,
        error,
    })
}
