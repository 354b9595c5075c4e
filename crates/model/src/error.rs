//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong while loading data, training, evaluating or classifying.
///
/// One error type for the detection and the training crate: the `Classifier` and `Fit` traits share
/// `Result`, and the command line prints the same messages as before the crates were split. The
/// training-only variants carry plain strings (or a boxed dataset error), so this crate does not
/// depend on LightGBM, Parquet or the dataset crate to name them.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot read Parquet: {message}")]
    Parquet { path: PathBuf, message: String },
    /// The dataset crate refused a split (footer, mode, schema version); boxed so that this crate
    /// does not depend on the dataset crate (and through it on Parquet).
    #[error(transparent)]
    Dataset(Box<dyn std::error::Error + Send + Sync>),
    /// The data does not have the shape the model or the dataset schema needs.
    #[error("{0}")]
    Data(String),
    /// Invalid hyper-parameters (caught by `check()` before any work is done).
    #[error("invalid parameters: {0}")]
    Params(String),
    /// LightGBM reported an error.
    #[error("LightGBM: {0}")]
    LightGbm(String),
    /// A LightGBM text model we cannot evaluate (or that is malformed).
    #[error("model file: {0}")]
    ModelFormat(String),
    /// The bundle's manifest is missing, malformed, or inconsistent with its model file.
    #[error("model bundle {path}: {message}")]
    Manifest { path: PathBuf, message: String },
    /// Input features were computed by a different extractor mode than the model was trained on.
    #[error("extractor mode mismatch: the model was trained on '{model}' features but the input is '{input}' (re-extract with --mode {model}, or use a model trained on {input} data)")]
    ModeMismatch { model: String, input: String },
    /// A named feature row lacks features the model needs.
    #[error("missing feature(s) the model needs: {}", .0.join(", "))]
    MissingFeatures(Vec<String>),
    /// A row, or a row-major matrix, is not a whole number of rows of `expected` values.
    #[error("expected rows of {expected} feature values, got {got} values")]
    Width { expected: usize, got: usize },
    #[error("report: {0}")]
    Report(String),
    /// A model-zoo engine (candle tensors, kNN index) failed.
    #[error("model engine: {0}")]
    Engine(String),
}

#[cfg(feature = "zoo")]
impl From<candle_core::Error> for ModelError {
    fn from(e: candle_core::Error) -> Self {
        ModelError::Engine(e.to_string())
    }
}

impl ModelError {
    /// An I/O error on `path` (public: the training crate reports its file errors this way).
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
