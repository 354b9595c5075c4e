//! Extract → import round trips: every CSV layout `ml-ids extract` writes, and the Parquet sink.

mod common;

use common::*;
use mlids_dataset::clean::{non_negative, CleaningPolicy, ColumnCounts};
use mlids_dataset::dialect::mode_features;
use mlids_dataset::import::DATA_FILE;
use mlids_dataset::schema::feature_column;
use mlids_dataset::{read_training_data, ParquetFlowSink};
use mlids_flow::{
    CaptureReader, CsvSink, FlowRecord, FlowSink, Layout, MeterConfig, Mode, NameStyle, Pipeline,
    VecSink,
};
use std::path::Path;

fn flows(pcap: &Path, mode: Mode) -> Vec<FlowRecord> {
    let mut p = Pipeline::new(MeterConfig::new(mode));
    let mut sink = VecSink::default();
    let mut r = CaptureReader::open(pcap).unwrap();
    p.feed(&mut r, &mut sink, &mut ())
        .unwrap()
        .result()
        .unwrap();
    p.finish(&mut sink).unwrap();
    assert!(!sink.0.is_empty());
    sink.0
}

fn cleaned(f: &FlowRecord, feat: mlids_flow::Feature) -> Option<f64> {
    CleaningPolicy::default().apply(
        non_negative(feat),
        f.get(feat),
        &mut ColumnCounts::default(),
    )
}

#[test]
fn extract_csv_in_every_layout_imports_back_exactly() {
    let Some(d) = shared_data() else {
        return;
    };
    let pcap = d.join("pcap/benign/http/ppa_http.cap");
    let t = tempfile::tempdir().unwrap();
    for mode in [Mode::Cic2018, Mode::Corrected] {
        let fl = flows(&pcap, mode);
        for style in [NameStyle::Cic2018, NameStyle::Snake, NameStyle::Improved] {
            let csv = t.path().join(format!("{mode}-{style}.csv"));
            let mut sink = CsvSink::new(
                std::fs::File::create(&csv).unwrap(),
                Layout::new(mode, style, true),
                Some("Benign".into()),
            );
            for f in &fl {
                sink.flow(f).unwrap();
            }
            sink.finish(&Default::default()).unwrap();
            drop(sink);
            let out = t.path().join(format!("{mode}-{style}"));
            let card = import(&[csv], &out).unwrap();
            assert_eq!(card.mode, mode.as_str(), "{style}");
            assert_eq!(card.rows as usize, fl.len());
            let p = out.join(DATA_FILE);
            for &feat in mode_features(mode) {
                let got = col_f64(&p, feature_column(feat, mode));
                for (i, f) in fl.iter().enumerate() {
                    let want = cleaned(f, feat);
                    // CSV prints shortest round-trip doubles, so values come back bit-exact.
                    assert_eq!(got[i], want, "{mode} {style} row {i} {feat:?}");
                }
            }
            let ts = col_i64(&p, "timestamp_us");
            if mode == Mode::Corrected {
                assert_eq!(ts[0], Some(fl[0].start_us));
            }
            assert_eq!(
                col_str(&p, "day")[0].as_deref(),
                Some(mlids_dataset::timeparse::day_of(fl[0].start_us).as_str())
            );
        }
    }
}

#[test]
fn parquet_flow_sink_writes_the_dataset_schema() {
    let Some(d) = shared_data() else {
        return;
    };
    let pcap = d.join("pcap/benign/http/ppa_http.cap");
    let t = tempfile::tempdir().unwrap();
    for mode in [Mode::Cic2018, Mode::Corrected] {
        let fl = flows(&pcap, mode);
        let path = t.path().join(format!("{mode}.parquet"));
        let mut sink =
            ParquetFlowSink::create(&path, mode, Some("DoS Hulk"), "ppa_http.cap").unwrap();
        for f in &fl {
            sink.flow(f).unwrap();
        }
        assert!(!path.exists(), "file must appear only when complete");
        sink.finish(&Default::default()).unwrap();
        let td = read_training_data(std::slice::from_ref(&path), &Default::default()).unwrap();
        assert_eq!(td.mode, mode);
        assert_eq!(td.n_rows, fl.len());
        assert_eq!(td.label_names, ["DoS attacks-Hulk"]);
        assert!(td.is_attack.iter().all(|a| *a));
        for (i, f) in fl.iter().enumerate() {
            for (j, &feat) in td.features.iter().enumerate() {
                let want = cleaned(f, feat);
                let got = td.row(i)[j];
                match want {
                    None => assert!(got.is_nan()),
                    Some(w) => assert_eq!(got, w, "row {i} {feat:?}"),
                }
            }
        }
        assert_eq!(col_str(&path, "source")[0].as_deref(), Some("ppa_http.cap"));
        assert_eq!(col_i64(&path, "source_line")[0], Some(1));
        // The sink's output splits like an import.
        let dir = t.path().join(format!("ds-{mode}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&path, dir.join(DATA_FILE)).unwrap();
        mlids_dataset::split(&dir, None, &Default::default()).unwrap();
    }
}

#[test]
fn unlabelled_parquet_sink_has_null_labels() {
    let Some(d) = shared_data() else {
        return;
    };
    let pcap = d.join("pcap/benign/http/ppa_http.cap");
    let t = tempfile::tempdir().unwrap();
    let fl = flows(&pcap, Mode::Cic2018);
    let path = t.path().join("x.parquet");
    let mut sink = ParquetFlowSink::create(&path, Mode::Cic2018, None, "x").unwrap();
    for f in &fl {
        sink.flow(f).unwrap();
    }
    sink.finish(&Default::default()).unwrap();
    assert!(col_str(&path, "label").iter().all(Option::is_none));
    // Mode mismatch is an error, not silent garbage.
    let corr = flows(&pcap, Mode::Corrected);
    let mut sink =
        ParquetFlowSink::create(&t.path().join("y.parquet"), Mode::Cic2018, None, "y").unwrap();
    assert!(sink.flow(&corr[0]).is_err());
}
