//! A denoising autoencoder trained on benign flows only; a flow is anomalous when its
//! reconstruction error is large.
//!
//! Scaling is fitted on the benign training rows. The network learns to reconstruct clean scaled
//! rows from copies with Gaussian noise added; early stopping watches the reconstruction loss of
//! the benign val rows. The attack score of a row with mean squared reconstruction error `e` is
//! `e / (e + m)`, `m` being the median error of the benign training rows: monotone in `e`, in
//! [0, 1), 0.5 at the typical benign error. The bundle's threshold on that score is chosen on val
//! for a target recall (`target_recall`, applied by `train` when the threshold is automatic), so
//! the autoencoder sees attack labels only there, never in fitting.

use super::nn::Layers;
use super::preprocess::{self, Preprocess};
use super::{read_json, write_json};
use crate::error::{ModelError, Result};
use crate::model::Classifier;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const ENGINE: &str = crate::engine::AUTOENCODER;
const JSON: &str = "autoencoder.json";
const WEIGHTS: &str = "autoencoder.safetensors";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AeParams {
    /// Hidden layer widths, encoder then decoder (the middle one is the code).
    pub hidden: Vec<usize>,
    /// Standard deviation of the Gaussian noise added to the (scaled) inputs while training.
    pub noise: f32,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub patience: usize,
    pub seed: u64,
    /// Recall on the val attacks the automatic threshold must reach.
    pub target_recall: f64,
}

impl Default for AeParams {
    fn default() -> Self {
        AeParams {
            hidden: vec![64, 32, 16, 32, 64],
            noise: 0.1,
            epochs: 80,
            batch_size: 128,
            learning_rate: 1e-3,
            weight_decay: 0.0,
            patience: 8,
            seed: 42,
            target_recall: 0.95,
        }
    }
}

/// The model's own file besides the weights and `preprocess.json` (public so that the training
/// crate can build it).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AeFile {
    /// `[inputs, hidden…, inputs]`.
    pub sizes: Vec<usize>,
    /// Median reconstruction error of the benign training rows (the score's scale).
    pub error_scale: f64,
    pub benign_train_rows: usize,
    pub params: AeParams,
}

/// A fitted autoencoder; `predict_proba` gives `[1 − s, s]` with `s` the anomaly score.
#[derive(Clone, Debug)]
pub struct AeModel {
    pre: Preprocess,
    layers: Layers,
    file: AeFile,
    names: Vec<String>,
}

/// Mean squared reconstruction error of each scaled row (also the training crate's error scale).
pub fn row_errors(layers: &Layers, x: &[f32]) -> Result<Vec<f64>> {
    let nf = layers.n_inputs();
    let out = layers.forward_rows(x)?;
    Ok(x.chunks_exact(nf)
        .zip(out.chunks_exact(nf))
        .map(|(a, b)| {
            a.iter()
                .zip(b)
                .map(|(&u, &v)| ((u - v) as f64).powi(2))
                .sum::<f64>()
                / nf as f64
        })
        .collect())
}

impl AeModel {
    /// A fitted autoencoder from its parts (the training crate's `Fit` builds it).
    pub fn new(pre: Preprocess, layers: Layers, file: AeFile) -> AeModel {
        AeModel {
            names: pre.names(),
            pre,
            layers,
            file,
        }
    }

    pub fn load(dir: &Path, n_classes: usize) -> Result<AeModel> {
        let pre = Preprocess::load(dir)?;
        let path = dir.join(JSON);
        let file: AeFile = read_json(&path)?;
        let bad = |m: String| ModelError::Manifest {
            path: path.clone(),
            message: m,
        };
        if n_classes != 2 {
            return Err(bad(format!(
                "an autoencoder bundle must be binary, the manifest lists {n_classes} classes"
            )));
        }
        let nf = pre.n_features();
        if file.sizes.len() < 3 || file.sizes[0] != nf || file.sizes.last() != Some(&nf) {
            return Err(bad(format!(
                "layer sizes {:?} do not match the {nf} features of {}",
                file.sizes,
                preprocess::FILE
            )));
        }
        if !(file.error_scale > 0.0 && file.error_scale.is_finite()) {
            return Err(bad(format!("bad error scale {}", file.error_scale)));
        }
        let layers = Layers::load(&dir.join(WEIGHTS), &file.sizes)?;
        Ok(AeModel {
            names: pre.names(),
            pre,
            layers,
            file,
        })
    }

    /// Mean squared reconstruction error of each raw row.
    pub fn reconstruction_errors(&self, x: &[f64]) -> Result<Vec<f64>> {
        row_errors(&self.layers, &self.pre.transform(x)?)
    }

    /// The error that maps to score `s` (`m·s/(1−s)`), to report thresholds as errors.
    pub fn error_at_score(&self, s: f64) -> f64 {
        self.file.error_scale * s / (1.0 - s).max(1e-300)
    }
}

impl Classifier for AeModel {
    fn engine(&self) -> &'static str {
        ENGINE
    }

    fn n_features(&self) -> usize {
        self.pre.n_features()
    }

    fn feature_names(&self) -> Option<&[String]> {
        Some(&self.names)
    }

    fn n_classes(&self) -> usize {
        2
    }

    fn predict_proba(&self, x: &[f64], out: &mut [f64]) -> Result<()> {
        let e = self.reconstruction_errors(x)?;
        let m = self.file.error_scale;
        for (o, e) in out.chunks_exact_mut(2).zip(e) {
            let s = if e.is_finite() { e / (e + m) } else { 1.0 };
            o[0] = 1.0 - s;
            o[1] = s;
        }
        Ok(())
    }

    /// Each feature's share of the reconstruction error (squared scaled difference / features).
    fn contributions(&self, row: &[f64], _class: usize) -> Result<Option<Vec<f64>>> {
        let xt = self.pre.transform(row)?;
        let out = self.layers.forward_rows(&xt)?;
        let nf = xt.len() as f64;
        Ok(Some(
            xt.iter()
                .zip(&out)
                .map(|(&a, &b)| ((a - b) as f64).powi(2) / nf)
                .collect(),
        ))
    }

    fn save(&self, dir: &Path) -> Result<Vec<String>> {
        let pre = self.pre.save(dir)?;
        write_json(&dir.join(JSON), &self.file)?;
        self.layers.save(&dir.join(WEIGHTS))?;
        Ok(vec![pre, JSON.into(), WEIGHTS.into()])
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({
            "model": "autoencoder",
            "layers": self.file.sizes,
            "error_scale": self.file.error_scale,
            "benign_train_rows": self.file.benign_train_rows,
            "params": self.file.params,
            "preprocessing": format!("{} (fitted on the benign training rows)", preprocess::DESCRIPTION),
        })
    }
}
