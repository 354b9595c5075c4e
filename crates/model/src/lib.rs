//! Detection for ml-ids: the inference side of the model trait, the flattened tree predictor,
//! self-describing model bundles, and the [`Detector`] that serve, detect and watch share.
//!
//! ```text
//!  bundle dir (manifest.json + model.txt | zoo files)
//!        │ Bundle::load (every engine by id; zoo engines with the `zoo` feature)
//!        ▼
//!  Box<dyn Classifier> ─► Detector ◄── FlowRecord / named rows
//!  (gbdt: flat::FlatForest)   │ DecisionRule
//!                             ▼
//!                  Verdict ─► output (CSV, JSONL) / alert
//! ```
//!
//! This crate is what every serving binary links, so it stays free of the training stack:
//! LightGBM's C++ build, Parquet/Arrow, plotters and the dataset crate are in `mlids-train`, and
//! candle (for the zoo's networks and kNN) only comes with the `zoo` feature.

pub mod alert;
pub mod applicable;
pub mod bundle;
pub mod decision;
pub mod detector;
pub mod engine;
pub mod error;
pub mod flat;
pub mod gbdt;
pub mod model;
pub mod output;
pub mod sink;
#[cfg(feature = "zoo")]
pub mod zoo;

pub use applicable::{Carrier, Context};
pub use bundle::{Bundle, Manifest};
pub use decision::DecisionRule;
pub use detector::{
    decide, Contribution, Detector, Explain, HostContext, ModelOpinion, Stage, Verdict, VerdictSink,
};
pub use error::{ModelError, Result};
pub use flat::FlatForest;
pub use gbdt::GbdtModel;
pub use mlids_behaviour::{BehaviourConfig, Evidence, HostBehaviour};
pub use model::{Classifier, FitSummary, StopReason, Task};
pub use sink::DetectorSink;
