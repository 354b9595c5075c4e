//! The tracker as a stage of the pipeline.

use crate::tracker::{IncidentConfig, IncidentEvent, IncidentTracker};
use mlids_flow::{FlowRecord, SinkError, Summary};
use mlids_model::{Detector, Explain, Stage, Verdict, VerdictSink};

/// Features explained for an incident's sample flows.
const SAMPLE_EXPLAIN_TOP: usize = 5;

/// A [`VerdictSink`] between the detector and the outputs: every verdict goes on to `inner`
/// unchanged, and the incidents they form are reported to `on_event` as they open, update and
/// close (all still open close when the input ends).
pub struct IncidentSink<'d, S, F> {
    detector: &'d Detector,
    tracker: IncidentTracker,
    inner: S,
    on_event: F,
}

impl<'d, S, F> IncidentSink<'d, S, F>
where
    S: VerdictSink,
    F: FnMut(&IncidentEvent) -> Result<(), SinkError>,
{
    /// `detector` names each verdict's family (its label's category, or the host-behaviour
    /// stage's).
    pub fn new(detector: &'d Detector, config: IncidentConfig, inner: S, on_event: F) -> Self {
        IncidentSink {
            detector,
            tracker: IncidentTracker::new(config),
            inner,
            on_event,
        }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn into_parts(self) -> (S, F) {
        (self.inner, self.on_event)
    }
}

impl<S, F> VerdictSink for IncidentSink<'_, S, F>
where
    S: VerdictSink,
    F: FnMut(&IncidentEvent) -> Result<(), SinkError>,
{
    fn verdict(&mut self, flow: &FlowRecord, verdict: &Verdict) -> Result<(), SinkError> {
        self.inner.verdict(flow, verdict)?;
        let family = self.detector.verdict_category(verdict);
        // Unexplained flow-classifier verdicts (uploads explain nothing up front) are explained
        // here for the few flows an incident keeps as samples: its top features cost ≤ 5
        // explanations, not one per attack flow.
        let explained;
        let verdict = if verdict.is_attack
            && verdict.stage == Stage::FlowModel
            && verdict.top_features.is_empty()
            && self.tracker.wants_sample(flow, verdict, family)
        {
            match self
                .detector
                .classify_record(flow, Explain::all(SAMPLE_EXPLAIN_TOP))
            {
                Ok(e) => {
                    explained = Verdict {
                        top_features: e.top_features,
                        ..verdict.clone()
                    };
                    &explained
                }
                Err(_) => verdict,
            }
        } else {
            verdict
        };
        for e in self.tracker.observe(flow, verdict, family) {
            (self.on_event)(&e)?;
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), SinkError> {
        for e in self.tracker.finish() {
            (self.on_event)(&e)?;
        }
        self.inner.finish(summary)
    }
}
