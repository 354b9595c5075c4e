//! The classifying sink: where finished flows become verdicts in every front end (`detect`,
//! upload and stream ingest, `watch`, the testbed).
//!
//! Flows are observed into the host-behaviour stage as they arrive, classified by the model in
//! batches, and then *held back* for a while of flow time before their verdicts are decided and
//! handed on: a port scan is recognisable only after a few probes and a flood only after a window
//! of them, so the first flows of an attack are judged with what the later ones revealed. The
//! hold is bounded in flow time ([`DEFAULT_HOLD_BACK_US`] live, [`FILE_HOLD_BACK_US`] for files)
//! and in flows ([`MAX_HELD`]); verdicts leave in flow order. A flow is decided as soon as its hold
//! has passed, with what the stage has observed by then, so the model's batch size changes no
//! verdict.

use crate::detector::{decide, Detector, Explain, ModelOpinion, VerdictSink};
use crate::error::ModelError;
use mlids_behaviour::HostBehaviour;
use mlids_flow::{FlowRecord, FlowSink, SinkError, Summary};
use std::collections::VecDeque;

/// Flows classified together by default: large enough to amortise the per-call cost, small
/// enough that memory stays a few MiB.
pub const DEFAULT_BATCH: usize = 4096;

/// How long (flow time) a flow waits for the host-behaviour stage: the flood window, so every
/// flow of the window in which a flood is recognised is labelled with it.
pub const DEFAULT_HOLD_BACK_US: i64 = 10_000_000;

/// How long flows of a capture *file* wait (`detect`, uploads, the testbed's scoring): the longest
/// window of the host-behaviour stage (a brute force's minute), so the first attempts of a slow
/// brute force or scan are judged with the flows that revealed it. A file has no reader waiting
/// for the alert; live sources keep [`DEFAULT_HOLD_BACK_US`].
pub const FILE_HOLD_BACK_US: i64 = 60_000_000;

/// Flows held at most; beyond it the oldest are decided early (a flood of millions of flows must
/// not hold gigabytes).
pub const MAX_HELD: usize = 32_768;

/// The classifying sink: a [`FlowSink`] that classifies flows in batches and hands (flow,
/// verdict) pairs to a [`VerdictSink`]. Call [`DetectorSink::flush`] to classify what is pending
/// and [`DetectorSink::advance_clock`] on a live source's timer, so held flows leave when the
/// link is quiet.
pub struct DetectorSink<'d, S: VerdictSink> {
    detector: &'d Detector,
    inner: S,
    /// Waiting for their model batch.
    pending: Vec<FlowRecord>,
    /// Observed and classified, waiting for the hold-back to pass.
    held: VecDeque<(FlowRecord, Option<ModelOpinion>)>,
    batch: usize,
    explain: Explain,
    hosts: Option<HostBehaviour>,
    hold_back_us: i64,
    /// Latest flow time seen (last packets, or the live clock).
    clock_us: i64,
}

impl<'d, S: VerdictSink> DetectorSink<'d, S> {
    /// Batches of [`DEFAULT_BATCH`], no explanations, the host-behaviour stage with its defaults.
    pub fn new(detector: &'d Detector, inner: S) -> Self {
        DetectorSink {
            detector,
            inner,
            pending: Vec::new(),
            held: VecDeque::new(),
            batch: DEFAULT_BATCH,
            explain: Explain::None,
            hosts: Some(HostBehaviour::default()),
            hold_back_us: DEFAULT_HOLD_BACK_US,
            clock_us: i64::MIN,
        }
    }

    /// Classify in batches of `batch` flows (1: each flow as it ends, for streams).
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Which verdicts carry explanations.
    pub fn explain(mut self, explain: Explain) -> Self {
        self.explain = explain;
        self
    }

    /// Replace the host-behaviour stage (`None`: the flow classifier alone, and no hold-back).
    pub fn hosts(mut self, hosts: Option<HostBehaviour>) -> Self {
        self.hosts = hosts;
        self
    }

    /// How long flows wait for the host-behaviour stage (flow time; 0: decide at once).
    pub fn hold_back(mut self, us: i64) -> Self {
        self.hold_back_us = us.max(0);
        self
    }

    pub fn detector(&self) -> &'d Detector {
        self.detector
    }

    /// Flows waiting for their batch or their hold-back.
    pub fn pending(&self) -> usize {
        self.pending.len() + self.held.len()
    }

    /// The inner sink, the host-behaviour stage and the held flows at once: watch's snapshots
    /// alert through the first, feed open attempts to and judge open flows against the second,
    /// and must not forget alerts of flows that finished but are still held.
    pub fn snapshot_parts(
        &mut self,
    ) -> (
        &mut S,
        Option<&mut HostBehaviour>,
        impl Iterator<Item = &FlowRecord>,
    ) {
        (
            &mut self.inner,
            self.hosts.as_mut(),
            self.held.iter().map(|(f, _)| f),
        )
    }

    /// Classify the pending flows and hand on those whose hold-back has passed.
    pub fn flush(&mut self) -> Result<(), SinkError> {
        self.classify_pending()?;
        self.release(false)
    }

    /// The flow clock of a live source moved to `now_us` (no flow needs to have ended): held
    /// flows old enough leave.
    pub fn advance_clock(&mut self, now_us: i64) -> Result<(), SinkError> {
        self.clock_us = self.clock_us.max(now_us);
        self.flush()
    }

    fn classify_pending(&mut self) -> Result<(), SinkError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let model = self
            .detector
            .classify_in_scope(&self.pending, self.explain)?;
        self.held.extend(self.pending.drain(..).zip(model));
        Ok(())
    }

    /// Decide and hand on held flows: all of them, or those past the hold-back (and the oldest
    /// beyond [`MAX_HELD`]).
    fn release(&mut self, all: bool) -> Result<(), SinkError> {
        while let Some((f, _)) = self.held.front() {
            let due = all || self.waiting() > MAX_HELD || self.hold_passed(f);
            if !due {
                break;
            }
            let (flow, model) = self.held.pop_front().expect("front exists");
            let v = decide(&flow, model, self.hosts.as_ref());
            self.inner.verdict(&flow, &v)?;
        }
        Ok(())
    }

    /// Flows observed and not yet decided, classified or not: the bound on them is reached at the
    /// same flow whatever the batch size.
    fn waiting(&self) -> usize {
        self.held.len() + self.pending.len()
    }

    /// Whether the flow clock has passed `flow`'s end by the hold-back (none without the
    /// host-behaviour stage: nothing to wait for).
    fn hold_passed(&self, flow: &FlowRecord) -> bool {
        let hold = if self.hosts.is_some() {
            self.hold_back_us
        } else {
            0
        };
        flow.end_us.saturating_add(hold) <= self.clock_us
    }

    /// Whether `flow` waits for the host-behaviour stage and its hold has passed: it must be
    /// decided now, with what the stage has seen so far, whatever the batch size (a pending one
    /// classified first). Without the stage, batches stay full.
    fn is_due(&self, flow: Option<&FlowRecord>) -> bool {
        self.hosts.is_some() && flow.is_some_and(|f| self.hold_passed(f))
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: VerdictSink> FlowSink for DetectorSink<'_, S> {
    fn flow(&mut self, flow: &FlowRecord) -> Result<(), SinkError> {
        if flow.mode != self.detector.mode() {
            return Err(Box::new(ModelError::ModeMismatch {
                model: self.detector.mode().to_string(),
                input: flow.mode.to_string(),
            }));
        }
        // Observed on arrival, and the batch is classified early when its oldest flow's hold-back
        // has passed: what the stage had seen when a flow was decided depended on the batch size
        // before, and `detect` (batches of 4,096) labelled the first attempts of a slow brute
        // force that the stream ingest (batches of one) and `watch` left benign.
        if let Some(h) = self.hosts.as_mut() {
            h.observe(flow);
        }
        self.clock_us = self.clock_us.max(flow.end_us);
        self.pending.push(flow.clone());
        if self.pending.len() >= self.batch || self.is_due(self.pending.first()) {
            self.flush()?;
        } else if self.waiting() > MAX_HELD || self.is_due(self.held.front().map(|(f, _)| f)) {
            self.release(false)?;
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), SinkError> {
        self.classify_pending()?;
        self.release(true)?;
        self.inner.finish(summary)
    }
}
