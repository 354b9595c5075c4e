//! Training and inference timing for `bench/gbdt.py`: reads the generated data the Python engines
//! also use, trains through the same `Fit` path as `ml-ids train` (no validation set, no training
//! metric, as the Python runs), and times batch inference of the flat predictor and of LightGBM's
//! own predictor. Prints one JSON object on stdout.
//!
//! Usage: bench_gbdt DIR TREES THREADS LEAVES
//! DIR holds meta.json ({"n_train", "n_test", "n_features"}), x_train.f64, y_train.f32, x_test.f64,
//! y_test.f32 (little-endian, row-major).

use mlids_model::Classifier;
use mlids_train::{Fit, FitControl, GbdtParams, ParamGuard, TrainSet};
use std::path::Path;
use std::time::Instant;

fn read_f64(p: &Path) -> Vec<f64> {
    let b = std::fs::read(p).unwrap();
    b.chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn read_f32(p: &Path) -> Vec<f32> {
    let b = std::fs::read(p).unwrap();
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

/// Process CPU time (user + system) in seconds, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = 100.0; // USER_HZ on Linux
    let ut: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let st: f64 = f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    (ut + st) / tick
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let dir = Path::new(&a[1]);
    let trees: usize = a[2].parse().unwrap();
    let threads: usize = a[3].parse().unwrap();
    let leaves: usize = a[4].parse().unwrap();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    let nf = meta["n_features"].as_u64().unwrap() as usize;
    let x_train = read_f64(&dir.join("x_train.f64"));
    let y_train: Vec<u32> = read_f32(&dir.join("y_train.f32"))
        .iter()
        .map(|&v| v as u32)
        .collect();
    let x_test = read_f64(&dir.join("x_test.f64"));
    let y_test: Vec<bool> = read_f32(&dir.join("y_test.f32"))
        .iter()
        .map(|&v| v > 0.5)
        .collect();
    let names: Vec<String> = (0..nf).map(|i| format!("f{i}")).collect();

    let params = GbdtParams {
        num_iterations: trees,
        num_leaves: leaves,
        learning_rate: 0.1,
        num_threads: threads,
        train_metric: false,
        early_stopping_rounds: 0,
        ..Default::default()
    };
    let set = TrainSet {
        x: &x_train,
        feature_names: &names,
        y: &y_train,
        weights: None,
        n_classes: 2,
    };
    let (c0, t0) = (cpu_seconds(), Instant::now());
    let (model, _) = params
        .check()
        .unwrap()
        .fit(&set, None, &mut FitControl::default())
        .unwrap();
    let train_s = t0.elapsed().as_secs_f64();
    let train_cpu = cpu_seconds() - c0;

    let n_test = y_test.len();
    let forest = model.forest();
    // Flat predictor, one thread.
    let mut out = vec![0.0; n_test];
    let (c0, t0) = (cpu_seconds(), Instant::now());
    forest.predict(&x_test, &mut out).unwrap();
    let flat1_s = t0.elapsed().as_secs_f64();
    let flat1_cpu = cpu_seconds() - c0;
    // Row-at-a-time walk of the same trees (raw scores; the transform is the same for both).
    let mut raw_l = vec![0.0; n_test];
    let mut raw_r = vec![0.0; n_test];
    let t0 = Instant::now();
    forest.predict_raw(&x_test, &mut raw_l).unwrap();
    let lock_raw_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    forest.predict_raw_rowwise(&x_test, &mut raw_r).unwrap();
    let row_raw_s = t0.elapsed().as_secs_f64();
    assert_eq!(raw_l, raw_r);
    // Flat predictor, `threads` threads.
    let mut out2 = vec![0.0; n_test];
    let (c0, t0) = (cpu_seconds(), Instant::now());
    forest
        .predict_parallel(&x_test, &mut out2, threads)
        .unwrap();
    let flatn_s = t0.elapsed().as_secs_f64();
    let flatn_cpu = cpu_seconds() - c0;
    assert_eq!(out, out2);
    let (auc, _) = mlids_train::metrics::aucs(&out, &y_test);
    // The same through the Classifier trait (what the Detector calls).
    let mut probs = vec![0.0; n_test * 2];
    let t0 = Instant::now();
    model.predict_proba(&x_test, &mut probs).unwrap();
    let trait_s = t0.elapsed().as_secs_f64();
    // LightGBM's own predictor on a slice (it is slow; 50k rows are enough to time it).
    let booster = lightgbm3::Booster::from_string(model.text()).unwrap();
    let m = n_test.min(50_000);
    let (c0, t0) = (cpu_seconds(), Instant::now());
    let theirs = booster
        .predict_with_params(
            &x_test[..m * nf],
            nf as i32,
            true,
            &format!("num_threads={threads}"),
        )
        .unwrap();
    let lgb_s = t0.elapsed().as_secs_f64();
    let lgb_cpu = cpu_seconds() - c0;
    let worst = theirs
        .iter()
        .zip(&out)
        .map(|(a, b)| ((a - b) / a.abs().max(1e-300)).abs())
        .fold(0.0, f64::max);

    let j = serde_json::json!({
        "engine": "mlids-model (lightgbm3 + flat predictor)",
        "trees": forest.num_trees(),
        "train_seconds": train_s,
        "train_cpu_seconds": train_cpu,
        "test_auc": auc,
        "flat_rows_per_s_1thread": n_test as f64 / flat1_s,
        "flat_rows_per_cpu_s_1thread": n_test as f64 / flat1_cpu.max(1e-9),
        "flat_rows_per_s": n_test as f64 / flatn_s,
        "flat_rows_per_cpu_s": n_test as f64 / flatn_cpu.max(1e-9),
        "classifier_rows_per_s": n_test as f64 / trait_s,
        "lockstep_raw_rows_per_s_1thread": n_test as f64 / lock_raw_s,
        "rowwise_raw_rows_per_s_1thread": n_test as f64 / row_raw_s,
        "lightgbm_rows_per_s": m as f64 / lgb_s,
        "lightgbm_rows_per_cpu_s": m as f64 / lgb_cpu.max(1e-9),
        "max_rel_diff_vs_lightgbm": worst,
    });
    println!("{j}");
}
