//! Errors of the watch library. Each names what failed (interface, filter, file, URL) so the CLI can
//! print it as is.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Live(#[from] mlids_flow::live::LiveError),
    #[error(transparent)]
    Source(#[from] mlids_flow::SourceError),
    #[error(transparent)]
    Replay(#[from] mlids_flow::source::ReplayOpenError),
    #[error(transparent)]
    Model(#[from] mlids_model::ModelError),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{0}")]
    Config(String),
    #[error("classifying flows failed: {0}")]
    Classify(String),
}
