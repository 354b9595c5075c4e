//! `ParquetFlowSink`: `ml-ids extract --format parquet`, writing the dataset schema directly so
//! extracted flows can be split and trained on without a CSV round trip.

use crate::clean::{non_negative, CleaningPolicy, ColumnCounts};
use crate::dialect::mode_features;
use crate::error::Result;
use crate::labels::{AttemptedPolicy, LabelMap, MappedLabel};
use crate::schema::dataset_schema;
use crate::timeparse::day_of;
use crate::writer::AtomicParquet;
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use arrow_schema::SchemaRef;
use mlids_flow::{FlowRecord, FlowSink, Mode, SinkError, Summary};
use std::path::Path;
use std::sync::Arc;

const BATCH_ROWS: usize = 64 * 1024;

/// Writes flows as a dataset Parquet file (atomically: the file appears complete at `finish` or not
/// at all). Values are cleaned with the same policy as `dataset import`, so extracted and imported
/// data mean the same thing; a given label is mapped through the label table.
pub struct ParquetFlowSink {
    out: Option<AtomicParquet>,
    mode: Mode,
    schema: SchemaRef,
    label: Option<(String, MappedLabel)>,
    source: String,
    cleaning: CleaningPolicy,
    counts: Vec<ColumnCounts>,
    values: Vec<Vec<f64>>,
    valid: Vec<Vec<bool>>,
    ts: Vec<i64>,
    lines: Vec<i64>,
    next_line: i64,
}

impl ParquetFlowSink {
    /// `source` fills the `source` column (e.g. the capture's file name); flows are numbered from 1
    /// in `source_line`.
    pub fn create(
        path: &Path,
        mode: Mode,
        label: Option<&str>,
        source: &str,
    ) -> Result<ParquetFlowSink> {
        let schema = dataset_schema(mode);
        let out = AtomicParquet::create(path, schema.clone(), mode)?;
        let n = mode_features(mode).len();
        let label = label.map(|l| {
            (
                l.to_string(),
                LabelMap::builtin().map(l, None, AttemptedPolicy::default()),
            )
        });
        Ok(ParquetFlowSink {
            out: Some(out),
            mode,
            schema,
            label,
            source: source.to_string(),
            cleaning: CleaningPolicy::default(),
            counts: vec![ColumnCounts::default(); n],
            values: vec![Vec::with_capacity(BATCH_ROWS); n],
            valid: vec![Vec::with_capacity(BATCH_ROWS); n],
            ts: Vec::with_capacity(BATCH_ROWS),
            lines: Vec::with_capacity(BATCH_ROWS),
            next_line: 1,
        })
    }

    pub fn with_cleaning(mut self, policy: CleaningPolicy) -> Self {
        self.cleaning = policy;
        self
    }

    /// What cleaning saw per feature (in the mode's feature order).
    pub fn cleaning_counts(&self) -> &[ColumnCounts] {
        &self.counts
    }

    fn flush(&mut self) -> Result<()> {
        let n = self.lines.len();
        if n == 0 {
            return Ok(());
        }
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        for (values, valid) in self.values.iter_mut().zip(self.valid.iter_mut()) {
            let v = std::mem::take(values);
            let ok = std::mem::take(valid);
            let nulls = ok.iter().any(|b| !b).then(|| NullBuffer::from(ok));
            cols.push(Arc::new(Float64Array::new(ScalarBuffer::from(v), nulls)));
        }
        let rep = |s: Option<&str>| -> ArrayRef {
            Arc::new(StringArray::from_iter(std::iter::repeat_n(s, n)))
        };
        let (canonical, original, category, attack) = match &self.label {
            Some((orig, m)) => (
                Some(m.canonical.as_str()),
                Some(orig.as_str()),
                Some(m.category.as_str()),
                Some(m.is_attack),
            ),
            None => (None, None, None, None),
        };
        cols.push(rep(canonical));
        cols.push(rep(original));
        cols.push(rep(category));
        cols.push(Arc::new(BooleanArray::from_iter(std::iter::repeat_n(
            attack, n,
        ))));
        cols.push(Arc::new(Int64Array::from_iter_values(
            self.ts.iter().copied(),
        )));
        cols.push(Arc::new(StringArray::from_iter_values(
            self.ts.iter().map(|&us| day_of(us)),
        )));
        cols.push(rep(Some(&self.source)));
        cols.push(Arc::new(Int64Array::from_iter_values(self.lines.drain(..))));
        self.ts.clear();
        let batch = RecordBatch::try_new(self.schema.clone(), cols).expect("batch matches schema");
        self.out
            .as_mut()
            .expect("sink used after finish")
            .write(&batch)
    }
}

impl FlowSink for ParquetFlowSink {
    fn flow(&mut self, flow: &FlowRecord) -> Result<(), SinkError> {
        if flow.mode != self.mode {
            return Err(format!(
                "flow of {} mode sent to a {} mode Parquet sink",
                flow.mode, self.mode
            )
            .into());
        }
        for (i, &f) in mode_features(self.mode).iter().enumerate() {
            let v = self
                .cleaning
                .apply(non_negative(f), flow.get(f), &mut self.counts[i]);
            self.values[i].push(v.unwrap_or(0.0));
            self.valid[i].push(v.is_some());
        }
        self.ts.push(flow.start_us);
        self.lines.push(self.next_line);
        self.next_line += 1;
        if self.lines.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), SinkError> {
        self.flush()?;
        if let Some(out) = self.out.take() {
            out.finish()?.commit()?;
        }
        Ok(())
    }
}
