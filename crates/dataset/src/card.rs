//! `card.json`: what went into a dataset and what was done to it, so a model's numbers can be traced
//! back to files, hashes and cleaning decisions.

use crate::clean::{CleaningPolicy, ColumnCounts};
use crate::error::{DatasetError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const CARD_FILE: &str = "card.json";

/// Rows dropped, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    /// Header lines repeated inside a file (CSE-CIC-IDS2018 has them).
    pub repeated_header: u64,
    /// Wrong field count (e.g. a truncated last line) or a cell that is not a number.
    pub unparseable: u64,
    /// Improved-release `Attempted` rows, when the policy is `drop`.
    pub attempted: u64,
}

impl Dropped {
    pub fn total(&self) -> u64 {
        self.repeated_header + self.unparseable + self.attempted
    }
    pub fn add(&mut self, o: &Dropped) {
        self.repeated_header += o.repeated_header;
        self.unparseable += o.unparseable;
        self.attempted += o.attempted;
    }
}

/// One unreadable row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SourceCard {
    /// File name (as in the `source` column).
    pub file: String,
    /// Path as given on the command line.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    pub dialect: String,
    pub mode: String,
    /// Data rows read (excluding the header, including dropped rows).
    pub rows_read: u64,
    pub rows_written: u64,
    pub rows_per_label: BTreeMap<String, u64>,
    pub dropped: Dropped,
    /// Rows whose timestamp cell had no known shape (timestamp_us and day are null).
    #[serde(default)]
    pub timestamps_unparsed: u64,
    /// Features the file lacks that were allowed to be missing (written as null).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub absent_columns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LabelCard {
    pub label: String,
    pub category: String,
    pub is_attack: bool,
    pub rows: u64,
    /// Source spellings and their row counts.
    pub originals: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CleaningCard {
    pub policy: CleaningPolicy,
    /// Columns where −1 means "absent" and is kept.
    pub minus_one_marker_columns: Vec<String>,
    /// Per feature column (only columns where something was seen).
    pub columns: BTreeMap<String, ColumnCounts>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SplitCard {
    /// `label` (stratified random) or `day` (whole capture days).
    pub by: String,
    pub seed: u64,
    pub ratios: [f64; 3],
    /// Rows per split (`train`, `val`, `test`).
    pub rows: BTreeMap<String, u64>,
    /// Rows per label per split, `[train, val, test]`.
    pub labels: BTreeMap<String, [u64; 3]>,
    /// Days per split (`--by day` only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub days: BTreeMap<String, Vec<String>>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Card {
    pub schema_version: u32,
    pub mode: String,
    pub created_by: String,
    pub rows: u64,
    pub attempted_policy: String,
    pub labels: Vec<LabelCard>,
    /// Labels not in the mapping table (kept verbatim, category `Unknown`), with row counts.
    pub unknown_labels: BTreeMap<String, u64>,
    pub dropped: Dropped,
    /// Unreadable rows, first ones only (`errors_omitted` counts the rest).
    pub errors: Vec<RowError>,
    pub errors_omitted: u64,
    pub cleaning: CleaningCard,
    pub sources: Vec<SourceCard>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitCard>,
}

impl Card {
    pub fn load(dir: &Path) -> Result<Card> {
        let path = dir.join(CARD_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| DatasetError::io(&path, e))?;
        serde_json::from_str(&text).map_err(|e| DatasetError::invalid(&path, e.to_string()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("card serialises") + "\n"
    }

    /// Write `DIR/card.json` atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        crate::writer::write_atomic(&dir.join(CARD_FILE), self.to_json().as_bytes())
    }
}
