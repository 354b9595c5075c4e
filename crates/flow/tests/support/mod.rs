//! Test support: the capture synthesis kit plus helpers that run the pipeline and compare features.
#![allow(dead_code)]

pub use mlids_flow::synth::*;
use mlids_flow::{CaptureReader, FlowRecord, MeterConfig, Mode, Pipeline, Summary, VecSink};
use std::io::{Cursor, Read};

/// A reader that returns one byte per `read` call, like the slowest pipe.
pub struct Trickle(pub Cursor<Vec<u8>>);

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(1);
        self.0.read(&mut buf[..n])
    }
}

/// Run the whole pipeline (reader included) over capture bytes.
pub fn run_bytes(cfg: MeterConfig, bytes: Vec<u8>) -> (Vec<FlowRecord>, Summary) {
    let mut reader = CaptureReader::from_reader("test", Cursor::new(bytes)).expect("valid capture");
    let mut pipeline = Pipeline::new(cfg);
    let mut sink = VecSink::default();
    let _ = pipeline.feed(&mut reader, &mut sink, &mut ());
    let summary = pipeline.finish(&mut sink).unwrap();
    (sink.0, summary)
}

/// Run frames through the pipeline as an Ethernet pcap in the given mode with default settings.
pub fn run(mode: Mode, frames: &[RawFrame]) -> (Vec<FlowRecord>, Summary) {
    run_bytes(MeterConfig::new(mode), pcap_bytes(frames, 1, false, false))
}

/// Assert a feature value with a relative tolerance (exact for integers).
#[track_caller]
pub fn assert_feature(flow: &FlowRecord, f: mlids_flow::Feature, expected: f64) {
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
pub fn assert_features(flow: &FlowRecord, expected: &[(mlids_flow::Feature, f64)]) {
    for &(f, v) in expected {
        assert_feature(flow, f, v);
    }
}
