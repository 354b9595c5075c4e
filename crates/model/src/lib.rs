//! Classifiers for ml-ids: the model trait, the LightGBM engine, a flattened tree predictor,
//! metrics and reports, self-describing model bundles, and the [`Detector`] that serve, detect and
//! watch share.
//!
//! ```text
//! Parquet splits ─► data::load ─► train::train ─► gbdt (LightGBM, iteration by iteration)
//!                                      │                 │ text model
//!                                      ▼                 ▼
//!                               metrics::evaluate   bundle (manifest.json + model.txt)
//!                                      │                 │
//!                                   report            Detector ◄── FlowRecord / named rows
//!                              (JSON, MD, HTML)     (flat::FlatForest, DetectorSink)
//! ```

pub mod alert;
pub mod bundle;
pub mod compare;
pub mod data;
pub mod detector;
pub mod error;
pub mod flat;
pub mod gbdt;
pub mod metrics;
pub mod model;
pub mod output;
pub mod report;
pub mod train;
pub mod zoo;

pub use bundle::{Bundle, Manifest};
pub use detector::{Contribution, Detector, DetectorSink, Explain, Verdict, VerdictSink};
pub use error::{ModelError, Result};
pub use flat::FlatForest;
pub use gbdt::{GbdtModel, GbdtParams, ValidGbdtParams};
pub use metrics::Evaluation;
pub use model::{
    Classifier, Fit, FitControl, FitSummary, IterationReport, ParamGuard, StopReason, Task,
    TrainSet,
};
pub use zoo::{ModelChoice, ModelKind};
