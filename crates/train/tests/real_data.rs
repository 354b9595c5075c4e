//! End to end on the real CIC rows in the shared data (skipped, loudly, when it is absent; a failure
//! under MLIDS_REQUIRE_ALL=1):
//! CSV → dataset import/split (mlids-dataset) → train → bundle → Detector → evaluate and detect.

use mlids_flow::{CaptureReader, FlowSink, MeterConfig, Mode, Pipeline};
use mlids_model::bundle::Bundle;
use mlids_model::detector::FnVerdictSink;
use mlids_model::{Detector, DetectorSink, ModelError, Task};
use mlids_test_support::shared_data;
use mlids_train::train::{self, Splits, TrainConfig};
use mlids_train::{FitControl, GbdtParams};
use std::path::{Path, PathBuf};

fn import_and_split(sources: &[PathBuf], dir: &Path) -> Splits {
    mlids_dataset::import(
        sources,
        dir,
        &Default::default(),
        &mut mlids_dataset::NoProgress,
    )
    .unwrap();
    mlids_dataset::split(dir, None, &Default::default()).unwrap();
    Splits::in_dir(dir).unwrap()
}

fn params() -> GbdtParams {
    GbdtParams {
        num_iterations: 150,
        num_threads: 2,
        train_metric: false,
        ..Default::default()
    }
}

fn detect_capture(det: &Detector, capture: &Path) -> (u64, usize, usize) {
    let mut n = 0usize;
    let mut attacks = 0usize;
    let mut sink = DetectorSink::new(
        det,
        FnVerdictSink(|_f: &mlids_flow::FlowRecord, v: &mlids_model::Verdict| {
            n += 1;
            attacks += v.is_attack as usize;
            Ok(())
        }),
    )
    .batch(64);
    let mut pipeline = Pipeline::new(MeterConfig::new(det.mode()));
    let mut reader = CaptureReader::open(capture).unwrap();
    pipeline
        .feed(&mut reader, &mut sink, &mut ())
        .unwrap()
        .result()
        .unwrap();
    let summary = pipeline.finish(&mut sink as &mut dyn FlowSink).unwrap();
    drop(sink);
    (summary.flows_emitted(), n, attacks)
}

#[test]
fn corrected_mode_binary_end_to_end() {
    let Some(data) = shared_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let splits = import_and_split(
        &[
            data.join("cic-ids2017/improved_rnd_2500"),
            data.join("cic-ids2018/improved"),
        ],
        &tmp.path().join("cic"),
    );
    let cfg = TrainConfig {
        params: params(),
        ..Default::default()
    };
    let t = train::train(&splits, &cfg, &mut FitControl::default(), &mut |m| {
        eprintln!("{m}")
    })
    .unwrap();
    let test = t.test.clone().unwrap();
    eprintln!(
        "real corrected binary: test F1 {:.4} precision {:.4} recall {:.4} ROC-AUC {:?} PR-AUC {:?}",
        test.binary.f1, test.binary.precision, test.binary.recall, test.binary.roc_auc, test.binary.pr_auc
    );
    assert!(test.binary.f1 >= 0.98, "binary F1 {}", test.binary.f1);
    assert!(test.binary.roc_auc.unwrap() >= 0.99);
    assert_eq!(t.manifest.mode, "corrected");
    assert!(!t.manifest.features.contains(&"dst_port".to_string()));
    assert_eq!(
        t.manifest.dataset.card_sha256.as_ref().map(String::len),
        Some(64)
    );

    // Bundle → Detector → the same evaluation as at training time.
    let bundle_dir = tmp.path().join("models/bin");
    Bundle::save(&bundle_dir, t.manifest.clone(), &t.model).unwrap();
    let bundle = Bundle::load(&bundle_dir).unwrap();
    let m = &bundle.manifest;
    let (table, out_of_scope) = train::load_in_scope(
        splits.test.as_ref().unwrap(),
        m.mode().unwrap(),
        &m.features,
        m.preprocessing.model_scope.is_some(),
    )
    .unwrap();
    assert_eq!(
        Some(out_of_scope),
        m.preprocessing
            .model_scope
            .as_ref()
            .map(|s| s.test_rows_removed)
    );
    let probs = train::predict(bundle.model.as_ref(), &table).unwrap();
    let again = train::evaluate_probs(
        "test",
        &m.decision_rule(),
        &m.label_names(),
        &probs,
        &table,
        m.task,
        0.99,
    );
    assert_eq!(again, test);

    // Detect on a real capture through the one flow pipeline.
    let det = Detector::load(&bundle_dir).unwrap();
    let capture = data.join("pcap/attack/portscan/nmap_TCP_SYN_SCAN.pcap");
    let (flows, verdicts, attacks) = detect_capture(&det, &capture);
    eprintln!("{}: {flows} flows, {attacks} flagged", capture.display());
    assert!(flows > 0);
    assert_eq!(flows as usize, verdicts);
}

#[test]
fn cic2018_original_rows_multiclass_with_ten_row_classes() {
    let Some(data) = shared_data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let splits = import_and_split(
        &[data.join("cic-ids2018/original/ml-ids_validation.csv")],
        &tmp.path().join("orig"),
    );
    let cfg = TrainConfig {
        task: Task::Multiclass,
        params: GbdtParams {
            min_data_in_leaf: 2,
            num_iterations: 60,
            ..params()
        },
        min_samples_per_label: Some(12),
        ..Default::default()
    };
    let t = train::train(&splits, &cfg, &mut FitControl::default(), &mut |m| {
        eprintln!("{m}")
    })
    .unwrap();
    assert_eq!(t.manifest.mode, "cic2018");
    assert!(
        t.manifest.labels.len() >= 10,
        "{:?}",
        t.manifest.label_names()
    );
    assert!(t.manifest.labels.iter().all(|l| l.train_rows >= 12));
    let bundle_dir = tmp.path().join("models/orig");
    Bundle::save(&bundle_dir, t.manifest, &t.model).unwrap();
    let det = Detector::load(&bundle_dir).unwrap();
    assert_eq!(det.mode(), Mode::Cic2018);
    // cic2018 flows are classified; corrected splits are refused for this model.
    let (flows, verdicts, _) = detect_capture(
        &det,
        &data.join("pcap/attack/portscan/nmap_TCP_SYN_SCAN.pcap"),
    );
    assert_eq!(flows as usize, verdicts);
    let other = import_and_split(
        &[data.join("cic-ids2018/improved")],
        &tmp.path().join("imp"),
    );
    let e = train::load_checked(
        other.test.as_ref().unwrap(),
        Mode::Cic2018,
        det.feature_names(),
    )
    .unwrap_err();
    assert!(matches!(e, ModelError::ModeMismatch { .. }), "{e}");
}
