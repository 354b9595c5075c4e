//! 5-fold stratified cross-validation of the GBDT (binary and multiclass) on CIC CSVs, as the
//! benchmark in docs/models.md reports it. Each fold's other four folds are split 90/10 into
//! train and val (early stopping); the fold itself is the test set.
//!
//! Usage: cv CSV_OR_DIR... (imported with mlids-dataset's default cleaning into a temp dir)

use mlids_train::data::{self, Table};
use mlids_train::train::{train_tables, TrainConfig};
use mlids_train::{FitControl, GbdtParams, Task};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let sources: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    assert!(!sources.is_empty(), "usage: cv CSV_OR_DIR...");
    let tmp = std::env::temp_dir().join(format!("mlids-cv-{}", std::process::id()));
    mlids_dataset::import(
        &sources,
        &tmp,
        &Default::default(),
        &mut mlids_dataset::NoProgress,
    )
    .unwrap();
    let path = tmp.join("data.parquet");
    let schema = data::read_schema(&path).unwrap();
    let all = data::load(&path, &schema.features).unwrap();
    std::fs::remove_dir_all(&tmp).ok();

    // Stratified folds: shuffle each label's rows, deal them round-robin.
    let k = 5;
    let mut rng = fastrand::Rng::with_seed(7);
    let mut by_label: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, &id) in all.label.ids.iter().enumerate() {
        by_label.entry(id).or_default().push(i);
    }
    let mut fold = vec![0usize; all.n_rows];
    let mut next = 0;
    for rows in by_label.values_mut() {
        rng.shuffle(rows);
        for &r in rows.iter() {
            fold[r] = next % k;
            next += 1;
        }
    }
    println!(
        "5-fold stratified CV on {} rows ({} mode, {} labels) from {}\n",
        all.n_rows,
        all.mode,
        all.label.names.len(),
        sources
            .iter()
            .map(|s| s.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("| task | fold | test rows | binary precision | binary recall | binary F1 | PR-AUC | benign FPR | macro F1 | F1 w/o Infiltration | train s |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for task in [Task::Binary, Task::Multiclass] {
        let mut f1s = Vec::new();
        let mut macro_f1s = Vec::new();
        for f in 0..k {
            let test_rows: Vec<usize> = (0..all.n_rows).filter(|&r| fold[r] == f).collect();
            let mut rest: Vec<usize> = (0..all.n_rows).filter(|&r| fold[r] != f).collect();
            rng.shuffle(&mut rest);
            let n_val = rest.len() / 10;
            let (val_rows, train_rows) = rest.split_at(n_val);
            let sel = |rows: &[usize]| -> Table { all.select_rows(rows) };
            let (train, val, test) = (sel(train_rows), sel(val_rows), sel(&test_rows));
            let cfg = TrainConfig {
                task,
                params: GbdtParams {
                    train_metric: false,
                    ..Default::default()
                },
                min_samples_per_label: (task == Task::Multiclass).then_some(20),
                ..Default::default()
            };
            let t0 = Instant::now();
            let t = train_tables(
                train,
                Some(&val),
                Some(&test),
                &cfg,
                &mut FitControl::default(),
                &mut |_| {},
            )
            .unwrap();
            let secs = t0.elapsed().as_secs_f64();
            let e = t.test.unwrap();
            let b = &e.binary;
            println!(
                "| {task} | {f} | {} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {} | {secs:.1} |",
                e.rows,
                b.precision,
                b.recall,
                b.f1,
                b.pr_auc.unwrap_or(f64::NAN),
                b.benign_fpr,
                e.macro_f1,
                e.binary_without_infiltration.as_ref().map_or("n/a".into(), |w| format!("{:.4}", w.f1)),
            );
            f1s.push(b.f1);
            macro_f1s.push(e.macro_f1);
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let sd = |v: &[f64]| {
            let m = mean(v);
            (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
        };
        println!(
            "| **{task} mean ± sd** | | | | | **{:.4} ± {:.4}** | | | {:.4} ± {:.4} | | |",
            mean(&f1s),
            sd(&f1s),
            mean(&macro_f1s),
            sd(&macro_f1s)
        );
    }
}
