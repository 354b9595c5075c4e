//! The watch loop: frames → the one flow pipeline → classification → incidents → sink queues.
//!
//! Completed flows are classified in small batches (at least every `tick`, so alerts are timely on
//! a quiet link). Every `snapshot_every` of capture time the flows that have been open for at least
//! `snapshot_min_age` are classified as they stand, so a slow DoS that keeps its connections open is
//! reported within seconds instead of at the 120 s active timeout; a flow that alerted this way does
//! not alert again, at later snapshots or when it completes. A timer advances the flow clock from
//! the source when no packets arrive, so idle flows expire on a silent link too.
//!
//! Each flow's first verdict (an attack seen at a snapshot, or the verdict at completion) goes into
//! the [`IncidentTracker`] — the one `detect` and the server use — so an attack is one incident that
//! opens, reports progress and closes in flow time; the tick moves the tracker's clock too, so
//! incidents close when the link goes quiet, and the end of the run closes the rest.

use crate::dedup::Dedup;
use crate::error::WatchError;
use crate::event::{AlertEvent, ClassifiedFlow, IncidentNote, Origin, WatchEvent};
use crate::outputs::{Interest, Outputs};
use crate::queue::QueueReport;
use mlids_flow::{
    CaptureStats, FlowRecord, MeterConfig, Mode, PacketSource, Pipeline, RunHooks, SinkError,
    Summary,
};
use mlids_incident::{EventKind, IncidentConfig, IncidentEvent, IncidentTracker};
use mlids_model::detector::judged_by_model;
use mlids_model::output::{DetectionStats, Discard, Tally};
use mlids_model::sink::DEFAULT_HOLD_BACK_US;
use mlids_model::{Detector, DetectorSink, Explain, HostBehaviour, Verdict, VerdictSink};
use serde::Serialize;
use serde_json::json;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Top contributing features attached to each alert (0: none). Only alerts are explained.
    pub explain_top: usize,
    /// When incidents close (idle timeout, flow time) and how often they report progress.
    pub incidents: IncidentConfig,
}

impl WatchConfig {
    pub fn new(mode: Mode) -> WatchConfig {
        WatchConfig {
            meter: MeterConfig::live(mode),
            snapshot_every_us: 10_000_000,
            snapshot_min_age_us: 10_000_000,
            tick: Duration::from_millis(200),
            status_every: Duration::from_secs(10),
            batch: 512,
            drain_grace: Duration::from_secs(5),
            explain_top: 3,
            incidents: IncidentConfig::default(),
        }
    }
}

/// Incident events sent so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IncidentCounts {
    pub opened: u64,
    pub updated: u64,
    pub closed: u64,
}

impl IncidentCounts {
    /// Incidents open now.
    pub fn open(&self) -> u64 {
        self.opened.saturating_sub(self.closed)
    }

    fn count(&mut self, kind: EventKind) {
        match kind {
            EventKind::Opened => self.opened += 1,
            EventKind::Updated => self.updated += 1,
            EventKind::Closed => self.closed += 1,
        }
    }
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
    /// Attack flows (each one's first attack verdict).
    pub alerts: u64,
    pub incidents: IncidentCounts,
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
            "; flows open {}, classified {}; attack flows {}; incidents open {} ({} opened)",
            self.open_flows,
            self.flows_classified,
            self.alerts,
            self.incidents.open(),
            self.incidents.opened
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
    pub incidents: IncidentCounts,
    pub sinks: Vec<QueueReport>,
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
            "capture": self.capture.map(|c| json!({
                "received": c.received,
                "dropped": c.dropped,
                "if_dropped": c.if_dropped,
            })),
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
            "incidents": self.incidents,
            "sinks": self.sinks,
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
            "attack flows:      {} ({} completed flows, {} still-open flows; {} duplicates suppressed)",
            self.alerts(),
            self.alerts_completed,
            self.alerts_ongoing,
            self.duplicates_suppressed
        )?;
        writeln!(
            f,
            "incidents:         {} opened, {} closed ({} progress reports)",
            self.incidents.opened, self.incidents.closed, self.incidents.updated
        )?;
        writeln!(
            f,
            "snapshots:         {} ({} open-flow records classified)",
            self.snapshots, self.snapshot_flows_classified
        )?;
        for s in &self.sinks {
            writeln!(f, "sink {s}")?;
        }
        if let Some(e) = &self.error {
            writeln!(f, "error: {e}")?;
        }
        Ok(())
    }
}

/// Routes classified flows: tallies every verdict; feeds each flow's first verdict to the incident
/// tracker (suppressing the completion of a flow that alerted while open, so no flow counts twice)
/// and raises one per-flow alert per attack flow; hands completed flows to the sinks that want
/// them.
///
/// The tracker is driven here rather than through `mlids_incident::IncidentSink` because only the
/// router knows which verdict is a flow's first: snapshots judge open flows, and their completions
/// come later through the classifying sink.
struct Router<'a> {
    detector: &'a Detector,
    outputs: &'a Outputs,
    /// What at least one sink wants: events nobody wants are not built.
    interest: Interest,
    origin: Arc<Origin>,
    tally: Tally<Discard>,
    dedup: Dedup,
    incidents: IncidentTracker,
    incident_counts: IncidentCounts,
    classified: u64,
    alerts_completed: u64,
    alerts_ongoing: u64,
    snapshots: u64,
    snapshot_classified: u64,
}

impl Router<'_> {
    /// A flow's first verdict (benign ones only move the incident clock): into its incident, then
    /// its per-flow alert. `ongoing`: judged at a snapshot, still open.
    fn first_verdict(&mut self, flow: &FlowRecord, v: &Verdict, ongoing: bool) {
        let family = self.detector.verdict_category(v);
        let events = self.incidents.observe(flow, v, family);
        if !v.is_attack {
            self.publish(events, None);
            return;
        }
        let opened = events.iter().any(|e| e.kind == EventKind::Opened);
        let alert = (opened || self.interest.flow_alerts).then(|| {
            let mut ev = AlertEvent::new(
                flow,
                v,
                &self.origin,
                family,
                ongoing,
                self.detector.threshold(),
            );
            ev.incident_id = self.incidents.open_id(flow, v, family).map(str::to_string);
            Arc::new(ev)
        });
        self.publish(events, alert.clone());
        if let Some(a) = alert.filter(|_| self.interest.flow_alerts) {
            self.outputs.send(WatchEvent::FlowAlert(a));
        }
    }

    /// Count the tracker's events and send those some sink wants. `trigger`: the alert of the
    /// flow whose verdict caused them (the first flow of an incident that opened).
    fn publish(&mut self, events: Vec<IncidentEvent>, trigger: Option<Arc<AlertEvent>>) {
        for e in events {
            self.incident_counts.count(e.kind);
            if !self.interest.wants_incident(e.kind) {
                continue;
            }
            let note = IncidentNote {
                kind: e.kind,
                trigger: trigger.clone().filter(|_| e.kind == EventKind::Opened),
                incident: e.incident,
                origin: self.origin.clone(),
            };
            self.outputs.send(WatchEvent::Incident(Arc::new(note)));
        }
    }

    /// The clock of a live source moved on: incidents idle past their timeout close.
    fn advance_incidents(&mut self, now_us: i64) {
        let events = self.incidents.advance(now_us);
        self.publish(events, None);
    }

    /// A completed flow for the sinks that want every flow (`--flows`, EVE `flow` events).
    fn completed(&self, flow: &FlowRecord, v: &Verdict, alerted: bool) {
        if !self.interest.flows {
            return;
        }
        let incident_id = v
            .is_attack
            .then(|| {
                self.incidents
                    .open_id(flow, v, self.detector.verdict_category(v))
            })
            .flatten()
            .map(str::to_string);
        self.outputs.send(WatchEvent::Flow(Arc::new(ClassifiedFlow {
            flow: flow.clone(),
            verdict: v.clone(),
            alerted,
            incident_id,
            origin: self.origin.clone(),
        })));
    }

    /// Classify open flows as they stand; alert once per flow.
    /// `held`: flows that finished but wait in the classifying sink's hold-back (their alerts
    /// while open must stay remembered); `hosts`: the host-behaviour stage, which has seen the
    /// attempts among `open`.
    fn snapshot<'f>(
        &mut self,
        open: Vec<FlowRecord>,
        held: impl Iterator<Item = &'f FlowRecord>,
        hosts: Option<&HostBehaviour>,
        explain: Explain,
    ) -> Result<(), WatchError> {
        self.snapshots += 1;
        let mut live: std::collections::HashSet<crate::dedup::Id> =
            open.iter().map(crate::dedup::id).collect();
        live.extend(held.map(crate::dedup::id));
        self.dedup.retain_ids(&live);
        let fresh: Vec<FlowRecord> = open
            .into_iter()
            .filter(|f| !self.dedup.is_alerted(f))
            .collect();
        if fresh.is_empty() {
            return Ok(());
        }
        let verdicts = self.detector.judge(&fresh, explain, hosts)?;
        self.snapshot_classified += fresh.len() as u64;
        for (flow, v) in fresh.iter().zip(&verdicts) {
            if v.is_attack && self.dedup.ongoing(flow) {
                self.alerts_ongoing += 1;
                self.first_verdict(flow, v, true);
            }
        }
        Ok(())
    }
}

impl VerdictSink for Router<'_> {
    fn verdict(&mut self, flow: &FlowRecord, v: &Verdict) -> Result<(), SinkError> {
        self.classified += 1;
        self.tally.verdict(flow, v)?;
        // A flow that alerted while open went into its incident then.
        let already = self.dedup.completed(flow, v.is_attack);
        if !already {
            if v.is_attack {
                self.alerts_completed += 1;
            }
            self.first_verdict(flow, v, false);
        }
        self.completed(flow, v, already || v.is_attack);
        Ok(())
    }

    /// The input ended: every open incident closes.
    fn finish(&mut self, _summary: &Summary) -> Result<(), SinkError> {
        let events = self.incidents.finish();
        self.publish(events, None);
        Ok(())
    }
}

/// The classifying sink of a watch run: completed flows in batches, attacks explained.
type Classify<'a> = DetectorSink<'a, Router<'a>>;

/// Live capture's timers on the one run loop: snapshots of long-running flows (capture time),
/// classification of pending flows and status reports (wall time), and the stop flag.
struct WatchHooks<'a> {
    cfg: &'a WatchConfig,
    stop: &'a AtomicBool,
    started: Instant,
    name: String,
    next_snapshot: Option<i64>,
    next_status: Option<Instant>,
    on_status: &'a mut dyn FnMut(&Status),
}

impl WatchHooks<'_> {
    fn maybe_snapshot(
        &mut self,
        pipeline: &mut Pipeline,
        sink: &mut Classify,
    ) -> Result<(), SinkError> {
        if self.cfg.snapshot_every_us <= 0 {
            return Ok(());
        }
        let now = pipeline.meter().now_us();
        if now == i64::MIN {
            return Ok(());
        }
        match self.next_snapshot {
            None => self.next_snapshot = Some(now + self.cfg.snapshot_every_us),
            Some(t) if now >= t => {
                // Completed flows first: a flow that alerted while open and has just completed
                // must be matched against its alert before the snapshot forgets it.
                pipeline.drain(sink)?;
                sink.flush()?;
                let open = pipeline
                    .meter()
                    .snapshot_long_running(self.cfg.snapshot_min_age_us);
                let (router, hosts, held) = sink.snapshot_parts();
                let hosts = hosts.map(|h| {
                    open.iter()
                        .filter(|f| !judged_by_model(f))
                        .for_each(|f| h.observe_open(f));
                    &*h
                });
                router.snapshot(open, held, hosts, Explain::attacks(self.cfg.explain_top))?;
                self.next_snapshot = Some(now + self.cfg.snapshot_every_us);
            }
            Some(_) => {}
        }
        Ok(())
    }
}

impl<'a> RunHooks<Classify<'a>> for WatchHooks<'_> {
    fn tick_every(&self) -> Option<Duration> {
        Some(self.cfg.tick)
    }

    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn after_frame(
        &mut self,
        pipeline: &mut Pipeline,
        sink: &mut Classify<'a>,
    ) -> Result<(), SinkError> {
        self.maybe_snapshot(pipeline, sink)
    }

    fn tick(
        &mut self,
        pipeline: &mut Pipeline,
        sink: &mut Classify<'a>,
        source: &mut dyn PacketSource,
    ) -> Result<(), SinkError> {
        // The flow clock may have moved on a silent link: snapshots are due by capture time too.
        self.maybe_snapshot(pipeline, sink)?;
        // Held flows leave by the flow clock even when no flow ends (a quiet link).
        let now = pipeline.meter().now_us();
        if now == i64::MIN {
            sink.flush()?;
        } else {
            sink.advance_clock(now)?;
            // Verdicts of flows that ended up to the hold-back ago may still be held: incidents
            // close only where no held verdict could still join them.
            sink.inner_mut()
                .advance_incidents(now.saturating_sub(DEFAULT_HOLD_BACK_US));
        }
        let now = Instant::now();
        if self.next_status.is_some_and(|t| now >= t) {
            self.next_status = now.checked_add(self.cfg.status_every);
            let router = sink.inner();
            let status = Status {
                source: self.name.clone(),
                elapsed: self.started.elapsed(),
                packets: pipeline.summary().packets_read,
                capture: source.stats(),
                open_flows: pipeline.meter().live_flows(),
                flows_classified: router.classified,
                alerts: router.alerts_completed + router.alerts_ongoing,
                incidents: router.incident_counts,
                sinks: router.outputs.reports(),
            };
            (self.on_status)(&status);
        }
        Ok(())
    }
}

/// Run until the source ends, `stop` is set (Ctrl-C, SIGTERM) or the source fails. Open flows are
/// then flushed and classified, the sinks get `cfg.drain_grace` to deliver, and the report says
/// what happened; a source failure is in [`WatchReport::error`], with everything seen before it
/// still classified.
pub fn run(
    source: &mut dyn PacketSource,
    detector: &Detector,
    cfg: &WatchConfig,
    outputs: Outputs,
    stop: &AtomicBool,
    on_status: &mut dyn FnMut(&Status),
) -> Result<WatchReport, WatchError> {
    if cfg.meter.mode != detector.mode() {
        return Err(WatchError::Config(format!(
            "the model was trained on {}-mode features but flows would be built in {} mode",
            detector.mode(),
            cfg.meter.mode
        )));
    }
    let started = Instant::now();
    let name = source.name().to_string();
    let origin = Arc::new(match name.strip_prefix("replay:") {
        Some(_) => Origin {
            source: name.clone(),
            in_iface: "replay".to_string(),
        },
        None => Origin {
            source: format!("watch:{name}"),
            in_iface: name.clone(),
        },
    });
    let router = Router {
        detector,
        outputs: &outputs,
        interest: outputs.interest(),
        origin,
        tally: Tally::new(Discard),
        dedup: Dedup::default(),
        incidents: IncidentTracker::new(cfg.incidents.clone()),
        incident_counts: IncidentCounts::default(),
        classified: 0,
        alerts_completed: 0,
        alerts_ongoing: 0,
        snapshots: 0,
        snapshot_classified: 0,
    };
    let mut sink = DetectorSink::new(detector, router)
        .batch(cfg.batch)
        .explain(Explain::attacks(cfg.explain_top));
    let mut hooks = WatchHooks {
        cfg,
        stop,
        started,
        name: name.clone(),
        next_snapshot: None,
        next_status: (!cfg.status_every.is_zero())
            .then(|| started.checked_add(cfg.status_every))
            .flatten(),
        on_status,
    };
    // Open flows are flushed and classified at the end, even after a capture error.
    let (summary, stopped, error) =
        match Pipeline::new(cfg.meter.clone()).run(source, &mut sink, &mut hooks) {
            Ok(o) => (o.summary, o.stopped, o.error.map(|e| e.to_string())),
            Err(e) => (Summary::default(), false, Some(classify_err(e).to_string())),
        };
    let capture = source.stats();
    let router = sink.into_inner();
    let detection = router.tally.stats();
    let (alerts_completed, alerts_ongoing, snapshots, snapshot_flows_classified) = (
        router.alerts_completed,
        router.alerts_ongoing,
        router.snapshots,
        router.snapshot_classified,
    );
    let duplicates_suppressed = router.dedup.suppressed();
    let incidents = router.incident_counts;
    drop(router);
    let sinks = outputs
        .sinks
        .into_iter()
        .map(|o| o.queue.close(cfg.drain_grace))
        .collect();
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
        incidents,
        sinks,
        stopped,
        error,
    })
}

fn classify_err(e: SinkError) -> WatchError {
    WatchError::Classify(e.to_string())
}
