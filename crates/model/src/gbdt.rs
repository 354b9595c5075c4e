//! The GBDT engine's inference side: a LightGBM text model (gradient boosting or `boosting=rf`),
//! evaluated by the pure-Rust flat predictor ([`FlatForest`]), so that serving a GBDT bundle needs
//! neither LightGBM's C++ library nor cmake. Fitting (LightGBM's C API) lives in `mlids-train`,
//! which builds a [`GbdtModel`] from the text LightGBM wrote with [`GbdtModel::from_fitted`].
//!
//! Models are kept in LightGBM's text format; Python LightGBM loads them unchanged.

use crate::error::{ModelError, Result};
use crate::flat::FlatForest;
use crate::model::Classifier;
use std::path::Path;

/// Engine id in manifests.
pub const ENGINE: &str = crate::engine::GBDT;
/// Engine id of LightGBM random forests (`boosting=rf`, averaged trees), same model file format.
pub const RF_ENGINE: &str = crate::engine::RF;
/// File name of the model inside a bundle.
pub const MODEL_FILE: &str = "model.txt";

/// A fitted LightGBM model: its text (saved verbatim) and the flat predictor built from it.
#[derive(Clone, Debug)]
pub struct GbdtModel {
    text: String,
    forest: FlatForest,
    n_classes: usize,
    /// The training parameters as JSON, for the manifest (`null` for a model loaded from a file).
    /// Kept as JSON because the parameter type belongs to the training crate.
    parameters: serde_json::Value,
}

impl GbdtModel {
    /// A freshly fitted model: LightGBM's text, the flat predictor the trainer already built from it
    /// (to pick the kept iterations), and the parameters it was trained with.
    pub fn from_fitted(
        text: String,
        forest: FlatForest,
        n_classes: usize,
        parameters: serde_json::Value,
    ) -> Result<Self> {
        let m = GbdtModel {
            text,
            forest,
            n_classes,
            parameters,
        };
        m.check_classes()?;
        Ok(m)
    }

    /// Parse a LightGBM text model. `n_classes` is 2 for binary models.
    pub fn from_text(text: String, n_classes: usize) -> Result<Self> {
        let forest = FlatForest::from_lightgbm_text(&text)?;
        let m = GbdtModel {
            text,
            forest,
            n_classes,
            parameters: serde_json::Value::Null,
        };
        m.check_classes()?;
        Ok(m)
    }

    fn check_classes(&self) -> Result<()> {
        let outputs = self.forest.num_outputs();
        let ok = if self.n_classes == 2 {
            outputs == 1 || outputs == 2
        } else {
            outputs == self.n_classes
        };
        if !ok {
            return Err(ModelError::ModelFormat(format!(
                "model has {outputs} outputs but {} classes were expected",
                self.n_classes
            )));
        }
        Ok(())
    }

    pub fn load(dir: &Path, files: &[String], n_classes: usize) -> Result<Self> {
        let name = files.first().map_or(MODEL_FILE, String::as_str);
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
        Self::from_text(text, n_classes).map_err(|e| ModelError::Manifest {
            path: path.clone(),
            message: e.to_string(),
        })
    }

    /// Load a bundle's model file and check it is the kind `engine` names (gradient boosting or a
    /// random forest).
    pub fn load_engine(
        dir: &Path,
        files: &[String],
        n_classes: usize,
        engine: &str,
    ) -> Result<Self> {
        let m = Self::load(dir, files, n_classes)?;
        if m.engine() != engine {
            return Err(ModelError::Manifest {
                path: dir.to_path_buf(),
                message: format!(
                    "the manifest says engine '{engine}' but the model file holds a {} model",
                    m.engine()
                ),
            });
        }
        Ok(m)
    }

    /// LightGBM's text model.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn forest(&self) -> &FlatForest {
        &self.forest
    }
}

impl Classifier for GbdtModel {
    fn engine(&self) -> &'static str {
        if self.forest.average_output() {
            RF_ENGINE
        } else {
            ENGINE
        }
    }

    fn n_features(&self) -> usize {
        self.forest.n_features()
    }

    fn n_classes(&self) -> usize {
        self.n_classes
    }

    fn feature_names(&self) -> Option<&[String]> {
        Some(self.forest.feature_names())
    }

    fn predict_proba(&self, x: &[f64], out: &mut [f64]) -> Result<()> {
        let k = self.forest.num_outputs();
        if k == self.n_classes {
            return self.forest.predict_parallel(x, out, 0);
        }
        // Binary: one sigmoid output → [P(class 0), P(class 1)].
        let n_rows = out.len() / 2;
        let mut p = vec![0.0; n_rows];
        self.forest.predict_parallel(x, &mut p, 0)?;
        for (o, p) in out.chunks_exact_mut(2).zip(p) {
            o[0] = 1.0 - p;
            o[1] = p;
        }
        Ok(())
    }

    fn contributions(&self, row: &[f64], class: usize) -> Result<Option<Vec<f64>>> {
        let mut c = vec![0.0; self.forest.n_features()];
        let (output, sign) = if self.forest.num_outputs() == 1 {
            (0, if class == 0 { -1.0 } else { 1.0 })
        } else {
            (class, 1.0)
        };
        self.forest.contributions(row, output, &mut c)?;
        if sign < 0.0 {
            c.iter_mut().for_each(|v| *v = -*v);
        }
        Ok(Some(c))
    }

    fn save(&self, dir: &Path) -> Result<Vec<String>> {
        let path = dir.join(MODEL_FILE);
        std::fs::write(&path, &self.text).map_err(|e| ModelError::io(&path, e))?;
        Ok(vec![MODEL_FILE.to_string()])
    }

    fn parameters(&self) -> serde_json::Value {
        self.parameters.clone()
    }
}
