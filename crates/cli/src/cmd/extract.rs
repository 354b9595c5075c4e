//! `ml-ids extract`: captures → flow records (CSV, JSON Lines).

use crate::progress;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use mlids_flow::{
    CaptureReader, CsvSink, FlowSink, JsonlSink, Layout, MeterConfig, Mode, NameStyle, Pipeline,
};
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
  ml-ids extract --label 'DoS attacks-Hulk' attack.pcap -o hulk.csv")]
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
    /// Do not print the summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Flow-meter options shared by every command that builds flows.
#[derive(Args, Debug, Clone)]
pub struct FlowOptions {
    /// cic2018: reproduce the CSE-CIC-IDS2018 CICFlowMeter, quirks included; corrected: the repaired
    /// semantics of the 2022 improved release.
    #[arg(long, default_value = "cic2018")]
    pub mode: Mode,
    /// Bound on concurrently open flows; the least recently seen are emitted (as `evicted`) past it.
    #[arg(long)]
    pub max_flows: Option<usize>,
    /// Seconds after a flow's first packet at which it is cut (120 in both modes).
    #[arg(long)]
    pub active_timeout: Option<f64>,
    /// Seconds of silence after which a flow is expired (corrected default 60; cic2018 default none).
    #[arg(long)]
    pub idle_timeout: Option<f64>,
    /// Drop flows with fewer packets (cic2018 default 2, corrected default 1).
    #[arg(long)]
    pub min_packets: Option<u32>,
}

impl FlowOptions {
    pub fn meter_config(&self) -> Result<MeterConfig> {
        let mut cfg = MeterConfig::new(self.mode);
        if let Some(n) = self.max_flows {
            if n == 0 {
                bail!("--max-flows must be at least 1");
            }
            cfg.max_flows = n;
        }
        let secs = |s: f64, name: &str| -> Result<i64> {
            if !(s.is_finite() && s > 0.0) {
                bail!("--{name} must be a positive number of seconds");
            }
            Ok((s * 1e6) as i64)
        };
        if let Some(s) = self.active_timeout {
            cfg.active_timeout_us = secs(s, "active-timeout")?;
        }
        if let Some(s) = self.idle_timeout {
            cfg.idle_timeout_us = Some(secs(s, "idle-timeout")?);
        }
        if let Some(n) = self.min_packets {
            cfg.min_packets = n.max(1);
        }
        Ok(cfg)
    }
}

pub fn run(args: ExtractArgs) -> Result<()> {
    let cfg = args.flow.meter_config()?;
    let style = args.names.unwrap_or(NameStyle::default_for(cfg.mode));
    let layout = Layout::new(cfg.mode, style, args.label.is_some());
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

/// Run the pipeline over several captures into one sink, showing progress. Errors in one capture are
/// recorded in the summary and the remaining captures are still read.
pub fn run_captures(
    captures: &[PathBuf],
    cfg: MeterConfig,
    show_progress: bool,
    sink: &mut dyn FlowSink,
) -> Result<mlids_flow::Summary> {
    let mut pipeline = Pipeline::new(cfg);
    let mut open_errors = Vec::new();
    for path in captures {
        let total = std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        let bar = progress::bytes_bar(total, show_progress);
        bar.set_prefix(path.display().to_string());
        let bar2 = bar.clone();
        let started = Instant::now();
        pipeline.set_progress(Box::new(move |bytes, packets| {
            bar2.set_position(bytes);
            let rate = packets as f64 / started.elapsed().as_secs_f64().max(1e-9);
            bar2.set_message(format!("{packets} packets, {rate:.0} pkt/s"));
        }));
        match CaptureReader::open(path) {
            Ok(mut reader) => match pipeline.run_reader(&mut reader, sink) {
                Ok(()) | Err(mlids_flow::PipelineError::Capture(_)) => {}
                Err(mlids_flow::PipelineError::Sink(e)) => bail!("writing output failed: {e}"),
            },
            Err(e) => open_errors.push(e.to_string()),
        }
        bar.finish_and_clear();
    }
    let mut summary = pipeline
        .finish(sink)
        .map_err(|e| anyhow::anyhow!("writing output failed: {e}"))?;
    summary.errors.extend(open_errors);
    Ok(summary)
}
