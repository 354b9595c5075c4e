//! Running the flow pipeline over synthesised captures: the capture synthesis kit
//! (`mlids_flow::synth`, re-exported) plus runners and feature assertions.
//!
//! [`run_bytes`] and [`run`] expect a valid capture and panic on any capture error;
//! [`run_bytes_partial`] is for tests that feed damaged captures on purpose and returns the error.

pub use mlids_flow::synth::*;
use mlids_flow::{
    CaptureError, CaptureReader, Feature, FlowRecord, MeterConfig, Mode, Pipeline, SourceError,
    Summary, VecSink,
};
use std::io::{Cursor, Read};

/// The name the runners give the capture (error messages contain it).
pub const CAPTURE_NAME: &str = "test.pcap";

/// A reader that returns one byte per `read` call, like the slowest pipe.
pub struct Trickle(pub Cursor<Vec<u8>>);

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(1);
        self.0.read(&mut buf[..n])
    }
}

/// Run the whole pipeline (reader included) over the bytes of a valid capture; panics on a
/// capture error (use [`run_bytes_partial`] for damaged captures).
#[track_caller]
pub fn run_bytes(cfg: MeterConfig, bytes: Vec<u8>) -> (Vec<FlowRecord>, Summary) {
    let (flows, summary, err) = run_bytes_partial(cfg, bytes);
    if let Some(e) = err {
        panic!("the capture should be valid: {e}");
    }
    (flows, summary)
}

/// Run the pipeline to the end of the readable part of a possibly damaged capture: the flows and
/// summary of what was read, and the capture error (also an unreadable header) if there was one.
pub fn run_bytes_partial(
    cfg: MeterConfig,
    bytes: Vec<u8>,
) -> (Vec<FlowRecord>, Summary, Option<CaptureError>) {
    let mut reader = match CaptureReader::from_reader(CAPTURE_NAME, Cursor::new(bytes)) {
        Ok(r) => r,
        Err(e) => return (vec![], Summary::default(), Some(e)),
    };
    let mut sink = VecSink::default();
    let outcome = Pipeline::new(cfg)
        .run(&mut reader, &mut sink, &mut ())
        .expect("the test sink failed");
    let err = match outcome.error {
        None => None,
        Some(SourceError::Capture(e)) => Some(e),
        Some(e) => panic!("a capture reader reported a live-capture error: {e}"),
    };
    (sink.0, outcome.summary, err)
}

/// Run frames through the pipeline as an Ethernet pcap in the given mode with default settings.
#[track_caller]
pub fn run(mode: Mode, frames: &[RawFrame]) -> (Vec<FlowRecord>, Summary) {
    run_bytes(MeterConfig::new(mode), pcap_bytes(frames, 1, false, false))
}

/// Assert a feature value with a relative tolerance (exact for integers).
#[track_caller]
pub fn assert_feature(flow: &FlowRecord, f: Feature, expected: f64) {
    let got = flow.get(f);
    let ok = if expected.is_nan() {
        got.is_nan()
    } else if expected.is_infinite() {
        got == expected
    } else {
        (got - expected).abs() <= 1e-9 * expected.abs().max(1.0)
    };
    assert!(ok, "{f:?}: expected {expected}, got {got}");
}

/// Assert many features at once.
#[track_caller]
pub fn assert_features(flow: &FlowRecord, expected: &[(Feature, f64)]) {
    for &(f, v) in expected {
        assert_feature(flow, f, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_captures_run_and_damaged_ones_report_their_error() {
        let frames = [udp(T0, CLIENT, SERVER, 5), udp(T0 + 10, SERVER, CLIENT, 7)];
        let bytes = pcap_bytes(&frames, 1, false, false);
        let (flows, summary) = run(Mode::Corrected, &frames);
        assert_eq!(flows.len(), 1);
        assert_eq!(summary.packets_read, 2);
        let cut = bytes[..bytes.len() - 3].to_vec();
        let (_, summary, err) = run_bytes_partial(MeterConfig::new(Mode::Corrected), cut.clone());
        assert_eq!(summary.packets_read, 1);
        assert!(err.unwrap().to_string().contains(CAPTURE_NAME));
        let panicked =
            std::panic::catch_unwind(|| run_bytes(MeterConfig::new(Mode::Corrected), cut));
        assert!(
            panicked.is_err(),
            "run_bytes must not swallow a capture error"
        );
    }
}
