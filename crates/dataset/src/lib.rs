//! CIC flow CSVs of every dialect in, one canonical Parquet dataset per extractor mode out.
//!
//! ```text
//! CSV files ─► dialect::HeaderMap (from the header: mode, column roles)
//!           ─► import (parse, clean, map labels; batches → writer thread) ─► data.parquet + card.json
//!           ─► split (two passes: counts, seeded ranks) ─► train/val/test.parquet
//!           ─► read (metadata checks, batches, dense TrainingData for the model crate)
//! ```
//! The schema is in docs/architecture.md; policies and the label table in docs/datasets.md.

pub mod card;
pub mod clean;
pub mod dialect;
pub mod error;
pub mod import;
pub mod labels;
mod numparse;
pub mod read;
pub mod schema;
pub mod sink;
pub mod split;
pub mod stats;
pub mod timeparse;
pub mod writer;

pub use card::Card;
pub use clean::CleaningPolicy;
pub use error::{DatasetError, Result};
pub use import::{import, ImportOptions, ImportProgress, NoProgress, DATA_FILE};
pub use labels::{AttemptedPolicy, Category, LabelMap};
pub use read::{
    open_dataset, read_batches, read_training_data, DatasetInfo, TrainingData, TrainingReadOptions,
};
pub use sink::ParquetFlowSink;
pub use split::{split, SplitBy, SplitOptions, SPLIT_FILES};
