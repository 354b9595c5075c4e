//! A multilayer perceptron (the seed's DNN: three hidden layers of 400 ReLU units) with softmax
//! output, class-weighted cross-entropy, dropout, AdamW and early stopping on the val loss.

use super::nn::{self, Layers};
use super::preprocess::{self, Preprocess};
use super::{read_json, write_json};
use crate::error::{ModelError, Result};
use crate::model::Classifier;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const ENGINE: &str = crate::engine::MLP;
const JSON: &str = "mlp.json";
const WEIGHTS: &str = "mlp.safetensors";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MlpParams {
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Dropout on hidden activations while training.
    pub dropout: f32,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub patience: usize,
    pub seed: u64,
}

impl Default for MlpParams {
    fn default() -> Self {
        MlpParams {
            hidden: vec![400, 400, 400],
            dropout: 0.1,
            epochs: 30,
            batch_size: 256,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            patience: 4,
            seed: 42,
        }
    }
}

/// The model's own file besides the weights and `preprocess.json` (public so that the training
/// crate can build it).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MlpFile {
    /// `[inputs, hidden…, classes]`.
    pub sizes: Vec<usize>,
    pub params: MlpParams,
}

/// A fitted MLP.
#[derive(Clone, Debug)]
pub struct MlpModel {
    pre: Preprocess,
    layers: Layers,
    file: MlpFile,
    names: Vec<String>,
}

impl MlpModel {
    /// A fitted MLP from its parts (the training crate's `Fit` builds it).
    pub fn new(pre: Preprocess, layers: Layers, file: MlpFile) -> MlpModel {
        MlpModel {
            names: pre.names(),
            pre,
            layers,
            file,
        }
    }

    pub fn load(dir: &Path, n_classes: usize) -> Result<MlpModel> {
        let pre = Preprocess::load(dir)?;
        let path = dir.join(JSON);
        let file: MlpFile = read_json(&path)?;
        let bad = |m: String| ModelError::Manifest {
            path: path.clone(),
            message: m,
        };
        if file.sizes.len() < 3 {
            return Err(bad(format!("bad layer sizes {:?}", file.sizes)));
        }
        if file.sizes.first() != Some(&pre.n_features()) {
            return Err(bad(format!(
                "takes {} inputs but {} has {} features",
                file.sizes[0],
                preprocess::FILE,
                pre.n_features()
            )));
        }
        if file.sizes.last() != Some(&n_classes) {
            return Err(bad(format!(
                "has {} outputs but the manifest lists {n_classes} classes",
                file.sizes.last().unwrap_or(&0)
            )));
        }
        let layers = Layers::load(&dir.join(WEIGHTS), &file.sizes)?;
        Ok(MlpModel {
            names: pre.names(),
            pre,
            layers,
            file,
        })
    }
}

impl Classifier for MlpModel {
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
        self.layers.n_outputs()
    }

    fn predict_proba(&self, x: &[f64], out: &mut [f64]) -> Result<()> {
        let xt = self.pre.transform(x)?;
        let z = self.layers.forward_rows(&xt)?;
        nn::softmax_rows(&z, self.n_classes(), out);
        Ok(())
    }

    fn save(&self, dir: &Path) -> Result<Vec<String>> {
        let pre = self.pre.save(dir)?;
        write_json(&dir.join(JSON), &self.file)?;
        self.layers.save(&dir.join(WEIGHTS))?;
        Ok(vec![pre, JSON.into(), WEIGHTS.into()])
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({
            "model": "mlp",
            "layers": self.file.sizes,
            "params": self.file.params,
            "preprocessing": preprocess::DESCRIPTION,
        })
    }
}
