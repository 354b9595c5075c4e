//! The one packets→flows pipeline: packet source → decoder → flow meter → sink.
//!
//! `extract`, `detect`, pcap upload, streaming ingest, live capture, the bus sensor and the testbed
//! all drive this type through [`Pipeline::run`] (one source) or [`run_captures`] (several files
//! into one flow table); they differ only in the [`PacketSource`] frames come from, the
//! [`FlowSink`] that takes the flows, and the [`RunHooks`] that add timers (live capture's
//! snapshots, a bus sensor's batch linger) or look at each frame (the testbed's per-scenario
//! split).

use crate::capture::{CaptureReader, Frame};
use crate::config::MeterConfig;
use crate::decode::{decode, SkipReason};
use crate::meter::FlowMeter;
use crate::packet::Packet;
use crate::record::Termination;
use crate::sink::{FlowSink, SinkError};
use crate::source::{Next, PacketSource, SourceError};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

pub struct Pipeline {
    meter: FlowMeter,
    summary: Summary,
}

impl Pipeline {
    pub fn new(cfg: MeterConfig) -> Self {
        Pipeline {
            meter: FlowMeter::new(cfg),
            summary: Summary::default(),
        }
    }

    pub fn meter(&self) -> &FlowMeter {
        &self.meter
    }

    pub fn meter_mut(&mut self) -> &mut FlowMeter {
        &mut self.meter
    }

    /// One frame in; finished flows go to `sink` at once. (Front ends use [`Pipeline::run`]; this
    /// is for feeding frames by hand, as tests and benchmarks do.)
    #[inline]
    pub fn push_frame<K: FlowSink + ?Sized>(
        &mut self,
        linktype: u32,
        ts_us: i64,
        data: &[u8],
        sink: &mut K,
    ) -> Result<(), SinkError> {
        let frame = Frame {
            ts_us,
            linktype,
            data,
            orig_len: data.len() as u32,
            offset: 0,
        };
        self.push_inspected(&frame, sink, &mut ())
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
    pub fn drain<K: FlowSink + ?Sized>(&mut self, sink: &mut K) -> Result<(), SinkError> {
        while let Some(flow) = self.meter.pop_finished() {
            sink.flow(&flow)?;
        }
        Ok(())
    }

    /// Drive `source` to its end (or until `hooks` asks to stop), then flush the open flows into
    /// `sink`, finish it and return the accounting together with the source's error, if any. On a
    /// source error the flows built so far still reach the sink: work already done is kept.
    pub fn run<K: FlowSink + ?Sized, H: RunHooks<K>>(
        mut self,
        source: &mut dyn PacketSource,
        sink: &mut K,
        hooks: &mut H,
    ) -> Result<Outcome, SinkError> {
        let fed = self.feed(source, sink, hooks)?;
        let summary = self.finish(sink)?;
        Ok(Outcome {
            summary,
            error: fed.error,
            stopped: fed.stopped,
        })
    }

    /// Drive `source` to its end without finishing, so further sources can follow into the same
    /// flow table ([`run_captures`]). A source error is recorded in the summary and returned in
    /// [`Fed::error`]; only a failing sink is an `Err`.
    pub fn feed<K: FlowSink + ?Sized, H: RunHooks<K>>(
        &mut self,
        source: &mut dyn PacketSource,
        sink: &mut K,
        hooks: &mut H,
    ) -> Result<Fed, SinkError> {
        let tick_every = hooks.tick_every();
        let mut next_tick = tick_every.map(|t| Instant::now() + t);
        let mut since_progress = 0u32;
        let start_bytes = self.summary.bytes_read;
        let mut fed = Fed::default();
        loop {
            if hooks.should_stop() {
                fed.stopped = true;
                break;
            }
            let idle = match source.next() {
                Ok(Next::Frame(frame)) => {
                    self.push_inspected(&frame, sink, hooks)?;
                    hooks.after_frame(self, sink)?;
                    since_progress += 1;
                    if since_progress == 4096 {
                        since_progress = 0;
                        hooks.progress(source.bytes_read(), self.summary.packets_read);
                    }
                    false
                }
                Ok(Next::Idle) => true,
                Ok(Next::End) => break,
                Err(e) => {
                    self.summary.errors.push(e.to_string());
                    fed.error = Some(e);
                    break;
                }
            };
            // Ticks: on every idle wait, and whenever the wall-clock interval has passed.
            if let Some(every) = tick_every {
                let now = Instant::now();
                if idle || next_tick.is_some_and(|t| now >= t) {
                    next_tick = Some(now + every);
                    if let Some(clock) = source.clock_us() {
                        self.meter.advance_clock(clock);
                        self.drain(sink)?;
                    }
                    hooks.tick(self, sink, source)?;
                }
            }
        }
        self.summary.bytes_read = start_bytes + source.bytes_read();
        hooks.progress(source.bytes_read(), self.summary.packets_read);
        self.drain(sink)?;
        Ok(fed)
    }

    /// One frame in, shown to the hooks with its decoded packet first (the testbed routes frames
    /// by address without decoding them a second time).
    #[inline]
    fn push_inspected<K: FlowSink + ?Sized, H: RunHooks<K>>(
        &mut self,
        frame: &Frame,
        sink: &mut K,
        hooks: &mut H,
    ) -> Result<(), SinkError> {
        self.summary.packets_read += 1;
        let decoded = decode(frame.linktype, frame.ts_us, frame.data);
        hooks.frame(frame, decoded.as_ref().ok())?;
        match decoded.and_then(|pkt| self.meter.push(&pkt)) {
            Ok(()) => self.summary.packets_decoded += 1,
            Err(why) => self.skip(why),
        }
        self.drain(sink)
    }

    /// End of input: flush open flows into the sink, finish it, return the accounting.
    pub fn finish<K: FlowSink + ?Sized>(mut self, sink: &mut K) -> Result<Summary, SinkError> {
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

/// What [`Pipeline::run`] returns: the accounting and, when the source broke off, its error
/// (also listed in `summary.errors`).
#[derive(Debug)]
pub struct Outcome {
    pub summary: Summary,
    pub error: Option<SourceError>,
    /// [`RunHooks::should_stop`] ended the run before the source did.
    pub stopped: bool,
}

/// How one [`Pipeline::feed`] ended.
#[derive(Debug, Default)]
pub struct Fed {
    pub error: Option<SourceError>,
    pub stopped: bool,
}

impl Fed {
    /// The source's error as a `Result` (`?` in callers that treat it as fatal).
    pub fn result(self) -> Result<(), SourceError> {
        self.error.map_or(Ok(()), Err)
    }
}

/// Hooks into the run loop. Every method has a no-op default; `()` is the hook set of a plain
/// file-to-sink run (extract, detect, upload), whose loop then compiles to the bare read → decode →
/// meter → sink path.
pub trait RunHooks<K: FlowSink + ?Sized> {
    /// Wall-clock interval between [`RunHooks::tick`]s (`None`: no ticks, the default).
    fn tick_every(&self) -> Option<Duration> {
        None
    }
    /// Every few thousand frames and at the end of a source: (bytes read of the source, packets
    /// read so far in the run).
    fn progress(&mut self, _bytes: u64, _packets: u64) {}
    /// Checked before every read: a `true` ends the run (Ctrl-C, SIGTERM).
    fn should_stop(&self) -> bool {
        false
    }
    /// Each frame before it enters the flow table, with its decoded packet (`None` when the
    /// decoder skipped it).
    fn frame(&mut self, _frame: &Frame, _packet: Option<&Packet>) -> Result<(), SinkError> {
        Ok(())
    }
    /// After each frame, once the flows it finished are in the sink (capture-time timers).
    fn after_frame(&mut self, _pipeline: &mut Pipeline, _sink: &mut K) -> Result<(), SinkError> {
        Ok(())
    }
    /// Every `tick_every` of wall time and whenever the source reports idle, after the flow clock
    /// has been advanced to the source's clock and the flows that expired are in the sink.
    fn tick(
        &mut self,
        _pipeline: &mut Pipeline,
        _sink: &mut K,
        _source: &mut dyn PacketSource,
    ) -> Result<(), SinkError> {
        Ok(())
    }
}

impl<K: FlowSink + ?Sized> RunHooks<K> for () {}

/// Follows a [`run_captures`] run, e.g. to draw a progress bar per input.
pub trait CaptureProgress {
    /// A capture is about to be read; `total_bytes` is its size where known (not for pipes).
    fn start(&mut self, _path: &Path, _total_bytes: Option<u64>) {}
    /// (bytes read of the current capture, packets read so far in the run).
    fn progress(&mut self, _bytes: u64, _packets: u64) {}
    /// The current capture is done (read to its end, or broke off).
    fn done(&mut self) {}
}

impl CaptureProgress for () {}

/// Several captures, one after another, through one flow table into one sink (`extract`,
/// `detect`): a capture that cannot be opened or breaks off is recorded in the summary's errors
/// (with file and byte offset) and the next one is still read; the flows of every readable part
/// reach the sink. Only a failing sink ends the run early.
pub fn run_captures<K: FlowSink + ?Sized>(
    cfg: MeterConfig,
    paths: &[PathBuf],
    sink: &mut K,
    progress: &mut dyn CaptureProgress,
) -> Result<Summary, SinkError> {
    let mut pipeline = Pipeline::new(cfg);
    let mut open_errors = Vec::new();
    for path in paths {
        let total = std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        progress.start(path, total);
        match CaptureReader::open(path) {
            Ok(mut reader) => {
                pipeline.feed(&mut reader, sink, &mut ProgressHooks(&mut *progress))?;
            }
            Err(e) => open_errors.push(e.to_string()),
        }
        progress.done();
    }
    let mut summary = pipeline.finish(sink)?;
    summary.errors.extend(open_errors);
    Ok(summary)
}

/// Hands the run loop's progress reports to a [`CaptureProgress`].
struct ProgressHooks<'a>(&'a mut dyn CaptureProgress);

impl<K: FlowSink + ?Sized> RunHooks<K> for ProgressHooks<'_> {
    fn progress(&mut self, bytes: u64, packets: u64) {
        self.0.progress(bytes, packets);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Frame;
    use crate::sink::VecSink;
    use crate::synth::{pcap_bytes, tcp, udp, Ep, Link, RawFrame, CLIENT, SERVER, T0};
    use crate::Mode;

    /// A scripted source: frames, idles and an optional error at the end.
    struct Script {
        steps: Vec<Option<RawFrame>>,
        at: usize,
        clock: Option<i64>,
        fail: bool,
    }

    impl PacketSource for Script {
        fn next(&mut self) -> Result<Next<'_>, SourceError> {
            let Some(step) = self.steps.get(self.at) else {
                if self.fail {
                    return Err(SourceError::Live("capture on 'test0' failed: gone".into()));
                }
                return Ok(Next::End);
            };
            self.at += 1;
            Ok(match step {
                Some(f) => Next::Frame(Frame {
                    ts_us: f.ts_us,
                    linktype: 1,
                    data: &f.data,
                    orig_len: f.data.len() as u32,
                    offset: 0,
                }),
                None => Next::Idle,
            })
        }
        fn clock_us(&self) -> Option<i64> {
            self.clock
        }
        fn name(&self) -> &str {
            "script"
        }
    }

    #[derive(Default)]
    struct Record {
        frames: u64,
        decoded: u64,
        after_frame: u64,
        ticks: u64,
        flows_at_tick: Vec<usize>,
        stop_after_ticks: Option<u64>,
        tick: Option<Duration>,
    }

    impl RunHooks<VecSink> for Record {
        fn tick_every(&self) -> Option<Duration> {
            self.tick
        }
        fn should_stop(&self) -> bool {
            self.stop_after_ticks.is_some_and(|n| self.ticks >= n)
        }
        fn frame(&mut self, _f: &Frame, p: Option<&Packet>) -> Result<(), SinkError> {
            self.frames += 1;
            self.decoded += u64::from(p.is_some());
            Ok(())
        }
        fn after_frame(&mut self, _p: &mut Pipeline, _s: &mut VecSink) -> Result<(), SinkError> {
            self.after_frame += 1;
            Ok(())
        }
        fn tick(
            &mut self,
            _p: &mut Pipeline,
            sink: &mut VecSink,
            _src: &mut dyn PacketSource,
        ) -> Result<(), SinkError> {
            self.ticks += 1;
            self.flows_at_tick.push(sink.0.len());
            Ok(())
        }
    }

    fn udp_at(ms: i64) -> RawFrame {
        udp(T0 + ms * 1000, Ep("10.0.0.1", 5000), Ep("10.0.0.2", 53), 20)
    }

    #[test]
    fn hooks_see_every_frame_with_its_decoded_packet() {
        let mut garbage = udp_at(0);
        garbage.data.truncate(10); // shorter than an Ethernet header: skipped by the decoder
        let mut src = Script {
            steps: vec![Some(udp_at(0)), Some(garbage), Some(udp_at(5))],
            at: 0,
            clock: None,
            fail: false,
        };
        let mut hooks = Record::default();
        let mut sink = VecSink::default();
        let out = Pipeline::new(MeterConfig::new(Mode::Corrected))
            .run(&mut src, &mut sink, &mut hooks)
            .unwrap();
        assert_eq!((hooks.frames, hooks.decoded, hooks.after_frame), (3, 2, 3));
        assert_eq!(hooks.ticks, 0, "no ticks without tick_every");
        let s = &out.summary;
        assert_eq!(s.packets_read, 3);
        assert_eq!(s.packets_read, s.packets_decoded + s.packets_skipped());
        assert_eq!(sink.0.len(), 1, "one UDP flow, flushed at the end");
        assert!(out.error.is_none() && !out.stopped);
    }

    #[test]
    fn idle_ticks_advance_the_flow_clock_and_expire_idle_flows() {
        // Corrected mode expires flows idle for 60 s: the source's clock says 61 s have passed.
        let mut src = Script {
            steps: vec![Some(udp_at(0)), None],
            at: 0,
            clock: Some(T0 + 61_000_000),
            fail: false,
        };
        let mut hooks = Record {
            tick: Some(Duration::from_secs(3600)),
            ..Default::default()
        };
        let mut sink = VecSink::default();
        let out = Pipeline::new(MeterConfig::new(Mode::Corrected))
            .run(&mut src, &mut sink, &mut hooks)
            .unwrap();
        assert_eq!(
            hooks.ticks, 1,
            "the idle step ticks even before the interval"
        );
        assert_eq!(
            hooks.flows_at_tick,
            vec![1],
            "the idle flow reached the sink before the tick hook ran"
        );
        assert_eq!(out.summary.flows_emitted(), 1);
    }

    #[test]
    fn a_stop_request_ends_the_run_and_open_flows_are_still_flushed() {
        let mut src = Script {
            steps: vec![Some(udp_at(0)), None, None, Some(udp_at(10))],
            at: 0,
            clock: None,
            fail: false,
        };
        let mut hooks = Record {
            tick: Some(Duration::from_secs(3600)),
            stop_after_ticks: Some(1),
            ..Default::default()
        };
        let mut sink = VecSink::default();
        let out = Pipeline::new(MeterConfig::new(Mode::Corrected))
            .run(&mut src, &mut sink, &mut hooks)
            .unwrap();
        assert!(out.stopped);
        assert_eq!(out.summary.packets_read, 1, "nothing read after the stop");
        assert_eq!(sink.0.len(), 1);
    }

    #[test]
    fn a_source_error_is_returned_with_the_summary_and_work_is_kept() {
        let mut src = Script {
            steps: vec![Some(udp_at(0)), Some(udp_at(1))],
            at: 0,
            clock: None,
            fail: true,
        };
        let mut sink = VecSink::default();
        let out = Pipeline::new(MeterConfig::new(Mode::Corrected))
            .run(&mut src, &mut sink, &mut ())
            .unwrap();
        let e = out.error.expect("the error");
        assert_eq!(e.to_string(), "capture on 'test0' failed: gone");
        assert_eq!(out.summary.errors, vec![e.to_string()]);
        assert_eq!((out.summary.packets_read, sink.0.len()), (2, 1));
    }

    #[test]
    fn run_captures_reads_every_file_and_records_each_failure() {
        let dir = std::env::temp_dir().join(format!("mlids-run-captures-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let frames = [
            tcp(T0, CLIENT, SERVER, "S", 0, 0, Link::default()),
            tcp(T0 + 1000, SERVER, CLIENT, "SA", 0, 0, Link::default()),
        ];
        let good = dir.join("good.pcap");
        let good_bytes = pcap_bytes(&frames, 1, false, false);
        std::fs::write(&good, &good_bytes).unwrap();
        let mut cut = pcap_bytes(&frames, 1, false, false);
        cut.truncate(cut.len() - 5);
        let truncated = dir.join("cut.pcap");
        std::fs::write(&truncated, &cut).unwrap();
        let missing = dir.join("missing.pcap");

        #[derive(Default)]
        struct Seen(Vec<(String, Option<u64>)>, u32);
        impl CaptureProgress for Seen {
            fn start(&mut self, p: &Path, total: Option<u64>) {
                self.0
                    .push((p.file_name().unwrap().to_string_lossy().into(), total));
            }
            fn done(&mut self) {
                self.1 += 1;
            }
        }
        let mut seen = Seen::default();
        let mut sink = VecSink::default();
        let paths = [good.clone(), truncated.clone(), missing, good];
        let s = run_captures(
            MeterConfig::new(Mode::Corrected),
            &paths,
            &mut sink,
            &mut seen,
        )
        .unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(seen.1, 4, "every capture started and finished");
        assert_eq!(
            seen.0[0],
            ("good.pcap".into(), Some(good_bytes.len() as u64))
        );
        assert_eq!(seen.0[2], ("missing.pcap".into(), None));
        assert_eq!(s.errors.len(), 2, "{:?}", s.errors);
        assert!(
            s.errors[0].contains("cut.pcap") && s.errors[0].contains("truncated"),
            "{}",
            s.errors[0]
        );
        assert!(
            s.errors[1].contains("missing.pcap") && s.errors[1].contains("cannot open"),
            "{}",
            s.errors[1]
        );
        // good (2 packets) + the readable packet of cut + good again, one flow table.
        assert_eq!(s.packets_read, 5);
        assert_eq!(s.packets_read, s.packets_decoded + s.packets_skipped());
    }
}
