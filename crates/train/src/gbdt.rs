//! Gradient-boosted trees with LightGBM (`lightgbm3-sys`, OpenMP), trained iteration by iteration so
//! that progress, early stopping and Ctrl-C are ours. The fitted model is the detection crate's
//! [`GbdtModel`], evaluated with the flat predictor.
//!
//! The training loop talks to LightGBM's C API directly because `lightgbm3::Booster::train_with_valid`
//! runs the whole loop inside one call (no progress, no interruption) and keeps dataset handles
//! private. Models are saved in LightGBM's text format; Python LightGBM loads them unchanged.

use crate::fit::{Fit, FitControl, IterationReport, ParamGuard, TrainSet};
use lightgbm3_sys as sys;
pub use mlids_model::gbdt::{GbdtModel, ENGINE, MODEL_FILE, RF_ENGINE};
use mlids_model::{FitSummary, FlatForest, ModelError, Result, StopReason};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_void};
use std::time::Instant;

/// LightGBM parameters. Unknown keys (`[lightgbm]` table or top-level extras in the TOML file) are
/// passed to LightGBM verbatim; the objective, class count and metrics follow from the task.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct GbdtParams {
    /// Maximum boosting iterations.
    pub num_iterations: usize,
    pub learning_rate: f64,
    pub num_leaves: usize,
    /// -1: unlimited.
    pub max_depth: i64,
    pub min_data_in_leaf: usize,
    pub min_sum_hessian_in_leaf: f64,
    pub feature_fraction: f64,
    pub bagging_fraction: f64,
    pub bagging_freq: usize,
    pub lambda_l1: f64,
    pub lambda_l2: f64,
    pub max_bin: usize,
    /// Stop when the first validation metric has not improved for this many iterations (0: never).
    pub early_stopping_rounds: usize,
    /// Metrics (first one drives early stopping). Empty: `auc, binary_logloss` for binary,
    /// `multi_logloss, multi_error` for multiclass.
    pub metrics: Vec<String>,
    /// Also compute the metrics on the training rows each iteration (costs a pass over them).
    pub train_metric: bool,
    /// 0: OpenMP default (all cores).
    pub num_threads: usize,
    pub seed: u64,
    /// Extra LightGBM parameters, passed through as `key=value`.
    #[serde(flatten)]
    pub extra: BTreeMap<String, toml::Value>,
}

impl Default for GbdtParams {
    fn default() -> Self {
        GbdtParams {
            num_iterations: 500,
            learning_rate: 0.1,
            num_leaves: 63,
            max_depth: -1,
            min_data_in_leaf: 20,
            min_sum_hessian_in_leaf: 1e-3,
            feature_fraction: 1.0,
            bagging_fraction: 1.0,
            bagging_freq: 0,
            lambda_l1: 0.0,
            lambda_l2: 0.0,
            max_bin: 255,
            early_stopping_rounds: 30,
            metrics: Vec::new(),
            train_metric: true,
            num_threads: 0,
            seed: 42,
            extra: BTreeMap::new(),
        }
    }
}

/// Keys the task decides (or that would make the saved model something the flat predictor and the
/// manifest do not describe).
const RESERVED: &[&str] = &[
    "objective",
    "application",
    "app",
    "loss",
    "num_class",
    "num_classes",
    "metric",
    "metrics",
    "data",
    "train",
    "valid",
    "test",
    "task",
    "linear_tree",
    "linear_trees",
    "categorical_feature",
    "cat_feature",
    "categorical_column",
    "cat_column",
    "categorical_features",
    "boosting",
    "boosting_type",
    "boost",
    "early_stopping_round",
    "early_stopping",
    "n_iter_no_change",
    "num_iteration",
    "n_iter",
    "num_tree",
    "num_trees",
    "num_round",
    "num_rounds",
    "nrounds",
    "num_boost_round",
    "n_estimators",
    "is_provide_training_metric",
];

impl GbdtParams {
    /// Read a TOML file (top-level keys, or a `[lightgbm]` table whose keys are merged in).
    pub fn from_toml_str(s: &str) -> Result<Self> {
        let mut value: toml::Table =
            toml::from_str(s).map_err(|e| ModelError::Params(format!("TOML: {e}")))?;
        if let Some(toml::Value::Table(inner)) = value.remove("lightgbm") {
            for (k, v) in inner {
                value.insert(k, v);
            }
        }
        toml::Value::Table(value)
            .try_into::<GbdtParams>()
            .map_err(|e| ModelError::Params(format!("TOML: {e}")))
    }
}

impl GbdtParams {
    /// Checked parameters for LightGBM's random-forest mode (`boosting=rf`: bagged, averaged trees),
    /// which [`ParamGuard::check`] refuses as a user setting; used by the model zoo's `rf`.
    pub fn check_random_forest(self) -> Result<ValidGbdtParams> {
        let mut v = self.check()?;
        if v.0.bagging_freq == 0 || !(v.0.bagging_fraction < 1.0 || v.0.feature_fraction < 1.0) {
            return Err(ModelError::Params(
                "a random forest needs bagging_freq > 0 and bagging_fraction or feature_fraction below 1".into(),
            ));
        }
        v.0.extra
            .insert("boosting".into(), toml::Value::String("rf".into()));
        Ok(v)
    }
}

/// [`GbdtParams`] after [`ParamGuard::check`].
#[derive(Clone, Debug)]
pub struct ValidGbdtParams(GbdtParams);

impl ValidGbdtParams {
    pub fn params(&self) -> &GbdtParams {
        &self.0
    }

    /// The parameters as the manifest records them.
    fn parameters_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).unwrap_or(serde_json::Value::Null)
    }
}

impl ParamGuard for GbdtParams {
    type Checked = ValidGbdtParams;

    fn check(self) -> Result<ValidGbdtParams> {
        let p = &self;
        let bad = |m: String| Err(ModelError::Params(m));
        if p.num_iterations == 0 {
            return bad("num_iterations must be at least 1".into());
        }
        if !(p.learning_rate > 0.0 && p.learning_rate <= 1.0) {
            return bad(format!(
                "learning_rate must be in (0, 1], got {}",
                p.learning_rate
            ));
        }
        if !(2..=131_072).contains(&p.num_leaves) {
            return bad(format!(
                "num_leaves must be in [2, 131072], got {}",
                p.num_leaves
            ));
        }
        if p.max_depth == 0 || p.max_depth < -1 {
            return bad(format!(
                "max_depth must be -1 (unlimited) or positive, got {}",
                p.max_depth
            ));
        }
        for (name, v) in [
            ("feature_fraction", p.feature_fraction),
            ("bagging_fraction", p.bagging_fraction),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return bad(format!("{name} must be in (0, 1], got {v}"));
            }
        }
        for (name, v) in [
            ("lambda_l1", p.lambda_l1),
            ("lambda_l2", p.lambda_l2),
            ("min_sum_hessian_in_leaf", p.min_sum_hessian_in_leaf),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return bad(format!("{name} must be a non-negative number, got {v}"));
            }
        }
        if p.max_bin < 2 {
            return bad(format!("max_bin must be at least 2, got {}", p.max_bin));
        }
        for k in p.extra.keys() {
            if RESERVED.contains(&k.as_str()) {
                return bad(format!("`{k}` is set by ml-ids (task, metrics, iterations); use the named option instead"));
            }
            if k.contains(char::is_whitespace) || k.contains('=') {
                return bad(format!("bad parameter name `{k}`"));
            }
        }
        for (k, v) in &p.extra {
            if matches!(
                v,
                toml::Value::Table(_) | toml::Value::Array(_) | toml::Value::Datetime(_)
            ) {
                return bad(format!(
                    "`{k}`: only strings, numbers and booleans are passed to LightGBM"
                ));
            }
            if let toml::Value::String(s) = v {
                if s.contains(char::is_whitespace) {
                    return bad(format!("`{k}`: value must not contain spaces"));
                }
            }
        }
        for m in &p.metrics {
            if m.is_empty() || m.contains(char::is_whitespace) || m.contains(',') {
                return bad(format!("bad metric name `{m}`"));
            }
        }
        Ok(ValidGbdtParams(self))
    }
}

fn metric_higher_is_better(name: &str) -> bool {
    let base = name.split('@').next().unwrap_or(name);
    matches!(
        base,
        "auc" | "average_precision" | "ndcg" | "map" | "auc_mu"
    )
}

impl ValidGbdtParams {
    fn metrics(&self, n_classes: usize) -> Vec<String> {
        if !self.0.metrics.is_empty() {
            return self.0.metrics.clone();
        }
        if n_classes == 2 {
            vec!["auc".into(), "binary_logloss".into()]
        } else {
            vec!["multi_logloss".into(), "multi_error".into()]
        }
    }

    /// The LightGBM parameter string for a task with `n_classes` classes.
    pub fn lightgbm_string(&self, n_classes: usize) -> String {
        let p = &self.0;
        let mut kv: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: String| kv.push((k.to_string(), v));
        if n_classes == 2 {
            put("objective", "binary".into());
        } else {
            put("objective", "multiclass".into());
            put("num_class", n_classes.to_string());
        }
        put("metric", self.metrics(n_classes).join(","));
        put("num_iterations", p.num_iterations.to_string());
        put("learning_rate", p.learning_rate.to_string());
        put("num_leaves", p.num_leaves.to_string());
        put("max_depth", p.max_depth.to_string());
        put("min_data_in_leaf", p.min_data_in_leaf.to_string());
        put(
            "min_sum_hessian_in_leaf",
            p.min_sum_hessian_in_leaf.to_string(),
        );
        put("feature_fraction", p.feature_fraction.to_string());
        put("bagging_fraction", p.bagging_fraction.to_string());
        put("bagging_freq", p.bagging_freq.to_string());
        put("lambda_l1", p.lambda_l1.to_string());
        put("lambda_l2", p.lambda_l2.to_string());
        put("max_bin", p.max_bin.to_string());
        put("num_threads", p.num_threads.to_string());
        put("seed", p.seed.to_string());
        put("verbosity", "-1".into());
        if p.train_metric {
            put("is_provide_training_metric", "true".into());
        }
        for (k, v) in &p.extra {
            let v = match v {
                toml::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            kv.retain(|(key, _)| key != k);
            kv.push((k.clone(), v));
        }
        kv.into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn last_error() -> String {
    // SAFETY: LGBM_GetLastError returns a pointer to a thread-local NUL-terminated buffer.
    unsafe {
        CStr::from_ptr(sys::LGBM_GetLastError())
            .to_string_lossy()
            .into_owned()
    }
}

fn lgbm(rc: i32) -> Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(ModelError::LightGbm(last_error()))
    }
}

struct DatasetHandle(sys::DatasetHandle);

impl Drop for DatasetHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from LGBM_DatasetCreateFromMat and is freed once.
        unsafe {
            sys::LGBM_DatasetFree(self.0);
        }
    }
}

struct BoosterHandle(sys::BoosterHandle);

impl Drop for BoosterHandle {
    fn drop(&mut self) {
        // SAFETY: the handle came from LGBM_BoosterCreate and is freed once.
        unsafe {
            sys::LGBM_BoosterFree(self.0);
        }
    }
}

fn make_dataset(
    set: &TrainSet,
    params: &CString,
    reference: Option<&DatasetHandle>,
) -> Result<DatasetHandle> {
    set.validate()?;
    let n_rows =
        i32::try_from(set.n_rows()).map_err(|_| ModelError::Data("more than 2^31 rows".into()))?;
    let mut handle: sys::DatasetHandle = std::ptr::null_mut();
    // SAFETY: `x` holds n_rows × n_features f64 values, row-major, alive for the call (LightGBM copies).
    lgbm(unsafe {
        sys::LGBM_DatasetCreateFromMat(
            set.x.as_ptr() as *const c_void,
            sys::C_API_DTYPE_FLOAT64 as i32,
            n_rows,
            set.n_features() as i32,
            1,
            params.as_ptr(),
            reference.map_or(std::ptr::null_mut(), |r| r.0),
            &mut handle,
        )
    })?;
    let ds = DatasetHandle(handle);
    let labels: Vec<f32> = set.y.iter().map(|&c| c as f32).collect();
    let set_field = |name: &str, data: &[f32]| -> Result<()> {
        let name = CString::new(name).expect("static name");
        // SAFETY: `data` has n_rows f32 values; LightGBM copies them.
        lgbm(unsafe {
            sys::LGBM_DatasetSetField(
                ds.0,
                name.as_ptr(),
                data.as_ptr() as *const c_void,
                n_rows,
                sys::C_API_DTYPE_FLOAT32 as i32,
            )
        })
    };
    set_field("label", &labels)?;
    if let Some(w) = set.weights {
        set_field("weight", w)?;
    }
    let names: Vec<CString> = set
        .feature_names
        .iter()
        .map(|n| {
            CString::new(n.as_str())
                .map_err(|_| ModelError::Data(format!("feature name `{n}` contains NUL")))
        })
        .collect::<Result<_>>()?;
    let mut ptrs: Vec<*const c_char> = names.iter().map(|c| c.as_ptr()).collect();
    // SAFETY: `ptrs` points at NUL-terminated strings that outlive the call.
    lgbm(unsafe { sys::LGBM_DatasetSetFeatureNames(ds.0, ptrs.as_mut_ptr(), ptrs.len() as i32) })?;
    Ok(ds)
}

fn eval_names(booster: &BoosterHandle) -> Result<Vec<String>> {
    let mut count = 0;
    // SAFETY: plain out-parameter.
    lgbm(unsafe { sys::LGBM_BoosterGetEvalCounts(booster.0, &mut count) })?;
    let n = count.max(0) as usize;
    let mut bufs: Vec<Vec<u8>> = vec![vec![0u8; 256]; n];
    let mut ptrs: Vec<*mut c_char> = bufs
        .iter_mut()
        .map(|b| b.as_mut_ptr() as *mut c_char)
        .collect();
    let (mut out_len, mut out_buf_len) = (0, 0usize);
    // SAFETY: n buffers of 256 bytes each; LightGBM writes at most buffer_len bytes into each.
    lgbm(unsafe {
        sys::LGBM_BoosterGetEvalNames(
            booster.0,
            count,
            &mut out_len,
            256,
            &mut out_buf_len,
            ptrs.as_mut_ptr(),
        )
    })?;
    Ok(bufs
        .iter()
        .take(out_len.max(0) as usize)
        .map(|b| {
            CStr::from_bytes_until_nul(b)
                .map(|c| c.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect())
}

fn get_eval(booster: &BoosterHandle, data_idx: i32, n: usize) -> Result<Vec<f64>> {
    let mut out = vec![0.0f64; n.max(1)];
    let mut len = 0;
    // SAFETY: `out` has room for every metric (n = eval count).
    lgbm(unsafe { sys::LGBM_BoosterGetEval(booster.0, data_idx, &mut len, out.as_mut_ptr()) })?;
    out.truncate(len.max(0) as usize);
    Ok(out)
}

fn model_to_string(booster: &BoosterHandle, num_iteration: usize) -> Result<String> {
    let mut len: i64 = 0;
    let mut buf = vec![0u8; 1 << 20];
    // SAFETY: buffer_len is the buffer's size; out_len reports the needed size.
    lgbm(unsafe {
        sys::LGBM_BoosterSaveModelToString(
            booster.0,
            0,
            num_iteration as i32,
            0,
            buf.len() as i64,
            &mut len,
            buf.as_mut_ptr() as *mut c_char,
        )
    })?;
    if len as usize > buf.len() {
        buf = vec![0u8; len as usize];
        // SAFETY: as above, with a buffer of the reported size.
        lgbm(unsafe {
            sys::LGBM_BoosterSaveModelToString(
                booster.0,
                0,
                num_iteration as i32,
                0,
                buf.len() as i64,
                &mut len,
                buf.as_mut_ptr() as *mut c_char,
            )
        })?;
    }
    buf.truncate((len as usize).saturating_sub(1));
    String::from_utf8(buf).map_err(|_| ModelError::LightGbm("model string is not UTF-8".into()))
}

impl Fit for ValidGbdtParams {
    type Model = GbdtModel;

    fn fit(
        &self,
        train: &TrainSet,
        valid: Option<&TrainSet>,
        ctl: &mut FitControl,
    ) -> Result<(GbdtModel, FitSummary)> {
        train.validate()?;
        if let Some(v) = valid {
            v.validate()?;
            if v.feature_names != train.feature_names || v.n_classes != train.n_classes {
                return Err(ModelError::Data(
                    "validation rows have different features or classes than training rows".into(),
                ));
            }
        }
        let started = Instant::now();
        let params = CString::new(self.lightgbm_string(train.n_classes))
            .map_err(|_| ModelError::Params("NUL in parameters".into()))?;
        let train_ds = make_dataset(train, &params, None)?;
        let valid_ds = valid
            .map(|v| make_dataset(v, &params, Some(&train_ds)))
            .transpose()?;
        let mut handle: sys::BoosterHandle = std::ptr::null_mut();
        // SAFETY: valid dataset handle and NUL-terminated parameters.
        lgbm(unsafe { sys::LGBM_BoosterCreate(train_ds.0, params.as_ptr(), &mut handle) })?;
        let booster = BoosterHandle(handle);
        if let Some(v) = &valid_ds {
            // SAFETY: both handles are alive; the valid set was built with the train set as reference.
            lgbm(unsafe { sys::LGBM_BoosterAddValidData(booster.0, v.0) })?;
        }
        let names = eval_names(&booster)?;
        let first_higher_better = names.first().is_some_and(|n| metric_higher_is_better(n));
        let p = &self.0;
        let mut best: Option<(usize, f64)> = None;
        let mut since_best = 0usize;
        let mut iterations = 0usize;
        let mut reason = StopReason::Completed;
        for it in 1..=p.num_iterations {
            let mut finished = 0;
            // SAFETY: booster handle alive.
            lgbm(unsafe { sys::LGBM_BoosterUpdateOneIter(booster.0, &mut finished) })?;
            if finished != 0 {
                // LightGBM did not add a tree: nothing more to learn.
                reason = StopReason::NoMoreSplits;
                break;
            }
            iterations = it;
            let train_m = if p.train_metric {
                get_eval(&booster, 0, names.len())?
            } else {
                Vec::new()
            };
            let valid_m = if valid_ds.is_some() {
                get_eval(&booster, 1, names.len())?
            } else {
                Vec::new()
            };
            if let Some(&v) = valid_m.first() {
                let better = match best {
                    None => true,
                    Some((_, b)) => {
                        if first_higher_better {
                            v > b
                        } else {
                            v < b
                        }
                    }
                };
                if better {
                    best = Some((it, v));
                    since_best = 0;
                } else {
                    since_best += 1;
                }
            }
            let zip = |vals: Vec<f64>| names.iter().cloned().zip(vals).collect::<Vec<_>>();
            ctl.report(&IterationReport {
                iteration: it,
                max_iterations: p.num_iterations,
                train: zip(train_m),
                valid: zip(valid_m),
                best,
                elapsed: started.elapsed(),
            });
            if p.early_stopping_rounds > 0
                && best.is_some()
                && since_best >= p.early_stopping_rounds
            {
                reason = StopReason::EarlyStopping;
                break;
            }
            if ctl.should_stop() {
                reason = StopReason::Interrupted;
                break;
            }
        }
        if iterations == 0 {
            // Even "no more splits" at iteration 1 leaves LightGBM's constant (boost-from-average) tree.
            let text = model_to_string(&booster, 0)?;
            let forest = FlatForest::from_lightgbm_text(&text)?;
            let keep = forest.num_iterations();
            let summary = FitSummary {
                iterations_run: 0,
                best_iteration: keep,
                best_valid_metric: None,
                stop_reason: reason,
                seconds: started.elapsed().as_secs_f64(),
            };
            return Ok((
                GbdtModel::from_fitted(text, forest, train.n_classes, self.parameters_json())?,
                summary,
            ));
        }
        let keep = best.map_or(iterations, |(it, _)| it);
        let text = model_to_string(&booster, keep)?;
        let forest = FlatForest::from_lightgbm_text(&text)?;
        let summary = FitSummary {
            iterations_run: iterations,
            best_iteration: keep,
            best_valid_metric: best.map(|(_, v)| (names[0].clone(), v)),
            stop_reason: reason,
            seconds: started.elapsed().as_secs_f64(),
        };
        Ok((
            GbdtModel::from_fitted(text, forest, train.n_classes, self.parameters_json())?,
            summary,
        ))
    }
}
