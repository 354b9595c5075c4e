//! Linear models on the scaled features: logistic (softmax) regression and an L2-loss linear SVM,
//! both one dense layer (trained with mini-batch Adam by `mlids-train`'s `zoo::nn::fit`).
//!
//! The SVM's margins become probabilities by Platt scaling fitted on the validation rows (the
//! training rows when there is no val split): one sigmoid for two classes; for more, one per
//! class (one-vs-rest), normalised to sum to 1.

use super::nn::{self, Layers};
use super::preprocess::{self, Preprocess};
use super::{read_json, write_json};
use crate::error::{ModelError, Result};
use crate::model::Classifier;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const LOGISTIC_ENGINE: &str = crate::engine::LOGISTIC;
pub const SVM_ENGINE: &str = crate::engine::SVM;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinearKind {
    Logistic,
    Svm,
}

/// Parameters of both linear models.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LinearParams {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// L2 penalty: AdamW weight decay for logistic regression, `l2/2 · ‖W‖²` in the SVM objective.
    pub l2: f64,
    pub patience: usize,
    pub seed: u64,
}

impl LinearParams {
    pub fn logistic() -> Self {
        LinearParams {
            epochs: 40,
            batch_size: 256,
            learning_rate: 0.01,
            l2: 1e-4,
            patience: 5,
            seed: 42,
        }
    }

    pub fn svm() -> Self {
        LinearParams {
            l2: 1e-3,
            ..Self::logistic()
        }
    }
}

impl Default for LinearParams {
    fn default() -> Self {
        Self::logistic()
    }
}

/// The model's own file besides the weights and `preprocess.json` (public so that the training
/// crate can build it).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LinearFile {
    pub kind: LinearKind,
    pub n_classes: usize,
    pub n_features: usize,
    /// Platt (a, b) per output (SVM only).
    pub platt: Vec<(f64, f64)>,
    pub params: LinearParams,
}

/// A fitted logistic regression or linear SVM.
#[derive(Clone, Debug)]
pub struct LinearModel {
    pre: Preprocess,
    layers: Layers,
    file: LinearFile,
    names: Vec<String>,
}

/// File name stem of a kind (`logistic.json`, `svm.safetensors`).
pub fn stem(kind: LinearKind) -> &'static str {
    match kind {
        LinearKind::Logistic => "logistic",
        LinearKind::Svm => "svm",
    }
}

impl LinearModel {
    /// A fitted linear model from its parts (the training crate's `Fit` builds it).
    pub fn new(pre: Preprocess, layers: Layers, file: LinearFile) -> LinearModel {
        LinearModel {
            names: pre.names(),
            pre,
            layers,
            file,
        }
    }

    pub fn load(dir: &Path, kind: LinearKind, n_classes: usize) -> Result<LinearModel> {
        let pre = Preprocess::load(dir)?;
        let path = dir.join(format!("{}.json", stem(kind)));
        let file: LinearFile = read_json(&path)?;
        let bad = |m: String| ModelError::Manifest {
            path: path.clone(),
            message: m,
        };
        if file.kind != kind {
            return Err(bad(format!("holds a {:?} model", file.kind)));
        }
        if file.n_classes != n_classes {
            return Err(bad(format!(
                "model has {} classes but the manifest lists {n_classes}",
                file.n_classes
            )));
        }
        if file.n_features != pre.n_features() {
            return Err(bad(format!(
                "{} features but {} has {}",
                file.n_features,
                preprocess::FILE,
                pre.n_features()
            )));
        }
        let n_out = match kind {
            LinearKind::Svm if n_classes == 2 => 1,
            _ => n_classes,
        };
        if kind == LinearKind::Svm && file.platt.len() != n_out {
            return Err(bad("Platt coefficients do not match the outputs".into()));
        }
        let layers = Layers::load(
            &dir.join(format!("{}.safetensors", stem(kind))),
            &[file.n_features, n_out],
        )?;
        Ok(LinearModel {
            names: pre.names(),
            pre,
            layers,
            file,
        })
    }

    fn n_out(&self) -> usize {
        self.layers.n_outputs()
    }
}

impl Classifier for LinearModel {
    fn engine(&self) -> &'static str {
        match self.file.kind {
            LinearKind::Logistic => LOGISTIC_ENGINE,
            LinearKind::Svm => SVM_ENGINE,
        }
    }

    fn n_features(&self) -> usize {
        self.file.n_features
    }

    fn feature_names(&self) -> Option<&[String]> {
        Some(&self.names)
    }

    fn n_classes(&self) -> usize {
        self.file.n_classes
    }

    fn predict_proba(&self, x: &[f64], out: &mut [f64]) -> Result<()> {
        let xt = self.pre.transform(x)?;
        let z = self.layers.forward_rows(&xt)?;
        let k = self.file.n_classes;
        match self.file.kind {
            LinearKind::Logistic => nn::softmax_rows(&z, k, out),
            LinearKind::Svm => {
                let n_out = self.n_out();
                for (zr, o) in z.chunks_exact(n_out).zip(out.chunks_exact_mut(k)) {
                    if n_out == 1 {
                        let (a, b) = self.file.platt[0];
                        let p = nn::sigmoid(a * zr[0] as f64 + b);
                        o[0] = 1.0 - p;
                        o[1] = p;
                    } else {
                        let mut s = 0.0;
                        for (c, v) in o.iter_mut().enumerate() {
                            let (a, b) = self.file.platt[c];
                            *v = nn::sigmoid(a * zr[c] as f64 + b).max(1e-12);
                            s += *v;
                        }
                        o.iter_mut().for_each(|v| *v /= s);
                    }
                }
            }
        }
        Ok(())
    }

    /// `w_j · x̃_j` (x̃: the scaled feature): for two classes the difference between the class's
    /// weight and the other's (the log-odds contribution for logistic regression, the margin
    /// contribution for the SVM); for more classes the class's own weight.
    fn contributions(&self, row: &[f64], class: usize) -> Result<Option<Vec<f64>>> {
        let xt = self.pre.transform(row)?;
        let w = self.layers.ws[0].to_vec2::<f32>()?;
        let k = self.file.n_classes;
        let coef: Vec<f64> = if self.n_out() == 1 {
            let sign = if class == 1 { 1.0 } else { -1.0 };
            w[0].iter().map(|&v| sign * v as f64).collect()
        } else if k == 2 {
            let other = 1 - class.min(1);
            w[class]
                .iter()
                .zip(&w[other])
                .map(|(&a, &b)| (a - b) as f64)
                .collect()
        } else {
            w[class].iter().map(|&v| v as f64).collect()
        };
        Ok(Some(
            coef.iter().zip(&xt).map(|(c, &x)| c * x as f64).collect(),
        ))
    }

    fn save(&self, dir: &Path) -> Result<Vec<String>> {
        let s = stem(self.file.kind);
        let pre = self.pre.save(dir)?;
        let json = format!("{s}.json");
        write_json(&dir.join(&json), &self.file)?;
        let weights = format!("{s}.safetensors");
        self.layers.save(&dir.join(&weights))?;
        Ok(vec![pre, json, weights])
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({
            "model": stem(self.file.kind),
            "params": self.file.params,
            "preprocessing": preprocess::DESCRIPTION,
            "platt": self.file.platt,
        })
    }
}
