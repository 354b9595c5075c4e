//! Whole path: arbitrary bytes as a capture file (pcap, pcapng, gzip) → reader → decoder → flow
//! meter (both modes, a tiny table so eviction runs too) → CSV. Must never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mlids_flow::{CaptureReader, CsvSink, Layout, MeterConfig, Mode, NameStyle, Pipeline};
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    for mode in [Mode::Cic2018, Mode::Corrected] {
        let Ok(mut reader) = CaptureReader::from_reader("fuzz", Cursor::new(data.to_vec())) else { continue };
        let mut cfg = MeterConfig::new(mode);
        cfg.max_flows = 4;
        let mut pipeline = Pipeline::new(cfg);
        let mut sink = CsvSink::new(Vec::new(), Layout::new(mode, NameStyle::default_for(mode), true), Some("x".into()));
        let _ = pipeline.run_reader(&mut reader, &mut sink);
        let summary = pipeline.finish(&mut sink).expect("Vec sink cannot fail");
        assert_eq!(summary.packets_read, summary.packets_decoded + summary.packets_skipped());
    }
});
