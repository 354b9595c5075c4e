//! The one packets→flows pipeline: capture reader → decoder → flow meter → sink.
//!
//! `extract`, `detect`, pcap upload, streaming ingest and live capture all drive this type; they
//! differ only in where frames come from and which sink takes the flows.

use crate::capture::{CaptureError, CaptureReader};
use crate::config::MeterConfig;
use crate::decode::{decode, SkipReason};
use crate::meter::FlowMeter;
use crate::record::Termination;
use crate::sink::{FlowSink, SinkError};
use std::collections::BTreeMap;
use std::fmt;

/// Accounting for a run. Invariant: `packets_read == packets_decoded + Σ skipped`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub packets_read: u64,
    pub packets_decoded: u64,
    /// Skipped packets by reason label (`link type IEEE802_11`, `non-first IP fragment`, …).
    pub skipped: BTreeMap<String, u64>,
    /// Decoded packets absorbed into a just-closed connection (corrected mode).
    pub packets_absorbed: u64,
    /// Flows emitted, by termination reason.
    pub flows: BTreeMap<Termination, u64>,
    /// Flows dropped for having too few packets.
    pub flows_dropped_short: u64,
    /// Bytes of capture data consumed.
    pub bytes_read: u64,
    /// Inputs that ended in an error, with the error text (file and byte offset).
    pub errors: Vec<String>,
}

impl Summary {
    pub fn flows_emitted(&self) -> u64 {
        self.flows.values().sum()
    }
    pub fn packets_skipped(&self) -> u64 {
        self.skipped.values().sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "packets read:      {}", self.packets_read)?;
        writeln!(f, "  decoded:         {}", self.packets_decoded)?;
        writeln!(f, "  skipped:         {}", self.packets_skipped())?;
        for (why, n) in &self.skipped {
            writeln!(f, "    {why}: {n}")?;
        }
        if self.packets_absorbed > 0 {
            writeln!(f, "  absorbed after close: {}", self.packets_absorbed)?;
        }
        writeln!(f, "flows emitted:     {}", self.flows_emitted())?;
        for (why, n) in &self.flows {
            writeln!(f, "  {why}: {n}")?;
        }
        writeln!(
            f,
            "flows dropped (too few packets): {}",
            self.flows_dropped_short
        )?;
        for e in &self.errors {
            writeln!(f, "error: {e}")?;
        }
        Ok(())
    }
}

/// Why a pipeline run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error("output failed: {0}")]
    Sink(SinkError),
}

/// Progress callback: (bytes read in the current input, packets read so far).
pub type ProgressFn = Box<dyn FnMut(u64, u64) + Send>;

pub struct Pipeline {
    meter: FlowMeter,
    summary: Summary,
    progress: Option<ProgressFn>,
}

impl Pipeline {
    pub fn new(cfg: MeterConfig) -> Self {
        Pipeline {
            meter: FlowMeter::new(cfg),
            summary: Summary::default(),
            progress: None,
        }
    }

    pub fn set_progress(&mut self, f: ProgressFn) {
        self.progress = Some(f);
    }

    pub fn meter(&self) -> &FlowMeter {
        &self.meter
    }

    pub fn meter_mut(&mut self) -> &mut FlowMeter {
        &mut self.meter
    }

    /// One frame in; finished flows go to `sink` at once.
    #[inline]
    pub fn push_frame(
        &mut self,
        linktype: u32,
        ts_us: i64,
        data: &[u8],
        sink: &mut dyn FlowSink,
    ) -> Result<(), SinkError> {
        self.summary.packets_read += 1;
        let outcome = decode(linktype, ts_us, data).and_then(|pkt| self.meter.push(&pkt));
        match outcome {
            Ok(()) => self.summary.packets_decoded += 1,
            Err(why) => self.skip(why),
        }
        self.drain(sink)
    }

    fn skip(&mut self, why: SkipReason) {
        // Labels are few; the lookup by &str avoids allocating in the common (already present) case.
        if let Some(n) = self.summary.skipped.get_mut(why.label().as_str()) {
            *n += 1;
        } else {
            self.summary.skipped.insert(why.label(), 1);
        }
    }

    /// Hand finished flows to the sink.
    pub fn drain(&mut self, sink: &mut dyn FlowSink) -> Result<(), SinkError> {
        while let Some(flow) = self.meter.pop_finished() {
            sink.flow(&flow)?;
        }
        Ok(())
    }

    /// Read a whole capture. On a capture error, flows built so far are still handed to the sink
    /// and the error (with its file and offset) is recorded in the summary and returned.
    pub fn run_reader(
        &mut self,
        reader: &mut CaptureReader,
        sink: &mut dyn FlowSink,
    ) -> Result<(), PipelineError> {
        let mut since_progress = 0u32;
        let start_bytes = self.summary.bytes_read;
        let result = loop {
            match reader.next_frame() {
                Ok(Some(frame)) => {
                    let (lt, ts, data) = (frame.linktype, frame.ts_us, frame.data);
                    self.push_frame(lt, ts, data, sink)
                        .map_err(PipelineError::Sink)?;
                    since_progress += 1;
                    if since_progress == 4096 {
                        since_progress = 0;
                        if let Some(p) = self.progress.as_mut() {
                            p(reader.bytes_read(), self.summary.packets_read);
                        }
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => {
                    self.summary.errors.push(e.to_string());
                    break Err(PipelineError::Capture(e));
                }
            }
        };
        self.summary.bytes_read = start_bytes + reader.bytes_read();
        if let Some(p) = self.progress.as_mut() {
            p(reader.bytes_read(), self.summary.packets_read);
        }
        self.drain(sink).map_err(PipelineError::Sink)?;
        result
    }

    /// End of input: flush open flows into the sink, finish it, return the accounting.
    pub fn finish(mut self, sink: &mut dyn FlowSink) -> Result<Summary, SinkError> {
        self.meter.flush();
        self.drain(sink)?;
        let summary = self.summary();
        sink.finish(&summary)?;
        Ok(summary)
    }

    /// The accounting so far.
    pub fn summary(&self) -> Summary {
        let mut s = self.summary.clone();
        let c = self.meter.counters();
        s.flows = c.flows.clone();
        s.flows_dropped_short = c.dropped_short;
        s.packets_absorbed = c.absorbed;
        s
    }
}
