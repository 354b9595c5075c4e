//! One alert per flow. Long-running flows are classified again at every snapshot period; once one
//! has raised an alert it must not raise another each period, nor again when it finally completes.
//!
//! A flow is identified by its key and its first packet's time: a later flow on the same 5-tuple
//! (after a FIN, or the continuation the active timeout starts) is a different flow and may alert.

use mlids_flow::key::FlowKey;
use mlids_flow::FlowRecord;
use std::collections::HashSet;

/// A flow's identity: key and first packet's time.
pub type Id = (FlowKey, i64);

pub fn id(flow: &FlowRecord) -> Id {
    (flow.key, flow.start_us)
}

/// Flows that raised an alert while still open.
#[derive(Default, Debug)]
pub struct Dedup {
    alerted: HashSet<Id>,
    suppressed: u64,
}

impl Dedup {
    /// Has this open flow already alerted?
    pub fn is_alerted(&self, flow: &FlowRecord) -> bool {
        self.alerted.contains(&id(flow))
    }

    /// An open flow was classified as an attack: `true` if this is its first alert (raise it),
    /// `false` if it alerted before (suppress; counted).
    pub fn ongoing(&mut self, flow: &FlowRecord) -> bool {
        if self.alerted.insert(id(flow)) {
            true
        } else {
            self.suppressed += 1;
            false
        }
    }

    /// A flow completed. Forgets it and returns `true` if it alerted while open, in which case a
    /// completion alert would be a duplicate (the caller suppresses it; counted here when
    /// `is_attack`).
    pub fn completed(&mut self, flow: &FlowRecord, is_attack: bool) -> bool {
        let was = self.alerted.remove(&id(flow));
        if was && is_attack {
            self.suppressed += 1;
        }
        was
    }

    /// Forget flows that are no longer open. `live` are the open flows old enough to be in a
    /// snapshot, which includes every flow that alerted while open; completions must have been
    /// processed before, so nothing still pending is forgotten. Keeps memory bounded even if a
    /// completion were missed.
    pub fn retain_live<'a>(&mut self, live: impl IntoIterator<Item = &'a FlowRecord>) {
        self.retain_ids(&live.into_iter().map(id).collect());
    }

    /// [`Dedup::retain_live`] with the identities of the live flows.
    pub fn retain_ids(&mut self, live: &HashSet<Id>) {
        self.alerted.retain(|k| live.contains(k));
    }

    /// Flows remembered as alerted.
    pub fn len(&self) -> usize {
        self.alerted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.alerted.is_empty()
    }

    /// Alerts suppressed as duplicates so far.
    pub fn suppressed(&self) -> u64 {
        self.suppressed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlids_flow::synth::{tcp, Link, CLIENT, SERVER, T0};
    use mlids_flow::{MeterConfig, Mode, Pipeline, VecSink};

    /// Flow records of a long SYN-ish conversation, snapshotted several times while open.
    fn snapshots() -> (Vec<Vec<FlowRecord>>, Vec<FlowRecord>) {
        let mut p = Pipeline::new(MeterConfig::new(Mode::Cic2018));
        let mut sink = VecSink::default();
        let mut snaps = Vec::new();
        for i in 0..40 {
            let f = tcp(
                T0 + i * 1_000_000,
                CLIENT,
                SERVER,
                "S",
                0,
                64,
                Link::default(),
            );
            p.push_frame(1, f.ts_us, &f.data, &mut sink).unwrap();
            if i % 10 == 9 {
                snaps.push(p.meter().snapshot_long_running(5_000_000));
            }
        }
        let summary = p.finish(&mut sink).unwrap();
        assert_eq!(summary.flows_emitted(), 1);
        (snaps, sink.0)
    }

    #[test]
    fn a_long_flow_alerts_once_across_periods_and_completion() {
        let (snaps, done) = snapshots();
        let mut d = Dedup::default();
        let mut raised = 0;
        for snap in &snaps {
            assert_eq!(snap.len(), 1);
            // The run loop skips flows already alerted before classifying; `ongoing` guards too.
            for f in snap {
                if d.ongoing(f) {
                    raised += 1;
                }
            }
            d.retain_live(snap);
        }
        assert_eq!(raised, 1, "one alert while open");
        assert_eq!(d.suppressed(), 3, "three later periods suppressed");
        assert!(
            d.is_alerted(&done[0]),
            "the completed record is the same flow"
        );
        assert!(
            d.completed(&done[0], true),
            "completion alert is a duplicate"
        );
        assert_eq!(d.suppressed(), 4);
        assert!(d.is_empty(), "forgotten once complete");
        // The same 5-tuple starting later is a new flow.
        let mut later = done[0].clone();
        later.start_us += 300_000_000;
        assert!(d.ongoing(&later));
    }

    #[test]
    fn flows_gone_from_the_table_are_forgotten() {
        let (snaps, _) = snapshots();
        let mut d = Dedup::default();
        assert!(d.ongoing(&snaps[0][0]));
        d.retain_live(std::iter::empty::<&FlowRecord>());
        assert_eq!(d.len(), 0);
    }

    #[test]
    fn completion_of_a_flow_that_never_alerted_is_not_a_duplicate() {
        let (_, done) = snapshots();
        let mut d = Dedup::default();
        assert!(!d.completed(&done[0], true));
        assert_eq!(d.suppressed(), 0);
    }
}
