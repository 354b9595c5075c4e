//! Split properties: exact stratification, tiny classes, determinism, whole days, read-back.

mod common;

use common::*;
use mlids_dataset::split::{SPLIT_FILES, SPLIT_NAMES};
use mlids_dataset::{read_training_data, SplitBy, SplitOptions, TrainingReadOptions};
use mlids_flow::{Mode, NameStyle};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const SIZES: [(&str, usize); 7] = [
    ("Bot", 1),
    ("SQL Injection", 2),
    ("Brute Force -XSS", 3),
    ("Brute Force -Web", 7),
    ("FTP-BruteForce", 10),
    ("DoS attacks-Hulk", 101),
    ("Benign", 1000),
];

/// A dataset whose rows are spread over five days, labels interleaved.
fn dataset(dir: &Path) {
    let mut c = Craft::new(Mode::Cic2018, NameStyle::Cic2018, true);
    let mut id = 0;
    let max = SIZES.iter().map(|s| s.1).max().unwrap();
    for i in 0..max {
        for (label, n) in SIZES {
            if i < n {
                let day = 14 + id % 5;
                c.rows(label, &format!("{day:02}/02/2018 01:00:00"), 1, id);
                id += 1;
            }
        }
    }
    let p = dir.join("in.csv");
    c.write(&p);
    import(&[p], &dir.join("ds")).unwrap();
}

/// (label, flow_duration id) of every row per split.
fn contents(dir: &Path) -> Vec<BTreeSet<(String, i64)>> {
    SPLIT_FILES
        .iter()
        .map(|f| {
            let p = dir.join(f);
            let labels = col_str(&p, "label");
            let ids = col_f64(&p, "flow_duration");
            labels
                .into_iter()
                .zip(ids)
                .map(|(l, i)| (l.unwrap(), i.unwrap() as i64))
                .collect()
        })
        .collect()
}

#[test]
fn stratified_split_is_exact_and_covers_tiny_classes() {
    let t = tempfile::tempdir().unwrap();
    dataset(t.path());
    let ds = t.path().join("ds");
    let opts = SplitOptions {
        ratios: [0.8, 0.1, 0.1],
        seed: 42,
        ..Default::default()
    };
    let card = mlids_dataset::split(&ds, None, &opts).unwrap();
    let parts = contents(&ds);
    let total: usize = SIZES.iter().map(|s| s.1).sum();
    assert_eq!(parts.iter().map(|p| p.len()).sum::<usize>(), total);
    let all: BTreeSet<_> = parts.iter().flatten().cloned().collect();
    assert_eq!(all.len(), total, "splits overlap or lose rows");
    for (label, n) in SIZES {
        let counts: Vec<usize> = parts
            .iter()
            .map(|p| p.iter().filter(|(l, _)| l == label).count())
            .collect();
        assert_eq!(counts.iter().sum::<usize>(), n);
        assert_eq!(
            card.split.as_ref().unwrap().labels[label]
                .map(|c| c as usize)
                .to_vec(),
            counts
        );
        if n >= 3 {
            assert!(
                counts.iter().all(|&c| c > 0),
                "{label} ({n} rows) missing from a split: {counts:?}"
            );
        }
        if n as f64 * 0.1 >= 1.0 {
            for (k, r) in opts.ratios.iter().enumerate() {
                let want = n as f64 * r;
                assert!(
                    (counts[k] as f64 - want).abs() <= 1.0,
                    "{label}: {counts:?} vs ratio {:?}",
                    opts.ratios
                );
            }
        }
    }
    let count = |l: &str| {
        parts
            .iter()
            .map(|p| p.iter().filter(|(x, _)| x == l).count())
            .collect::<Vec<_>>()
    };
    assert_eq!(count("Bot"), [1, 0, 0]);
    assert_eq!(count("SQL Injection"), [1, 0, 1]);
    // Mode and metadata survive.
    for f in SPLIT_FILES {
        assert_eq!(
            mlids_dataset::open_dataset(&ds.join(f)).unwrap().mode,
            Mode::Cic2018
        );
    }
    let rows = &card.split.as_ref().unwrap().rows;
    assert_eq!(
        SPLIT_NAMES.iter().map(|n| rows[*n]).sum::<u64>(),
        total as u64
    );
}

#[test]
fn same_seed_same_split_other_seed_other_split() {
    let t = tempfile::tempdir().unwrap();
    dataset(t.path());
    let ds = t.path().join("ds");
    let run = |seed: u64, out: &str| {
        let o = t.path().join(out);
        mlids_dataset::split(
            &ds,
            Some(&o),
            &SplitOptions {
                seed,
                ..Default::default()
            },
        )
        .unwrap();
        contents(&o)
    };
    let a = run(42, "a");
    let b = run(42, "b");
    let c = run(43, "c");
    assert_eq!(a, b);
    assert_ne!(a[0], c[0]);
    // Byte-identical files too.
    for f in SPLIT_FILES {
        assert_eq!(
            std::fs::read(t.path().join("a").join(f)).unwrap(),
            std::fs::read(t.path().join("b").join(f)).unwrap()
        );
    }
}

#[test]
fn by_day_keeps_days_apart() {
    let t = tempfile::tempdir().unwrap();
    dataset(t.path());
    let ds = t.path().join("ds");
    let out = t.path().join("days");
    let card = mlids_dataset::split(
        &ds,
        Some(&out),
        &SplitOptions {
            by: SplitBy::Day,
            seed: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (k, f) in SPLIT_FILES.iter().enumerate() {
        let days: BTreeSet<String> = col_str(&out.join(f), "day").into_iter().flatten().collect();
        assert!(!days.is_empty(), "{f} has no day");
        for d in days {
            assert_eq!(
                *seen.entry(d.clone()).or_insert(k),
                k,
                "day {d} in two splits"
            );
        }
    }
    assert_eq!(seen.len(), 5);
    let s = card.split.unwrap();
    assert_eq!(s.by, "day");
    assert_eq!(s.days.values().map(Vec::len).sum::<usize>(), 5);
}

#[test]
fn training_data_reads_back_and_refuses_mixed_modes() {
    let t = tempfile::tempdir().unwrap();
    dataset(t.path());
    let ds = t.path().join("ds");
    mlids_dataset::split(&ds, None, &Default::default()).unwrap();
    let files: Vec<_> = SPLIT_FILES.iter().map(|f| ds.join(f)).collect();
    for threads in [1, 2, 3] {
        let td = read_training_data(
            &files,
            &TrainingReadOptions {
                threads,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(td.n_rows, 1124);
        assert_eq!(td.features.len(), 78);
        assert_eq!(td.x.len(), 1124 * 78);
        assert_eq!(td.feature_names[2], "flow_duration");
        let ids: BTreeSet<i64> = (0..td.n_rows).map(|i| td.row(i)[2] as i64).collect();
        assert_eq!(ids.len(), 1124);
        let benign = td.label_names.iter().position(|l| l == "Benign").unwrap() as u32;
        assert_eq!(td.label.iter().filter(|&&l| l == benign).count(), 1000);
        assert_eq!(td.is_attack.iter().filter(|a| **a).count(), 124);
    }
    // A corrected-mode file next to cic2018 ones is refused.
    let c = t.path().join("c.csv");
    let mut cr = Craft::new(Mode::Corrected, NameStyle::Improved, false);
    cr.rows("Benign", "2018-02-16 13:47:37.000000", 2, 0);
    cr.write(&c);
    import(&[c], &t.path().join("corr")).unwrap();
    let e = read_training_data(
        &[files[0].clone(), t.path().join("corr/data.parquet")],
        &Default::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("cannot mix extractor modes"), "{e}");
}
