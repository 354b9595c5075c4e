//! `ml-ids testbed`: labelled captures from real attack tools in network namespaces (mlids-testbed).

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use mlids_flow::Mode;
use mlids_model::Detector;
use mlids_testbed::{catalog, Kind, Scale};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Run the attack testbed and score models on its runs (Linux, root; see docs/testbed.md).
#[derive(Subcommand, Debug)]
pub enum TestbedCommand {
    Run(RunArgs),
    Eval(EvalArgs),
    /// List the scenarios with their labels and tools.
    #[command(after_help = "Example:\n  ml-ids testbed list")]
    List,
    /// Remove the namespaces of runs that were killed before they could clean up.
    #[command(after_help = "Example:\n  sudo ml-ids testbed clean")]
    Clean,
}

/// Build the namespace network, start the victim's services, run benign users and attack tools,
/// capture every packet on the bridge, and write DIR/capture.pcap, DIR/pcaps/SCENARIO.pcap,
/// DIR/flows.csv (labelled; `ml-ids dataset import DIR/flows.csv` reads it) and DIR/manifest.json.
///
/// Needs root and the packages of `testbed/install.sh`. Traffic never leaves the run's namespaces;
/// they are removed at the end, on failure and on Ctrl-C.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  sudo testbed/install.sh
  ml-ids testbed run --scale small -o runs/small
  ml-ids testbed run --scenarios benign,syn-flood,hulk,sqli --seed 7 -o runs/web
  ml-ids testbed run --scale full --mode corrected -o runs/full
  ml-ids testbed run --scale small --stream-to http://127.0.0.1:8080 -o runs/live
  ml-ids testbed run --scale small --victim-delay-ms 20 -o runs/rtt20
  ml-ids testbed run --scale small --victim-delay-ms 20 --victim-loss-pct 0.5 -o runs/lossy

Scenarios (`ml-ids testbed list`): names, or `benign`, `attacks`, `all` (default).")]
pub struct RunArgs {
    /// Output folder.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Scenarios to run (comma-separated names, `benign`, `attacks` or `all`).
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// Seed of every random choice in the scripts (wordlists, think times, request mixes).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// small: a few seconds per attack (CI); full: a minute or more per attack (≥ 200k flows).
    #[arg(long, default_value = "small")]
    pub scale: Scale,
    /// Extractor mode of flows.csv.
    #[arg(long, default_value = "cic2018")]
    pub mode: Mode,
    /// Stream the live capture to a running `ml-ids serve` (POST /api/stream) and record the alerts
    /// it publishes (GET /api/alerts) in DIR/alerts.jsonl and the manifest.
    #[arg(long, value_name = "URL")]
    pub stream_to: Option<String>,
    /// Bearer token of the server.
    #[arg(long, env = "MLIDS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Replace an earlier run in the output folder.
    #[arg(long)]
    pub force: bool,
    /// Delay the victim's replies by this many milliseconds (its round-trip time seen from the
    /// capture point grows by as much), as netem on its link would.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub victim_delay_ms: u32,
    /// Add a uniform 0..MS to each delayed frame (frames keep their order).
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub victim_jitter_ms: u32,
    /// Lose this share of the victim's outgoing frames, in percent (each independently; which
    /// ones follows --seed), as netem's `loss` would: its peers see retransmissions.
    #[arg(long, value_name = "PCT", default_value_t = 0.0, value_parser = parse_loss_pct)]
    pub victim_loss_pct: f64,
}

fn parse_loss_pct(s: &str) -> std::result::Result<f64, String> {
    let pct: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of percent"))?;
    if (0.0..100.0).contains(&pct) {
        Ok(pct)
    } else {
        Err(format!(
            "{pct} is not a loss rate: give 0 or more and below 100"
        ))
    }
}

/// Score a model on a testbed run: detection rate per attack scenario, false-alarm rate per benign
/// scenario. Flows are rebuilt from DIR/capture.pcap in the model's extractor mode. Prints a Markdown
/// table and writes DIR/eval-MODEL.md and DIR/eval-MODEL.json.
#[derive(Args, Debug)]
#[command(after_help = "Example:
  ml-ids testbed eval --model models/testbed-seed1 runs/seed2")]
pub struct EvalArgs {
    /// Model bundle directory.
    #[arg(long)]
    pub model: PathBuf,
    /// Testbed run folder.
    pub dir: PathBuf,
    /// Decision threshold (default: the bundle's).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Fail (exit 1) when an attack scenario's detection rate is below this.
    #[arg(long)]
    pub min_detection: Option<f64>,
    /// Write the JSON report here instead of DIR/eval-MODEL.json.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub fn run(cmd: TestbedCommand) -> Result<()> {
    match cmd {
        TestbedCommand::Run(a) => run_testbed(a),
        TestbedCommand::Eval(a) => eval(a),
        TestbedCommand::List => {
            println!(
                "{:<22} {:<7} {:<26} {:<14} about",
                "scenario", "kind", "label", "tools"
            );
            for s in catalog::CATALOGUE {
                let kind = match s.kind {
                    Kind::Benign => "benign",
                    Kind::Attack => "attack",
                };
                println!(
                    "{:<22} {kind:<7} {:<26} {:<14} {}",
                    s.name,
                    s.label,
                    s.tools.join(","),
                    s.about
                );
            }
            Ok(())
        }
        TestbedCommand::Clean => {
            let cleaned = mlids_testbed::clean_stale().context("cleaning failed")?;
            eprintln!(
                "removed the namespaces of {} stale run(s) {:?}",
                cleaned.len(),
                cleaned
            );
            Ok(())
        }
    }
}

fn run_testbed(a: RunArgs) -> Result<()> {
    let scenarios = catalog::select(&a.scenarios).map_err(anyhow::Error::msg)?;
    let cancel = Arc::new(AtomicBool::new(false));
    let c = cancel.clone();
    ctrlc::set_handler(move || {
        if c.swap(true, Ordering::SeqCst) {
            eprintln!("ml-ids testbed: still cleaning up, please wait");
        } else {
            eprintln!("ml-ids testbed: stopping; the network is being torn down");
        }
    })
    .context("cannot install the Ctrl-C handler")?;
    let opts = mlids_testbed::RunOptions {
        out: a.output.clone(),
        scenarios,
        seed: a.seed,
        scale: a.scale,
        mode: a.mode,
        stream_to: a.stream_to,
        token: a.token.filter(|t| !t.is_empty()),
        force: a.force,
        victim_delay: mlids_testbed::LinkDelay {
            delay_ms: a.victim_delay_ms,
            jitter_ms: a.victim_jitter_ms,
            loss_pct: a.victim_loss_pct,
        },
    };
    std::fs::create_dir_all(&a.output)
        .with_context(|| format!("cannot create {}", a.output.display()))?;
    let m = mlids_testbed::run(&opts, &cancel, &mut |line| eprintln!("testbed: {line}"))?;
    println!(
        "{:<22} {:<26} {:>9} {:>8}",
        "scenario", "label", "packets", "flows"
    );
    for s in &m.scenarios {
        println!(
            "{:<22} {:<26} {:>9} {:>8}",
            s.name, s.label, s.packets, s.flows
        );
    }
    println!(
        "{} flows ({} mode) in {}; {} packets captured, run took {:.0} s",
        m.flows.total,
        m.flows.mode,
        a.output.join(&m.flows.file).display(),
        m.capture.packets,
        m.duration_s
    );
    if let Some(s) = &m.stream {
        println!(
            "stream to {}: {} alerts; per scenario: {:?}",
            s.url, s.alerts, s.alerts_by_scenario
        );
        if let Some(e) = &s.error {
            bail!("streaming failed: {e}");
        }
    }
    Ok(())
}

fn eval(a: EvalArgs) -> Result<()> {
    let mut detector = Detector::load(&a.model)
        .with_context(|| format!("cannot load the model bundle {}", a.model.display()))?;
    if let Some(t) = a.threshold {
        detector.set_threshold(t)?;
    }
    let name = a
        .model
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let report = mlids_testbed::evaluate(&a.dir, &detector, &a.model.display().to_string())?;
    let md = report.to_markdown();
    print!("{md}");
    let json = a
        .json
        .unwrap_or_else(|| a.dir.join(format!("eval-{name}.json")));
    std::fs::write(&json, report.to_json())
        .with_context(|| format!("cannot write {}", json.display()))?;
    std::fs::write(json.with_extension("md"), &md)?;
    if let Some(min) = a.min_detection {
        let low: Vec<String> = report
            .scenarios
            .iter()
            .filter(|s| s.kind == Kind::Attack && s.rate.unwrap_or(0.0) < min)
            .map(|s| format!("{} ({:.1}%)", s.scenario, 100.0 * s.rate.unwrap_or(0.0)))
            .collect();
        if !low.is_empty() {
            bail!(
                "detection rate below {:.1}%: {}",
                100.0 * min,
                low.join(", ")
            );
        }
    }
    Ok(())
}
