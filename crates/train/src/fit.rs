//! The fitting side of the model trait, in the spirit of linfa: hyper-parameters are a plain
//! struct validated once by [`ParamGuard::check`] into a checked type, and fitting that checked type
//! ([`Fit::fit`]) returns a fitted model implementing [`mlids_model::Classifier`] (the inference
//! side, which lives in the detection crate so that serving does not link the training stack).

use mlids_model::{Classifier, FitSummary, ModelError, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

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
