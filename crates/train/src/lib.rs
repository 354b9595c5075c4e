//! Training for ml-ids: LightGBM fitting, the model zoo's fitting, loading the dataset crate's
//! Parquet splits, evaluation metrics, reports and model comparison. The fitted models and their
//! bundles are the detection crate's ([`mlids_model`]), so what this crate writes is exactly what
//! `serve`, `detect` and `watch` load.
//!
//! ```text
//! Parquet splits ─► data::load ─► train::train ─► gbdt (LightGBM, iteration by iteration)
//!                                      │                 │ text model
//!                                      ▼                 ▼
//!                               metrics::evaluate   mlids_model::Bundle (manifest.json + model.txt)
//!                                      │
//!                                   report (JSON, MD, HTML)
//! ```

pub mod compare;
pub mod data;
pub mod fit;
pub mod gbdt;
pub mod metrics;
pub mod report;
pub mod train;
pub mod zoo;

pub use fit::{Fit, FitControl, IterationReport, OnIteration, ParamGuard, TrainSet};
pub use gbdt::{GbdtParams, ValidGbdtParams};
pub use metrics::Evaluation;
pub use mlids_model::{
    Bundle, Classifier, DecisionRule, FitSummary, GbdtModel, Manifest, ModelError, Result,
    StopReason, Task,
};
pub use zoo::{ModelChoice, ModelKind};
