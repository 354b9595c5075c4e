//! Helpers shared by the integration tests: locating the real data, and crafting CSVs whose headers
//! come from the flow crate's layouts (never re-spelled here).
#![allow(dead_code)]

use mlids_flow::schema::{Column, MetaColumn};
use mlids_flow::{Feature, Layout, Mode, NameStyle};
use std::path::{Path, PathBuf};

/// Not every test binary that includes this module looks at the real data.
#[allow(unused_imports)]
pub use mlids_test_support::shared_data;

/// A crafted CSV file in one of the extract layouts.
pub struct Craft {
    pub layout: Layout,
    /// Drop the four flow-identity columns (the 80-column CSE-CIC-IDS2018 shape).
    pub without_flow_ids: bool,
    pub lines: Vec<String>,
}

impl Craft {
    pub fn new(mode: Mode, style: NameStyle, without_flow_ids: bool) -> Craft {
        let mut c = Craft {
            layout: Layout::new(mode, style, true),
            without_flow_ids,
            lines: Vec::new(),
        };
        c.lines.push(c.header().join(","));
        c
    }

    fn columns(&self) -> Vec<Column> {
        let mut cols = self.layout.columns();
        if self.without_flow_ids {
            cols.retain(|c| {
                !matches!(
                    c,
                    Column::Meta(
                        MetaColumn::FlowId
                            | MetaColumn::CommunityId
                            | MetaColumn::SrcIp
                            | MetaColumn::SrcPort
                            | MetaColumn::DstIp
                    )
                )
            });
        }
        cols
    }

    pub fn header(&self) -> Vec<&'static str> {
        self.columns()
            .into_iter()
            .map(|c| self.layout.column_name(c))
            .collect()
    }

    /// Append a row: `value(f)` gives each feature's cell text.
    pub fn row(&mut self, label: &str, timestamp: &str, value: impl Fn(Feature) -> String) {
        let cells: Vec<String> = self
            .columns()
            .into_iter()
            .map(|c| match c {
                Column::Feature(f) => value(f),
                Column::Meta(MetaColumn::FlowId) => "10.0.0.1-10.0.0.2-1234-80-6".into(),
                Column::Meta(MetaColumn::CommunityId) => "1:LzRJKgjvUJlC/VQLtISlfACcEzA=".into(),
                Column::Meta(MetaColumn::SrcIp) => "10.0.0.1".into(),
                Column::Meta(MetaColumn::SrcPort) => "1234".into(),
                Column::Meta(MetaColumn::DstIp) => "10.0.0.2".into(),
                Column::Meta(MetaColumn::Timestamp) => timestamp.into(),
                Column::Meta(MetaColumn::Label) => label.into(),
            })
            .collect();
        self.lines.push(cells.join(","));
    }

    /// Append `n` rows of `label` whose Flow Duration encodes their index (to identify rows later).
    pub fn rows(&mut self, label: &str, timestamp: &str, n: usize, first_id: usize) {
        for i in 0..n {
            let id = first_id + i;
            self.row(label, timestamp, |f| {
                if f == Feature::FlowDuration {
                    id.to_string()
                } else {
                    "1".into()
                }
            });
        }
    }

    pub fn text(&self) -> String {
        self.lines.join("\n") + "\n"
    }

    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.text()).unwrap();
    }
}

/// One column of a dataset file as plain values.
pub fn col_f64(path: &Path, name: &str) -> Vec<Option<f64>> {
    use arrow_array::{Array, Float64Array};
    let mut out = Vec::new();
    for b in mlids_dataset::read_batches(path, Some(&[name]), 1000).unwrap() {
        let b = b.unwrap();
        let a = b.column(0).as_any().downcast_ref::<Float64Array>().unwrap();
        out.extend((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))));
    }
    out
}

pub fn col_str(path: &Path, name: &str) -> Vec<Option<String>> {
    use arrow_array::{Array, StringArray};
    let mut out = Vec::new();
    for b in mlids_dataset::read_batches(path, Some(&[name]), 1000).unwrap() {
        let b = b.unwrap();
        let a = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        out.extend((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i).to_string())));
    }
    out
}

pub fn col_i64(path: &Path, name: &str) -> Vec<Option<i64>> {
    use arrow_array::{Array, Int64Array};
    let mut out = Vec::new();
    for b in mlids_dataset::read_batches(path, Some(&[name]), 1000).unwrap() {
        let b = b.unwrap();
        let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        out.extend((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))));
    }
    out
}

pub fn col_bool(path: &Path, name: &str) -> Vec<Option<bool>> {
    use arrow_array::{Array, BooleanArray};
    let mut out = Vec::new();
    for b in mlids_dataset::read_batches(path, Some(&[name]), 1000).unwrap() {
        let b = b.unwrap();
        let a = b.column(0).as_any().downcast_ref::<BooleanArray>().unwrap();
        out.extend((0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i))));
    }
    out
}

/// Import with default options and no progress.
pub fn import(sources: &[PathBuf], out: &Path) -> mlids_dataset::Result<mlids_dataset::Card> {
    mlids_dataset::import(
        sources,
        out,
        &mlids_dataset::ImportOptions::default(),
        &mut mlids_dataset::NoProgress,
    )
}

/// Columns where corrected mode and the improved CICFlowMeter differ on every flow of the same
/// packets (`fidelity.rs` says why for each); the shipped model leaves them out (`semantics.rs`).
pub const DIFFER_ON_THE_SAME_PACKETS: &[&str] = &[
    "subflow_fwd_pkts",
    "subflow_bwd_pkts",
    "subflow_fwd_byts",
    "subflow_bwd_byts",
    "init_bwd_win_byts",
    "active_mean",
    "active_std",
    "active_min",
];
