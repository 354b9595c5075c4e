//! `ml-ids dataset`: CIC CSVs → cleaned Parquet datasets, splits and their cards.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mlids_dataset::labels::AttemptedPolicy;
use mlids_dataset::split::parse_ratios;
use mlids_dataset::{Card, CleaningPolicy, ImportOptions, ImportProgress, SplitBy, SplitOptions};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Import, split and describe training datasets.
#[derive(Subcommand, Debug)]
pub enum DatasetCommand {
    Import(ImportArgs),
    Split(SplitArgs),
    Stats(StatsArgs),
}

/// Import CIC flow CSVs (any dialect, recognised from the header) into DIR/data.parquet + DIR/card.json.
///
/// Recognised: CSE-CIC-IDS2018 (80 and 84 columns), CIC-IDS2017 (MachineLearningCVE and
/// TrafficLabelling), the 2022 improved releases, the seed's snake_case files and every
/// `ml-ids extract` layout. Files with the corrected-only columns (Fwd/Bwd RST Flags, ICMP Code/Type,
/// Total TCP Flow Time) are corrected-mode data, all others cic2018-mode; mixing the two is refused.
/// Unreadable rows are skipped and listed in the card with file:line.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  ml-ids dataset import ~/CSE-CIC-IDS2018/ -o data/ids2018
  ml-ids dataset import Tuesday-20-02-2018.csv Wednesday-21-02-2018.csv -o data/two-days
  ml-ids dataset import improved/ -o data/improved --attempted drop
  ml-ids extract --label Benign --names snake capture.pcap -o benign.csv && ml-ids dataset import benign.csv -o data/mine")]
pub struct ImportArgs {
    /// CSV files, or folders searched recursively for *.csv.
    #[arg(required = true)]
    pub sources: Vec<PathBuf>,
    /// Output dataset folder (created if missing; an earlier import there is replaced).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Improved-release `Attempted` rows: benign (keep, is_attack=false), attack (keep,
    /// is_attack=true) or drop.
    #[arg(long, default_value = "benign")]
    pub attempted: AttemptedPolicy,
    /// Keep Infinity and NaN values instead of turning them into nulls.
    #[arg(long)]
    pub keep_nonfinite: bool,
    /// Keep negative values in columns that cannot be negative instead of turning them into nulls.
    #[arg(long)]
    pub keep_negatives: bool,
    /// Label for files without a Label column (e.g. `ml-ids extract` output without --label).
    #[arg(long)]
    pub label: Option<String>,
    /// Rows per batch (memory use is a few batches).
    #[arg(long, default_value_t = 65536)]
    pub batch_rows: usize,
    /// Do not print the summary.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Split DIR/data.parquet into train/val/test Parquet files.
///
/// `--by label` (default): stratified by label; each label's rows are divided by the ratios (every
/// label reaches val and test when it has enough rows; a 1-row label goes to train). `--by day`: whole
/// capture days per split, so near-duplicate flows of a day cannot leak from train into test. The same
/// seed on the same data always gives the same split.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  ml-ids dataset split data/ids2018
  ml-ids dataset split data/ids2018 --ratios 0.7,0.15,0.15 --seed 7
  ml-ids dataset split data/ids2018 --by day -o data/ids2018-by-day")]
pub struct SplitArgs {
    /// Dataset folder written by `dataset import`.
    pub dir: PathBuf,
    /// train,val,test shares (sum 1).
    #[arg(long, default_value = "0.8,0.1,0.1")]
    pub ratios: String,
    /// Seed of the per-label row permutation: same seed and data, same split.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// label (stratified random) or day (whole capture days).
    #[arg(long, default_value = "label")]
    pub by: SplitBy,
    /// Output folder (default: DIR).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Do not print the summary.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Print a dataset's card (labels, sources, dropped rows, cleaning, split) as tables.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  ml-ids dataset stats data/ids2018
  ml-ids dataset stats data/ids2018 --json")]
pub struct StatsArgs {
    /// Dataset folder.
    pub dir: PathBuf,
    /// Print card.json as is.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: DatasetCommand) -> Result<()> {
    match cmd {
        DatasetCommand::Import(a) => import(a),
        DatasetCommand::Split(a) => split(a),
        DatasetCommand::Stats(a) => stats(a),
    }
}

/// A bytes bar per file on stderr when it is a terminal.
struct Bar {
    bar: Option<ProgressBar>,
    started: Instant,
}

impl ImportProgress for Bar {
    fn file_started(&mut self, path: &Path, bytes: u64) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix} [{bar:30}] {bytes}/{total_bytes} {msg} ({eta})",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        self.bar = Some(bar);
    }
    fn advanced(&mut self, bytes: u64, rows: u64) {
        if let Some(b) = &self.bar {
            b.set_position(bytes);
            let rate = rows as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            b.set_message(format!("{rows} rows, {rate:.0} rows/s"));
        }
    }
    fn file_finished(&mut self, _path: &Path) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

fn import(a: ImportArgs) -> Result<()> {
    let opts = ImportOptions {
        cleaning: CleaningPolicy {
            nonfinite_to_null: !a.keep_nonfinite,
            negatives_to_null: !a.keep_negatives,
        },
        attempted: a.attempted,
        default_label: a.label,
        batch_rows: a.batch_rows,
        ..Default::default()
    };
    let started = Instant::now();
    let mut bar = Bar { bar: None, started };
    let card = mlids_dataset::import(&a.sources, &a.output, &opts, &mut bar)
        .with_context(|| format!("import into {} failed", a.output.display()))?;
    if !a.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "imported {} rows ({} mode) from {} file(s) into {} in {:.2}s ({:.0} rows/s); dropped: {} repeated header, {} unparseable, {} attempted",
            card.rows,
            card.mode,
            card.sources.len(),
            a.output.join(mlids_dataset::DATA_FILE).display(),
            secs,
            card.rows as f64 / secs.max(1e-9),
            card.dropped.repeated_header,
            card.dropped.unparseable,
            card.dropped.attempted
        );
        for e in card.errors.iter().take(10) {
            eprintln!("  skipped {}:{}: {}", e.file, e.line, e.reason);
        }
        let more = card.errors.len().saturating_sub(10) as u64 + card.errors_omitted;
        if more > 0 {
            eprintln!("  … {more} more skipped rows (see card.json)");
        }
    }
    Ok(())
}

fn split(a: SplitArgs) -> Result<()> {
    let opts = SplitOptions {
        ratios: parse_ratios(&a.ratios)?,
        seed: a.seed,
        by: a.by,
        ..Default::default()
    };
    let started = Instant::now();
    let card = mlids_dataset::split(&a.dir, a.output.as_deref(), &opts)
        .with_context(|| format!("split of {} failed", a.dir.display()))?;
    if !a.quiet {
        let s = card.split.as_ref().expect("split card");
        eprintln!(
            "split by {} (seed {}): train {}, val {}, test {} rows in {:.2}s → {}",
            s.by,
            s.seed,
            s.rows["train"],
            s.rows["val"],
            s.rows["test"],
            started.elapsed().as_secs_f64(),
            a.output.as_deref().unwrap_or(&a.dir).display()
        );
    }
    Ok(())
}

fn stats(a: StatsArgs) -> Result<()> {
    let card = Card::load(&a.dir)
        .with_context(|| format!("cannot read the card of {}", a.dir.display()))?;
    if a.json {
        print!("{}", card.to_json());
    } else {
        print!("{}", mlids_dataset::stats::render(&card));
    }
    Ok(())
}
