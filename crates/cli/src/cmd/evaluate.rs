//! `ml-ids evaluate`: a model bundle on a labelled split → metrics (JSON, Markdown, HTML).

use anyhow::{Context, Result};
use clap::Args;
use mlids_model::bundle::Bundle;
use mlids_train::report;
use mlids_train::train::{evaluate_probs, load_in_scope, predict};
use std::path::PathBuf;

/// Evaluate a model on a labelled dataset split.
///
/// Prints a Markdown summary on stdout (or JSON with --json) and writes PREFIX.json, PREFIX.md and
/// PREFIX.html (a self-contained report with the PR curve and the confusion matrix). The split must
/// come from the extractor mode the model was trained on and hold every feature it uses.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  ml-ids evaluate --model models/gbdt-binary --data data/cic/test.parquet
  ml-ids evaluate --model models/gbdt-binary --data data/other-site --threshold 0.8 -o reports/other-site
  ml-ids evaluate --model models/gbdt-multi --data data/cic/val.parquet --json > val.json")]
pub struct EvaluateArgs {
    /// Model bundle directory.
    #[arg(long)]
    pub model: PathBuf,
    /// A dataset split (.parquet), or a dataset directory (its test.parquet is used).
    #[arg(long)]
    pub data: PathBuf,
    /// Report the threshold that reaches this recall.
    #[arg(long, default_value_t = 0.99)]
    pub target_recall: f64,
    /// Evaluate at this decision threshold instead of the bundle's.
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Report prefix (default: MODEL/eval-STEM, e.g. models/x/eval-test).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: EvaluateArgs) -> Result<()> {
    let bundle = Bundle::load(&args.model)?;
    let m = &bundle.manifest;
    let data = if args.data.is_dir() {
        args.data.join("test.parquet")
    } else {
        args.data.clone()
    };
    // A bundle trained on the flow model's scope is evaluated on it: the other rows are what the
    // host-behaviour stage judges, which needs flows with addresses and times, not rows.
    let in_scope = m.preprocessing.model_scope.is_some();
    let (table, out_of_scope) = load_in_scope(&data, m.mode()?, &m.features, in_scope)
        .with_context(|| format!("loading {}", data.display()))?;
    if out_of_scope > 0 {
        eprintln!(
            "{out_of_scope} rows outside the flow model's scope (not answered conversations) are not scored: the host-behaviour stage judges those flows"
        );
    }
    let probs = predict(bundle.model.as_ref(), &table)?;
    let mut rule = m.decision_rule();
    if let Some(t) = args.threshold {
        anyhow::ensure!((0.0..=1.0).contains(&t), "--threshold must be in [0, 1]");
        rule.threshold = t;
    }
    let stem = data
        .file_stem()
        .map_or("data".into(), |s| s.to_string_lossy().into_owned());
    let e = evaluate_probs(
        &stem,
        &rule,
        &m.label_names(),
        &probs,
        &table,
        m.task,
        args.target_recall,
    );
    let prefix = args
        .output
        .clone()
        .unwrap_or_else(|| args.model.join(format!("eval-{stem}")));
    if let Some(parent) = prefix.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let written = report::write_all(
        &e,
        &prefix,
        &format!(
            "ml-ids model {} on {}",
            args.model.display(),
            data.display()
        ),
    )?;
    if args.json {
        print!("{}", report::json(&e)?);
    } else {
        print!("{}", report::markdown(&e));
    }
    eprintln!(
        "reports: {}",
        written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
