//! Synthetic datasets in the documented Parquet schema.
#![allow(dead_code)]

use mlids_flow::Mode;
use mlids_test_support::models::{write_split, SplitRows};
use std::path::Path;

pub struct Synth {
    pub features: Vec<String>,
    pub x: Vec<f64>,
    pub label: Vec<String>,
    pub category: Vec<String>,
}

/// `n` rows over the first `nf` corrected-mode features after `dst_port`. Labels: Benign, DoS
/// (feature 0 high), PortScan (feature 1 high), Heartbleed (`rare` rows, feature 2 very high).
/// About 2% of values are missing; feature 3 is zero-heavy; feature nf-1 is constant.
pub fn synth(n: usize, nf: usize, rare: usize, seed: u64) -> Synth {
    let features: Vec<String> = mlids_flow::Feature::snake_names(Mode::Corrected)
        .into_iter()
        .skip(1)
        .take(nf)
        .collect();
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut x = Vec::with_capacity(n * nf);
    let mut label = Vec::with_capacity(n);
    let mut category = Vec::with_capacity(n);
    for i in 0..n {
        let (l, c) = if i < rare {
            ("Heartbleed", "Heartbleed")
        } else {
            match rng.u32(0..10) {
                0..=5 => ("Benign", "Benign"),
                6..=7 => ("DoS attacks-Hulk", "DoS"),
                _ => ("PortScan", "PortScan"),
            }
        };
        for f in 0..nf {
            let mut v = rng.f64() * 2.0 - 1.0;
            match (f, l) {
                (0, "DoS attacks-Hulk") => v += 2.5,
                (1, "PortScan") => v += 2.5,
                (2, "Heartbleed") => v += 4.0,
                _ => {}
            }
            if f == 3 && rng.u32(0..3) == 0 {
                v = 0.0;
            }
            if f == nf - 1 {
                v = 7.0;
            } else if rng.u32(0..50) == 0 {
                v = f64::NAN;
            }
            x.push(v);
        }
        label.push(l.to_string());
        category.push(c.to_string());
    }
    Synth {
        features,
        x,
        label,
        category,
    }
}

/// Write train/val/test splits (70/15/15) of `s` into `dir`.
pub fn write_splits(dir: &Path, s: &Synth) {
    std::fs::create_dir_all(dir).unwrap();
    let n = s.label.len();
    let nf = s.features.len();
    let cuts = [0, n * 70 / 100, n * 85 / 100, n];
    for (i, name) in ["train", "val", "test"].iter().enumerate() {
        let (a, b) = (cuts[i], cuts[i + 1]);
        let rows = SplitRows {
            features: &s.features,
            x: &s.x[a * nf..b * nf],
            label: &s.label[a..b],
            category: &s.category[a..b],
        };
        write_split(&dir.join(format!("{name}.parquet")), Mode::Corrected, &rows);
    }
}
