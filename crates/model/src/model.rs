//! The inference side of the model trait every engine implements (GBDT, and the zoo's random
//! forest, kNN, logistic regression, linear SVM, MLP and autoencoder): a fitted [`Classifier`] gives
//! probabilities, saves itself into a bundle directory and is loaded back by [`load_classifier`].
//!
//! Fitting (`Fit`, `ParamGuard`, `FitControl`, `TrainSet`) lives in the training crate
//! (`mlids-train`), so that serving never links LightGBM's C++ library or the training data readers.
//! [`FitSummary`] and [`StopReason`] stay here because the manifest records them.

use crate::engine;
use crate::error::{ModelError, Result};
use crate::gbdt::GbdtModel;
use serde::{Deserialize, Serialize};
use std::path::Path;

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
///
/// The GBDT engines are always available; the zoo's engines only in builds with the `zoo` feature
/// (they need candle), and a zoo bundle loaded without it is refused with a message saying so
/// rather than as an unknown engine.
pub fn load_classifier(
    engine: &str,
    dir: &Path,
    files: &[String],
    n_classes: usize,
) -> Result<Box<dyn Classifier>> {
    if engine == engine::GBDT || engine == engine::RF {
        return Ok(Box::new(GbdtModel::load_engine(
            dir, files, n_classes, engine,
        )?));
    }
    #[cfg(feature = "zoo")]
    if let Some(m) = crate::zoo::load(engine, dir, n_classes)? {
        return Ok(m);
    }
    #[cfg(not(feature = "zoo"))]
    if engine::ZOO.contains(&engine) {
        return Err(ModelError::Manifest {
            path: dir.to_path_buf(),
            message: format!("engine '{engine}' needs ml-ids built with the `zoo` feature"),
        });
    }
    Err(ModelError::Manifest {
        path: dir.to_path_buf(),
        message: format!(
            "unknown engine '{engine}' (this build knows {})",
            engine::available().join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoo_engines_need_the_zoo_feature_and_unknown_engines_are_named() {
        let dir = Path::new("/nonexistent-bundle");
        let err = |engine: &str| {
            load_classifier(engine, dir, &[], 2)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        if cfg!(feature = "zoo") {
            assert!(!err("mlp").contains("`zoo` feature"));
        } else {
            assert!(
                err("mlp").contains("engine 'mlp' needs ml-ids built with the `zoo` feature"),
                "{}",
                err("mlp")
            );
        }
        assert!(err("no-such-engine").contains("unknown engine 'no-such-engine'"));
    }
}
