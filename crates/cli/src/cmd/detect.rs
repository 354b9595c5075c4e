//! `ml-ids detect`: captures → flows (the one flow pipeline) → Detector → flows with verdicts.

use crate::cmd::extract::run_captures;
use crate::cmd::flow_options::FlowLimits;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use mlids_flow::{Layout, Mode, NameStyle};
use mlids_incident::{EventKind, Incident, IncidentConfig, IncidentSink};
use mlids_model::output::{AttacksOnly, Tally, VerdictCsvWriter, VerdictJsonlWriter};
use mlids_model::{Detector, DetectorSink, Explain, VerdictSink};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum VerdictFormat {
    Csv,
    Jsonl,
}

/// Extract flows from captures and classify them with a model bundle.
///
/// Flows are built exactly as `ml-ids extract` builds them, in the extractor mode the model was
/// trained on, and classified in batches. With -o, every flow is written with its verdict
/// (Prediction, Attack Score, Is Attack, Top Features, Stage, Evidence); a summary (flows, attacks by label, top
/// attacker and victim addresses) is printed at the end. JSON Lines output carries each flow's
/// Community ID; CSV gets it as a column with --community-id.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  ml-ids detect capture.pcap --model models/gbdt-binary
  ml-ids detect --model models/gbdt-multi day1.pcapng day2.pcap.gz -o flows.csv
  ml-ids detect --model models/gbdt-binary --attacks-only -o alerts.jsonl capture.pcap
  tcpdump -i eth0 -w - | ml-ids detect - --model models/gbdt-binary -o - --format jsonl")]
pub struct DetectArgs {
    /// Capture files (pcap, pcapng, optionally gzip-compressed); `-` reads standard input.
    #[arg(required = true)]
    pub captures: Vec<PathBuf>,
    /// Model bundle directory.
    #[arg(long)]
    pub model: PathBuf,
    /// Write flows with verdicts here (`-` for standard output). Without it only the summary is printed.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Output format (default: from the file extension, else csv).
    #[arg(long, value_enum)]
    pub format: Option<VerdictFormat>,
    /// Header names: cic2018, snake or improved (default: the mode's natural style).
    #[arg(long)]
    pub names: Option<NameStyle>,
    /// Add a Community ID column after Flow ID to the CSV output (JSON Lines always carry
    /// `community_id`): the key Suricata, Zeek and Elastic records share.
    #[arg(long)]
    pub community_id: bool,
    /// Write only flows classified as attacks.
    #[arg(long)]
    pub attacks_only: bool,
    /// Decision threshold on the attack score (default: the bundle's).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Top contributing features per verdict (0: none, faster).
    #[arg(long, default_value_t = 3)]
    pub explain: usize,
    /// Extractor mode; must equal the model's (default: the model's).
    #[arg(long)]
    pub mode: Option<Mode>,
    /// Write the incidents (attack verdicts grouped by attacker, family and time) here as JSON
    /// Lines, one closed incident per line, in the order they began (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    pub incidents: Option<PathBuf>,
    /// An incident closes after this many seconds (flow time) without a new attack flow of its
    /// attacker and family.
    #[arg(long, default_value_t = 120.0, value_name = "SECONDS")]
    pub incident_timeout: f64,
    /// Leave out the host-behaviour stage (scans, floods, reflection, brute force): only the flow
    /// classifier judges, and only the conversations it was trained on.
    #[arg(long)]
    pub no_host_stage: bool,
    #[command(flatten)]
    pub limits: FlowLimits,
    /// Do not print the packet accounting and progress.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(args: DetectArgs) -> Result<()> {
    let mut detector = Detector::load(&args.model)?;
    let mode = detector.mode();
    if let Some(m) = args.mode {
        if m != mode {
            bail!("--mode {m}: the model {} was trained on {mode}-mode features; flows must be extracted in {mode} mode", args.model.display());
        }
    }
    if let Some(t) = args.threshold {
        detector.set_threshold(t)?;
    }
    let cfg = args.limits.meter_config(mode)?;
    let layout = Layout::new(
        mode,
        args.names.unwrap_or(NameStyle::default_for(mode)),
        false,
    )
    .with_community_id(args.community_id);
    let to_stdout = args.output.as_ref().is_some_and(|p| p.as_os_str() == "-");
    let writer: Option<Box<dyn VerdictSink>> = match &args.output {
        None => None,
        Some(path) => {
            let format = args.format.unwrap_or(
                if path
                    .extension()
                    .is_some_and(|e| e == "jsonl" || e == "json")
                {
                    VerdictFormat::Jsonl
                } else {
                    VerdictFormat::Csv
                },
            );
            let out: Box<dyn Write> = if to_stdout {
                Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout().lock()))
            } else {
                let f = File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                Box::new(BufWriter::with_capacity(1 << 16, f))
            };
            let w: Box<dyn VerdictSink> = match format {
                VerdictFormat::Csv => Box::new(VerdictCsvWriter::new(out, layout)),
                VerdictFormat::Jsonl => Box::new(VerdictJsonlWriter::new(out, layout)),
            };
            Some(if args.attacks_only {
                Box::new(AttacksOnly(w))
            } else {
                w
            })
        }
    };
    let incident_config = IncidentConfig::with_idle_timeout_secs(args.incident_timeout)
        .map_err(|e| anyhow::anyhow!("--incident-timeout {e}"))?;
    let started = Instant::now();
    let mut incidents: Vec<Incident> = Vec::new();
    let collect = |e: &mlids_incident::IncidentEvent| {
        if e.kind == EventKind::Closed {
            incidents.push(e.incident.clone());
        }
        Ok(())
    };
    let stages = IncidentSink::new(&detector, incident_config, Tally::new(writer), collect);
    let mut sink = DetectorSink::new(&detector, stages)
        .hold_back(mlids_model::sink::FILE_HOLD_BACK_US)
        .explain(Explain::all(args.explain));
    if args.no_host_stage {
        sink = sink.hosts(None);
    }
    let summary = run_captures(&args.captures, cfg, !args.quiet, &mut sink)?;
    let stats = sink.inner().inner().stats();
    drop(sink);
    mlids_incident::sort_by_start(&mut incidents);
    if let Some(path) = &args.incidents {
        write_incidents(path, &incidents)?;
    }
    // The summary goes to stderr when the flows go to stdout.
    let mut report = String::new();
    if !args.quiet {
        report.push_str(&summary.to_string());
    }
    report.push_str(&format!(
        "model: {} ({} mode, threshold {:.4})\n",
        args.model.display(),
        mode,
        detector.threshold()
    ));
    report.push_str(&stats.to_string());
    report.push_str(&incident_table(&incidents));
    report.push_str(&format!(
        "elapsed: {:.2}s\n",
        started.elapsed().as_secs_f64()
    ));
    if to_stdout {
        eprint!("{report}");
    } else {
        print!("{report}");
    }
    if !summary.errors.is_empty() {
        bail!(
            "{} input(s) failed; flows from their readable part were classified:\n  {}",
            summary.errors.len(),
            summary.errors.join("\n  ")
        );
    }
    Ok(())
}

/// One JSON object per closed incident.
fn write_incidents(path: &std::path::Path, incidents: &[Incident]) -> Result<()> {
    let mut out: Box<dyn Write> = if path.as_os_str() == "-" {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    } else {
        let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        Box::new(BufWriter::new(f))
    };
    for i in incidents {
        serde_json::to_writer(&mut out, i)?;
        out.write_all(b"\n")?;
    }
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Incidents most severe first (then by start), one line each; at most [`TABLE_ROWS`].
fn incident_table(incidents: &[Incident]) -> String {
    if incidents.is_empty() {
        return "incidents: none\n".into();
    }
    let mut rows: Vec<&Incident> = incidents.iter().collect();
    rows.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.first_seen_us.cmp(&b.first_seen_us))
    });
    let mut t = format!(
        "incidents: {}\n{:<16}  {:<8}  {:<12}  {:<22}  {:<9}  {:>8}  {:>9}  {}\n",
        incidents.len(),
        "id",
        "severity",
        "family",
        "attacker → victims",
        "duration",
        "flows",
        "packets",
        "label"
    );
    for i in rows.iter().take(TABLE_ROWS) {
        let victims = match i.victim_count() {
            1 => i.victims[0].address.to_string(),
            n => format!("{n} hosts"),
        };
        t.push_str(&format!(
            "{:<16}  {:<8}  {:<12}  {:<22}  {:>8.1}s  {:>8}  {:>9}  {}\n",
            i.id,
            i.severity.as_str(),
            i.family,
            match i.attackers {
                Some(n) if n > 1 => format!("{n} sources → {victims}"),
                _ => format!("{} → {victims}", i.attacker),
            },
            i.duration_us() as f64 / 1e6,
            i.flows,
            i.packets,
            i.main_label()
        ));
    }
    if rows.len() > TABLE_ROWS {
        t.push_str(&format!(
            "… {} more (all of them: --incidents FILE)\n",
            rows.len() - TABLE_ROWS
        ));
    }
    t
}

/// Incidents printed in the summary table.
const TABLE_ROWS: usize = 30;
