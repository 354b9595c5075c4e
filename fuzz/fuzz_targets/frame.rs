//! Decoder + flow meter on raw frames: the input is a sequence of (link type, timestamp delta,
//! length, frame) records, so the fuzzer reaches deep protocol states without learning the pcap
//! container first.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlids_flow::{MeterConfig, Mode, Pipeline, VecSink};

const LINKTYPES: [u32; 10] = [0, 1, 12, 101, 108, 113, 228, 229, 276, 105];

fuzz_target!(|data: &[u8]| {
    for mode in [Mode::Cic2018, Mode::Corrected] {
        let mut cfg = MeterConfig::new(mode);
        cfg.max_flows = 8;
        let mut pipeline = Pipeline::new(cfg);
        let mut sink = VecSink::default();
        let mut rest = data;
        let mut ts: i64 = 1_500_000_000_000_000;
        while rest.len() >= 4 {
            let lt = LINKTYPES[usize::from(rest[0]) % LINKTYPES.len()];
            // Deltas up to ~65 s (×1000 µs), sometimes negative, to reach timeouts and reordering.
            ts += (i64::from(i16::from_le_bytes([rest[1], rest[2]]))) * 1000;
            let len = usize::from(rest[3]).min(rest.len() - 4);
            let frame = &rest[4..4 + len];
            rest = &rest[4 + len..];
            let _ = pipeline.push_frame(lt, ts, frame, &mut sink);
        }
        let summary = pipeline.finish(&mut sink).unwrap();
        assert_eq!(summary.packets_read, summary.packets_decoded + summary.packets_skipped());
    }
});
