//! Atomic Parquet output: write under a hidden temporary name, rename into place only once the file
//! is complete. A killed run leaves at most a `.NAME.tmp-PID` file, which nothing mistakes for data.

use crate::error::{DatasetError, Result};
use crate::schema::{META_MODE, META_SCHEMA_VERSION, SCHEMA_VERSION};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use mlids_flow::Mode;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Rows per Parquet row group: big enough for fast column scans, small enough that the writer's
/// in-progress buffers stay in the tens of MB.
pub const ROW_GROUP_ROWS: usize = 256 * 1024;

/// The hidden temporary name next to `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Write `bytes` to `path` atomically (temp file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let mut f = File::create(&tmp).map_err(|e| DatasetError::io(&tmp, e))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| DatasetError::io(&tmp, e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| DatasetError::io(path, e))
}

/// Snappy, and the parquet crate's default dictionary encoding: CIC data has many constant or
/// few-valued columns (flags, bulk, ports), which dictionaries shrink far more than plain encoding
/// (2.3x smaller on the benchmark input), and reading dictionary pages back measured no slower.
fn properties(mode: Mode) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_key_value_metadata(Some(vec![
            KeyValue::new(META_MODE.to_string(), mode.as_str().to_string()),
            KeyValue::new(META_SCHEMA_VERSION.to_string(), SCHEMA_VERSION.to_string()),
        ]))
        .build()
}

/// A Parquet file being written under its temporary name.
pub struct AtomicParquet {
    tmp: PathBuf,
    path: PathBuf,
    writer: Option<ArrowWriter<BufWriter<File>>>,
    rows: u64,
}

/// A finished file waiting to be renamed into place (so several outputs can be committed together).
#[derive(Debug)]
pub struct Finished {
    tmp: PathBuf,
    path: PathBuf,
    pub rows: u64,
}

impl Finished {
    pub fn commit(self) -> Result<PathBuf> {
        fs::rename(&self.tmp, &self.path).map_err(|e| DatasetError::io(&self.path, e))?;
        Ok(self.path.clone())
    }
    pub fn discard(self) {
        let _ = fs::remove_file(&self.tmp);
    }
}

impl AtomicParquet {
    pub fn create(path: &Path, schema: SchemaRef, mode: Mode) -> Result<AtomicParquet> {
        let tmp = temp_path(path);
        let f = File::create(&tmp).map_err(|e| DatasetError::io(&tmp, e))?;
        let writer = ArrowWriter::try_new(
            BufWriter::with_capacity(1 << 20, f),
            schema,
            Some(properties(mode)),
        )
        .map_err(|e| DatasetError::parquet(path, e))?;
        Ok(AtomicParquet {
            tmp,
            path: path.to_path_buf(),
            writer: Some(writer),
            rows: 0,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        self.writer
            .as_mut()
            .expect("writer used after finish")
            .write(batch)
            .map_err(|e| DatasetError::parquet(&self.path, e))
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Close the file (footer, fsync) but leave it under the temporary name.
    pub fn finish(mut self) -> Result<Finished> {
        let writer = self.writer.take().expect("finish called once");
        let buf = writer
            .into_inner()
            .map_err(|e| DatasetError::parquet(&self.path, e))?;
        let f = buf
            .into_inner()
            .map_err(|e| DatasetError::io(&self.tmp, e.into_error()))?;
        f.sync_all().map_err(|e| DatasetError::io(&self.tmp, e))?;
        Ok(Finished {
            tmp: self.tmp.clone(),
            path: self.path.clone(),
            rows: self.rows,
        })
    }
}

impl Drop for AtomicParquet {
    fn drop(&mut self) {
        if self.writer.is_some() {
            // Abandoned (error path): the partial file is useless.
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
