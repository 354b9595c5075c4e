//! The model trait every engine implements (GBDT, and the zoo's random forest, kNN, logistic
//! regression, linear SVM, MLP and autoencoder), in the spirit of linfa: hyper-parameters are a plain struct that
//! is validated once by [`ParamGuard::check`] into a checked type, fitting that checked type
//! ([`Fit::fit`]) returns a separate fitted type implementing [`Classifier`], and fitted models save
//! themselves into a bundle directory and are loaded back by [`load_classifier`].

use crate::error::{ModelError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the model predicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Benign (class 0) vs attack (class 1).
    Binary,
    /// One class per canonical attack label (and Benign).
    Multiclass,
}

impl std::str::FromStr for Task {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "binary" => Ok(Task::Binary),
            "multiclass" => Ok(Task::Multiclass),
            o => Err(format!(
                "unknown task '{o}' (expected binary or multiclass)"
            )),
        }
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Task::Binary => "binary",
            Task::Multiclass => "multiclass",
        })
    }
}

/// Training rows for a fit: a row-major matrix, class indices and optional weights.
#[derive(Clone, Copy, Debug)]
pub struct TrainSet<'a> {
    /// `n_rows × feature_names.len()`, row-major, missing = NaN.
    pub x: &'a [f64],
    pub feature_names: &'a [String],
    /// Class index per row, `< n_classes`.
    pub y: &'a [u32],
    pub weights: Option<&'a [f32]>,
    /// 2 for binary.
    pub n_classes: usize,
}

impl TrainSet<'_> {
    pub fn n_rows(&self) -> usize {
        self.y.len()
    }

    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    /// Shape checks every engine needs.
    pub fn validate(&self) -> Result<()> {
        let nf = self.n_features();
        if nf == 0 {
            return Err(ModelError::Data("no features to train on".into()));
        }
        if self.x.len() != self.y.len() * nf {
            return Err(ModelError::Data(format!(
                "{} values for {} rows × {} features",
                self.x.len(),
                self.y.len(),
                nf
            )));
        }
        if self.n_rows() == 0 {
            return Err(ModelError::Data("no training rows".into()));
        }
        if self.n_classes < 2 {
            return Err(ModelError::Data("need at least two classes".into()));
        }
        if let Some(&c) = self.y.iter().find(|&&c| c as usize >= self.n_classes) {
            return Err(ModelError::Data(format!(
                "class index {c} out of range for {} classes",
                self.n_classes
            )));
        }
        if let Some(w) = self.weights {
            if w.len() != self.y.len() {
                return Err(ModelError::Data(format!(
                    "{} weights for {} rows",
                    w.len(),
                    self.y.len()
                )));
            }
        }
        Ok(())
    }
}

/// One line of training progress.
#[derive(Clone, Debug)]
pub struct IterationReport {
    /// 1-based iteration just finished.
    pub iteration: usize,
    pub max_iterations: usize,
    /// Metric name and value on the training rows (if requested).
    pub train: Vec<(String, f64)>,
    /// Metric name and value on the validation rows (if any).
    pub valid: Vec<(String, f64)>,
    /// Best iteration so far by the first validation metric, and its value.
    pub best: Option<(usize, f64)>,
    pub elapsed: Duration,
}

impl std::fmt::Display for IterationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{:>4}/{}]", self.iteration, self.max_iterations)?;
        for (n, v) in &self.train {
            write!(f, "  train {n} {v:.6}")?;
        }
        for (n, v) in &self.valid {
            write!(f, "  val {n} {v:.6}")?;
        }
        if let Some((it, v)) = self.best {
            write!(f, "  (best {v:.6} @ {it})")?;
        }
        write!(f, "  {:.1}s", self.elapsed.as_secs_f64())
    }
}

/// Progress callback of a fit.
pub type OnIteration<'a> = Box<dyn FnMut(&IterationReport) + 'a>;

/// Control of a running fit: a stop flag (set from a Ctrl-C handler; the fit ends after the current
/// iteration and keeps the best model so far) and a progress callback.
#[derive(Default)]
pub struct FitControl<'a> {
    pub stop: Option<Arc<AtomicBool>>,
    pub on_iteration: Option<OnIteration<'a>>,
}

impl FitControl<'_> {
    pub fn should_stop(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }

    pub fn report(&mut self, r: &IterationReport) {
        if let Some(f) = self.on_iteration.as_mut() {
            f(r);
        }
    }
}

/// Why a fit ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Ran every iteration.
    Completed,
    /// The validation metric stopped improving.
    EarlyStopping,
    /// No further split improves the objective.
    NoMoreSplits,
    /// The stop flag was raised (Ctrl-C); the best model so far was kept.
    Interrupted,
}

/// What a fit did, recorded in the manifest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FitSummary {
    pub iterations_run: usize,
    /// Iterations kept in the saved model.
    pub best_iteration: usize,
    pub best_valid_metric: Option<(String, f64)>,
    pub stop_reason: StopReason,
    pub seconds: f64,
}

/// Hyper-parameters validated once before any work (linfa's `ParamGuard`).
pub trait ParamGuard {
    type Checked;
    fn check(self) -> Result<Self::Checked>;
}

/// A checked parameter set that can be fitted.
pub trait Fit {
    type Model: Classifier;
    /// Fit on `train`; `valid` (if any) drives early stopping and progress.
    fn fit(
        &self,
        train: &TrainSet,
        valid: Option<&TrainSet>,
        ctl: &mut FitControl,
    ) -> Result<(Self::Model, FitSummary)>;
}

/// A fitted model: probabilities out, save to a bundle directory.
pub trait Classifier: Send + Sync {
    /// Engine id written in the manifest (`lightgbm-gbdt`, `lightgbm-rf`, `knn-exact`, …).
    fn engine(&self) -> &'static str;
    fn n_features(&self) -> usize;
    /// Feature names stored in the model file itself, if the format keeps them (checked against the
    /// manifest on load).
    fn feature_names(&self) -> Option<&[String]> {
        None
    }
    /// Number of classes (2 for binary); `predict_proba` returns this many values per row.
    fn n_classes(&self) -> usize;
    /// Class probabilities of row-major `x`, `n_classes()` per row.
    fn predict_proba(&self, x: &[f64], out: &mut [f64]) -> Result<()>;
    /// Per-feature contributions to class `class`'s score for one row, if the engine can explain.
    fn contributions(&self, _row: &[f64], _class: usize) -> Result<Option<Vec<f64>>> {
        Ok(None)
    }
    /// Write the model file(s) into `dir`; returns their names.
    fn save(&self, dir: &Path) -> Result<Vec<String>>;
    /// The engine's own parameters, for the manifest.
    fn parameters(&self) -> serde_json::Value;
}

/// A boxed model is a model (so `&trained.model` passes where `&dyn Classifier` is expected).
impl<C: Classifier + ?Sized> Classifier for Box<C> {
    fn engine(&self) -> &'static str {
        (**self).engine()
    }
    fn n_features(&self) -> usize {
        (**self).n_features()
    }
    fn feature_names(&self) -> Option<&[String]> {
        (**self).feature_names()
    }
    fn n_classes(&self) -> usize {
        (**self).n_classes()
    }
    fn predict_proba(&self, x: &[f64], out: &mut [f64]) -> Result<()> {
        (**self).predict_proba(x, out)
    }
    fn contributions(&self, row: &[f64], class: usize) -> Result<Option<Vec<f64>>> {
        (**self).contributions(row, class)
    }
    fn save(&self, dir: &Path) -> Result<Vec<String>> {
        (**self).save(dir)
    }
    fn parameters(&self) -> serde_json::Value {
        (**self).parameters()
    }
}

/// Load the fitted model of a bundle by its manifest's engine id.
pub fn load_classifier(
    engine: &str,
    dir: &Path,
    files: &[String],
    n_classes: usize,
) -> Result<Box<dyn Classifier>> {
    match crate::zoo::load(engine, dir, files, n_classes)? {
        Some(m) => Ok(m),
        None => Err(ModelError::Manifest {
            path: dir.to_path_buf(),
            message: format!(
                "unknown engine '{engine}' (this build knows {})",
                crate::zoo::engines().join(", ")
            ),
        }),
    }
}
