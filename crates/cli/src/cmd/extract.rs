//! `ml-ids extract`: captures → flow records (CSV, JSON Lines).

use crate::cmd::flow_options::FlowLimits;
use crate::progress;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use mlids_flow::{CsvSink, FlowSink, JsonlSink, Layout, MeterConfig, Mode, NameStyle};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OutputFormat {
    Csv,
    Jsonl,
    /// The dataset schema of `ml-ids dataset` (snake_case feature columns, cleaned values).
    Parquet,
}

/// Turn captures into bidirectional flows with every CICFlowMeter feature.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  ml-ids extract capture.pcap -o flows.csv
  ml-ids extract --mode corrected --names snake a.pcapng b.pcap.gz -o flows.csv
  tcpdump -i eth0 -w - | ml-ids extract - --format jsonl
  ml-ids extract --label 'DoS attacks-Hulk' attack.pcap -o hulk.csv
  ml-ids extract --community-id capture.pcap -o flows.csv")]
pub struct ExtractArgs {
    /// Capture files (pcap, pcapng, optionally gzip-compressed); `-` reads standard input.
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// Output file (`-` for standard output).
    #[arg(short, long, default_value = "-")]
    pub output: PathBuf,
    #[command(flatten)]
    pub flow: FlowOptions,
    /// Header names: cic2018 (CSE-CIC-IDS2018), snake (the seed API's snake_case) or improved (the
    /// 2022 release). Default: cic2018 in cic2018 mode, improved in corrected mode.
    #[arg(long)]
    pub names: Option<NameStyle>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Csv)]
    pub format: OutputFormat,
    /// Add a Label column with this value (e.g. `Benign`, `DoS attacks-Hulk`).
    #[arg(long)]
    pub label: Option<String>,
    /// Add a Community ID column after Flow ID (CSV and JSON Lines): the flow's Community ID v1,
    /// the key Suricata, Zeek and Elastic records share; empty (null) for flows without one (SCTP).
    #[arg(long)]
    pub community_id: bool,
    /// Do not print the summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// The extractor mode and flow limits of `extract`.
#[derive(Args, Debug, Clone)]
pub struct FlowOptions {
    /// cic2018: reproduce the CSE-CIC-IDS2018 CICFlowMeter, quirks included; corrected: the repaired
    /// semantics of the 2022 improved release.
    #[arg(long, default_value = "cic2018")]
    pub mode: Mode,
    #[command(flatten)]
    pub limits: FlowLimits,
}

pub fn run(args: ExtractArgs) -> Result<()> {
    let cfg = args.flow.limits.meter_config(args.flow.mode)?;
    let style = args.names.unwrap_or(NameStyle::default_for(cfg.mode));
    if args.community_id && matches!(args.format, OutputFormat::Parquet) {
        bail!("--community-id applies to CSV and JSON Lines (the Parquet dataset schema keeps no flow identifiers)");
    }
    let layout =
        Layout::new(cfg.mode, style, args.label.is_some()).with_community_id(args.community_id);
    let open_out = || -> Result<Box<dyn Write + Send>> {
        Ok(if args.output.as_os_str() == "-" {
            Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout()))
        } else {
            let f = File::create(&args.output)
                .with_context(|| format!("cannot create {}", args.output.display()))?;
            Box::new(BufWriter::with_capacity(1 << 16, f))
        })
    };
    let sink: Box<dyn FlowSink + Send> = match args.format {
        OutputFormat::Csv => Box::new(CsvSink::new(open_out()?, layout, args.label.clone())),
        OutputFormat::Jsonl => Box::new(JsonlSink::new(open_out()?, layout, args.label.clone())),
        OutputFormat::Parquet => {
            if args.output.as_os_str() == "-" {
                bail!("--format parquet needs an output file (-o FILE.parquet)");
            }
            let source: Vec<String> = args
                .captures
                .iter()
                .map(|c| c.display().to_string())
                .collect();
            let sink = mlids_dataset::ParquetFlowSink::create(
                &args.output,
                cfg.mode,
                args.label.as_deref(),
                &source.join(","),
            )
            .with_context(|| format!("cannot create {}", args.output.display()))?;
            Box::new(sink)
        }
    };
    // Output formatting runs on its own thread, overlapping with packet processing.
    let mut sink = mlids_flow::sink::ThreadedSink::new(sink);
    let started = Instant::now();
    let summary = run_captures(&args.captures, cfg, !args.quiet, &mut sink)?;
    if !args.quiet {
        eprint!("{summary}");
        eprintln!("elapsed: {:.2}s", started.elapsed().as_secs_f64());
    }
    if !summary.errors.is_empty() {
        bail!(
            "{} input(s) failed; flows from their readable part were written:\n  {}",
            summary.errors.len(),
            summary.errors.join("\n  ")
        );
    }
    Ok(())
}

/// The pipeline's multi-capture driver ([`mlids_flow::run_captures`]) with a progress bar per
/// capture. A capture that fails is recorded in the summary and the remaining ones are still read.
pub fn run_captures(
    captures: &[PathBuf],
    cfg: MeterConfig,
    show_progress: bool,
    sink: &mut dyn FlowSink,
) -> Result<mlids_flow::Summary> {
    let mut bars = progress::CaptureBars::new(show_progress);
    mlids_flow::run_captures(cfg, captures, sink, &mut bars)
        .map_err(|e| anyhow::Error::from_boxed(e).context("writing output failed"))
}
