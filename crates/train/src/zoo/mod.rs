//! The model zoo's training side: every engine besides gradient boosting, behind the same
//! [`Fit`]/[`Classifier`] traits and bundle format. The fitted models (and their loading) are the
//! detection crate's `mlids_model::zoo`, built with its `zoo` feature.
//!
//! | name | engine id | what |
//! |---|---|---|
//! | `gbdt` | `lightgbm-gbdt` | gradient-boosted trees (LightGBM), [`crate::gbdt`] |
//! | `rf` | `lightgbm-rf` | random forest: LightGBM's `boosting=rf` through the same engine and flat predictor |
//! | `knn` | `knn-exact` | exact k-nearest neighbours on a stratified subsample of the scaled rows |
//! | `linear` | `logistic-regression` | softmax (logistic) regression |
//! | `svm` | `linear-svm` | L2-loss linear SVM, Platt-scaled |
//! | `mlp` | `mlp` | 3×400 ReLU perceptron, dropout, AdamW |
//! | `ae` | `autoencoder` | denoising autoencoder on benign rows, reconstruction error as the score |
//!
//! The scaled models keep their fitted scaling in `preprocess.json` ([`preprocess`]); networks are
//! candle tensors saved as safetensors ([`nn`]).

pub mod autoencoder;
pub mod knn;
pub mod linear;
pub mod mlp;
pub mod nn;

use crate::fit::{Fit, FitControl, ParamGuard, TrainSet};
use crate::gbdt::{self, GbdtParams};
use linear::ValidLinearParams;
use mlids_model::zoo::{
    autoencoder as ae_model, knn as knn_model, linear as linear_model, mlp as mlp_model,
};
pub use mlids_model::zoo::{
    preprocess, AeModel, AeParams, KnnModel, KnnParams, LinearKind, LinearModel, LinearParams,
    MlpModel, MlpParams,
};
use mlids_model::{Classifier, FitSummary, ModelError, Result};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

/// The model families `ml-ids train --model` and `ml-ids compare --models` accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    Gbdt,
    Rf,
    Knn,
    Linear,
    Svm,
    Mlp,
    Ae,
}

impl ModelKind {
    pub const ALL: [ModelKind; 7] = [
        ModelKind::Gbdt,
        ModelKind::Rf,
        ModelKind::Knn,
        ModelKind::Linear,
        ModelKind::Svm,
        ModelKind::Mlp,
        ModelKind::Ae,
    ];

    /// Short name (`--model`).
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Gbdt => "gbdt",
            ModelKind::Rf => "rf",
            ModelKind::Knn => "knn",
            ModelKind::Linear => "linear",
            ModelKind::Svm => "svm",
            ModelKind::Mlp => "mlp",
            ModelKind::Ae => "ae",
        }
    }

    /// Engine id written in manifests.
    pub fn engine(self) -> &'static str {
        match self {
            ModelKind::Gbdt => gbdt::ENGINE,
            ModelKind::Rf => gbdt::RF_ENGINE,
            ModelKind::Knn => knn_model::ENGINE,
            ModelKind::Linear => linear_model::LOGISTIC_ENGINE,
            ModelKind::Svm => linear_model::SVM_ENGINE,
            ModelKind::Mlp => mlp_model::ENGINE,
            ModelKind::Ae => ae_model::ENGINE,
        }
    }

    /// One line for reports and help.
    pub fn describe(self) -> &'static str {
        match self {
            ModelKind::Gbdt => "gradient-boosted trees (LightGBM)",
            ModelKind::Rf => "random forest (LightGBM boosting=rf)",
            ModelKind::Knn => "k-nearest neighbours (exact, stratified subsample)",
            ModelKind::Linear => "logistic regression",
            ModelKind::Svm => "linear SVM (squared hinge, Platt-scaled)",
            ModelKind::Mlp => "MLP (3×400 ReLU)",
            ModelKind::Ae => "denoising autoencoder (benign rows only)",
        }
    }

    /// Whether the model is trained on benign rows alone and flags anomalies.
    pub fn is_anomaly_detector(self) -> bool {
        self == ModelKind::Ae
    }

    /// Whether the engine uses scaled inputs (`preprocess.json`).
    pub fn is_scaled(self) -> bool {
        !matches!(self, ModelKind::Gbdt | ModelKind::Rf)
    }

    /// Whether the fit uses per-row (class) weights.
    pub fn uses_class_weights(self) -> bool {
        !matches!(self, ModelKind::Knn | ModelKind::Ae)
    }
}

impl std::fmt::Display for ModelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "gbdt" | "lightgbm" => ModelKind::Gbdt,
            "rf" | "random-forest" | "forest" => ModelKind::Rf,
            "knn" => ModelKind::Knn,
            "linear" | "logistic" | "lr" => ModelKind::Linear,
            "svm" | "linear-svm" => ModelKind::Svm,
            "mlp" | "dnn" => ModelKind::Mlp,
            "ae" | "autoencoder" => ModelKind::Ae,
            o => {
                return Err(format!(
                    "unknown model '{o}' (expected one of gbdt, rf, knn, linear, svm, mlp, ae)"
                ))
            }
        })
    }
}

/// Random-forest settings, mapped onto LightGBM's `boosting=rf`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RfParams {
    pub num_trees: usize,
    pub num_leaves: usize,
    pub max_depth: i64,
    pub min_data_in_leaf: usize,
    /// Rows drawn (without replacement) for each tree.
    pub bagging_fraction: f64,
    /// Features considered at each split (LightGBM `feature_fraction_bynode`).
    pub feature_fraction_bynode: f64,
    pub max_bin: usize,
    /// 0: all cores.
    pub num_threads: usize,
    pub seed: u64,
}

impl Default for RfParams {
    fn default() -> Self {
        RfParams {
            num_trees: 100,
            num_leaves: 255,
            max_depth: -1,
            min_data_in_leaf: 2,
            bagging_fraction: 0.632,
            feature_fraction_bynode: 0.3,
            max_bin: 255,
            num_threads: 0,
            seed: 42,
        }
    }
}

impl RfParams {
    /// The LightGBM parameters (without `boosting`, which [`GbdtParams::check_random_forest`] adds).
    pub fn gbdt_params(&self) -> GbdtParams {
        let mut extra = std::collections::BTreeMap::new();
        extra.insert(
            "feature_fraction_bynode".to_string(),
            toml::Value::Float(self.feature_fraction_bynode),
        );
        GbdtParams {
            num_iterations: self.num_trees,
            num_leaves: self.num_leaves,
            max_depth: self.max_depth,
            min_data_in_leaf: self.min_data_in_leaf,
            bagging_fraction: self.bagging_fraction,
            bagging_freq: 1,
            max_bin: self.max_bin,
            early_stopping_rounds: 0,
            train_metric: false,
            num_threads: self.num_threads,
            seed: self.seed,
            extra,
            ..GbdtParams::default()
        }
    }
}

/// Which model to train, with its parameters. GBDT takes its parameters from
/// `TrainConfig::params` (kept there for compatibility).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ModelChoice {
    #[default]
    Gbdt,
    Rf(RfParams),
    Knn(KnnParams),
    Linear(LinearParams),
    Svm(LinearParams),
    Mlp(MlpParams),
    Ae(AeParams),
}

impl ModelChoice {
    /// Default parameters of a model family.
    pub fn default_for(kind: ModelKind) -> ModelChoice {
        match kind {
            ModelKind::Gbdt => ModelChoice::Gbdt,
            ModelKind::Rf => ModelChoice::Rf(RfParams::default()),
            ModelKind::Knn => ModelChoice::Knn(KnnParams::default()),
            ModelKind::Linear => ModelChoice::Linear(LinearParams::logistic()),
            ModelKind::Svm => ModelChoice::Svm(LinearParams::svm()),
            ModelKind::Mlp => ModelChoice::Mlp(MlpParams::default()),
            ModelKind::Ae => ModelChoice::Ae(AeParams::default()),
        }
    }

    /// Parameters of a (non-GBDT) family from TOML: the struct's keys at top level or under a
    /// `[NAME]` table (e.g. `[mlp]`); unknown keys are refused. Keys left out keep their defaults.
    pub fn from_toml(kind: ModelKind, text: &str) -> Result<ModelChoice> {
        fn parse<T: DeserializeOwned>(text: &str, table: &str) -> Result<T> {
            let mut value: toml::Table =
                toml::from_str(text).map_err(|e| ModelError::Params(format!("TOML: {e}")))?;
            if let Some(toml::Value::Table(inner)) = value.remove(table) {
                for (k, v) in inner {
                    value.insert(k, v);
                }
            }
            toml::Value::Table(value)
                .try_into::<T>()
                .map_err(|e| ModelError::Params(format!("TOML: {e}")))
        }
        let name = kind.name();
        Ok(match kind {
            ModelKind::Gbdt => {
                return Err(ModelError::Params(
                    "GBDT parameters are GbdtParams (TrainConfig::params)".into(),
                ))
            }
            ModelKind::Rf => ModelChoice::Rf(parse(text, name)?),
            ModelKind::Knn => ModelChoice::Knn(parse(text, name)?),
            ModelKind::Linear => ModelChoice::Linear(merge(LinearParams::logistic(), text, name)?),
            ModelKind::Svm => ModelChoice::Svm(merge(LinearParams::svm(), text, name)?),
            ModelKind::Mlp => ModelChoice::Mlp(parse(text, name)?),
            ModelKind::Ae => ModelChoice::Ae(parse(text, name)?),
        })
    }

    pub fn kind(&self) -> ModelKind {
        match self {
            ModelChoice::Gbdt => ModelKind::Gbdt,
            ModelChoice::Rf(_) => ModelKind::Rf,
            ModelChoice::Knn(_) => ModelKind::Knn,
            ModelChoice::Linear(_) => ModelKind::Linear,
            ModelChoice::Svm(_) => ModelKind::Svm,
            ModelChoice::Mlp(_) => ModelKind::Mlp,
            ModelChoice::Ae(_) => ModelKind::Ae,
        }
    }

    /// Set the seed of any family (GBDT's lives in `GbdtParams`).
    pub fn set_seed(&mut self, seed: u64) {
        match self {
            ModelChoice::Gbdt => {}
            ModelChoice::Rf(p) => p.seed = seed,
            ModelChoice::Knn(p) => p.seed = seed,
            ModelChoice::Linear(p) | ModelChoice::Svm(p) => p.seed = seed,
            ModelChoice::Mlp(p) => p.seed = seed,
            ModelChoice::Ae(p) => p.seed = seed,
        }
    }

    /// Validate the parameters before any work (GBDT's are checked by the caller).
    pub fn check(&self) -> Result<()> {
        match self {
            ModelChoice::Gbdt => Ok(()),
            ModelChoice::Rf(p) => p.gbdt_params().check_random_forest().map(|_| ()),
            ModelChoice::Knn(p) => p.clone().check().map(|_| ()),
            ModelChoice::Linear(p) => {
                ValidLinearParams::new(LinearKind::Logistic, p.clone()).map(|_| ())
            }
            ModelChoice::Svm(p) => ValidLinearParams::new(LinearKind::Svm, p.clone()).map(|_| ()),
            ModelChoice::Mlp(p) => p.clone().check().map(|_| ()),
            ModelChoice::Ae(p) => p.clone().check().map(|_| ()),
        }
    }

    /// Fit a non-GBDT model (GBDT goes through `TrainConfig::params`). Random forests train
    /// without the validation rows: LightGBM would otherwise keep only the trees up to the best
    /// validation score, which is not how a forest is meant to be used.
    pub fn fit(
        &self,
        train: &TrainSet,
        valid: Option<&TrainSet>,
        ctl: &mut FitControl,
    ) -> Result<(Box<dyn Classifier>, FitSummary)> {
        fn boxed<M: Classifier + 'static>(
            r: Result<(M, FitSummary)>,
        ) -> Result<(Box<dyn Classifier>, FitSummary)> {
            r.map(|(m, s)| (Box::new(m) as Box<dyn Classifier>, s))
        }
        match self {
            ModelChoice::Gbdt => Err(ModelError::Params(
                "GBDT is fitted from TrainConfig::params".into(),
            )),
            ModelChoice::Rf(p) => {
                boxed(p.gbdt_params().check_random_forest()?.fit(train, None, ctl))
            }
            ModelChoice::Knn(p) => boxed(p.clone().check()?.fit(train, valid, ctl)),
            ModelChoice::Linear(p) => boxed(
                ValidLinearParams::new(LinearKind::Logistic, p.clone())?.fit(train, valid, ctl),
            ),
            ModelChoice::Svm(p) => {
                boxed(ValidLinearParams::new(LinearKind::Svm, p.clone())?.fit(train, valid, ctl))
            }
            ModelChoice::Mlp(p) => boxed(p.clone().check()?.fit(train, valid, ctl)),
            ModelChoice::Ae(p) => boxed(p.clone().check()?.fit(train, valid, ctl)),
        }
    }

    /// The parameters as JSON, for manifests and reports.
    pub fn parameters(&self) -> serde_json::Value {
        match self {
            ModelChoice::Gbdt => serde_json::Value::Null,
            ModelChoice::Rf(p) => serde_json::to_value(p).unwrap_or_default(),
            ModelChoice::Knn(p) => serde_json::to_value(p).unwrap_or_default(),
            ModelChoice::Linear(p) | ModelChoice::Svm(p) => {
                serde_json::to_value(p).unwrap_or_default()
            }
            ModelChoice::Mlp(p) => serde_json::to_value(p).unwrap_or_default(),
            ModelChoice::Ae(p) => serde_json::to_value(p).unwrap_or_default(),
        }
    }
}

/// Overlay TOML keys on `base` (so the SVM keeps its own default `l2`).
fn merge(base: LinearParams, text: &str, table: &str) -> Result<LinearParams> {
    let mut value: toml::Table =
        toml::from_str(text).map_err(|e| ModelError::Params(format!("TOML: {e}")))?;
    if let Some(toml::Value::Table(inner)) = value.remove(table) {
        for (k, v) in inner {
            value.insert(k, v);
        }
    }
    let toml::Value::Table(mut full) =
        toml::Value::try_from(&base).map_err(|e| ModelError::Params(e.to_string()))?
    else {
        return Err(ModelError::Params("parameters are not a table".into()));
    };
    for (k, v) in value {
        full.insert(k, v);
    }
    toml::Value::Table(full)
        .try_into::<LinearParams>()
        .map_err(|e| ModelError::Params(format!("TOML: {e}")))
}

/// Engine ids of every model family `train` can fit.
pub fn engines() -> Vec<&'static str> {
    ModelKind::ALL.iter().map(|k| k.engine()).collect()
}
