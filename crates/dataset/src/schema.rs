//! The on-disk dataset schema (docs/architecture.md, "Dataset on disk").

use crate::dialect::mode_features;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use mlids_flow::{Feature, Mode};
use std::collections::HashMap;
use std::sync::Arc;

/// Bumped when columns or their meaning change; readers refuse versions they do not know.
pub const SCHEMA_VERSION: u32 = 1;
/// Parquet key-value metadata keys.
pub const META_MODE: &str = "mlids.mode";
pub const META_SCHEMA_VERSION: &str = "mlids.schema_version";

pub const COL_LABEL: &str = "label";
pub const COL_LABEL_ORIGINAL: &str = "label_original";
pub const COL_CATEGORY: &str = "category";
pub const COL_IS_ATTACK: &str = "is_attack";
pub const COL_TIMESTAMP_US: &str = "timestamp_us";
pub const COL_DAY: &str = "day";
pub const COL_SOURCE: &str = "source";
pub const COL_SOURCE_LINE: &str = "source_line";

/// Column name of a feature in a mode (the snake name; `cwr_flag_count` in corrected mode).
pub fn feature_column(f: Feature, mode: Mode) -> &'static str {
    f.snake_name(mode == Mode::Corrected)
}

/// The Arrow schema of a mode's dataset, with the mode and schema version as metadata. Label columns
/// are nullable only because unlabelled `ml-ids extract --format parquet` output uses the same
/// schema; `dataset import` always fills them.
pub fn dataset_schema(mode: Mode) -> SchemaRef {
    let mut fields: Vec<Field> = mode_features(mode)
        .iter()
        .map(|&f| Field::new(feature_column(f, mode), DataType::Float64, true))
        .collect();
    fields.extend([
        Field::new(COL_LABEL, DataType::Utf8, true),
        Field::new(COL_LABEL_ORIGINAL, DataType::Utf8, true),
        Field::new(COL_CATEGORY, DataType::Utf8, true),
        Field::new(COL_IS_ATTACK, DataType::Boolean, true),
        Field::new(COL_TIMESTAMP_US, DataType::Int64, true),
        Field::new(COL_DAY, DataType::Utf8, true),
        Field::new(COL_SOURCE, DataType::Utf8, false),
        Field::new(COL_SOURCE_LINE, DataType::Int64, false),
    ]);
    let meta = HashMap::from([
        (META_MODE.to_string(), mode.as_str().to_string()),
        (META_SCHEMA_VERSION.to_string(), SCHEMA_VERSION.to_string()),
    ]);
    Arc::new(Schema::new_with_metadata(fields, meta))
}
