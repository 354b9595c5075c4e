//! Writes LightGBM models trained by mlids-train, probe rows and our predictions, for
//! `scripts/lightgbm_interop.py` to load in Python LightGBM and compare.
//!
//! Usage: cargo run -p mlids-train --example interop_fixture -- OUT_DIR

use mlids_model::FlatForest;
use mlids_train::{Fit, FitControl, GbdtParams, ParamGuard, TrainSet};
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: interop_fixture OUT_DIR"),
    );
    std::fs::create_dir_all(&out).unwrap();
    let (n, nf) = (4000usize, 10usize);
    let names: Vec<String> = mlids_flow::Feature::snake_names(mlids_flow::Mode::Corrected)
        .into_iter()
        .skip(1)
        .take(nf)
        .collect();
    let mut rng = fastrand::Rng::with_seed(1);
    let mut x = Vec::with_capacity(n * nf);
    let mut class = Vec::with_capacity(n);
    for _ in 0..n {
        let c = rng.u32(0..3);
        for f in 0..nf {
            let mut v = rng.f64() * 2.0 - 1.0 + if f as u32 == c { 1.5 } else { 0.0 };
            if rng.u32(0..15) == 0 {
                v = f64::NAN;
            } else if f == 5 && rng.bool() {
                v = 0.0;
            }
            x.push(v);
        }
        class.push(c);
    }
    // Probe rows: the first 200 rows with extra missing values, zeros and tiny values.
    let probe: Vec<f64> = x[..200 * nf]
        .iter()
        .enumerate()
        .map(|(i, &v)| match i % 17 {
            0 => f64::NAN,
            1 => 0.0,
            2 => 1e-37,
            _ => v,
        })
        .collect();
    let mut csv = String::new();
    for r in probe.chunks(nf) {
        let line: Vec<String> = r
            .iter()
            .map(|v| {
                if v.is_nan() {
                    "nan".into()
                } else {
                    format!("{v:e}")
                }
            })
            .collect();
        let _ = writeln!(csv, "{}", line.join(","));
    }
    std::fs::write(out.join("rows.csv"), csv).unwrap();
    std::fs::write(out.join("features.txt"), names.join("\n") + "\n").unwrap();

    for (name, k, y) in [
        (
            "binary",
            2usize,
            class.iter().map(|&c| (c > 0) as u32).collect::<Vec<_>>(),
        ),
        ("multiclass", 3, class.clone()),
    ] {
        let mut p = GbdtParams {
            num_iterations: 40,
            num_threads: 2,
            train_metric: false,
            ..Default::default()
        };
        if name == "binary" {
            p.extra
                .insert("zero_as_missing".into(), toml::Value::Boolean(true));
        }
        let set = TrainSet {
            x: &x,
            feature_names: &names,
            y: &y,
            weights: None,
            n_classes: k,
        };
        let (model, _) = p
            .check()
            .unwrap()
            .fit(&set, None, &mut FitControl::default())
            .unwrap();
        std::fs::write(out.join(format!("{name}.txt")), model.text()).unwrap();
        let forest = FlatForest::from_lightgbm_text(model.text()).unwrap();
        let mut pred = vec![0.0; 200 * forest.num_outputs()];
        forest.predict(&probe, &mut pred).unwrap();
        let mut s = String::new();
        for r in pred.chunks(forest.num_outputs()) {
            let line: Vec<String> = r.iter().map(|v| format!("{v:.17e}")).collect();
            let _ = writeln!(s, "{}", line.join(","));
        }
        std::fs::write(out.join(format!("{name}_ours.csv")), s).unwrap();
    }
    eprintln!("wrote fixtures to {}", out.display());
}
