//! From Parquet splits to a fitted model and its manifest: feature selection, label encoding,
//! holding attack families out, minority upsampling, class weights, fitting (any engine of the
//! zoo) with early stopping on val, threshold choice and evaluation on val and test.

use crate::data::{self, Table};
use crate::fit::{Fit, FitControl, ParamGuard, TrainSet};
use crate::gbdt::{GbdtParams, ValidGbdtParams};
use crate::metrics::{self, DecisionRule, Evaluation, Truth};
use crate::zoo::{preprocess, ModelChoice};
use mlids_flow::Mode;
use mlids_model::bundle::{
    self, DatasetInfo, Holdout, LabelInfo, Manifest, ModelScope, Preprocessing, Threshold,
    FORMAT_VERSION, MISSING_VALUE_POLICY, ZOO_MISSING_VALUE_POLICY,
};
use mlids_model::{Classifier, FitSummary, Task};
use mlids_model::{ModelError, Result};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Label of benign rows (the dataset crate's canonical name), the detector's.
pub use mlids_model::detector::BENIGN;
/// Label of the attack class of binary models.
pub const ATTACK: &str = "Attack";
/// Features left out unless configured otherwise, as the seed did.
pub const DEFAULT_EXCLUDE: &[&str] = &["timestamp", "dst_port"];

/// The three splits of a dataset directory.
#[derive(Clone, Debug)]
pub struct Splits {
    pub dir: PathBuf,
    pub train: PathBuf,
    pub val: Option<PathBuf>,
    pub test: Option<PathBuf>,
    pub card: Option<PathBuf>,
}

impl Splits {
    /// `DIR/train.parquet` (required), `val.parquet`, `test.parquet`, `card.json` (optional).
    pub fn in_dir(dir: &Path) -> Result<Splits> {
        let train = dir.join("train.parquet");
        if !train.is_file() {
            return Err(ModelError::Data(format!(
                "{} not found: point --data at a directory written by `ml-ids dataset split`",
                train.display()
            )));
        }
        let opt = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
        Ok(Splits {
            dir: dir.to_path_buf(),
            train,
            val: opt("val.parquet"),
            test: opt("test.parquet"),
            card: opt("card.json"),
        })
    }
}

/// How the decision threshold is chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ThresholdChoice {
    Fixed(f64),
    /// The largest threshold reaching the target recall on val.
    TargetRecallOnVal,
    /// 0.5 for classifiers; for the autoencoder the largest threshold reaching its own
    /// `target_recall` on val (its score has no natural 0.5 point).
    Auto,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassWeights {
    /// `n / (K · n_c)`, as the seed did.
    InverseFrequency,
    None,
}

#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub task: Task,
    /// GBDT parameters (used when `model` is [`ModelChoice::Gbdt`]).
    pub params: GbdtParams,
    /// Which model to train (GBDT by default) and its parameters.
    pub model: ModelChoice,
    /// Canonical labels or categories left out of train and val entirely (novel-attack test); test
    /// rows are kept, so the evaluation shows how the model does on a family it never saw.
    pub holdout: Vec<String>,
    /// Feature names to leave out (snake names; `timestamp` is accepted and means nothing to drop,
    /// since timestamps are metadata in our schema).
    pub exclude: Vec<String>,
    pub min_samples_per_label: Option<usize>,
    pub class_weights: ClassWeights,
    pub target_recall: f64,
    pub threshold: ThresholdChoice,
    pub seed: u64,
    /// Train and evaluate on the flows the flow model judges only (answered conversations); the
    /// others are the host-behaviour stage's. Off: every row, as before that stage existed.
    pub model_scope: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            task: Task::Binary,
            params: GbdtParams::default(),
            model: ModelChoice::Gbdt,
            holdout: Vec::new(),
            exclude: DEFAULT_EXCLUDE.iter().map(|s| s.to_string()).collect(),
            min_samples_per_label: None,
            class_weights: ClassWeights::InverseFrequency,
            target_recall: 0.99,
            threshold: ThresholdChoice::Auto,
            seed: 42,
            model_scope: true,
        }
    }
}

/// A trained model, its manifest (not yet written) and its evaluations.
pub struct Trained {
    pub model: Box<dyn Classifier>,
    pub manifest: Manifest,
    pub fit: FitSummary,
    pub val: Option<Evaluation>,
    pub test: Option<Evaluation>,
}

/// Progress messages from the non-iteration steps (loading, selection).
pub type Log<'a> = &'a mut dyn FnMut(&str);

/// Train on `splits` as configured.
pub fn train(
    splits: &Splits,
    cfg: &TrainConfig,
    ctl: &mut FitControl,
    log: Log,
) -> Result<Trained> {
    check_config(cfg)?;
    let schema = data::read_schema(&splits.train)?;
    let mode = schema.mode;
    // Feature selection, step 1: configured exclusions.
    let all = mlids_flow::Feature::snake_names(mode);
    for e in &cfg.exclude {
        if e != "timestamp" && mlids_flow::Feature::from_snake_in(e, mode).is_none() {
            return Err(ModelError::Params(format!(
                "--exclude: `{e}` is not a {mode}-mode feature name"
            )));
        }
    }
    let excluded: Vec<String> = cfg
        .exclude
        .iter()
        .filter(|e| all.contains(e))
        .cloned()
        .collect();
    let candidates: Vec<String> = schema
        .features
        .iter()
        .filter(|f| !excluded.contains(f))
        .cloned()
        .collect();
    log(&format!(
        "loading {} ({} rows, {} mode, {} candidate features)",
        splits.train.display(),
        schema.n_rows,
        mode,
        candidates.len()
    ));
    let (train_full, train_removed) =
        load_in_scope(&splits.train, mode, &candidates, cfg.model_scope)?;
    if train_full.n_rows == 0 {
        return Err(ModelError::Data(format!(
            "{} has no rows{}",
            splits.train.display(),
            if train_removed > 0 {
                " in the flow model's scope (answered conversations)"
            } else {
                ""
            }
        )));
    }
    if train_removed > 0 {
        log(&format!(
            "{train_removed} training rows outside the flow model's scope left out (one-packet, \
             unanswered, refused or payload-free flows: the host-behaviour stage's)"
        ));
    }
    let info = DatasetInfo {
        path: splits.dir.display().to_string(),
        card_sha256: splits.card.as_ref().map(|p| sha256_file(p)).transpose()?,
        train_rows: schema.n_rows as u64,
        val_rows: 0,
        test_rows: 0,
    };
    let mut splits_loader = |which: &str, features: &[String]| -> Result<Option<(Table, u64)>> {
        let path = if which == "val" {
            &splits.val
        } else {
            &splits.test
        };
        path.as_ref()
            .map(|p| load_in_scope(p, mode, features, cfg.model_scope))
            .transpose()
    };
    let scope = cfg.model_scope.then(|| ModelScope {
        rule: SCOPE_RULE.into(),
        train_rows_removed: train_removed,
        ..ModelScope::default()
    });
    fit_tables(
        train_full,
        excluded,
        &mut splits_loader,
        (info, scope),
        cfg,
        ctl,
        log,
    )
}

/// Loads the val or test split with the given features (`None`: no such split), with the number of
/// rows left out as outside the flow model's scope.
type SplitLoader<'a> = &'a mut dyn FnMut(&str, &[String]) -> Result<Option<(Table, u64)>>;

/// Train on in-memory tables (cross-validation, model comparison). `val` and `test` must hold at
/// least the training table's features; `cfg.exclude` applies as in [`train`].
pub fn train_tables(
    train: Table,
    val: Option<&Table>,
    test: Option<&Table>,
    cfg: &TrainConfig,
    ctl: &mut FitControl,
    log: Log,
) -> Result<Trained> {
    let mode = train.mode;
    let excluded: Vec<String> = cfg
        .exclude
        .iter()
        .filter(|e| train.feature_names.contains(e))
        .cloned()
        .collect();
    let keep: Vec<usize> = (0..train.n_features())
        .filter(|&c| !excluded.contains(&train.feature_names[c]))
        .collect();
    let (train, train_removed) = keep_in_scope(train, cfg.model_scope)?;
    let train = train.select_features(&keep);
    let info = DatasetInfo {
        path: train.path.display().to_string(),
        card_sha256: None,
        train_rows: train.n_rows as u64,
        val_rows: 0,
        test_rows: 0,
    };
    let mut loader = |which: &str, features: &[String]| -> Result<Option<(Table, u64)>> {
        let t = if which == "val" { val } else { test };
        t.map(|t| {
            if t.mode != mode {
                return Err(ModelError::ModeMismatch {
                    model: mode.to_string(),
                    input: t.mode.to_string(),
                });
            }
            let idx = features
                .iter()
                .map(|f| {
                    t.feature_names
                        .iter()
                        .position(|n| n == f)
                        .ok_or_else(|| ModelError::Data(format!("{which} rows lack feature `{f}`")))
                })
                .collect::<Result<Vec<_>>>()?;
            let selected = t.select_features(&idx);
            if !cfg.model_scope {
                return Ok((selected, 0));
            }
            let keep = rows_in_scope(t)?;
            let removed = (t.n_rows - keep.len()) as u64;
            Ok((selected.select_rows(&keep), removed))
        })
        .transpose()
    };
    let scope = cfg.model_scope.then(|| ModelScope {
        rule: SCOPE_RULE.into(),
        train_rows_removed: train_removed,
        ..ModelScope::default()
    });
    fit_tables(train, excluded, &mut loader, (info, scope), cfg, ctl, log)
}

/// Check the configuration; returns the GBDT parameters when GBDT is the model.
fn check_config(cfg: &TrainConfig) -> Result<Option<ValidGbdtParams>> {
    let params = match cfg.model {
        ModelChoice::Gbdt => Some(cfg.params.clone().check()?),
        ref other => {
            other.check()?;
            None
        }
    };
    if cfg.model.kind().is_anomaly_detector() && cfg.task != Task::Binary {
        return Err(ModelError::Params(
            "the autoencoder is a benign-vs-attack anomaly detector: use the binary task".into(),
        ));
    }
    if cfg.holdout.iter().any(|h| h.trim().is_empty()) {
        return Err(ModelError::Params("empty --holdout name".into()));
    }
    if !(cfg.target_recall > 0.0 && cfg.target_recall <= 1.0) {
        return Err(ModelError::Params(format!(
            "target recall must be in (0, 1], got {}",
            cfg.target_recall
        )));
    }
    if let ThresholdChoice::Fixed(t) = cfg.threshold {
        if !(0.0..=1.0).contains(&t) {
            return Err(ModelError::Params(format!(
                "threshold must be in [0, 1], got {t}"
            )));
        }
    }
    Ok(params)
}

/// The phases of training, in order: hold families out, drop constant features, encode labels and
/// weights, fit with early stopping on val, choose the threshold, evaluate val and test, and
/// describe it all in the manifest.
fn fit_tables(
    train_full: Table,
    excluded: Vec<String>,
    load_split: SplitLoader,
    (mut info, mut scope): (DatasetInfo, Option<ModelScope>),
    cfg: &TrainConfig,
    ctl: &mut FitControl,
    log: Log,
) -> Result<Trained> {
    let gbdt_params = check_config(cfg)?;
    let mode = train_full.mode;
    let (train_full, mut holdout_info) = remove_holdout(train_full, &cfg.holdout, log)?;
    let (train_t, dropped_constant) = drop_constant_features(train_full, &excluded, log)?;
    let features = train_t.feature_names.clone();
    let train = encode_training_rows(train_t, cfg, log)?;
    let val_t = load_val(load_split, &features, &cfg.holdout, holdout_info.as_mut())?.map(
        |(v, removed)| {
            if let Some(s) = scope.as_mut() {
                s.val_rows_removed = removed;
            }
            v
        },
    );
    let (model, fit) = fit_model(&train, val_t.as_ref(), gbdt_params.as_ref(), cfg, ctl, log)?;
    let EncodedRows {
        labels,
        class_weights,
        ..
    } = train;

    let mut rule = DecisionRule {
        task: cfg.task,
        is_attack: labels.iter().map(|l| l.is_attack).collect(),
        threshold: 0.5,
    };
    let label_names: Vec<String> = labels.iter().map(|l| l.name.clone()).collect();
    let val_probs = val_t
        .as_ref()
        .map(|v| predict(model.as_ref(), v))
        .transpose()?;
    let threshold = choose_threshold(
        cfg,
        &rule,
        labels.len(),
        val_t.as_ref().zip(val_probs.as_deref()),
    )?;
    rule.threshold = threshold.value;

    let evaluate = |name: &str, t: &Table, probs: &[f64]| {
        evaluate_probs(
            name,
            &rule,
            &label_names,
            probs,
            t,
            cfg.task,
            cfg.target_recall,
        )
    };
    let val = val_t
        .as_ref()
        .zip(val_probs.as_deref())
        .map(|(v, p)| evaluate("val", v, p));
    drop(val_probs);
    info.val_rows = val_t.as_ref().map_or(0, |v| v.n_rows as u64);
    drop(val_t);
    let test = match load_split("test", &features)? {
        Some((t, removed)) => {
            if let Some(s) = scope.as_mut() {
                s.test_rows_removed = removed;
            }
            info.test_rows = t.n_rows as u64;
            let probs = predict(model.as_ref(), &t)?;
            Some(evaluate("test", &t, &probs))
        }
        None => None,
    };

    let manifest = build_manifest(
        cfg,
        model.as_ref(),
        &fit,
        gbdt_params.as_ref(),
        ManifestParts {
            mode,
            labels,
            features,
            excluded,
            dropped_constant,
            class_weights,
            holdout: holdout_info,
            model_scope: scope,
            threshold,
            dataset: info,
            evaluations: [&val, &test].into_iter().flatten().collect(),
        },
    )?;
    Ok(Trained {
        model,
        manifest,
        fit,
        val,
        test,
    })
}

/// Novel-attack test: the held-out families leave train entirely (val is filtered in
/// [`load_val`]; test keeps them). Names that match no training row are an error, not a no-op.
fn remove_holdout(train: Table, holdout: &[String], log: Log) -> Result<(Table, Option<Holdout>)> {
    if holdout.is_empty() {
        return Ok((train, None));
    }
    let out = holdout_mask(&train, holdout);
    let removed = out.iter().filter(|&&o| o).count();
    if removed == 0 {
        let mut labels: Vec<&str> = train.label.names.iter().map(String::as_str).collect();
        labels.extend(train.category.names.iter().map(String::as_str));
        labels.sort_unstable();
        labels.dedup();
        return Err(ModelError::Params(format!(
            "--holdout {}: no training row has that label or category (known: {})",
            holdout.join(","),
            labels.join(", ")
        )));
    }
    let keep: Vec<usize> = (0..train.n_rows).filter(|&r| !out[r]).collect();
    log(&format!(
        "holding out {}: {removed} training rows removed",
        holdout.join(", ")
    ));
    let info = Holdout {
        names: holdout.to_vec(),
        train_rows_removed: removed as u64,
        val_rows_removed: 0,
    };
    Ok((train.select_rows(&keep), Some(info)))
}

/// Feature selection, step 2 (after the configured exclusions): features constant on train carry
/// no information and are dropped; their names go into the manifest.
fn drop_constant_features(
    train: Table,
    excluded: &[String],
    log: Log,
) -> Result<(Table, Vec<String>)> {
    let (keep, dropped_constant) = non_constant_columns(&train);
    if keep.is_empty() {
        return Err(ModelError::Data(
            "every feature is constant on the training split".into(),
        ));
    }
    let train = train.select_features(&keep);
    log(&format!(
        "{} features kept; excluded: [{}]; constant on train: [{}]",
        train.n_features(),
        excluded.join(", "),
        dropped_constant.join(", ")
    ));
    Ok((train, dropped_constant))
}

/// The training rows ready for a learner: upsampled, with class indices and per-row weights.
struct EncodedRows {
    table: Table,
    /// Class index per row.
    y: Vec<u32>,
    /// The classes, with their training-row counts.
    labels: Vec<LabelInfo>,
    /// Weight per class (inverse frequency), when the learner uses them.
    class_weights: Option<Vec<f64>>,
    /// Weight per row, from `class_weights`.
    weights: Option<Vec<f32>>,
}

/// Classes from the rows, minority upsampling by canonical label, encoding and class weights.
fn encode_training_rows(mut table: Table, cfg: &TrainConfig, log: Log) -> Result<EncodedRows> {
    let labels = label_infos(&table, cfg.task);
    if !labels.iter().any(|l| l.is_attack) || !labels.iter().any(|l| !l.is_attack) {
        return Err(ModelError::Data(
            "the training split needs both benign and attack rows".into(),
        ));
    }
    if let Some(min) = cfg.min_samples_per_label {
        let before = table.n_rows;
        table = upsample(&table, min, cfg.seed);
        log(&format!(
            "upsampled labels with fewer than {min} rows: {before} → {} rows",
            table.n_rows
        ));
    }
    let y: Vec<u32> = encode(&table, cfg.task, &labels)
        .into_iter()
        .map(|c| c.expect("the classes come from these rows") as u32)
        .collect();
    let k = labels.len();
    let mut counts = vec![0u64; k];
    y.iter().for_each(|&c| counts[c as usize] += 1);
    let labels: Vec<LabelInfo> = labels
        .into_iter()
        .zip(&counts)
        .map(|(l, &n)| LabelInfo { train_rows: n, ..l })
        .collect();
    let class_weights = match cfg.class_weights {
        ClassWeights::InverseFrequency if cfg.model.kind().uses_class_weights() => {
            Some(inverse_frequency(&counts))
        }
        _ => None,
    };
    let weights = class_weights
        .as_ref()
        .map(|w| y.iter().map(|&c| w[c as usize] as f32).collect());
    Ok(EncodedRows {
        table,
        y,
        labels,
        class_weights,
        weights,
    })
}

/// `n / (K · n_c)` per class, as the seed did (0 for a class without rows).
fn inverse_frequency(counts: &[u64]) -> Vec<f64> {
    let n: u64 = counts.iter().sum();
    let k = counts.len() as f64;
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                n as f64 / (k * c as f64)
            }
        })
        .collect()
}

/// The val split with the training features, without the held-out families.
fn load_val(
    load_split: SplitLoader,
    features: &[String],
    holdout: &[String],
    holdout_info: Option<&mut Holdout>,
) -> Result<Option<(Table, u64)>> {
    let Some((val, out_of_scope)) = load_split("val", features)? else {
        return Ok(None);
    };
    if holdout.is_empty() {
        return Ok(Some((val, out_of_scope)));
    }
    let out = holdout_mask(&val, holdout);
    let keep: Vec<usize> = (0..val.n_rows).filter(|&r| !out[r]).collect();
    if let Some(h) = holdout_info {
        h.val_rows_removed = (val.n_rows - keep.len()) as u64;
    }
    Ok(Some((val.select_rows(&keep), out_of_scope)))
}

/// How training rows are matched to the flows the flow model judges.
const SCOPE_RULE: &str = "answered conversations only: TCP with packets both ways and payload, \
                          UDP with packets both ways (mlids_behaviour::judged_by_model); \
                          without the attacks only the payload stage names (command and code \
                          injection, path traversal: mlids_flow::Injection::named_by_text_only)";

/// The columns [`mlids_behaviour::judged_by_model`] reads.
const SCOPE_COLUMNS: [&str; 5] = [
    "protocol",
    "tot_fwd_pkts",
    "tot_bwd_pkts",
    "totlen_fwd_pkts",
    "totlen_bwd_pkts",
];

/// Load `features` of a split, without the rows outside the flow model's scope (when `scope`);
/// returns the table and how many rows were left out. Evaluating a bundle on a split the way it
/// was evaluated at training time: `scope` = `manifest.preprocessing.model_scope.is_some()`.
pub fn load_in_scope(
    path: &Path,
    mode: Mode,
    features: &[String],
    scope: bool,
) -> Result<(Table, u64)> {
    if !scope {
        return Ok((load_checked(path, mode, features)?, 0));
    }
    let mut columns = features.to_vec();
    for c in SCOPE_COLUMNS {
        if !columns.iter().any(|f| f == c) {
            columns.push(c.to_string());
        }
    }
    let (t, removed) = keep_in_scope(load_checked(path, mode, &columns)?, true)?;
    let idx: Vec<usize> = features
        .iter()
        .map(|f| {
            t.feature_names
                .iter()
                .position(|n| n == f)
                .expect("loaded with every requested feature")
        })
        .collect();
    Ok((t.select_features(&idx), removed))
}

/// The rows of `t` the flow model judges (all rows when `!scope`), and how many were left out.
fn keep_in_scope(t: Table, scope: bool) -> Result<(Table, u64)> {
    if !scope {
        return Ok((t, 0));
    }
    let keep = rows_in_scope(&t)?;
    let removed = (t.n_rows - keep.len()) as u64;
    if removed == 0 {
        return Ok((t, 0));
    }
    Ok((t.select_rows(&keep), removed))
}

/// Indices of the rows of `t` the flow model judges; `t` must hold the [`SCOPE_COLUMNS`].
fn rows_in_scope(t: &Table) -> Result<Vec<usize>> {
    let col = |name: &str| {
        t.feature_names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| {
                ModelError::Data(format!(
                    "the flow model's scope needs the `{name}` column (or train with --all-flows)"
                ))
            })
    };
    let [p, f, b, lf, lb] = [
        col(SCOPE_COLUMNS[0])?,
        col(SCOPE_COLUMNS[1])?,
        col(SCOPE_COLUMNS[2])?,
        col(SCOPE_COLUMNS[3])?,
        col(SCOPE_COLUMNS[4])?,
    ];
    let zero_if_missing = |v: f64| if v.is_finite() { v } else { 0.0 };
    // Rows of an attack that is text (a testbed scenario of exploit requests): the payload stage
    // names them, and a flow classifier given them would learn what the requests' sizes happened
    // to be.
    let text_only: Vec<bool> = t
        .label
        .names
        .iter()
        .map(|l| mlids_flow::Injection::named_by_text_only(l))
        .collect();
    Ok((0..t.n_rows)
        .filter(|&r| !text_only[t.label.ids[r] as usize])
        .filter(|&r| {
            let row = t.row(r);
            mlids_behaviour::judged_by_model(
                zero_if_missing(row[p]) as u8,
                zero_if_missing(row[f]),
                zero_if_missing(row[b]),
                zero_if_missing(row[lf]) + zero_if_missing(row[lb]),
            )
        })
        .collect())
}

/// Val rows whose label the model knows, as early-stopping data (`None`: no such row).
fn early_stopping_rows(
    val: &Table,
    task: Task,
    labels: &[LabelInfo],
) -> Option<(Vec<f64>, Vec<u32>)> {
    let y = encode(val, task, labels);
    let rows: Vec<usize> = (0..val.n_rows).filter(|&i| y[i].is_some()).collect();
    if rows.is_empty() {
        return None;
    }
    let x = rows
        .iter()
        .flat_map(|&r| val.row(r).iter().copied())
        .collect();
    let y = rows
        .iter()
        .map(|&r| y[r].expect("filtered") as u32)
        .collect();
    Some((x, y))
}

/// Fit the configured learner on the encoded rows, stopping early on val when there is one.
fn fit_model(
    train: &EncodedRows,
    val: Option<&Table>,
    gbdt_params: Option<&ValidGbdtParams>,
    cfg: &TrainConfig,
    ctl: &mut FitControl,
    log: Log,
) -> Result<(Box<dyn Classifier>, FitSummary)> {
    let features = &train.table.feature_names;
    let k = train.labels.len();
    let train_set = TrainSet {
        x: &train.table.x,
        feature_names: features,
        y: &train.y,
        weights: train.weights.as_deref(),
        n_classes: k,
    };
    let val_rows = val.and_then(|v| early_stopping_rows(v, cfg.task, &train.labels));
    let val_set = val_rows.as_ref().map(|(x, y)| TrainSet {
        x,
        feature_names: features,
        y,
        weights: None,
        n_classes: k,
    });
    log(&format!(
        "training {} {} on {} rows × {} features ({} classes){}",
        cfg.task,
        cfg.model.kind().describe(),
        train_set.n_rows(),
        features.len(),
        k,
        val_set.as_ref().map_or(String::new(), |v| format!(
            ", early stopping on {} val rows",
            v.n_rows()
        ))
    ));
    match gbdt_params {
        Some(p) => {
            let (m, s) = p.fit(&train_set, val_set.as_ref(), ctl)?;
            Ok((Box::new(m), s))
        }
        None => cfg.model.fit(&train_set, val_set.as_ref(), ctl),
    }
}

/// The decision threshold: fixed, 0.5, or the largest one reaching the target recall on val
/// (`val`: the val rows and the model's class probabilities for them, `k` per row).
fn choose_threshold(
    cfg: &TrainConfig,
    rule: &DecisionRule,
    k: usize,
    val: Option<(&Table, &[f64])>,
) -> Result<Threshold> {
    let target = match (cfg.threshold, &cfg.model) {
        (ThresholdChoice::Fixed(t), _) => {
            let rule = if t == 0.5 { "default 0.5" } else { "user" };
            return Ok(Threshold {
                value: t,
                rule: rule.into(),
            });
        }
        (ThresholdChoice::Auto, ModelChoice::Ae(p)) => p.target_recall,
        (ThresholdChoice::Auto, _) => {
            return Ok(Threshold {
                value: 0.5,
                rule: "default 0.5".into(),
            })
        }
        (ThresholdChoice::TargetRecallOnVal, _) => cfg.target_recall,
    };
    let Some((v, probs)) = val else {
        return Err(ModelError::Data(format!(
            "choosing the threshold for recall {target} needs a val split"
        )));
    };
    let scores: Vec<f64> = probs
        .chunks_exact(k)
        .map(|r| rule.attack_score(r))
        .collect();
    match metrics::threshold_for_recall(&scores, &v.is_attack, target) {
        Some(t) => Ok(Threshold {
            value: t,
            rule: format!("largest threshold with recall ≥ {target} on val"),
        }),
        None => Err(ModelError::Data(
            "val has no attack rows to choose a threshold on".into(),
        )),
    }
}

/// What the training phases found, for the manifest.
struct ManifestParts<'a> {
    mode: Mode,
    labels: Vec<LabelInfo>,
    features: Vec<String>,
    excluded: Vec<String>,
    dropped_constant: Vec<String>,
    class_weights: Option<Vec<f64>>,
    holdout: Option<Holdout>,
    model_scope: Option<ModelScope>,
    threshold: Threshold,
    dataset: DatasetInfo,
    evaluations: Vec<&'a Evaluation>,
}

/// The manifest of a trained model: its phases' results, the learner's parameters (with the
/// equivalent LightGBM parameter string for tree models) and the versions that made it.
fn build_manifest(
    cfg: &TrainConfig,
    model: &dyn Classifier,
    fit: &FitSummary,
    gbdt_params: Option<&ValidGbdtParams>,
    parts: ManifestParts,
) -> Result<Manifest> {
    let kind = cfg.model.kind();
    let k = parts.labels.len();
    let metrics = parts
        .evaluations
        .iter()
        .map(|e| (e.name.clone(), summary_json(e)))
        .collect();
    let mut parameters = model.parameters();
    let lightgbm = match (gbdt_params, &cfg.model) {
        (Some(p), _) => Some(p.lightgbm_string(k)),
        (None, ModelChoice::Rf(p)) => {
            Some(p.gbdt_params().check_random_forest()?.lightgbm_string(k))
        }
        _ => None,
    };
    if let (Some(l), serde_json::Value::Object(m)) = (lightgbm, &mut parameters) {
        m.insert("lightgbm".into(), serde_json::Value::String(l));
    }
    let model_files = if kind.is_scaled() {
        Vec::new() // filled in by Bundle::save
    } else {
        vec![mlids_model::gbdt::MODEL_FILE.to_string()]
    };
    let preprocessing = Preprocessing {
        excluded: parts.excluded,
        dropped_constant: parts.dropped_constant,
        min_samples_per_label: cfg.min_samples_per_label,
        class_weights: parts.class_weights,
        holdout: parts.holdout,
        model_scope: parts.model_scope,
        missing_values: if kind.is_scaled() {
            ZOO_MISSING_VALUE_POLICY.to_string()
        } else {
            MISSING_VALUE_POLICY.to_string()
        },
        scaling: kind
            .is_scaled()
            .then(|| preprocess::DESCRIPTION.to_string()),
    };
    Ok(Manifest {
        format_version: FORMAT_VERSION,
        engine: model.engine().to_string(),
        task: cfg.task,
        labels: parts.labels,
        features: parts.features,
        mode: parts.mode.as_str().to_string(),
        preprocessing,
        threshold: parts.threshold,
        model_files,
        metrics,
        dataset: parts.dataset,
        parameters,
        training: Some(fit.clone()),
        versions: bundle::versions(),
        created_at: bundle::now_rfc3339(),
    })
}

/// Rows whose canonical label or category is one of `names` (ASCII case-insensitive).
pub fn holdout_mask(t: &Table, names: &[String]) -> Vec<bool> {
    let hit = |interned: &data::Interned| -> Vec<bool> {
        interned
            .names
            .iter()
            .map(|n| names.iter().any(|h| h.trim().eq_ignore_ascii_case(n)))
            .collect()
    };
    let (l, c) = (hit(&t.label), hit(&t.category));
    (0..t.n_rows)
        .map(|r| l[t.label.ids[r] as usize] || c[t.category.ids[r] as usize])
        .collect()
}

/// Load a split for an existing model: same mode, the model's features in its order.
pub fn load_checked(path: &Path, mode: Mode, features: &[String]) -> Result<Table> {
    let s = data::read_schema(path)?;
    if s.mode != mode {
        return Err(ModelError::ModeMismatch {
            model: mode.to_string(),
            input: s.mode.to_string(),
        });
    }
    data::load(path, features)
}

/// Class probabilities for every row of a table.
pub fn predict(model: &dyn Classifier, t: &Table) -> Result<Vec<f64>> {
    let mut out = vec![0.0; t.n_rows * model.n_classes()];
    model.predict_proba(&t.x, &mut out)?;
    Ok(out)
}

/// Evaluate probabilities against a table's labels.
pub fn evaluate_probs(
    name: &str,
    rule: &DecisionRule,
    labels: &[String],
    probs: &[f64],
    t: &Table,
    task: Task,
    target_recall: f64,
) -> Evaluation {
    let infos: Vec<LabelInfo> = labels
        .iter()
        .zip(&rule.is_attack)
        .map(|(n, &a)| LabelInfo {
            name: n.clone(),
            category: String::new(),
            is_attack: a,
            train_rows: 0,
        })
        .collect();
    let class = encode(t, task, &infos);
    let label: Vec<&str> = (0..t.n_rows).map(|i| t.label.get(i)).collect();
    let label_original: Vec<&str> = (0..t.n_rows).map(|i| t.label_original.get(i)).collect();
    let category: Vec<&str> = (0..t.n_rows).map(|i| t.category.get(i)).collect();
    let truth = Truth {
        class: &class,
        is_attack: &t.is_attack,
        label: &label,
        label_original: &label_original,
        category: &category,
    };
    metrics::evaluate(name, rule, labels, probs, &truth, target_recall)
}

/// The evaluation without its curve, for the manifest.
pub fn summary_json(e: &Evaluation) -> serde_json::Value {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    if let serde_json::Value::Object(m) = &mut v {
        m.remove("pr_curve");
        m.remove("confusion");
    }
    v
}

fn sha256_file(p: &Path) -> Result<String> {
    let bytes = std::fs::read(p).map_err(|e| ModelError::io(p, e))?;
    let d = Sha256::digest(&bytes);
    Ok(d.iter().map(|b| format!("{b:02x}")).collect())
}

/// Indices of columns that are not constant (NaN counts as a value), and names of those that are.
fn non_constant_columns(t: &Table) -> (Vec<usize>, Vec<String>) {
    let nf = t.n_features();
    let mut varies = vec![false; nf];
    if t.n_rows > 0 {
        let first = t.row(0).to_vec();
        for r in 1..t.n_rows {
            let row = t.row(r);
            for c in 0..nf {
                if !varies[c]
                    && row[c].to_bits() != first[c].to_bits()
                    && !(row[c].is_nan() && first[c].is_nan())
                {
                    varies[c] = true;
                }
            }
            if varies.iter().all(|&v| v) {
                break;
            }
        }
    }
    let keep = (0..nf).filter(|&c| varies[c]).collect();
    let dropped = (0..nf)
        .filter(|&c| !varies[c])
        .map(|c| t.feature_names[c].clone())
        .collect();
    (keep, dropped)
}

/// Classes of a task, from the training rows: Benign/Attack for binary; for multiclass every
/// canonical label (Benign first, then alphabetical).
fn label_infos(t: &Table, task: Task) -> Vec<LabelInfo> {
    match task {
        Task::Binary => vec![
            LabelInfo {
                name: BENIGN.into(),
                category: BENIGN.into(),
                is_attack: false,
                train_rows: 0,
            },
            LabelInfo {
                name: ATTACK.into(),
                category: ATTACK.into(),
                is_attack: true,
                train_rows: 0,
            },
        ],
        Task::Multiclass => {
            let mut seen: BTreeMap<&str, (String, bool)> = BTreeMap::new();
            for i in 0..t.n_rows {
                seen.entry(t.label.get(i))
                    .or_insert_with(|| (t.category.get(i).to_string(), t.is_attack[i]));
            }
            let mut v: Vec<LabelInfo> = seen
                .into_iter()
                .map(|(n, (category, is_attack))| LabelInfo {
                    name: n.to_string(),
                    category,
                    is_attack,
                    train_rows: 0,
                })
                .collect();
            v.sort_by(|a, b| (a.is_attack, &a.name).cmp(&(b.is_attack, &b.name)));
            v
        }
    }
}

/// Class index per row (`None`: a label the model does not know).
fn encode(t: &Table, task: Task, labels: &[LabelInfo]) -> Vec<Option<usize>> {
    match task {
        Task::Binary => t.is_attack.iter().map(|&a| Some(a as usize)).collect(),
        Task::Multiclass => {
            let index: HashMap<&str, usize> = labels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.name.as_str(), i))
                .collect();
            let by_id: Vec<Option<usize>> = t
                .label
                .names
                .iter()
                .map(|n| index.get(n.as_str()).copied())
                .collect();
            t.label.ids.iter().map(|&id| by_id[id as usize]).collect()
        }
    }
}

/// Append random duplicates (with replacement, seeded) of each label's rows until it has `min` rows.
fn upsample(t: &Table, min: usize, seed: u64) -> Table {
    let mut by_label: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, &id) in t.label.ids.iter().enumerate() {
        by_label.entry(id).or_default().push(i);
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut rows: Vec<usize> = (0..t.n_rows).collect();
    for idx in by_label.values() {
        for _ in idx.len()..min {
            rows.push(idx[rng.usize(..idx.len())]);
        }
    }
    if rows.len() == t.n_rows {
        return t.clone();
    }
    t.select_rows(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Interned;

    fn table(labels: &[&str]) -> Table {
        let mut label = Interned::default();
        let mut lookup = HashMap::new();
        let mut names = Vec::new();
        for l in labels {
            let id = *lookup.entry(l.to_string()).or_insert_with(|| {
                names.push(l.to_string());
                names.len() as u32 - 1
            });
            label.ids.push(id);
        }
        label.names = names;
        let n = labels.len();
        Table {
            path: PathBuf::new(),
            mode: Mode::Corrected,
            feature_names: vec!["a".into(), "b".into(), "c".into()],
            n_rows: n,
            x: (0..n)
                .flat_map(|i| [i as f64, 1.0, if i == 0 { f64::NAN } else { 2.0 }])
                .collect(),
            label: label.clone(),
            label_original: label.clone(),
            category: label,
            is_attack: labels.iter().map(|l| *l != BENIGN).collect(),
        }
    }

    #[test]
    fn constant_columns_are_found() {
        let t = table(&["Benign", "DoS", "Benign"]);
        let (keep, dropped) = non_constant_columns(&t);
        assert_eq!(keep, vec![0, 2]); // c varies between NaN and 2
        assert_eq!(dropped, vec!["b".to_string()]);
    }

    #[test]
    fn upsampling_reaches_floor_for_singletons() {
        let t = table(&["Benign", "Benign", "Benign", "Heartbleed"]);
        let u = upsample(&t, 3, 1);
        assert_eq!(u.n_rows, 6);
        let hb = (0..u.n_rows)
            .filter(|&i| u.label.get(i) == "Heartbleed")
            .count();
        assert_eq!(hb, 3);
        let infos = label_infos(&u, Task::Multiclass);
        assert_eq!(infos[0].name, "Benign");
        assert!(infos[1].is_attack);
    }

    #[test]
    fn the_model_scope_leaves_out_attacks_only_the_payload_stage_names() {
        // Four answered TCP conversations (protocol, packets both ways, bytes).
        let labels = [
            "Benign",
            "Path Traversal",
            "SQL Injection",
            "Command Injection",
        ];
        let mut t = table(&labels);
        t.feature_names = SCOPE_COLUMNS.iter().map(|c| c.to_string()).collect();
        t.x = labels
            .iter()
            .flat_map(|_| [6.0, 4.0, 3.0, 400.0, 900.0])
            .collect();
        // SQL injection is a CIC class and stays; traversal and command injection are text.
        assert_eq!(rows_in_scope(&t).unwrap(), vec![0, 2]);
        let (kept, removed) = keep_in_scope(t, true).unwrap();
        assert_eq!((kept.n_rows, removed), (2, 2));
    }
}
