//! Reading the dataset crate's Parquet splits (schema in docs/architecture.md) into feature matrices.
//!
//! Only the requested feature columns and the label columns are decoded. Features come out as a
//! row-major `f64` matrix (what LightGBM's `DatasetCreateFromMat` and the flat predictor take), with
//! null and non-finite values as NaN: the one missing-value policy used in training and serving.
//!
//! Footers are checked by `mlids_dataset::read::open_dataset` (mode, schema version). The columns
//! are decoded here rather than with `mlids_dataset::read::read_training_data` because that reader
//! yields `f32` values (LightGBM's thresholds are `f64` and serving sees `f64` flow values, so
//! training on rounded values would shift split points between training and serving) and has no
//! `label_original` (needed for the per-original-label miss rates).

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use mlids_flow::{Feature, Mode};
use mlids_model::{ModelError, Result};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

pub use mlids_dataset::schema::{META_MODE as MODE_KEY, META_SCHEMA_VERSION, SCHEMA_VERSION};

/// Strings stored once, referenced by index (labels repeat millions of times).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Interned {
    pub names: Vec<String>,
    pub ids: Vec<u32>,
}

impl Interned {
    fn push(&mut self, s: &str, lookup: &mut HashMap<String, u32>) {
        let id = match lookup.get(s) {
            Some(&id) => id,
            None => {
                let id = self.names.len() as u32;
                self.names.push(s.to_string());
                lookup.insert(s.to_string(), id);
                id
            }
        };
        self.ids.push(id);
    }

    pub fn get(&self, row: usize) -> &str {
        &self.names[self.ids[row] as usize]
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Keep the rows whose index is in `rows` (in that order).
    pub fn select(&self, rows: &[usize]) -> Interned {
        Interned {
            names: self.names.clone(),
            ids: rows.iter().map(|&r| self.ids[r]).collect(),
        }
    }
}

/// What a split file holds, from its footer alone.
#[derive(Clone, Debug)]
pub struct SplitSchema {
    pub path: PathBuf,
    pub mode: Mode,
    pub n_rows: usize,
    /// Feature columns present, in the mode's canonical order, by snake name.
    pub features: Vec<String>,
}

/// A loaded split: features (row-major) and labels.
#[derive(Clone, Debug)]
pub struct Table {
    pub path: PathBuf,
    pub mode: Mode,
    pub feature_names: Vec<String>,
    pub n_rows: usize,
    /// `n_rows × feature_names.len()`, row-major; missing (null, NaN, ±Inf) is NaN.
    pub x: Vec<f64>,
    /// Canonical label (`label` column).
    pub label: Interned,
    /// Label as in the source (`label_original`), for the per-original-label miss rates.
    pub label_original: Interned,
    /// Attack category (`category`).
    pub category: Interned,
    pub is_attack: Vec<bool>,
}

impl Table {
    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    pub fn row(&self, r: usize) -> &[f64] {
        let nf = self.n_features();
        &self.x[r * nf..(r + 1) * nf]
    }

    /// A copy with only the given rows.
    pub fn select_rows(&self, rows: &[usize]) -> Table {
        let nf = self.n_features();
        let mut x = Vec::with_capacity(rows.len() * nf);
        for &r in rows {
            x.extend_from_slice(self.row(r));
        }
        Table {
            path: self.path.clone(),
            mode: self.mode,
            feature_names: self.feature_names.clone(),
            n_rows: rows.len(),
            x,
            label: self.label.select(rows),
            label_original: self.label_original.select(rows),
            category: self.category.select(rows),
            is_attack: rows.iter().map(|&r| self.is_attack[r]).collect(),
        }
    }

    /// A copy keeping only the features at `keep` (indices into `feature_names`), in that order.
    pub fn select_features(&self, keep: &[usize]) -> Table {
        let nf = self.n_features();
        let mut x = Vec::with_capacity(self.n_rows * keep.len());
        for r in 0..self.n_rows {
            let row = &self.x[r * nf..(r + 1) * nf];
            x.extend(keep.iter().map(|&c| row[c]));
        }
        Table {
            feature_names: keep
                .iter()
                .map(|&c| self.feature_names[c].clone())
                .collect(),
            x,
            ..self.clone_meta()
        }
    }

    fn clone_meta(&self) -> Table {
        Table {
            path: self.path.clone(),
            mode: self.mode,
            feature_names: Vec::new(),
            n_rows: self.n_rows,
            x: Vec::new(),
            label: self.label.clone(),
            label_original: self.label_original.clone(),
            category: self.category.clone(),
            is_attack: self.is_attack.clone(),
        }
    }
}

fn pq_err(path: &Path, e: impl std::fmt::Display) -> ModelError {
    ModelError::Parquet {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn open(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let f = File::open(path).map_err(|e| ModelError::io(path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| pq_err(path, e))
}

fn mode_of(path: &Path) -> Result<Mode> {
    let info =
        mlids_dataset::read::open_dataset(path).map_err(|e| ModelError::Dataset(e.into()))?;
    Ok(info.mode)
}

/// Read a split's footer: mode, row count, feature columns.
pub fn read_schema(path: &Path) -> Result<SplitSchema> {
    let mode = mode_of(path)?;
    let b = open(path)?;
    let n_rows = b.metadata().file_metadata().num_rows().max(0) as usize;
    let present: HashMap<&str, &DataType> = b
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    let features = Feature::snake_names(mode)
        .into_iter()
        .filter(|n| present.get(n.as_str()).is_some_and(|t| t.is_numeric()))
        .collect();
    Ok(SplitSchema {
        path: path.to_path_buf(),
        mode,
        n_rows,
        features,
    })
}

/// Load `features` (in that order) and the label columns of a split.
pub fn load(path: &Path, features: &[String]) -> Result<Table> {
    let mode = mode_of(path)?;
    let b = open(path)?.with_batch_size(16 * 1024);
    let schema = b.schema().clone();
    let index: HashMap<&str, usize> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name().as_str(), i))
        .collect();
    let missing: Vec<&str> = features
        .iter()
        .map(String::as_str)
        .filter(|n| !index.contains_key(n))
        .collect();
    if !missing.is_empty() {
        return Err(ModelError::Data(format!(
            "{} ({} mode) lacks feature column(s) the model needs: {}",
            path.display(),
            mode,
            missing.join(", ")
        )));
    }
    for meta in ["label", "label_original", "category", "is_attack"] {
        if !index.contains_key(meta) {
            return Err(ModelError::Data(format!(
                "{}: no `{meta}` column",
                path.display()
            )));
        }
    }
    let wanted: Vec<usize> = features
        .iter()
        .map(|n| index[n.as_str()])
        .chain(
            ["label", "label_original", "category", "is_attack"]
                .iter()
                .map(|n| index[*n]),
        )
        .collect();
    let mask = ProjectionMask::roots(b.parquet_schema(), wanted.iter().copied());
    let n_total = b.metadata().file_metadata().num_rows().max(0) as usize;
    let reader = b
        .with_projection(mask)
        .build()
        .map_err(|e| pq_err(path, e))?;

    let nf = features.len();
    let mut x = Vec::with_capacity(n_total * nf);
    let mut label = Interned::default();
    let mut label_original = Interned::default();
    let mut category = Interned::default();
    let mut is_attack = Vec::with_capacity(n_total);
    let (mut l1, mut l2, mut l3) = (HashMap::new(), HashMap::new(), HashMap::new());
    let mut n_rows = 0;
    for batch in reader {
        let batch: RecordBatch = batch.map_err(|e| pq_err(path, e))?;
        let n = batch.num_rows();
        let bschema = batch.schema();
        let col = |name: &str| -> Result<&ArrayRef> {
            let i = bschema.index_of(name).map_err(|e| pq_err(path, e))?;
            Ok(batch.column(i))
        };
        let base = x.len();
        x.resize(base + n * nf, f64::NAN);
        for (c, name) in features.iter().enumerate() {
            let a = col(name)?;
            scatter_f64(path, name, a, &mut x[base..], c, nf)?;
        }
        push_strings(path, "label", col("label")?, &mut label, &mut l1)?;
        push_strings(
            path,
            "label_original",
            col("label_original")?,
            &mut label_original,
            &mut l2,
        )?;
        push_strings(path, "category", col("category")?, &mut category, &mut l3)?;
        let att = col("is_attack")?;
        let att = att.as_boolean_opt().ok_or_else(|| {
            ModelError::Data(format!(
                "{}: `is_attack` is {}, expected Boolean",
                path.display(),
                att.data_type()
            ))
        })?;
        is_attack.extend((0..n).map(|i| att.is_valid(i) && att.value(i)));
        n_rows += n;
    }
    Ok(Table {
        path: path.to_path_buf(),
        mode,
        feature_names: features.to_vec(),
        n_rows,
        x,
        label,
        label_original,
        category,
        is_attack,
    })
}

/// Write column `a` into column `c` of the row-major block `out` (stride `nf`), non-finite → NaN.
fn scatter_f64(
    path: &Path,
    name: &str,
    a: &ArrayRef,
    out: &mut [f64],
    c: usize,
    nf: usize,
) -> Result<()> {
    fn put(out: &mut [f64], c: usize, nf: usize, n: usize, get: impl Fn(usize) -> Option<f64>) {
        for i in 0..n {
            out[i * nf + c] = match get(i) {
                Some(v) if v.is_finite() => v,
                _ => f64::NAN,
            };
        }
    }
    let n = a.len();
    match a.data_type() {
        DataType::Float64 => {
            let p = a.as_primitive::<Float64Type>();
            put(out, c, nf, n, |i| p.is_valid(i).then(|| p.value(i)))
        }
        DataType::Float32 => {
            let p = a.as_primitive::<Float32Type>();
            put(out, c, nf, n, |i| p.is_valid(i).then(|| p.value(i) as f64))
        }
        DataType::Int64 => {
            let p = a.as_primitive::<Int64Type>();
            put(out, c, nf, n, |i| p.is_valid(i).then(|| p.value(i) as f64))
        }
        DataType::Int32 => {
            let p = a.as_primitive::<Int32Type>();
            put(out, c, nf, n, |i| p.is_valid(i).then(|| p.value(i) as f64))
        }
        other => {
            return Err(ModelError::Data(format!(
                "{}: feature column `{name}` is {other}, expected Float64",
                path.display()
            )))
        }
    }
    Ok(())
}

fn push_strings(
    path: &Path,
    name: &str,
    a: &ArrayRef,
    out: &mut Interned,
    lookup: &mut HashMap<String, u32>,
) -> Result<()> {
    let n = a.len();
    match a.data_type() {
        DataType::Utf8 => {
            let s = a.as_string::<i32>();
            (0..n).for_each(|i| out.push(if s.is_valid(i) { s.value(i) } else { "" }, lookup));
        }
        DataType::LargeUtf8 => {
            let s = a.as_string::<i64>();
            (0..n).for_each(|i| out.push(if s.is_valid(i) { s.value(i) } else { "" }, lookup));
        }
        DataType::Utf8View => {
            let s = a.as_string_view();
            (0..n).for_each(|i| out.push(if s.is_valid(i) { s.value(i) } else { "" }, lookup));
        }
        DataType::Dictionary(_, _) => {
            let d = a.as_any_dictionary();
            let values = d.values();
            let keys: Vec<usize> = d.normalized_keys();
            let mut strings = Interned::default();
            let mut l = HashMap::new();
            push_strings(path, name, values, &mut strings, &mut l)?;
            for (i, &k) in keys.iter().enumerate() {
                out.push(if a.is_valid(i) { strings.get(k) } else { "" }, lookup);
            }
        }
        other => {
            return Err(ModelError::Data(format!(
                "{}: `{name}` is {other}, expected Utf8",
                path.display()
            )))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlids_test_support::models::*;

    #[test]
    fn loads_requested_columns_row_major() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        let feats = vec![
            "flow_duration".to_string(),
            "tot_fwd_pkts".to_string(),
            "cwr_flag_count".to_string(),
        ];
        let x = [1.0, 2.0, 3.0, f64::NAN, 5.0, 6.0];
        let label = vec!["Benign".to_string(), "DoS attacks-Hulk".to_string()];
        let category = vec!["Benign".to_string(), "DoS".to_string()];
        write_split(
            &p,
            Mode::Corrected,
            &SplitRows {
                features: &feats,
                x: &x,
                label: &label,
                category: &category,
            },
        );
        let s = read_schema(&p).unwrap();
        assert_eq!(s.mode, Mode::Corrected);
        assert_eq!(s.n_rows, 2);
        assert_eq!(s.features, feats);
        let t = load(
            &p,
            &["tot_fwd_pkts".to_string(), "flow_duration".to_string()],
        )
        .unwrap();
        assert_eq!(t.x[..2], [2.0, 1.0]);
        assert_eq!(t.x[2], 5.0);
        assert!(t.x[3].is_nan());
        assert_eq!(t.label.get(1), "DoS attacks-Hulk");
        assert_eq!(t.is_attack, vec![false, true]);
        let e = load(&p, &["idle_min".to_string()]).unwrap_err().to_string();
        assert!(e.contains("idle_min"), "{e}");
        // cwr is the corrected spelling; cic2018 spells it cwe.
        assert!(Feature::from_snake_in("cwr_flag_count", Mode::Corrected).is_some());
        assert!(Feature::from_snake_in("cwr_flag_count", Mode::Cic2018).is_none());
        assert!(Feature::from_snake_in("icmp_code", Mode::Cic2018).is_none());
    }
}
