//! Library errors. Every variant names the file it is about, so the CLI can print it as is.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}: unrecognised CSV header (looks like {mode} mode): missing columns [{}]; unknown columns [{}]",
        path.display(), missing.join(", "), unknown.join(", ")
    )]
    Header {
        path: PathBuf,
        mode: &'static str,
        missing: Vec<String>,
        unknown: Vec<String>,
    },
    #[error("cannot mix extractor modes in one dataset (cic2018 and corrected features are different quantities):\n  {}", files.join("\n  "))]
    MixedModes { files: Vec<String> },
    #[error("{}: CSV error: {message}", path.display())]
    Csv { path: PathBuf, message: String },
    #[error("{}: Parquet error: {message}", path.display())]
    Parquet { path: PathBuf, message: String },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
}

impl DatasetError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DatasetError::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn parquet(path: impl Into<PathBuf>, e: impl std::fmt::Display) -> Self {
        DatasetError::Parquet {
            path: path.into(),
            message: e.to_string(),
        }
    }
    pub(crate) fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        DatasetError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = DatasetError> = std::result::Result<T, E>;
