//! Model bundles: `models/NAME/manifest.json` plus the engine's model file(s).
//!
//! The manifest says everything needed to use the model correctly: the extractor mode and the
//! feature names in model order (inputs that do not match are refused, never silently
//! mis-predicted), the labels and which are attacks, preprocessing, the decision threshold, and how
//! the model was made (data, parameters, metrics, versions).

use crate::decision::DecisionRule;
use crate::error::{ModelError, Result};
use crate::model::{load_classifier, Classifier, FitSummary, Task};
use mlids_flow::{Feature, Mode};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Version of the manifest layout this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST_FILE: &str = "manifest.json";

/// The missing-value policy every engine and the Detector apply.
pub const MISSING_VALUE_POLICY: &str = "null, NaN and ±Infinity are missing (NaN); GBDT trees send missing values the direction learned in training (LightGBM use_missing)";
/// The same for the scaled zoo models (kNN, linear, SVM, MLP, autoencoder).
pub const ZOO_MISSING_VALUE_POLICY: &str = "null, NaN and ±Infinity are missing (NaN); imputed with the training mean after scaling (preprocess.json)";

/// Attack families left out of training (the novel-attack test).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Holdout {
    /// Canonical labels or categories, as given.
    pub names: Vec<String>,
    pub train_rows_removed: u64,
    pub val_rows_removed: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LabelInfo {
    pub name: String,
    pub category: String,
    pub is_attack: bool,
    /// Training rows of this class (after upsampling).
    #[serde(default)]
    pub train_rows: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Preprocessing {
    /// Features left out by configuration (`timestamp`, `dst_port` by default).
    pub excluded: Vec<String>,
    /// Features dropped because they were constant on the training split.
    pub dropped_constant: Vec<String>,
    pub missing_values: String,
    /// Minority classes were upsampled (with replacement) to at least this many rows.
    pub min_samples_per_label: Option<usize>,
    /// Class weights used in training, in label order (inverse frequency by default).
    pub class_weights: Option<Vec<f64>>,
    /// Scaling of the zoo models' inputs (`preprocess.json`); absent for tree models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<String>,
    /// Families held out of train and val.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout: Option<Holdout>,
    /// Rows outside the flow model's scope, left out of every split (absent: trained on all rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_scope: Option<ModelScope>,
}

/// The flow model is trained on the flows it will judge (`mlids_behaviour::judged_by_model`):
/// answered conversations. One-packet, unanswered, refused and payload-free flows are the
/// host-behaviour stage's and are left out of training.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ModelScope {
    pub rule: String,
    pub train_rows_removed: u64,
    pub val_rows_removed: u64,
    pub test_rows_removed: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct DatasetInfo {
    /// Where the splits were read from.
    pub path: String,
    /// SHA-256 of the dataset's `card.json` (absent when the dataset has no card).
    pub card_sha256: Option<String>,
    pub train_rows: u64,
    pub val_rows: u64,
    pub test_rows: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Threshold {
    /// Rows whose attack score is ≥ this are attacks.
    pub value: f64,
    /// How it was chosen (`default 0.5`, `recall ≥ 0.99 on val`, `user`).
    pub rule: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    /// Engine id (`lightgbm-gbdt`, `lightgbm-rf`, `knn-exact`, `logistic-regression`,
    /// `linear-svm`, `mlp`, `autoencoder`).
    pub engine: String,
    pub task: Task,
    /// Classes in model output order.
    pub labels: Vec<LabelInfo>,
    /// Features in model input order, by `Feature::snake_name` of `mode`.
    pub features: Vec<String>,
    /// Extractor mode the features come from (`cic2018` | `corrected`).
    pub mode: String,
    pub preprocessing: Preprocessing,
    pub threshold: Threshold,
    /// Model file(s) inside the bundle.
    pub model_files: Vec<String>,
    /// Evaluation summaries by split name (`val`, `test`): the JSON of `metrics::Evaluation` without
    /// the curve.
    #[serde(default)]
    pub metrics: BTreeMap<String, serde_json::Value>,
    pub dataset: DatasetInfo,
    /// Engine parameters as used.
    pub parameters: serde_json::Value,
    pub training: Option<FitSummary>,
    /// Tool and library versions (`mlids-model`, `lightgbm`).
    pub versions: BTreeMap<String, String>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl Manifest {
    pub fn mode(&self) -> Result<Mode> {
        self.mode
            .parse::<Mode>()
            .map_err(|e| ModelError::Data(e.to_string()))
    }

    pub fn label_names(&self) -> Vec<String> {
        self.labels.iter().map(|l| l.name.clone()).collect()
    }

    pub fn decision_rule(&self) -> DecisionRule {
        DecisionRule {
            task: self.task,
            is_attack: self.labels.iter().map(|l| l.is_attack).collect(),
            threshold: self.threshold.value,
        }
    }

    /// Every check that does not need the model file.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let bad = |m: String| {
            Err(ModelError::Manifest {
                path: path.to_path_buf(),
                message: m,
            })
        };
        if self.format_version != FORMAT_VERSION {
            return bad(format!(
                "format version {} is not supported (this build reads version {FORMAT_VERSION}); retrain or upgrade ml-ids",
                self.format_version
            ));
        }
        let mode = match self.mode.parse::<Mode>() {
            Ok(m) => m,
            Err(e) => return bad(e),
        };
        if self.features.is_empty() {
            return bad("no features".into());
        }
        let mut seen = HashSet::new();
        for f in &self.features {
            if Feature::from_snake_in(f, mode).is_none() {
                return bad(format!("`{f}` is not a {mode}-mode feature name"));
            }
            if !seen.insert(f) {
                return bad(format!("feature `{f}` listed twice"));
            }
        }
        match self.task {
            Task::Binary if self.labels.len() != 2 => {
                return bad(format!("binary task with {} labels", self.labels.len()))
            }
            Task::Multiclass if self.labels.len() < 2 => {
                return bad("multiclass task with fewer than 2 labels".into())
            }
            _ => {}
        }
        if !self.labels.iter().any(|l| l.is_attack) || !self.labels.iter().any(|l| !l.is_attack) {
            return bad("labels must include at least one attack and one benign class".into());
        }
        let mut names = HashSet::new();
        if let Some(l) = self.labels.iter().find(|l| !names.insert(&l.name)) {
            return bad(format!("label `{}` listed twice", l.name));
        }
        if !(0.0..=1.0).contains(&self.threshold.value) {
            return bad(format!(
                "decision threshold {} outside [0, 1]",
                self.threshold.value
            ));
        }
        if self.model_files.is_empty() {
            return bad("no model files".into());
        }
        for f in &self.model_files {
            if f.contains('/') || f.contains('\\') || f.starts_with('.') {
                return bad(format!(
                    "model file name `{f}` must be a plain file name inside the bundle"
                ));
            }
        }
        Ok(())
    }
}

/// A loaded, validated bundle.
pub struct Bundle {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub model: Box<dyn Classifier>,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("dir", &self.dir)
            .field("engine", &self.manifest.engine)
            .finish()
    }
}

impl Bundle {
    /// Read and validate `dir/manifest.json` and the model it names.
    pub fn load(dir: &Path) -> Result<Bundle> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| ModelError::Manifest {
            path: dir.to_path_buf(),
            message: format!("cannot read {MANIFEST_FILE}: {e} (is this a model directory written by `ml-ids train`?)"),
        })?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| ModelError::Manifest {
            path: path.clone(),
            message: format!("malformed: {e}"),
        })?;
        manifest.validate(&path)?;
        let model = load_classifier(
            &manifest.engine,
            dir,
            &manifest.model_files,
            manifest.labels.len(),
        )?;
        let bad = |m: String| {
            Err(ModelError::Manifest {
                path: path.clone(),
                message: m,
            })
        };
        if model.n_features() != manifest.features.len() {
            return bad(format!(
                "the model file takes {} features but the manifest lists {}",
                model.n_features(),
                manifest.features.len()
            ));
        }
        if let Some(names) = model.feature_names() {
            if names != manifest.features.as_slice() {
                let first = names
                    .iter()
                    .zip(&manifest.features)
                    .position(|(a, b)| a != b)
                    .unwrap_or(0);
                return bad(format!(
                    "feature order differs between the model file and the manifest (position {first}: `{}` vs `{}`)",
                    names.get(first).map_or("", String::as_str),
                    manifest.features.get(first).map_or("", String::as_str)
                ));
            }
        }
        Ok(Bundle {
            dir: dir.to_path_buf(),
            manifest,
            model,
        })
    }

    /// Write the model file(s) and the manifest into `dir` (created if needed). The manifest's
    /// `model_files` and `engine` are filled in from the model.
    pub fn save(dir: &Path, mut manifest: Manifest, model: &dyn Classifier) -> Result<Manifest> {
        std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
        manifest.engine = model.engine().to_string();
        manifest.model_files = model.save(dir)?;
        let path = dir.join(MANIFEST_FILE);
        manifest.validate(&path)?;
        let json =
            serde_json::to_string_pretty(&manifest).map_err(|e| ModelError::Data(e.to_string()))?;
        // Write the manifest last and atomically: a bundle with a manifest is complete.
        let tmp = dir.join(".manifest.json.tmp");
        std::fs::write(&tmp, json + "\n").map_err(|e| ModelError::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| ModelError::io(&path, e))?;
        Ok(manifest)
    }
}

/// Tool and library versions for manifests.
pub fn versions() -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    v.insert("mlids-model".into(), env!("CARGO_PKG_VERSION").into());
    v.insert("lightgbm3".into(), "1.0.11".into());
    v.insert("lightgbm".into(), "4.7.0".into());
    v.insert("candle".into(), "0.11.1".into());
    v
}

/// Current time as RFC 3339 (UTC, seconds).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
