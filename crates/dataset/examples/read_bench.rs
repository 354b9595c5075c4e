//! Read-back throughput of dataset Parquet files (used by bench/dataset.sh).
//!
//! `cargo run --release -p mlids-dataset --example read_bench -- FILE.parquet...` prints rows/s for
//! streaming every column as Arrow batches and for loading the dense training matrix.

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let files: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if files.is_empty() {
        eprintln!("usage: read_bench FILE.parquet...");
        std::process::exit(2);
    }
    let t = Instant::now();
    let mut rows = 0usize;
    for f in &files {
        for b in mlids_dataset::read_batches(f, None, 64 * 1024).expect("open") {
            rows += b.expect("batch").num_rows();
        }
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "arrow batches (all columns, 1 thread): {rows} rows in {s:.2}s = {:.0} rows/s",
        rows as f64 / s
    );
    let t = Instant::now();
    let td = mlids_dataset::read_training_data(&files, &Default::default()).expect("read");
    let s = t.elapsed().as_secs_f64();
    println!(
        "training matrix ({} features, f64 row-major, all cores): {} rows in {s:.2}s = {:.0} rows/s",
        td.features.len(),
        td.n_rows,
        td.n_rows as f64 / s
    );
}
