//! The model zoo end to end: `compare::run` trains all seven families on synthetic splits with one
//! family held out, writes the reports, and every saved bundle reloads through the `Detector` and
//! reproduces the reported test recall.

mod common;

use mlids_model::{Detector, Explain};
use mlids_train::compare::{self, CompareConfig};
use mlids_train::train::Splits;
use mlids_train::zoo::{AeParams, KnnParams, MlpParams, RfParams};
use mlids_train::{data, FitControl, ModelChoice, ModelKind};
use std::collections::HashMap;

#[test]
fn compare_trains_every_family_and_bundles_reload() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    common::write_splits(&data_dir, &common::synth(1500, 10, 12, 7));
    let out = dir.path().join("report");

    let mut params = HashMap::new();
    params.insert(
        ModelKind::Rf,
        ModelChoice::Rf(RfParams {
            num_trees: 10,
            num_threads: 1,
            ..Default::default()
        }),
    );
    params.insert(
        ModelKind::Knn,
        ModelChoice::Knn(KnnParams {
            max_reference: 500,
            ..Default::default()
        }),
    );
    params.insert(
        ModelKind::Mlp,
        ModelChoice::Mlp(MlpParams {
            hidden: vec![16, 16],
            epochs: 5,
            ..Default::default()
        }),
    );
    params.insert(
        ModelKind::Ae,
        ModelChoice::Ae(AeParams {
            hidden: vec![8, 4, 8],
            epochs: 5,
            ..Default::default()
        }),
    );
    let mut cfg = CompareConfig {
        holdout: vec!["PortScan".into()],
        params,
        latency_rows: 10,
        model_scope: false, // synthetic rows are not flows
        ..CompareConfig::default()
    };
    cfg.gbdt.num_iterations = 20;
    cfg.gbdt.num_threads = 1;
    let splits = Splits::in_dir(&data_dir).unwrap();
    let mut ctl = FitControl::default();
    let mut log = |_: &str| {};
    let started = std::time::Instant::now();
    let c = compare::run(&splits, &cfg, &out, &mut ctl, &mut log).unwrap();
    let wall_seconds = started.elapsed().as_secs_f64();

    assert_eq!(c.models.len(), 7);
    assert_eq!(c.hybrids.len(), 6, "every classifier OR the autoencoder");
    assert!(!c.train_labels.contains_key("PortScan"));
    for f in [
        "compare.json",
        "compare.md",
        "compare.html",
        "pr-curves.svg",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    assert!(md.contains("PortScan (held out)"));
    assert!(md.contains("CatBoost (seed's final model)"));

    let test_path = data_dir.join("test.parquet");
    for r in &c.models {
        let h = r.held_out.as_ref().expect("held-out recall");
        assert!(h.rows > 0);
        // Training takes some time, and no more than the whole comparison did.
        assert!(
            r.train_seconds > 0.0 && r.train_seconds <= wall_seconds,
            "{}: train_seconds {} (comparison took {wall_seconds} s)",
            r.model,
            r.train_seconds
        );
        assert!(r.predict_rows_per_second > 0.0 && r.predict_rows_per_second.is_finite());
        assert!(!r.pr_curve.is_empty());
        // The saved bundle reproduces the reported test recall.
        let det = Detector::load(std::path::Path::new(r.bundle.as_ref().unwrap())).unwrap();
        assert_eq!(det.threshold(), r.threshold, "{}", r.model);
        let t = data::load(&test_path, det.feature_names()).unwrap();
        let v = det.classify_matrix(&t.x, Explain::None).unwrap();
        let attacks = t.is_attack.iter().filter(|&&a| a).count();
        let hit = v
            .iter()
            .zip(&t.is_attack)
            .filter(|(v, &a)| a && v.is_attack)
            .count();
        let recall = hit as f64 / attacks as f64;
        assert!(
            (recall - r.test.recall).abs() < 1e-9,
            "{}: reloaded recall {recall} vs reported {}",
            r.model,
            r.test.recall
        );
    }
    // The DoS rows were seen in training: the tree models catch them.
    let gbdt = c
        .models
        .iter()
        .find(|r| r.model == ModelKind::Gbdt)
        .unwrap();
    assert!(gbdt.by_category["DoS"].recall > 0.9);
}
