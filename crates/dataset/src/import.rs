//! `dataset import`: CSV files of any dialect → one cleaned Parquet file plus its card.
//!
//! Streaming and bounded: rows are parsed into columnar batches of `batch_rows` and handed to a
//! writer thread over a channel two batches deep, so memory is a few batches regardless of input
//! size, and parsing and Parquet encoding use both cores. Headers of every file are checked first, so
//! an unknown header or a mix of modes fails before anything is written.

use crate::card::{Card, CleaningCard, Dropped, LabelCard, RowError, SourceCard, CARD_FILE};
use crate::clean::{non_negative, CleaningPolicy, ColumnCounts, MINUS_ONE_MARKER};
use crate::dialect::{mode_features, HeaderMap};
use crate::error::{DatasetError, Result};
use crate::labels::{AttemptedPolicy, LabelMap};
use crate::schema::{dataset_schema, feature_column, SCHEMA_VERSION};
use crate::timeparse::{day_of, parse_timestamp};
use crate::writer::AtomicParquet;
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_buffer::{NullBuffer, ScalarBuffer};
use arrow_schema::SchemaRef;
use mlids_flow::Mode;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;

/// File written by import.
pub const DATA_FILE: &str = "data.parquet";

#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub cleaning: CleaningPolicy,
    pub attempted: AttemptedPolicy,
    /// Label for files without a Label column (unlabelled `ml-ids extract` output). Without it such
    /// files are refused.
    pub default_label: Option<String>,
    /// Rows per Arrow batch (memory is a few batches).
    pub batch_rows: usize,
    /// How many unreadable rows the card lists individually.
    pub max_listed_errors: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            cleaning: CleaningPolicy::default(),
            attempted: AttemptedPolicy::default(),
            default_label: None,
            batch_rows: 64 * 1024,
            max_listed_errors: 100,
        }
    }
}

/// Progress callbacks (the CLI draws a bar; the library stays UI-free).
pub trait ImportProgress {
    fn file_started(&mut self, _path: &Path, _bytes: u64) {}
    /// Bytes read of the current file and rows written so far in total.
    fn advanced(&mut self, _bytes: u64, _rows: u64) {}
    fn file_finished(&mut self, _path: &Path) {}
}

/// No progress reporting.
pub struct NoProgress;
impl ImportProgress for NoProgress {}

/// Expand the sources: files as given, folders to the `.csv` files inside them (recursively, sorted).
pub fn collect_sources(sources: &[PathBuf]) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| DatasetError::io(dir, e))?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .map_err(|e| DatasetError::io(dir, e))?;
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for s in sources {
        if s.is_dir() {
            let before = out.len();
            walk(s, &mut out)?;
            if out.len() == before {
                return Err(DatasetError::invalid(s, "folder contains no .csv files"));
            }
        } else {
            std::fs::metadata(s).map_err(|e| DatasetError::io(s, e))?;
            out.push(s.clone());
        }
    }
    Ok(out)
}

/// Reads through to the CSV parser while a second thread hashes every byte (SHA-256 costs about as
/// much CPU as parsing on machines without SHA instructions, so it must not sit on the parse path).
struct HashingReader<R> {
    inner: R,
    tx: Option<SyncSender<Vec<u8>>>,
    hasher: Option<std::thread::JoinHandle<String>>,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R) -> Self {
        let (tx, rx) = sync_channel::<Vec<u8>>(16);
        let hasher = std::thread::spawn(move || {
            let mut h = Sha256::new();
            for chunk in rx {
                h.update(&chunk);
            }
            hex(&h.finalize())
        });
        HashingReader {
            inner,
            tx: Some(tx),
            hasher: Some(hasher),
            bytes: 0,
        }
    }

    /// Read to the end (so the hash covers the whole file); the byte count and hex digest.
    fn finish(mut self) -> std::io::Result<(u64, String)> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        drop(self.tx.take());
        let hash = self
            .hasher
            .take()
            .expect("finish once")
            .join()
            .expect("hash thread panicked");
        Ok((self.bytes, hash))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            if let Some(tx) = &self.tx {
                // The hasher only stops when we drop the sender, so a send cannot fail.
                let _ = tx.send(buf[..n].to_vec());
            }
        }
        self.bytes += n as u64;
        Ok(n)
    }
}

fn csv_reader<R: Read>(r: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(r)
}

fn csv_err(path: &Path, e: csv::Error) -> DatasetError {
    DatasetError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Read just the header line of a file; `None` for an empty file.
pub fn read_header(path: &Path) -> Result<Option<Vec<String>>> {
    let f = File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let mut rdr = csv_reader(std::io::BufReader::new(f));
    let mut rec = csv::ByteRecord::new();
    if !rdr
        .read_byte_record(&mut rec)
        .map_err(|e| csv_err(path, e))?
    {
        return Ok(None);
    }
    Ok(Some(
        rec.iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect(),
    ))
}

/// Canonical labels seen so far, interned so rows carry a small id.
struct LabelRegistry {
    map: LabelMap,
    policy: AttemptedPolicy,
    /// (raw label bytes, attempted flag) → id.
    ids: HashMap<(Vec<u8>, bool), u32>,
    entries: Vec<Entry>,
}

struct Entry {
    original: String,
    canonical: Arc<str>,
    category: &'static str,
    is_attack: bool,
    attempted: bool,
    unknown: bool,
}

impl LabelRegistry {
    fn id(&mut self, raw: &[u8], attempted_cell: Option<&[u8]>) -> u32 {
        let attempted = attempted_cell.is_some_and(|c| {
            let c = c.trim_ascii();
            !c.is_empty() && c != b"-1"
        });
        if let Some(&id) = self.ids.get(&(raw.to_vec(), attempted)) {
            return id;
        }
        let original = String::from_utf8_lossy(raw).trim().to_string();
        let m = self.map.map(
            &original,
            Some(if attempted { "1" } else { "-1" }),
            self.policy,
        );
        let id = self.entries.len() as u32;
        self.entries.push(Entry {
            original,
            canonical: m.canonical.into(),
            category: m.category.as_str(),
            is_attack: m.is_attack,
            attempted: m.attempted,
            unknown: m.unknown,
        });
        self.ids.insert((raw.to_vec(), attempted), id);
        id
    }
}

/// Bit pattern marking a null in the parser's column buffers: a signalling NaN no parser produces
/// (`NaN` cells parse to the quiet NaN), so kept NaNs and nulls stay distinct with a single `f64`
/// per cell and no parallel validity vector on the hot path.
const NULL_BITS: u64 = 0x7ff4_0000_4d4c_4944;
const NULL: f64 = f64::from_bits(NULL_BITS);

/// A batch on its way to the writer thread: feature columns still raw (null = [`NULL`]), the
/// rest already Arrow arrays. Building the feature arrays is left to the writer thread, which has
/// spare time while the parser is the bottleneck.
pub(crate) struct Pending {
    features: Vec<Vec<f64>>,
    rest: Vec<ArrayRef>,
}

impl Pending {
    fn into_batch(self, schema: &SchemaRef) -> RecordBatch {
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for mut values in self.features {
            let mut any_null = false;
            let valid: Vec<bool> = values
                .iter_mut()
                .map(|v| {
                    let ok = v.to_bits() != NULL_BITS;
                    if !ok {
                        *v = 0.0;
                        any_null = true;
                    }
                    ok
                })
                .collect();
            let nulls = any_null.then(|| NullBuffer::from(valid));
            cols.push(Arc::new(Float64Array::new(
                ScalarBuffer::from(values),
                nulls,
            )));
        }
        cols.extend(self.rest);
        RecordBatch::try_new(schema.clone(), cols).expect("batch matches schema")
    }
}

/// One batch being filled, column by column.
struct BatchBuilder {
    values: Vec<Vec<f64>>,
    labels: Vec<u32>,
    ts: Vec<Option<i64>>,
    days: Vec<Option<Arc<str>>>,
    lines: Vec<i64>,
}

impl BatchBuilder {
    fn new(n_features: usize, cap: usize) -> Self {
        BatchBuilder {
            values: (0..n_features).map(|_| Vec::with_capacity(cap)).collect(),
            labels: Vec::with_capacity(cap),
            ts: Vec::with_capacity(cap),
            days: Vec::with_capacity(cap),
            lines: Vec::with_capacity(cap),
        }
    }

    fn len(&self) -> usize {
        self.lines.len()
    }

    fn take(&mut self, reg: &LabelRegistry, source: &str) -> Pending {
        let n = self.len();
        let cap = self.lines.capacity();
        let features = self
            .values
            .iter_mut()
            .map(|v| std::mem::replace(v, Vec::with_capacity(cap)))
            .collect();
        let e = |id: &u32| &reg.entries[*id as usize];
        let rest: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                self.labels.iter().map(|id| &*e(id).canonical),
            )),
            Arc::new(StringArray::from_iter_values(
                self.labels.iter().map(|id| e(id).original.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                self.labels.iter().map(|id| e(id).category),
            )),
            Arc::new(BooleanArray::from_iter(
                self.labels.iter().map(|id| Some(e(id).is_attack)),
            )),
            Arc::new(Int64Array::from_iter(self.ts.drain(..))),
            Arc::new(StringArray::from_iter(self.days.drain(..))),
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                source, n,
            ))),
            Arc::new(Int64Array::from_iter_values(self.lines.drain(..))),
        ];
        self.labels.clear();
        Pending { features, rest }
    }
}

/// Everything the card accumulates across files.
struct Totals {
    errors: Vec<RowError>,
    errors_omitted: u64,
    cleaning: Vec<ColumnCounts>,
    label_rows: Vec<u64>,
}

/// A parsed feature cell: empty, a number, or garbage.
#[inline]
fn parse_cell(cell: &[u8]) -> std::result::Result<Option<f64>, ()> {
    let c = cell.trim_ascii();
    if c.is_empty() {
        return Ok(None);
    }
    crate::numparse::parse_f64(c).map(Some).ok_or(())
}

struct FileImport<'a> {
    path: &'a Path,
    header: &'a HeaderMap,
    opts: &'a ImportOptions,
    non_negative: &'a [bool],
}

impl FileImport<'_> {
    /// Undo the first `k` feature cells of a row that turned out to be unparseable: pop them and
    /// take back what cleaning counted (rare, so recounting is fine).
    fn roll_back(
        &self,
        rec: &csv::ByteRecord,
        k: usize,
        batch: &mut BatchBuilder,
        totals: &mut Totals,
    ) {
        for &(col, out) in &self.header.features[..k] {
            batch.values[out].pop();
            let mut seen = ColumnCounts::default();
            match parse_cell(&rec[col]) {
                Ok(None) => seen.empty += 1,
                Ok(Some(v)) => {
                    self.opts
                        .cleaning
                        .apply(self.non_negative[out], v, &mut seen);
                }
                Err(()) => {}
            }
            totals.cleaning[out].sub(&seen);
        }
    }

    fn run(
        &self,
        reg: &mut LabelRegistry,
        totals: &mut Totals,
        tx: &SyncSender<Pending>,
        rows_total: &mut u64,
        progress: &mut dyn ImportProgress,
    ) -> Result<std::result::Result<SourceCard, ()>> {
        let path = self.path;
        let h = self.header;
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let f = File::open(path).map_err(|e| DatasetError::io(path, e))?;
        let mut rdr = csv_reader(HashingReader::new(f));
        let mut rec = csv::ByteRecord::new();
        let mut card = SourceCard {
            file: file_name.clone(),
            path: path.display().to_string(),
            dialect: h.dialect.clone(),
            mode: h.mode.as_str().to_string(),
            absent_columns: h
                .absent
                .iter()
                .map(|&f| feature_column(f, h.mode).to_string())
                .collect(),
            ..Default::default()
        };
        // Header line.
        rdr.read_byte_record(&mut rec)
            .map_err(|e| csv_err(path, e))?;
        let n_feat = mode_features(h.mode).len();
        let n_cols = h.roles.len();
        let mut batch = BatchBuilder::new(n_feat, self.opts.batch_rows);
        let mut file_label_rows: Vec<u64> = Vec::new();
        let default_label = self.opts.default_label.as_deref().map(str::as_bytes);
        let mut day_cache: HashMap<i64, Arc<str>> = HashMap::new();
        // The header cells that identify a repeated header line.
        let probe: Vec<usize> = h
            .label
            .into_iter()
            .chain(h.features.first().map(|&(c, _)| c))
            .collect();
        let mut last_day: Option<(i64, Arc<str>)> = None;
        let mut label_cache: Option<(Vec<u8>, Vec<u8>, u32)> = None;
        let absent_out: Vec<usize> = h
            .absent
            .iter()
            .map(|&f| {
                mode_features(h.mode)
                    .iter()
                    .position(|&g| g == f)
                    .expect("absent feature is in mode")
            })
            .collect();
        loop {
            let more = match rdr.read_byte_record(&mut rec) {
                Ok(m) => m,
                Err(e) => return Err(csv_err(path, e)),
            };
            if !more {
                break;
            }
            card.rows_read += 1;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            let reject = |totals: &mut Totals, card: &mut SourceCard, reason: String| {
                card.dropped.unparseable += 1;
                if totals.errors.len() < self.opts.max_listed_errors {
                    totals.errors.push(RowError {
                        file: file_name.clone(),
                        line,
                        reason,
                    });
                } else {
                    totals.errors_omitted += 1;
                }
            };
            if rec.len() == n_cols
                && probe
                    .iter()
                    .all(|&c| rec.get(c).map(<[u8]>::trim_ascii) == Some(h.names[c].as_bytes()))
            {
                card.dropped.repeated_header += 1;
                continue;
            }
            if rec.len() != n_cols {
                reject(
                    totals,
                    &mut card,
                    format!("expected {n_cols} fields, found {}", rec.len()),
                );
                continue;
            }
            // Label first: an Attempted row under the drop policy needs no parsing.
            let raw_label = match h.label {
                Some(c) => &rec[c],
                None => default_label.unwrap_or_default(),
            };
            let attempted_cell = h.attempted.map(|c| &rec[c]);
            let id = match &label_cache {
                Some((l, a, id))
                    if l.as_slice() == raw_label
                        && a.as_slice() == attempted_cell.unwrap_or_default() =>
                {
                    *id
                }
                _ => {
                    let id = reg.id(raw_label, attempted_cell);
                    label_cache = Some((
                        raw_label.to_vec(),
                        attempted_cell.unwrap_or_default().to_vec(),
                        id,
                    ));
                    id
                }
            };
            if reg.entries[id as usize].attempted && self.opts.attempted == AttemptedPolicy::Drop {
                card.dropped.attempted += 1;
                continue;
            }
            // Parse, clean and append in one pass; a bad cell rolls the row back.
            let mut bad = None;
            for (k, &(col, out)) in h.features.iter().enumerate() {
                let v = match parse_cell(&rec[col]) {
                    Ok(None) => {
                        totals.cleaning[out].empty += 1;
                        NULL
                    }
                    Ok(Some(v)) => self
                        .opts
                        .cleaning
                        .apply(self.non_negative[out], v, &mut totals.cleaning[out])
                        .unwrap_or(NULL),
                    Err(()) => {
                        bad = Some((k, col));
                        break;
                    }
                };
                batch.values[out].push(v);
            }
            if let Some((k, col)) = bad {
                self.roll_back(&rec, k, &mut batch, totals);
                let cell = String::from_utf8_lossy(&rec[col]);
                let cell: String = cell.chars().take(40).collect();
                reject(
                    totals,
                    &mut card,
                    format!("column '{}': not a number: '{cell}'", h.names[col]),
                );
                continue;
            }
            for &out in &absent_out {
                batch.values[out].push(NULL);
            }
            if file_label_rows.len() <= id as usize {
                file_label_rows.resize(id as usize + 1, 0);
            }
            file_label_rows[id as usize] += 1;
            let ts = h.timestamp.and_then(|c| parse_timestamp(&rec[c]));
            if h.timestamp.is_some() && ts.is_none() {
                card.timestamps_unparsed += 1;
            }
            let day = ts.map(|us| {
                let d = us.div_euclid(86_400_000_000);
                match &last_day {
                    Some((ld, s)) if *ld == d => s.clone(),
                    _ => {
                        let s = day_cache
                            .entry(d)
                            .or_insert_with(|| day_of(us).into())
                            .clone();
                        last_day = Some((d, s.clone()));
                        s
                    }
                }
            });
            batch.labels.push(id);
            batch.ts.push(ts);
            batch.days.push(day);
            batch.lines.push(line as i64);
            card.rows_written += 1;
            if batch.len() >= self.opts.batch_rows {
                *rows_total += batch.len() as u64;
                if tx.send(batch.take(reg, &file_name)).is_err() {
                    return Ok(Err(()));
                }
                progress.advanced(rdr.get_ref().bytes, *rows_total);
            }
        }
        if batch.len() > 0 {
            *rows_total += batch.len() as u64;
            if tx.send(batch.take(reg, &file_name)).is_err() {
                return Ok(Err(()));
            }
        }
        // Drain anything the parser did not consume so the hash covers the whole file.
        let (bytes, hash) = rdr
            .into_inner()
            .finish()
            .map_err(|e| DatasetError::io(path, e))?;
        progress.advanced(bytes, *rows_total);
        card.bytes = bytes;
        card.sha256 = hash;
        for (id, &n) in file_label_rows.iter().enumerate() {
            if n > 0 {
                *card
                    .rows_per_label
                    .entry(reg.entries[id].canonical.to_string())
                    .or_default() += n;
                if totals.label_rows.len() <= id {
                    totals.label_rows.resize(id + 1, 0);
                }
                totals.label_rows[id] += n;
            }
        }
        Ok(Ok(card))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let f = File::open(path).map_err(|e| DatasetError::io(path, e))?;
    let (_, hash) = HashingReader::new(f)
        .finish()
        .map_err(|e| DatasetError::io(path, e))?;
    Ok(hash)
}

/// Check every header and the modes before reading any row.
fn plan(files: &[PathBuf], opts: &ImportOptions) -> Result<(Mode, Vec<Option<HeaderMap>>)> {
    let mut headers = Vec::with_capacity(files.len());
    for p in files {
        let h = match read_header(p)? {
            None => None,
            Some(cells) => Some(HeaderMap::recognise(
                p,
                &cells,
                opts.default_label.is_some(),
            )?),
        };
        headers.push(h);
    }
    let modes: Vec<Mode> = headers.iter().flatten().map(|h| h.mode).collect();
    let Some(&mode) = modes.first() else {
        return Err(DatasetError::Usage(
            "no input file has a header (all are empty)".into(),
        ));
    };
    if modes.iter().any(|&m| m != mode) {
        let files = files
            .iter()
            .zip(&headers)
            .filter_map(|(p, h)| {
                h.as_ref()
                    .map(|h| format!("{}: {} mode ({})", p.display(), h.mode, h.dialect))
            })
            .collect();
        return Err(DatasetError::MixedModes { files });
    }
    Ok((mode, headers))
}

/// Import CSV sources into `out_dir/data.parquet` and `out_dir/card.json`.
pub fn import(
    sources: &[PathBuf],
    out_dir: &Path,
    opts: &ImportOptions,
    progress: &mut dyn ImportProgress,
) -> Result<Card> {
    if opts.batch_rows == 0 {
        return Err(DatasetError::Usage("batch size must be at least 1".into()));
    }
    let files = collect_sources(sources)?;
    let (mode, headers) = plan(&files, opts)?;
    std::fs::create_dir_all(out_dir).map_err(|e| DatasetError::io(out_dir, e))?;
    let schema = dataset_schema(mode);
    let data_path = out_dir.join(DATA_FILE);
    let mut out = AtomicParquet::create(&data_path, schema.clone(), mode)?;
    let (tx, rx) = sync_channel::<Pending>(2);
    let writer_schema = schema.clone();
    let writer = std::thread::spawn(move || -> Result<AtomicParquet> {
        for p in rx {
            out.write(&p.into_batch(&writer_schema))?;
        }
        Ok(out)
    });

    let features = mode_features(mode);
    let non_neg: Vec<bool> = features.iter().map(|&f| non_negative(f)).collect();
    let mut reg = LabelRegistry {
        map: LabelMap::builtin(),
        policy: opts.attempted,
        ids: HashMap::new(),
        entries: Vec::new(),
    };
    let mut totals = Totals {
        errors: Vec::new(),
        errors_omitted: 0,
        cleaning: vec![ColumnCounts::default(); features.len()],
        label_rows: Vec::new(),
    };
    let mut sources_card = Vec::with_capacity(files.len());
    let mut rows_total = 0u64;
    let mut writer_gone = false;
    for (path, header) in files.iter().zip(&headers) {
        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        progress.file_started(path, bytes);
        let card = match header {
            None => SourceCard {
                file: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                path: path.display().to_string(),
                sha256: sha256_file(path)?,
                bytes,
                dialect: "empty".into(),
                mode: String::new(),
                note: Some("empty file: no header, no rows".into()),
                ..Default::default()
            },
            Some(h) => {
                let fi = FileImport {
                    path,
                    header: h,
                    opts,
                    non_negative: &non_neg,
                };
                match fi.run(&mut reg, &mut totals, &tx, &mut rows_total, progress)? {
                    Ok(c) => c,
                    Err(()) => {
                        writer_gone = true;
                        break;
                    }
                }
            }
        };
        progress.file_finished(path);
        sources_card.push(card);
    }
    drop(tx);
    let out = writer.join().expect("writer thread panicked")?;
    if writer_gone {
        return Err(DatasetError::parquet(
            &data_path,
            "writer stopped unexpectedly",
        ));
    }
    let finished = out.finish()?;

    let mut dropped = Dropped::default();
    for s in &sources_card {
        dropped.add(&s.dropped);
    }
    let mut labels: BTreeMap<String, LabelCard> = BTreeMap::new();
    let mut unknown_labels = BTreeMap::new();
    for (id, e) in reg.entries.iter().enumerate() {
        let n = totals.label_rows.get(id).copied().unwrap_or(0);
        if n == 0 {
            continue;
        }
        let l = labels
            .entry(e.canonical.to_string())
            .or_insert_with(|| LabelCard {
                label: e.canonical.to_string(),
                category: e.category.to_string(),
                is_attack: e.is_attack,
                ..Default::default()
            });
        l.rows += n;
        *l.originals.entry(e.original.clone()).or_default() += n;
        if e.unknown {
            *unknown_labels.entry(e.original.clone()).or_default() += n;
        }
    }
    let mut labels: Vec<LabelCard> = labels.into_values().collect();
    labels.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.label.cmp(&b.label)));
    let card = Card {
        schema_version: SCHEMA_VERSION,
        mode: mode.as_str().into(),
        created_by: format!("mlids-dataset {}", env!("CARGO_PKG_VERSION")),
        rows: finished.rows,
        attempted_policy: opts.attempted.to_string(),
        labels,
        unknown_labels,
        dropped,
        errors: totals.errors,
        errors_omitted: totals.errors_omitted,
        cleaning: CleaningCard {
            policy: opts.cleaning,
            minus_one_marker_columns: MINUS_ONE_MARKER
                .iter()
                .filter(|f| features.contains(f))
                .map(|&f| feature_column(f, mode).to_string())
                .collect(),
            columns: features
                .iter()
                .zip(&totals.cleaning)
                .filter(|(_, c)| !c.is_zero())
                .map(|(&f, c)| (feature_column(f, mode).to_string(), *c))
                .collect(),
        },
        sources: sources_card,
        split: None,
    };
    // Old splits describe other data: remove them before the new data becomes visible.
    for name in crate::split::SPLIT_FILES {
        let p = out_dir.join(name);
        if p.exists() {
            std::fs::remove_file(&p).map_err(|e| DatasetError::io(&p, e))?;
        }
    }
    let card_path = out_dir.join(CARD_FILE);
    if card_path.exists() {
        std::fs::remove_file(&card_path).map_err(|e| DatasetError::io(&card_path, e))?;
    }
    finished.commit()?;
    card.save(out_dir)?;
    Ok(card)
}
