//! Fixture models for the server, watch, bus and cli tests (feature `models`): splits written in
//! the dataset schema and small GBDTs trained on them in a second or two. They panic on any error:
//! tests and benchmarks only, never library API.

mod syn_flood;
pub use syn_flood::{syn_flood_model, SYN_FLOOD_LABEL};

use arrow_array::{ArrayRef, RecordBatch};
use arrow_array::{BooleanArray, Float64Array, StringArray};
use arrow_schema::DataType;
use arrow_schema::{Field, Schema};
use mlids_dataset::schema::{META_MODE as MODE_KEY, META_SCHEMA_VERSION, SCHEMA_VERSION};
use mlids_flow::Mode;
use mlids_model::Task;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows of a split; `label_original` is written as `LABEL (orig)`.
pub struct SplitRows<'a> {
    pub features: &'a [String],
    /// Row-major, NaN written as null.
    pub x: &'a [f64],
    pub label: &'a [String],
    pub category: &'a [String],
}

/// Write a split file (panics on I/O errors: for tests and benchmarks only).
pub fn write_split(path: &Path, mode: Mode, rows: &SplitRows) {
    let nf = rows.features.len();
    let n = rows.label.len();
    let mut fields: Vec<Field> = rows
        .features
        .iter()
        .map(|f| Field::new(f, DataType::Float64, true))
        .collect();
    for m in ["label", "label_original", "category"] {
        fields.push(Field::new(m, DataType::Utf8, false));
    }
    fields.push(Field::new("is_attack", DataType::Boolean, false));
    let schema = Arc::new(Schema::new(fields));
    let mut cols: Vec<ArrayRef> = (0..nf)
        .map(|c| {
            let v: Float64Array = (0..n)
                .map(|r| Some(rows.x[r * nf + c]).filter(|v| !v.is_nan()))
                .collect();
            Arc::new(v) as ArrayRef
        })
        .collect();
    cols.push(Arc::new(StringArray::from_iter_values(rows.label.iter())));
    cols.push(Arc::new(StringArray::from_iter_values(
        rows.label.iter().map(|l| format!("{l} (orig)")),
    )));
    cols.push(Arc::new(StringArray::from_iter_values(
        rows.category.iter(),
    )));
    cols.push(Arc::new(BooleanArray::from(
        rows.category
            .iter()
            .map(|c| c != "Benign")
            .collect::<Vec<_>>(),
    )));
    let batch = RecordBatch::try_new(schema.clone(), cols).unwrap();
    let f = File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(f, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.append_key_value_metadata(KeyValue::new(
        MODE_KEY.to_string(),
        mode.as_str().to_string(),
    ));
    w.append_key_value_metadata(KeyValue::new(
        META_SCHEMA_VERSION.to_string(),
        SCHEMA_VERSION.to_string(),
    ));
    w.close().unwrap();
}

/// Split `rows` 70/15/15 in order into `dir/data/{train,val,test}.parquet`, train a small
/// GBDT (30 iterations, 7 leaves, one thread) and save it as `dir/model`, whose path is
/// returned. Panics on errors: the fixture models of the server, watch and bus tests.
pub fn train_small_gbdt(dir: &Path, mode: Mode, task: Task, rows: &SplitRows) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).expect("create the fixture data directory");
    let (n, nf) = (rows.label.len(), rows.features.len());
    let cuts = [0, n * 70 / 100, n * 85 / 100, n];
    for (i, name) in ["train", "val", "test"].iter().enumerate() {
        let (a, b) = (cuts[i], cuts[i + 1]);
        let part = SplitRows {
            features: rows.features,
            x: &rows.x[a * nf..b * nf],
            label: &rows.label[a..b],
            category: &rows.category[a..b],
        };
        write_split(&data.join(format!("{name}.parquet")), mode, &part);
    }
    let cfg = mlids_train::train::TrainConfig {
        task,
        params: mlids_train::GbdtParams {
            num_iterations: 30,
            num_leaves: 7,
            min_data_in_leaf: 5,
            num_threads: 1,
            train_metric: false,
            ..Default::default()
        },
        // Synthetic rows describe the features a fixture keys on, not whole flows: the
        // conversation filter of real training would drop them.
        model_scope: false,
        ..Default::default()
    };
    let mut ctl = mlids_train::fit::FitControl {
        stop: None,
        on_iteration: None,
    };
    let splits = mlids_train::train::Splits::in_dir(&data).expect("fixture splits");
    let trained = mlids_train::train::train(&splits, &cfg, &mut ctl, &mut |_| {})
        .expect("train the fixture model");
    let bundle = dir.join("model");
    mlids_model::Bundle::save(&bundle, trained.manifest, &trained.model)
        .expect("save the fixture model");
    bundle
}

/// A binary cic2018 model whose only signal is `tot_fwd_pkts`: benign flows have 1–10 forward
/// packets, attacks (`DoS attacks-Hulk`) 20–60. Trained into `dir` by [`train_small_gbdt`].
pub fn forward_packets_model(dir: &Path) -> PathBuf {
    let features: Vec<String> = mlids_flow::features::CIC2018_FEATURES
        .iter()
        .map(|f| f.snake_name(false).to_string())
        .collect();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let n = 3000;
    let (mut x, mut label, mut category) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let attack = i % 3 == 0;
        for f in &features {
            x.push(match f.as_str() {
                "tot_fwd_pkts" => {
                    (if attack {
                        20 + next() % 41
                    } else {
                        1 + next() % 10
                    }) as f64
                }
                "flow_duration" => (next() % 1_000_000) as f64,
                "fwd_seg_size_min" => [20.0, 32.0][(next() % 2) as usize],
                _ => 0.0,
            });
        }
        label.push(if attack { "DoS attacks-Hulk" } else { "Benign" }.to_string());
        category.push(if attack { "DoS" } else { "Benign" }.to_string());
    }
    let rows = SplitRows {
        features: &features,
        x: &x,
        label: &label,
        category: &category,
    };
    train_small_gbdt(dir, Mode::Cic2018, Task::Binary, &rows)
}
