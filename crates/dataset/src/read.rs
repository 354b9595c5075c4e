//! Reading datasets back: metadata checks, batch streaming, and the dense matrix a trainer wants.

use crate::error::{DatasetError, Result};
use crate::schema::{
    feature_column, COL_CATEGORY, COL_IS_ATTACK, COL_LABEL, COL_LABEL_ORIGINAL, META_MODE,
    META_SCHEMA_VERSION, SCHEMA_VERSION,
};
use arrow_array::{Array, BooleanArray, Float64Array, RecordBatch, StringArray};
use mlids_flow::{Feature, Mode};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// What a dataset Parquet file says about itself.
#[derive(Clone, Debug)]
pub struct DatasetInfo {
    pub path: PathBuf,
    pub mode: Mode,
    pub schema_version: u32,
    pub rows: u64,
    /// Features present as columns, in file order.
    pub features: Vec<Feature>,
}

fn builder(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let f = File::open(path).map_err(|e| DatasetError::io(path, e))?;
    ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| DatasetError::parquet(path, e))
}

fn info_of(path: &Path, b: &ParquetRecordBatchReaderBuilder<File>) -> Result<DatasetInfo> {
    let meta = b.metadata().file_metadata();
    let kv = |k: &str| -> Option<String> {
        meta.key_value_metadata()?
            .iter()
            .find(|e| e.key == k)
            .and_then(|e| e.value.clone())
    };
    let mode: Mode = kv(META_MODE)
        .ok_or_else(|| {
            DatasetError::invalid(
                path,
                format!("not an ml-ids dataset: no '{META_MODE}' metadata"),
            )
        })?
        .parse()
        .map_err(|e: String| DatasetError::invalid(path, e))?;
    let version: u32 = kv(META_SCHEMA_VERSION)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if version != SCHEMA_VERSION {
        return Err(DatasetError::invalid(
            path,
            format!("dataset schema version {version}, this build reads version {SCHEMA_VERSION}; re-import the data"),
        ));
    }
    let features = b
        .schema()
        .fields()
        .iter()
        .filter_map(|f| Feature::from_snake(f.name()))
        .collect();
    Ok(DatasetInfo {
        path: path.to_path_buf(),
        mode,
        schema_version: version,
        rows: meta.num_rows() as u64,
        features,
    })
}

/// Open a dataset file and check its metadata (mode, schema version).
pub fn open_dataset(path: &Path) -> Result<DatasetInfo> {
    info_of(path, &builder(path)?)
}

/// Stream a dataset file as Arrow batches, optionally only some columns (by name).
pub fn read_batches(
    path: &Path,
    columns: Option<&[&str]>,
    batch_rows: usize,
) -> Result<impl Iterator<Item = Result<RecordBatch>>> {
    let b = builder(path)?;
    info_of(path, &b)?;
    let reader = projected(path, b, columns, batch_rows)?;
    let path = path.to_path_buf();
    Ok(reader.map(move |r| r.map_err(|e| DatasetError::parquet(&path, e))))
}

fn projected(
    path: &Path,
    b: ParquetRecordBatchReaderBuilder<File>,
    columns: Option<&[&str]>,
    batch_rows: usize,
) -> Result<ParquetRecordBatchReader> {
    let b = match columns {
        None => b,
        Some(cols) => {
            let schema = b.schema().clone();
            let mut idx = Vec::with_capacity(cols.len());
            for c in cols {
                idx.push(schema.index_of(c).map_err(|_| {
                    DatasetError::invalid(path, format!("dataset has no column '{c}'"))
                })?);
            }
            let mask = ProjectionMask::roots(b.parquet_schema(), idx);
            b.with_projection(mask)
        }
    };
    b.with_batch_size(batch_rows.max(1))
        .build()
        .map_err(|e| DatasetError::parquet(path, e))
}

/// Check that files share one mode; the error names each file's mode.
pub fn check_same_mode(infos: &[DatasetInfo]) -> Result<Mode> {
    let Some(first) = infos.first() else {
        return Err(DatasetError::Usage("no dataset files given".into()));
    };
    if infos.iter().any(|i| i.mode != first.mode) {
        return Err(DatasetError::MixedModes {
            files: infos
                .iter()
                .map(|i| format!("{}: {} mode", i.path.display(), i.mode))
                .collect(),
        });
    }
    Ok(first.mode)
}

/// Options for [`read_training_data`].
#[derive(Clone, Debug, Default)]
pub struct TrainingReadOptions {
    /// Feature subset in this order; `None`: every feature of the mode, in canonical order.
    pub features: Option<Vec<Feature>>,
    /// Reader threads; 0 = available cores.
    pub threads: usize,
}

/// A dense training matrix. Nulls (cleaned-away values) are NaN, which LightGBM and most trainers
/// treat as missing. `f64`, not `f32`: serving sees `f64` flow values, and training on rounded values
/// would move split thresholds between training and serving.
#[derive(Clone, Debug, Default)]
pub struct TrainingData {
    pub mode: Mode,
    pub features: Vec<Feature>,
    /// Column names (`Feature::snake_name` of the mode).
    pub feature_names: Vec<String>,
    pub n_rows: usize,
    /// Row-major `n_rows × features.len()`.
    pub x: Vec<f64>,
    /// Index into `label_names` per row.
    pub label: Vec<u32>,
    pub label_names: Vec<String>,
    /// Index into `label_original_names` per row (the source spelling, for per-original-label metrics).
    pub label_original: Vec<u32>,
    pub label_original_names: Vec<String>,
    /// Index into `category_names` per row.
    pub category: Vec<u32>,
    pub category_names: Vec<String>,
    pub is_attack: Vec<bool>,
}

impl TrainingData {
    pub fn row(&self, i: usize) -> &[f64] {
        let n = self.features.len();
        &self.x[i * n..(i + 1) * n]
    }
}

fn text(a: &StringArray, r: usize) -> &str {
    if a.is_null(r) {
        ""
    } else {
        a.value(r)
    }
}

/// Interns strings of one column within a reader thread.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
    last: Option<u32>,
}

impl Interner {
    fn id(&mut self, s: &str) -> u32 {
        // Rows of one label come in runs: compare with the last hit before hashing.
        if let Some(&last) = self.last.as_ref() {
            if self.names[last as usize] == s {
                return last;
            }
        }
        if let Some(&i) = self.ids.get(s) {
            self.last = Some(i);
            return i;
        }
        self.last = Some(self.names.len() as u32);
        let i = self.names.len() as u32;
        self.ids.insert(s.to_string(), i);
        self.names.push(s.to_string());
        i
    }
    /// Map another interner's ids into this one.
    fn absorb(&mut self, other: &Interner) -> Vec<u32> {
        other.names.iter().map(|n| self.id(n)).collect()
    }
}

struct Part {
    label: Vec<u32>,
    original: Vec<u32>,
    originals: Interner,
    category: Vec<u32>,
    is_attack: Vec<bool>,
    labels: Interner,
    categories: Interner,
}

fn read_part(
    path: &Path,
    row_groups: Vec<usize>,
    cols: &[&str],
    nf: usize,
    x: &mut [f64],
) -> Result<Part> {
    let b = builder(path)?.with_row_groups(row_groups);
    let reader = projected(path, b, Some(cols), 64 * 1024)?;
    let mut part = Part {
        label: Vec::new(),
        original: Vec::new(),
        originals: Interner::default(),
        category: Vec::new(),
        is_attack: Vec::new(),
        labels: Interner::default(),
        categories: Interner::default(),
    };
    let mut row0 = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| DatasetError::parquet(path, e))?;
        let n = batch.num_rows();
        let out = &mut x[row0 * nf..(row0 + n) * nf];
        // A projection keeps file order, not request order: look columns up by name.
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .expect("projected column present")
        };
        let arrays: Vec<&Float64Array> = cols[..nf]
            .iter()
            .map(|name| {
                col(name)
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .expect("feature columns are Float64")
            })
            .collect();
        // Row by row so the matrix is written sequentially; nulls patched per column afterwards.
        let values: Vec<&[f64]> = arrays.iter().map(|a| &a.values()[..]).collect();
        for (r, row) in out.chunks_exact_mut(nf).enumerate() {
            for (o, v) in row.iter_mut().zip(&values) {
                *o = v[r];
            }
        }
        for (j, a) in arrays.iter().enumerate() {
            if let Some(nulls) = a.nulls() {
                for r in nulls
                    .iter()
                    .enumerate()
                    .filter(|(_, ok)| !ok)
                    .map(|(r, _)| r)
                {
                    out[r * nf + j] = f64::NAN;
                }
            }
        }
        let s = |k: &str| {
            col(k)
                .as_any()
                .downcast_ref::<StringArray>()
                .expect("label columns are Utf8")
        };
        let (labels, originals, cats) = (s(COL_LABEL), s(COL_LABEL_ORIGINAL), s(COL_CATEGORY));
        let atk = col(COL_IS_ATTACK)
            .as_any()
            .downcast_ref::<BooleanArray>()
            .expect("is_attack is Boolean");
        for r in 0..n {
            part.label.push(part.labels.id(text(labels, r)));
            part.original.push(part.originals.id(text(originals, r)));
            part.category.push(part.categories.id(text(cats, r)));
            part.is_attack.push(!atk.is_null(r) && atk.value(r));
        }
        row0 += n;
    }
    Ok(part)
}

/// Load dataset files (e.g. `train.parquet`) into one dense matrix. Files of different modes are
/// refused. Row groups are decoded on several threads straight into the matrix.
pub fn read_training_data(paths: &[PathBuf], opts: &TrainingReadOptions) -> Result<TrainingData> {
    let infos = paths
        .iter()
        .map(|p| open_dataset(p))
        .collect::<Result<Vec<_>>>()?;
    let mode = check_same_mode(&infos)?;
    let features: Vec<Feature> = match &opts.features {
        Some(f) => f.clone(),
        None => crate::dialect::mode_features(mode).to_vec(),
    };
    let nf = features.len();
    let names: Vec<&str> = features.iter().map(|&f| feature_column(f, mode)).collect();
    let mut cols = names.clone();
    cols.extend([COL_LABEL, COL_LABEL_ORIGINAL, COL_CATEGORY, COL_IS_ATTACK]);
    let total: usize = infos.iter().map(|i| i.rows as usize).sum();
    let mut x = vec![0f64; total * nf];
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        opts.threads
    };
    // Work items: (file, row groups, rows), in file order, so the matrix keeps the files' row order.
    let mut jobs: Vec<(PathBuf, Vec<usize>, usize)> = Vec::new();
    for info in &infos {
        let meta = builder(&info.path)?.metadata().clone();
        let rgs: Vec<usize> = (0..meta.num_row_groups()).collect();
        let per = rgs.len().div_ceil(threads.max(1)).max(1);
        for chunk in rgs.chunks(per) {
            let rows = chunk
                .iter()
                .map(|&i| meta.row_group(i).num_rows() as usize)
                .sum();
            jobs.push((info.path.clone(), chunk.to_vec(), rows));
        }
    }
    let mut slices: Vec<&mut [f64]> = Vec::with_capacity(jobs.len());
    let mut rest = x.as_mut_slice();
    for (_, _, rows) in &jobs {
        let (a, b) = rest.split_at_mut(rows * nf);
        slices.push(a);
        rest = b;
    }
    let parts: Vec<Result<Part>> = std::thread::scope(|s| {
        let mut pending: Vec<_> = Vec::new();
        let mut results = Vec::new();
        for ((path, rgs, _), slice) in jobs.iter().zip(slices) {
            if pending.len() >= threads.max(1) {
                let h: std::thread::ScopedJoinHandle<'_, Result<Part>> = pending.remove(0);
                results.push(h.join().expect("reader thread panicked"));
            }
            let cols = &cols;
            pending.push(s.spawn(move || read_part(path, rgs.clone(), cols, nf, slice)));
        }
        for h in pending {
            results.push(h.join().expect("reader thread panicked"));
        }
        results
    });
    let mut labels = Interner::default();
    let mut categories = Interner::default();
    let mut originals = Interner::default();
    let mut td = TrainingData {
        mode,
        feature_names: names.iter().map(|s| s.to_string()).collect(),
        features,
        n_rows: total,
        x,
        ..Default::default()
    };
    for part in parts {
        let part = part?;
        let lmap = labels.absorb(&part.labels);
        let cmap = categories.absorb(&part.categories);
        let omap = originals.absorb(&part.originals);
        td.label_original
            .extend(part.original.iter().map(|&i| omap[i as usize]));
        td.label
            .extend(part.label.iter().map(|&i| lmap[i as usize]));
        td.category
            .extend(part.category.iter().map(|&i| cmap[i as usize]));
        td.is_attack.extend(part.is_attack);
    }
    td.label_names = labels.names;
    td.category_names = categories.names;
    td.label_original_names = originals.names;
    Ok(td)
}
