//! `ml-ids train`: dataset splits → model bundle (+ evaluation reports on val and test).

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use mlids_model::bundle::{Bundle, MANIFEST_FILE};
use mlids_train::train::{self, ClassWeights, Splits, ThresholdChoice, TrainConfig};
use mlids_train::{report, FitControl, GbdtParams, ModelChoice, ModelKind, Task};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TaskArg {
    /// Benign vs attack.
    Binary,
    /// One class per canonical attack label.
    Multiclass,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Engine {
    /// Gradient-boosted trees (LightGBM).
    Gbdt,
    /// Random forest (LightGBM boosting=rf, averaged trees).
    Rf,
    /// Exact k-nearest neighbours on a stratified subsample (scaled features).
    Knn,
    /// Logistic (softmax) regression.
    Linear,
    /// Linear SVM (squared hinge), Platt-scaled.
    Svm,
    /// Multilayer perceptron, 3×400 ReLU.
    Mlp,
    /// Denoising autoencoder trained on benign rows; flags by reconstruction error (binary only).
    Ae,
}

impl Engine {
    pub fn kind(self) -> ModelKind {
        match self {
            Engine::Gbdt => ModelKind::Gbdt,
            Engine::Rf => ModelKind::Rf,
            Engine::Knn => ModelKind::Knn,
            Engine::Linear => ModelKind::Linear,
            Engine::Svm => ModelKind::Svm,
            Engine::Mlp => ModelKind::Mlp,
            Engine::Ae => ModelKind::Ae,
        }
    }
}

/// Train a classifier on a dataset's splits and write a model bundle.
///
/// Fits on train.parquet, stops early on val.parquet, then evaluates on val and test and writes
/// DIR/manifest.json, the model file(s) and eval-{val,test}.{json,md,html}. --model picks the
/// engine: gbdt (default) and rf write model.txt (LightGBM text format); knn, linear, svm, mlp and
/// ae write preprocess.json (scaling fitted on train) plus their weights (safetensors). Progress
/// per iteration or epoch goes to stderr; Ctrl-C stops after the current one and keeps the best
/// model so far (a second Ctrl-C aborts).
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  ml-ids train --data data/cic -o models/gbdt-binary
  ml-ids train --data data/cic --task multiclass --min-samples-per-label 50 -o models/gbdt-multi
  ml-ids train --data data/cic --params gbdt.toml --threshold target-recall --target-recall 0.99 -o models/tuned
  ml-ids train --data data/cic --exclude dst_port,init_fwd_win_byts -o models/no-window
  ml-ids train --data data/cic --model mlp -o models/mlp
  ml-ids train --data data/cic --model ae -o models/ae          # threshold: recall 0.95 on val
  ml-ids train --data data/cic --model rf --holdout PortScan -o models/rf-no-portscan

For --model gbdt a --params file holds LightGBM settings, e.g.:
  num_iterations = 1000
  learning_rate = 0.05
  num_leaves = 127
  early_stopping_rounds = 50
  [lightgbm]            # anything else is passed to LightGBM as is
  min_gain_to_split = 0.1

For the other models it holds that model's keys (top level or under [rf], [knn], [linear], [svm],
[mlp] or [ae]); unknown keys are refused; --seed sets every model's seed:
  rf:     num_trees, num_leaves, max_depth, min_data_in_leaf, bagging_fraction,
          feature_fraction_bynode, max_bin, num_threads
  knn:    k, weighting = \"distance\"|\"uniform\", max_reference
  linear, svm: epochs, batch_size, learning_rate, l2, patience
  mlp:    hidden = [400, 400, 400], dropout, epochs, batch_size, learning_rate, weight_decay,
          patience
  ae:     hidden = [64, 32, 16, 32, 64], noise, epochs, batch_size, learning_rate, weight_decay,
          patience, target_recall

Set OMP_WAIT_POLICY=PASSIVE on shared machines (ml-ids sets it when unset).")]
pub struct TrainArgs {
    /// Dataset directory with train.parquet (val.parquet and test.parquet are used when present).
    #[arg(long)]
    pub data: PathBuf,
    /// Output bundle directory (models/NAME).
    #[arg(short, long)]
    pub output: PathBuf,
    #[arg(long, value_enum, default_value_t = TaskArg::Binary)]
    pub task: TaskArg,
    #[arg(long, value_enum, default_value_t = Engine::Gbdt)]
    pub model: Engine,
    /// TOML file with engine parameters (see below).
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Upsample (with replacement) every label with fewer training rows to this many.
    #[arg(long)]
    pub min_samples_per_label: Option<usize>,
    /// Features to leave out (comma-separated snake names; `none` for none).
    #[arg(long, value_delimiter = ',', default_value = "timestamp,dst_port")]
    pub exclude: Vec<String>,
    /// Train without class weights (default: inverse class frequency).
    #[arg(long)]
    pub no_class_weights: bool,
    /// Recall the reported (and, with --threshold target-recall, the chosen) threshold must reach.
    #[arg(long, default_value_t = 0.99)]
    pub target_recall: f64,
    /// Decision threshold on the attack score: a number in [0, 1]; `target-recall` for the
    /// largest threshold that reaches --target-recall on val; `auto` is 0.5 for classifiers and,
    /// for the autoencoder, the threshold reaching its own target_recall (0.95) on val.
    #[arg(long, default_value = "auto")]
    pub threshold: String,
    /// Leave these canonical labels or categories (comma-separated) out of train and val entirely,
    /// to see how the model does on a family it never saw (the test split keeps them).
    #[arg(long, value_delimiter = ',')]
    pub holdout: Vec<String>,
    /// Override the maximum number of boosting iterations (gbdt).
    #[arg(long)]
    pub num_iterations: Option<usize>,
    /// LightGBM threads for gbdt and rf (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Train on every row, not only the flows the flow model judges (answered conversations;
    /// one-packet, unanswered, refused and payload-free flows are the host-behaviour stage's).
    #[arg(long)]
    pub all_flows: bool,
    /// Replace an existing bundle in the output directory.
    #[arg(long)]
    pub force: bool,
    /// Print progress every N iterations (0: never).
    #[arg(long, default_value_t = 1)]
    pub progress_every: usize,
    /// Only print the final summary.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: TrainArgs) -> Result<()> {
    if args.output.join(MANIFEST_FILE).exists() && !args.force {
        bail!(
            "{} already holds a model bundle (use --force to replace it)",
            args.output.display()
        );
    }
    let kind = args.model.kind();
    let params_text = args
        .params
        .as_ref()
        .map(|p| {
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))
                .map(|t| (p, t))
        })
        .transpose()?;
    let mut params = match (&params_text, kind) {
        (Some((p, text)), ModelKind::Gbdt) => {
            GbdtParams::from_toml_str(text).with_context(|| format!("in {}", p.display()))?
        }
        _ => GbdtParams::default(),
    };
    let mut model = match (&params_text, kind) {
        (Some((p, text)), k) if k != ModelKind::Gbdt => {
            ModelChoice::from_toml(k, text).with_context(|| format!("in {}", p.display()))?
        }
        _ => ModelChoice::default_for(kind),
    };
    model.set_seed(args.seed);
    if args.num_iterations.is_some() && kind != ModelKind::Gbdt {
        bail!("--num-iterations applies to --model gbdt (set epochs or num_trees in --params)");
    }
    if let Some(n) = args.num_iterations {
        params.num_iterations = n;
    }
    if let Some(t) = args.threads {
        params.num_threads = t;
        if let ModelChoice::Rf(p) = &mut model {
            p.num_threads = t;
        }
    }
    params.seed = args.seed;
    let threshold = match args.threshold.as_str() {
        "target-recall" => ThresholdChoice::TargetRecallOnVal,
        "auto" => ThresholdChoice::Auto,
        s => ThresholdChoice::Fixed(s.parse::<f64>().with_context(|| {
            format!("--threshold '{s}': expected a number, `auto` or `target-recall`")
        })?),
    };
    let exclude = if args.exclude.iter().any(|e| e == "none") {
        Vec::new()
    } else {
        args.exclude.clone()
    };
    let cfg = TrainConfig {
        task: match args.task {
            TaskArg::Binary => Task::Binary,
            TaskArg::Multiclass => Task::Multiclass,
        },
        params,
        model,
        holdout: args.holdout.clone(),
        exclude,
        min_samples_per_label: args.min_samples_per_label,
        class_weights: if args.no_class_weights {
            ClassWeights::None
        } else {
            ClassWeights::InverseFrequency
        },
        target_recall: args.target_recall,
        threshold,
        seed: args.seed,
        model_scope: !args.all_flows,
    };
    let splits = Splits::in_dir(&args.data)?;

    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // A handler can be installed once per process; failing to install only loses graceful stop.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!("\nml-ids: interrupted again, aborting");
            std::process::exit(130);
        }
        eprintln!("\nml-ids: interrupt: finishing this iteration and keeping the best model so far (Ctrl-C again to abort)");
    });
    let quiet = args.quiet;
    let every = args.progress_every;
    let mut ctl = FitControl {
        stop: Some(stop.clone()),
        on_iteration: Some(Box::new(move |r| {
            if !quiet && every > 0 && (r.iteration % every == 0 || r.iteration == 1) {
                eprintln!("{r}");
            }
        })),
    };
    let mut log = |m: &str| {
        if !quiet {
            eprintln!("{m}");
        }
    };
    let trained = train::train(&splits, &cfg, &mut ctl, &mut log)?;
    drop(ctl);
    let f = &trained.fit;
    let unit = if matches!(kind, ModelKind::Gbdt | ModelKind::Rf) {
        "iterations"
    } else {
        "epochs"
    };
    eprintln!(
        "training stopped ({:?}) after {} {unit} in {:.1}s; keeping {} {unit}{}",
        f.stop_reason,
        f.iterations_run,
        f.seconds,
        f.best_iteration,
        f.best_valid_metric
            .as_ref()
            .map_or(String::new(), |(n, v)| format!(" (val {n} {v:.6})"))
    );
    let manifest = Bundle::save(&args.output, trained.manifest, &trained.model)
        .with_context(|| format!("writing the bundle to {}", args.output.display()))?;
    for e in [&trained.val, &trained.test].into_iter().flatten() {
        let prefix = args.output.join(format!("eval-{}", e.name));
        report::write_all(
            e,
            &prefix,
            &format!("ml-ids model {} on {}", args.output.display(), e.name),
        )?;
    }
    print_summary(
        &args.output,
        &manifest.threshold.value,
        [&trained.val, &trained.test].into_iter().flatten(),
    );
    Ok(())
}

fn print_summary<'a>(
    dir: &Path,
    threshold: &f64,
    evals: impl Iterator<Item = &'a mlids_train::Evaluation>,
) {
    println!("model bundle: {} (threshold {threshold:.4})", dir.display());
    for e in evals {
        let b = &e.binary;
        println!(
            "{:<5} rows {:>8}  precision {:.4}  recall {:.4}  F1 {:.4}  benign FPR {:.5}  ROC-AUC {}  PR-AUC {}  macro F1 {:.4}",
            e.name,
            e.rows,
            b.precision,
            b.recall,
            b.f1,
            b.benign_fpr,
            b.roc_auc.map_or("n/a".into(), |v| format!("{v:.4}")),
            b.pr_auc.map_or("n/a".into(), |v| format!("{v:.4}")),
            e.macro_f1
        );
        if let Some(w) = &e.binary_without_infiltration {
            println!(
                "      without Infiltration: precision {:.4}  recall {:.4}  F1 {:.4}",
                w.precision, w.recall, w.f1
            );
        }
        println!(
            "      reports: {}",
            dir.join(format!("eval-{}.{{json,md,html}}", e.name))
                .display()
        );
    }
}
