//! `ml-ids compare`: train several model families on the same splits, evaluate them on the same
//! test rows, optionally hold one attack family out of training (the novel-attack test), combine
//! each classifier with the autoencoder (classifier OR anomaly), and write one report (JSON,
//! Markdown, self-contained HTML with all PR curves in one chart).

use crate::data::{self, Table};
use crate::fit::FitControl;
use crate::gbdt::GbdtParams;
use crate::metrics::{self, BinaryMetrics, Evaluation};
pub use crate::report::compare::{
    hybrid_table, markdown, metrics_table, pr_chart_svg, write_reports,
};
use crate::report::fmt_opt;
use crate::train::{self, holdout_mask, Splits, ThresholdChoice, TrainConfig};
use crate::zoo::{ModelChoice, ModelKind};
use mlids_model::bundle::{self, Bundle};
use mlids_model::{Classifier, FitSummary, Task};
use mlids_model::{ModelError, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

/// One published reference result: (model, PR-AUC / AP, precision, recall).
pub type ReferenceRow = (&'static str, Option<f64>, Option<f64>, Option<f64>);

/// The seed project's published numbers (full CSE-CIC-IDS2018 validation split).
pub const SEED_REFERENCE: &[ReferenceRow] = &[
    // (model, PR-AUC / AP, precision, recall)
    (
        "CatBoost (seed's final model)",
        Some(0.9826),
        Some(0.964),
        Some(0.957),
    ),
    ("Random forest", Some(0.9810), None, None),
    ("DNN", None, Some(0.992), Some(0.939)),
    ("Denoising autoencoder", Some(0.934), Some(0.86), Some(0.90)),
];

#[derive(Clone, Debug)]
pub struct CompareConfig {
    pub models: Vec<ModelKind>,
    pub task: Task,
    /// Labels or categories held out of train and val.
    pub holdout: Vec<String>,
    pub gbdt: GbdtParams,
    /// Parameters per family (defaults for those absent).
    pub params: HashMap<ModelKind, ModelChoice>,
    pub exclude: Vec<String>,
    pub target_recall: f64,
    pub seed: u64,
    /// Train on the flow model's scope only (see `TrainConfig::model_scope`).
    pub model_scope: bool,
    /// Write each model's bundle to `OUT/models/NAME`.
    pub save_models: bool,
    /// Rows classified one at a time to measure single-flow latency.
    pub latency_rows: usize,
}

impl Default for CompareConfig {
    fn default() -> Self {
        CompareConfig {
            models: ModelKind::ALL.to_vec(),
            task: Task::Binary,
            holdout: Vec::new(),
            gbdt: GbdtParams {
                train_metric: false,
                ..Default::default()
            },
            params: HashMap::new(),
            exclude: train::DEFAULT_EXCLUDE
                .iter()
                .map(|s| s.to_string())
                .collect(),
            target_recall: 0.99,
            seed: 42,
            model_scope: true,
            save_models: true,
            latency_rows: 300,
        }
    }
}

/// Detection of the held-out family.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HeldOut {
    /// Held-out rows evaluated (from every split: none was used in training).
    pub rows: u64,
    pub detected: u64,
    pub recall: f64,
}

/// Recall of one attack category on the test rows.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CategoryRecall {
    pub rows: u64,
    pub detected: u64,
    pub recall: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelResult {
    pub model: ModelKind,
    pub engine: String,
    pub description: String,
    pub threshold: f64,
    pub threshold_rule: String,
    /// Wall time of `train_tables` (selection, scaling, fit, val predictions).
    pub train_seconds: f64,
    pub fit: FitSummary,
    /// Batch prediction over the test rows.
    pub predict_seconds: f64,
    pub predict_rows_per_second: f64,
    /// Mean time to classify one row on its own (`latency_rows` rows).
    pub latency_us_per_row: f64,
    /// Test metrics at the model's threshold.
    pub test: BinaryMetrics,
    pub macro_f1: f64,
    pub target_recall: metrics::TargetRecall,
    pub held_out: Option<HeldOut>,
    /// Test recall per attack category.
    pub by_category: BTreeMap<String, CategoryRecall>,
    pub pr_curve: Vec<(f64, f64)>,
    /// Model files (bytes) as saved.
    pub bundle_bytes: Option<u64>,
    pub bundle: Option<String>,
}

/// A classifier OR the autoencoder.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HybridResult {
    pub classifier: ModelKind,
    /// The hybrid at both models' thresholds.
    pub test: BinaryMetrics,
    pub held_out: Option<HeldOut>,
    pub pr_curve: Vec<(f64, f64)>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comparison {
    pub created_at: String,
    pub data: String,
    pub mode: String,
    pub task: Task,
    pub train_rows: u64,
    pub val_rows: u64,
    pub test_rows: u64,
    pub test_attacks: u64,
    pub holdout: Vec<String>,
    /// Training rows per canonical label after the hold-out (what every model saw).
    pub train_labels: BTreeMap<String, u64>,
    pub models: Vec<ModelResult>,
    pub hybrids: Vec<HybridResult>,
    pub target_recall: f64,
    pub threads: usize,
    pub versions: BTreeMap<String, String>,
}

/// Progress lines.
pub type Log<'a> = &'a mut dyn FnMut(&str);

/// Map a score so that its threshold lands on 0.5 (piecewise linear, monotone), so that
/// `max(g(a), g(b)) ≥ 0.5` is exactly "a over its threshold OR b over its threshold".
pub fn centre_on_threshold(s: f64, t: f64) -> f64 {
    if s < t {
        0.5 * s / t
    } else if t >= 1.0 {
        1.0
    } else {
        0.5 + 0.5 * (s - t) / (1.0 - t)
    }
}

fn select_named(t: &Table, names: &[String]) -> Result<Table> {
    let idx = names
        .iter()
        .map(|f| {
            t.feature_names.iter().position(|n| n == f).ok_or_else(|| {
                ModelError::Data(format!("{} lacks feature `{f}`", t.path.display()))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(t.select_features(&idx))
}

fn dir_bytes(dir: &Path, files: &[String]) -> u64 {
    files
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// Threads LightGBM and candle use (all cores unless configured).
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Run the comparison on `splits` (train, val and test are required) and write the reports into
/// `out`. Returns the comparison.
pub fn run(
    splits: &Splits,
    cfg: &CompareConfig,
    out: &Path,
    ctl: &mut FitControl,
    log: Log,
) -> Result<Comparison> {
    if cfg.models.is_empty() {
        return Err(ModelError::Params("no models to compare".into()));
    }
    let (Some(val_path), Some(test_path)) = (&splits.val, &splits.test) else {
        return Err(ModelError::Data(format!(
            "{}: compare needs train, val and test splits (ml-ids dataset split)",
            splits.dir.display()
        )));
    };
    let schema = data::read_schema(&splits.train)?;
    log(&format!(
        "loading {} ({} mode, {} features)",
        splits.dir.display(),
        schema.mode,
        schema.features.len()
    ));
    let train_t = data::load(&splits.train, &schema.features)?;
    let val_t = train::load_checked(val_path, schema.mode, &schema.features)?;
    let test_t = train::load_checked(test_path, schema.mode, &schema.features)?;
    std::fs::create_dir_all(out).map_err(|e| ModelError::io(out, e))?;

    // Held-out rows of train and val (never trained on) join the test rows of the family in the
    // held-out recall.
    let held = |t: &Table| -> Option<Table> {
        if cfg.holdout.is_empty() {
            return None;
        }
        let m = holdout_mask(t, &cfg.holdout);
        let rows: Vec<usize> = (0..t.n_rows).filter(|&r| m[r]).collect();
        Some(t.select_rows(&rows))
    };
    let held_parts: Vec<Table> = [&train_t, &val_t, &test_t]
        .into_iter()
        .filter_map(held)
        .collect();
    if !cfg.holdout.is_empty() && held_parts.iter().all(|t| t.n_rows == 0) {
        return Err(ModelError::Params(format!(
            "--holdout {}: no row has that label or category",
            cfg.holdout.join(",")
        )));
    }
    let mut train_labels = BTreeMap::new();
    {
        let m = if cfg.holdout.is_empty() {
            vec![false; train_t.n_rows]
        } else {
            holdout_mask(&train_t, &cfg.holdout)
        };
        for r in (0..train_t.n_rows).filter(|&r| !m[r]) {
            *train_labels
                .entry(train_t.label.get(r).to_string())
                .or_insert(0u64) += 1;
        }
    }

    let mut results: Vec<ModelResult> = Vec::new();
    // Per model: test attack scores and held-out detections (for the hybrids).
    let mut scores: HashMap<ModelKind, (Vec<f64>, Vec<bool>)> = HashMap::new();
    for &kind in &cfg.models {
        if scores.contains_key(&kind) {
            continue;
        }
        let mut choice = cfg
            .params
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| ModelChoice::default_for(kind));
        choice.set_seed(cfg.seed);
        let tc = TrainConfig {
            task: cfg.task,
            params: GbdtParams {
                seed: cfg.seed,
                ..cfg.gbdt.clone()
            },
            model: choice,
            holdout: cfg.holdout.clone(),
            exclude: cfg.exclude.clone(),
            target_recall: cfg.target_recall,
            threshold: ThresholdChoice::Auto,
            seed: cfg.seed,
            model_scope: cfg.model_scope,
            ..TrainConfig::default()
        };
        log(&format!("── {kind}: {}", kind.describe()));
        let t0 = Instant::now();
        let trained = train::train_tables(train_t.clone(), Some(&val_t), None, &tc, ctl, log)?;
        let train_seconds = t0.elapsed().as_secs_f64();
        let m = &trained.manifest;
        let model: &dyn Classifier = trained.model.as_ref();
        let test_sel = select_named(&test_t, &m.features)?;
        let t1 = Instant::now();
        let probs = train::predict(model, &test_sel)?;
        let predict_seconds = t1.elapsed().as_secs_f64();
        // Single-row latency.
        let nf = m.features.len();
        let lat_rows = cfg.latency_rows.min(test_sel.n_rows);
        let mut one = vec![0.0; model.n_classes()];
        let t2 = Instant::now();
        for r in 0..lat_rows {
            model.predict_proba(&test_sel.x[r * nf..(r + 1) * nf], &mut one)?;
        }
        let latency_us_per_row = if lat_rows > 0 {
            t2.elapsed().as_secs_f64() * 1e6 / lat_rows as f64
        } else {
            0.0
        };
        let rule = m.decision_rule();
        let e: Evaluation = train::evaluate_probs(
            "test",
            &rule,
            &m.label_names(),
            &probs,
            &test_sel,
            cfg.task,
            cfg.target_recall,
        );
        let k = m.labels.len();
        let s: Vec<f64> = probs
            .chunks_exact(k)
            .map(|p| rule.attack_score(p))
            .collect();
        let mut by_category: BTreeMap<String, CategoryRecall> = BTreeMap::new();
        for (r, &sc) in s.iter().enumerate() {
            if !test_sel.is_attack[r] {
                continue;
            }
            let c = by_category
                .entry(test_sel.category.get(r).to_string())
                .or_insert(CategoryRecall {
                    rows: 0,
                    detected: 0,
                    recall: 0.0,
                });
            c.rows += 1;
            c.detected += (sc >= rule.threshold) as u64;
        }
        by_category
            .values_mut()
            .for_each(|c| c.recall = c.detected as f64 / c.rows.max(1) as f64);
        // Held-out rows from every split.
        let mut held_flags = Vec::new();
        for part in &held_parts {
            if part.n_rows == 0 {
                continue;
            }
            let sel = select_named(part, &m.features)?;
            let p = train::predict(model, &sel)?;
            held_flags.extend(
                p.chunks_exact(k)
                    .map(|row| rule.attack_score(row) >= rule.threshold),
            );
        }
        let held_out = (!cfg.holdout.is_empty()).then(|| {
            let detected = held_flags.iter().filter(|&&d| d).count() as u64;
            HeldOut {
                rows: held_flags.len() as u64,
                detected,
                recall: detected as f64 / held_flags.len().max(1) as f64,
            }
        });
        let (bundle, bundle_bytes) = if cfg.save_models {
            let dir = out.join("models").join(kind.name());
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| ModelError::io(&dir, e))?;
            }
            let saved = Bundle::save(&dir, trained.manifest.clone(), model)?;
            (
                Some(dir.display().to_string()),
                Some(dir_bytes(&dir, &saved.model_files)),
            )
        } else {
            (None, None)
        };
        let b = &e.binary;
        log(&format!(
            "   {kind}: precision {:.4} recall {:.4} F1 {:.4} PR-AUC {} | train {:.1}s, predict {:.0} rows/s{}",
            b.precision,
            b.recall,
            b.f1,
            fmt_opt(b.pr_auc),
            train_seconds,
            test_sel.n_rows as f64 / predict_seconds.max(1e-9),
            held_out
                .as_ref()
                .map_or(String::new(), |h| format!(" | held-out recall {:.4} ({}/{})", h.recall, h.detected, h.rows))
        ));
        scores.insert(kind, (s, held_flags));
        results.push(ModelResult {
            model: kind,
            engine: m.engine.clone(),
            description: kind.describe().to_string(),
            threshold: m.threshold.value,
            threshold_rule: m.threshold.rule.clone(),
            train_seconds,
            fit: trained.fit.clone(),
            predict_seconds,
            predict_rows_per_second: test_sel.n_rows as f64 / predict_seconds.max(1e-9),
            latency_us_per_row,
            test: e.binary.clone(),
            macro_f1: e.macro_f1,
            target_recall: e.target_recall.clone(),
            held_out,
            by_category,
            pr_curve: e.pr_curve.clone(),
            bundle_bytes,
            bundle,
        });
    }

    // Hybrids: each classifier OR the autoencoder.
    let mut hybrids = Vec::new();
    if let Some(ae) = results.iter().find(|r| r.model.is_anomaly_detector()) {
        let (ae_s, ae_h) = &scores[&ae.model];
        for r in results.iter().filter(|r| !r.model.is_anomaly_detector()) {
            let (c_s, c_h) = &scores[&r.model];
            let h: Vec<f64> = c_s
                .iter()
                .zip(ae_s)
                .map(|(&c, &a)| {
                    centre_on_threshold(c, r.threshold).max(centre_on_threshold(a, ae.threshold))
                })
                .collect();
            let test = metrics::binary_metrics(&h, &test_t.is_attack, 0.5);
            let held_out = r.held_out.as_ref().map(|_| {
                let detected = c_h.iter().zip(ae_h).filter(|(a, b)| **a || **b).count() as u64;
                HeldOut {
                    rows: c_h.len() as u64,
                    detected,
                    recall: detected as f64 / c_h.len().max(1) as f64,
                }
            });
            hybrids.push(HybridResult {
                classifier: r.model,
                pr_curve: metrics::pr_curve(&h, &test_t.is_attack, 400),
                test,
                held_out,
            });
        }
    }

    let comparison = Comparison {
        created_at: bundle::now_rfc3339(),
        data: splits.dir.display().to_string(),
        mode: schema.mode.as_str().to_string(),
        task: cfg.task,
        train_rows: train_t.n_rows as u64,
        val_rows: val_t.n_rows as u64,
        test_rows: test_t.n_rows as u64,
        test_attacks: test_t.is_attack.iter().filter(|&&a| a).count() as u64,
        holdout: cfg.holdout.clone(),
        train_labels,
        models: results,
        hybrids,
        target_recall: cfg.target_recall,
        threads: threads(),
        versions: bundle::versions(),
    };
    write_reports(&comparison, out)?;
    Ok(comparison)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centring_keeps_the_or_rule() {
        for &(a, ta, b, tb) in &[
            (0.3, 0.5, 0.9, 0.2),
            (0.1, 0.5, 0.1, 0.2),
            (0.5, 0.5, 0.0, 0.9),
            (0.99, 1.0, 0.0, 0.0),
        ] {
            let or = a >= ta || b >= tb;
            let h = centre_on_threshold(a, ta).max(centre_on_threshold(b, tb));
            assert_eq!(h >= 0.5, or, "{a} {ta} {b} {tb}");
        }
        // Monotone.
        assert!(centre_on_threshold(0.2, 0.3) < centre_on_threshold(0.25, 0.3));
        assert!(centre_on_threshold(0.4, 0.3) < centre_on_threshold(0.5, 0.3));
    }
}
