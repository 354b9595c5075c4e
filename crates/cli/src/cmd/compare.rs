//! `ml-ids compare`: train several model families on one dataset's splits and write one report.

use anyhow::{bail, Context, Result};
use clap::Args;
use mlids_train::compare::{self, CompareConfig};
use mlids_train::train::Splits;
use mlids_train::{FitControl, GbdtParams, ModelChoice, ModelKind, Task};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Train and compare models on the same splits: metrics, PR curves, training and inference time.
///
/// Every model trains on train.parquet (early stopping / threshold on val.parquet) and is evaluated
/// on test.parquet. --holdout removes an attack family from train and val entirely and reports each
/// model's recall on it (the novel-attack test); with `ae` among the models, each classifier is also
/// reported OR-ed with the autoencoder (the hybrid verdict). Writes OUT/compare.{html,md,json},
/// OUT/pr-curves.svg and, unless --no-save-models, every model's bundle under OUT/models/NAME.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  ml-ids compare --data data/cic -o report/
  ml-ids compare --data data/cic --models gbdt,rf,knn,linear,svm,mlp,ae --holdout PortScan -o report-portscan/
  ml-ids compare --data data/cic --models gbdt,mlp --params mlp=mlp.toml -o report-mlp/

Model names: gbdt (LightGBM), rf (LightGBM boosting=rf), knn (exact, stratified subsample),
linear (logistic regression), svm (linear SVM), mlp (3×400), ae (denoising autoencoder on benign
rows). --params NAME=FILE.toml takes the same files as `ml-ids train --model NAME --params`.")]
pub struct CompareArgs {
    /// Dataset directory with train.parquet, val.parquet and test.parquet.
    #[arg(long)]
    pub data: PathBuf,
    /// Models to train (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "gbdt,rf,knn,linear,svm,mlp,ae"
    )]
    pub models: Vec<String>,
    /// Report directory.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Canonical labels or categories (comma-separated) to leave out of train and val.
    #[arg(long, value_delimiter = ',')]
    pub holdout: Vec<String>,
    /// binary (default) or multiclass (the autoencoder needs binary).
    #[arg(long, default_value = "binary")]
    pub task: Task,
    /// Parameter files per model: NAME=FILE.toml (repeatable).
    #[arg(long)]
    pub params: Vec<String>,
    /// Features to leave out (comma-separated snake names; `none` for none).
    #[arg(long, value_delimiter = ',', default_value = "timestamp,dst_port")]
    pub exclude: Vec<String>,
    /// Recall target reported for every model (the threshold reaching it on test is in the JSON).
    #[arg(long, default_value_t = 0.99)]
    pub target_recall: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Do not write the models' bundles.
    #[arg(long)]
    pub no_save_models: bool,
    /// Print per-iteration/epoch progress.
    #[arg(short, long)]
    pub verbose: bool,
}

pub fn run(args: CompareArgs) -> Result<()> {
    let mut models = Vec::new();
    for m in &args.models {
        let k: ModelKind = m.parse().map_err(anyhow::Error::msg)?;
        if !models.contains(&k) {
            models.push(k);
        }
    }
    let mut gbdt = GbdtParams {
        train_metric: false,
        ..Default::default()
    };
    let mut params: HashMap<ModelKind, ModelChoice> = HashMap::new();
    for p in &args.params {
        let Some((name, file)) = p.split_once('=') else {
            bail!("--params '{p}': expected NAME=FILE.toml");
        };
        let kind: ModelKind = name.parse().map_err(anyhow::Error::msg)?;
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
        if kind == ModelKind::Gbdt {
            gbdt = GbdtParams::from_toml_str(&text).with_context(|| format!("in {file}"))?;
        } else {
            params.insert(
                kind,
                ModelChoice::from_toml(kind, &text).with_context(|| format!("in {file}"))?,
            );
        }
    }
    let exclude = if args.exclude.iter().any(|e| e == "none") {
        Vec::new()
    } else {
        args.exclude.clone()
    };
    let cfg = CompareConfig {
        models,
        task: args.task,
        holdout: args.holdout.clone(),
        gbdt,
        params,
        exclude,
        target_recall: args.target_recall,
        seed: args.seed,
        save_models: !args.no_save_models,
        ..CompareConfig::default()
    };
    let splits = Splits::in_dir(&args.data)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!("\nml-ids: interrupted again, aborting");
            std::process::exit(130);
        }
        eprintln!("\nml-ids: interrupt: the current model keeps what it has so far (Ctrl-C again to abort)");
    });
    let verbose = args.verbose;
    let mut ctl = FitControl {
        stop: Some(stop),
        on_iteration: Some(Box::new(move |r| {
            if verbose {
                eprintln!("{r}");
            }
        })),
    };
    let mut log = |m: &str| {
        if verbose || m.starts_with("──") || m.starts_with("   ") || m.starts_with("loading") {
            eprintln!("{m}");
        }
    };
    let c = compare::run(&splits, &cfg, &args.output, &mut ctl, &mut log)?;
    println!("{}", compare::metrics_table(&c));
    let hybrid = compare::hybrid_table(&c);
    if !hybrid.is_empty() {
        println!("{hybrid}");
    }
    println!(
        "reports: {}",
        [
            "compare.html",
            "compare.md",
            "compare.json",
            "pr-curves.svg"
        ]
        .iter()
        .map(|f| args.output.join(f).display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
    );
    Ok(())
}
