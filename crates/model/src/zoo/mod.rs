//! The model zoo's inference side (built with the `zoo` feature): every engine besides the tree
//! models, behind the same [`Classifier`] trait and bundle format. Their training (parameter checks,
//! `Fit` impls, the network training loop) is in `mlids-train`'s `zoo`.
//!
//! | engine id | what |
//! |---|---|
//! | `knn-exact` | exact k-nearest neighbours on a stratified subsample of the scaled rows |
//! | `logistic-regression` | softmax (logistic) regression |
//! | `linear-svm` | L2-loss linear SVM, Platt-scaled |
//! | `mlp` | 3×400 ReLU perceptron |
//! | `autoencoder` | denoising autoencoder on benign rows, reconstruction error as the score |
//!
//! The scaled models keep their fitted scaling in `preprocess.json` ([`preprocess`]); networks are
//! candle tensors saved as safetensors ([`nn`]). The parameter structs stay here although only
//! training reads them: each model file records the parameters it was trained with.

pub mod autoencoder;
pub mod knn;
pub mod linear;
pub mod mlp;
pub mod nn;
pub mod preprocess;

use crate::error::{ModelError, Result};
use crate::model::Classifier;
use serde::{de::DeserializeOwned, Serialize};
use std::path::Path;

pub use autoencoder::{AeFile, AeModel, AeParams};
pub use knn::{KnnFile, KnnModel, KnnParams, Weighting};
pub use linear::{LinearFile, LinearKind, LinearModel, LinearParams};
pub use mlp::{MlpFile, MlpModel, MlpParams};

/// Load a zoo bundle's model by engine id; `None` for an engine that is not the zoo's.
pub fn load(engine: &str, dir: &Path, n_classes: usize) -> Result<Option<Box<dyn Classifier>>> {
    Ok(Some(match engine {
        knn::ENGINE => Box::new(KnnModel::load(dir, n_classes)?),
        linear::LOGISTIC_ENGINE => {
            Box::new(LinearModel::load(dir, LinearKind::Logistic, n_classes)?)
        }
        linear::SVM_ENGINE => Box::new(LinearModel::load(dir, LinearKind::Svm, n_classes)?),
        mlp::ENGINE => Box::new(MlpModel::load(dir, n_classes)?),
        autoencoder::ENGINE => Box::new(AeModel::load(dir, n_classes)?),
        _ => return Ok(None),
    }))
}

pub(crate) fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<()> {
    let s = serde_json::to_string_pretty(v).map_err(|e| ModelError::Data(e.to_string()))?;
    std::fs::write(path, s + "\n").map_err(|e| ModelError::io(path, e))
}

pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| ModelError::Manifest {
        path: path.to_path_buf(),
        message: format!("malformed: {e}"),
    })
}
