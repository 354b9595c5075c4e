//! `ml-ids watch`: live capture (libpcap) or a paced replay → the one flow pipeline → Detector →
//! alert sinks. The work is in the `mlids-watch` crate; this is argument parsing and wiring.

use crate::cmd::flow_options::FlowLimits;
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use mlids_incident::IncidentConfig;
use mlids_model::Detector;
use mlids_watch::queue::Queue;
use mlids_watch::run::WatchConfig;
use mlids_watch::sinks::{
    open_append, FlowsSink, ForwardSink, HttpPoster, LineFormat, LineSink, RetryPolicy,
    WebhookFormat, WebhookSink,
};
use mlids_watch::{Interest, LiveOptions, LiveSource, Outputs, PacketSource, ReplaySource};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum WebhookBody {
    /// ml-ids's JSON: the incident event (`{"type":"incident.opened","source":…,"incident":{…}}`),
    /// or with --webhook-flow-alerts the alert JSON of `--jsonl`.
    #[value(alias = "alert")]
    Json,
    /// The EVE-JSON event of `--eve` (an incident's `alert` or `ml_ids_incident`).
    Eve,
}

/// Capture live traffic, classify flows as they complete and report incidents.
///
/// Packets go through the same flow pipeline as `ml-ids extract` (in the extractor mode the model
/// was trained on) and the same Detector as `ml-ids detect`. Completed flows are classified within
/// a fraction of a second; flows still open after --snapshot-interval seconds are classified as they
/// stand every --snapshot-interval seconds, so a slow DoS is reported before its 120 s active
/// timeout; each flow alerts at most once. In cic2018 mode flows idle for the active timeout (120 s)
/// are expired, which leaves every feature value as the 2018 tool computed it (see docs/watch.md).
///
/// Attack verdicts are grouped into incidents by attacker, attack family and flow time, as in
/// `ml-ids detect`: a port scan of thousands of flows is one incident that opens, reports progress
/// and closes after --incident-timeout seconds without a new attack flow (the clock moves on a
/// quiet link too). Readable lines on stdout (unless --no-stdout) show incidents opening and
/// closing; --incidents writes every incident event as JSON; a Suricata EVE-JSON file gets one
/// `alert` per incident; webhooks get incident events; --forward sends them to a running
/// `ml-ids serve`. Per-flow alerts are there on request: --flow-alerts (stdout, and forwarding
/// to `ml-ids serve`), --eve-flow-alerts, --jsonl, --webhook-flow-alerts. Each sink runs on its own thread behind a bounded queue: a full queue
/// drops the event and counts it, capture never waits. libpcap's drop counters and any sink losses are printed on stderr every
/// --status-interval seconds and in the final summary. Ctrl-C or SIGTERM stops capture, classifies
/// the flows still open and prints the summary (a second Ctrl-C exits at once).
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  sudo ml-ids watch -i eth0 --model models/default
  ml-ids watch -i eth0 --filter 'not port 22' --eve /var/log/ml-ids/eve.json --eve-flows --no-stdout
  ml-ids watch -i eth0 --incidents incidents.jsonl --webhook https://hooks.example.com/ids
  ml-ids watch -i eth0 --forward http://127.0.0.1:8080 --forward-token \"$MLIDS_TOKEN\"
  ml-ids watch --replay capture.pcap --speed 10 --eve eve.json --flows flows.jsonl
  ml-ids watch --replay capture.pcap --speed 0 --report report.json

Capturing needs root or the capabilities cap_net_raw,cap_net_admin:
  sudo setcap cap_net_raw,cap_net_admin=eip \"$(command -v ml-ids)\"
A hardened systemd unit is in packaging/systemd/ml-ids-watch.service; sink formats are described in
docs/watch.md.")]
pub struct WatchArgs {
    /// Network interface to capture on (`any` for all; see `ip link`).
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        required_unless_present = "replay",
        conflicts_with = "replay"
    )]
    pub interface: Option<String>,
    /// BPF capture filter, as for tcpdump (`tcp or udp`, `not port 22`).
    #[arg(long, value_name = "BPF")]
    pub filter: Option<String>,
    /// Model bundle directory.
    #[arg(short, long, default_value = "models/default")]
    pub model: PathBuf,
    /// Read this capture file (pcap, pcapng, gzip) instead of an interface, at its recorded pace.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// Replay speed factor: 1 is the recorded pace, 10 ten times faster, 0 as fast as possible.
    #[arg(long, default_value_t = 1.0, requires = "replay")]
    pub speed: f64,

    /// Do not print readable incident (and --flow-alerts) lines on stdout.
    #[arg(long)]
    pub no_stdout: bool,
    /// Also report every attack flow: a readable line per flow on stdout, and (with --forward)
    /// its alert to `ml-ids serve`'s POST /api/alerts.
    #[arg(long)]
    pub flow_alerts: bool,
    /// An incident closes after this many seconds (flow time) without a new attack flow of its
    /// attacker and family.
    #[arg(long, default_value_t = 120.0, value_name = "SECONDS")]
    pub incident_timeout: f64,
    /// Append every incident event (opened, updated, closed) to this JSON Lines file (`-` for
    /// stdout).
    #[arg(long, value_name = "FILE")]
    pub incidents: Option<PathBuf>,
    /// Append per-flow alerts to this JSON Lines file (one alert object per attack flow; `-` for
    /// stdout).
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,
    /// Append Suricata EVE-JSON events to this file: one `alert` per incident when it opens,
    /// `ml_ids_incident` events when it reports progress and closes.
    #[arg(long, value_name = "FILE")]
    pub eve: Option<PathBuf>,
    /// EVE: also one `alert` per attack flow.
    #[arg(long, requires = "eve")]
    pub eve_flow_alerts: bool,
    /// EVE: also a Suricata `flow` event per classified flow, with the `flow_id` and
    /// `community_id` the alerts carry.
    #[arg(long, requires = "eve")]
    pub eve_flows: bool,
    /// POST each incident opening and closing to this URL (repeatable), retrying
    /// 5xx/429/network errors with back-off.
    #[arg(long, value_name = "URL")]
    pub webhook: Vec<String>,
    /// Body of webhook requests.
    #[arg(long, value_enum, default_value_t = WebhookBody::Json)]
    pub webhook_format: WebhookBody,
    /// Webhooks: also POST incidents' progress reports (at most one per incident per 5 s of flow
    /// time).
    #[arg(long)]
    pub webhook_updates: bool,
    /// Webhooks: POST every attack flow's alert instead of incidents.
    #[arg(long)]
    pub webhook_flow_alerts: bool,
    /// Extra header on webhook requests (`Name: value`, repeatable), e.g. an API key.
    #[arg(long = "webhook-header", value_name = "NAME: VALUE")]
    pub webhook_headers: Vec<String>,
    /// Forward incidents to a running `ml-ids serve` (its base URL, e.g. http://127.0.0.1:8080):
    /// every incident event (opened, updated, closed) is POSTed to URL/api/incidents, so the
    /// server's GET /api/incidents, WebSocket and web UI show this sensor's incidents; with
    /// --flow-alerts every attack flow's alert goes to URL/api/alerts as well.
    #[arg(long, value_name = "URL")]
    pub forward: Option<String>,
    /// Bearer token of the server given by --forward.
    #[arg(long, env = "MLIDS_TOKEN", hide_env_values = true)]
    pub forward_token: Option<String>,
    /// Append every classified flow with its verdict to this JSON Lines file.
    #[arg(long, value_name = "FILE")]
    pub flows: Option<PathBuf>,
    /// Write the final summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Room in each sink's queue; events beyond it are dropped and counted.
    #[arg(long, default_value_t = 4096)]
    pub queue: usize,
    /// Seconds the sinks get to deliver queued alerts at exit.
    #[arg(long, default_value_t = 5.0)]
    pub drain_timeout: f64,

    /// Decision threshold on the attack score (default: the bundle's).
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Top contributing features attached to each alert (0: none).
    #[arg(long, default_value_t = 3)]
    pub explain: usize,
    /// Seconds between classifications of still-open flows (0: only completed flows).
    #[arg(long, default_value_t = 10.0)]
    pub snapshot_interval: f64,
    /// Open flows younger than this many seconds are not snapshot (default: --snapshot-interval).
    #[arg(long)]
    pub snapshot_min_age: Option<f64>,
    #[command(flatten)]
    pub limits: FlowLimits,

    /// Bytes kept of each packet (headers suffice for the features).
    #[arg(long, default_value_t = 65535)]
    pub snaplen: i32,
    /// libpcap kernel buffer in MiB: headroom against drops during bursts.
    #[arg(long, default_value_t = 32)]
    pub buffer_mb: i32,
    /// Do not put the interface into promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,
    /// Seconds between status lines (packets, libpcap drops, sink losses) on stderr (0: none).
    #[arg(long, default_value_t = 10.0)]
    pub status_interval: f64,
    /// No status lines and no summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

fn secs(s: f64, name: &str) -> Result<Duration> {
    if !(s.is_finite() && s >= 0.0) {
        bail!("--{name} must be a non-negative number of seconds");
    }
    Ok(Duration::from_secs_f64(s))
}

pub fn run(args: WatchArgs) -> Result<()> {
    let mut detector = Detector::load(&args.model)
        .with_context(|| format!("cannot load the model bundle {}", args.model.display()))?;
    if let Some(t) = args.threshold {
        detector.set_threshold(t)?;
    }
    let mode = detector.mode();
    let mut cfg = WatchConfig::new(mode);
    cfg.explain_top = args.explain;
    cfg.meter = args.limits.live_meter_config(mode)?;
    cfg.snapshot_every_us = secs(args.snapshot_interval, "snapshot-interval")?.as_micros() as i64;
    cfg.snapshot_min_age_us = match args.snapshot_min_age {
        Some(s) => secs(s, "snapshot-min-age")?.as_micros() as i64,
        None => cfg.snapshot_every_us,
    };
    let status_every = secs(args.status_interval, "status-interval")?;
    cfg.status_every = if args.quiet {
        Duration::ZERO
    } else {
        status_every
    };
    cfg.drain_grace = secs(args.drain_timeout, "drain-timeout")?;
    cfg.incidents = IncidentConfig::with_idle_timeout_secs(args.incident_timeout)
        .map_err(|e| anyhow::anyhow!("--incident-timeout {e}"))?;

    let outputs = sinks(&args, mode)?;
    let mut source = open_source(&args)?;
    // Ctrl-C / SIGTERM set the flag; a second one while it is set exits at once.
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone())
            .context("cannot install the signal handler")?;
        signal_hook::flag::register(sig, stop.clone())
            .context("cannot install the signal handler")?;
    }

    if !args.quiet {
        eprintln!(
            "ml-ids watch: {} with model {} ({mode} mode, threshold {:.4}); {} sink(s); Ctrl-C stops",
            match (&args.interface, &args.replay) {
                (Some(i), _) => format!(
                    "capturing on {i}{}",
                    args.filter
                        .as_deref()
                        .map(|f| format!(" (filter '{f}')"))
                        .unwrap_or_default()
                ),
                (_, Some(p)) => format!("replaying {} at speed {}", p.display(), args.speed),
                _ => unreachable!(),
            },
            args.model.display(),
            detector.threshold(),
            outputs.len(),
        );
    }
    let quiet = args.quiet;
    let report = mlids_watch::run(source.as_mut(), &detector, &cfg, outputs, &stop, &mut |s| {
        if !quiet {
            eprintln!("{s}");
        }
    })?;
    if !args.quiet {
        eprint!("{report}");
    }
    if let Some(p) = &args.report {
        let text = serde_json::to_string_pretty(&report.to_json())?;
        std::fs::write(p, text + "\n").with_context(|| format!("cannot write {}", p.display()))?;
    }
    if let Some(e) = &report.error {
        bail!("{e} (flows seen before the error were classified; see the summary above)");
    }
    Ok(())
}

/// A line sink on `path` (appended to; `-` is stdout).
fn line_sink(
    outputs: &mut Outputs,
    interest: Interest,
    name: &str,
    path: &std::path::Path,
    format: LineFormat,
    cap: usize,
) -> Result<()> {
    let out = open_append(path)?;
    outputs.add(
        interest,
        Queue::spawn(
            format!("{name} {}", path.display()),
            cap,
            256,
            Box::new(LineSink::new(out, format)),
        ),
    );
    Ok(())
}

/// The sinks the options ask for, each with the events it wants.
fn sinks(args: &WatchArgs, mode: mlids_flow::Mode) -> Result<Outputs> {
    let cap = args.queue.max(1);
    let policy = RetryPolicy::default();
    let mut outputs = Outputs::default();
    if !args.no_stdout {
        let interest = Interest {
            flow_alerts: args.flow_alerts,
            ..Interest::incidents()
        };
        outputs.add(
            interest,
            Queue::spawn("stdout", cap, 256, Box::new(LineSink::stdout())),
        );
    }
    if let Some(p) = &args.incidents {
        let i = Interest::incidents_with_updates();
        line_sink(&mut outputs, i, "incidents", p, LineFormat::Incident, cap)?;
    }
    if let Some(p) = &args.jsonl {
        let i = Interest::flow_alerts();
        line_sink(&mut outputs, i, "jsonl", p, LineFormat::Alert, cap)?;
    }
    if let Some(p) = &args.eve {
        let interest = Interest {
            flow_alerts: args.eve_flow_alerts,
            flows: args.eve_flows,
            ..Interest::incidents_with_updates()
        };
        // Every flow's event shares this queue with the alerts: room for a burst of flows.
        let cap = if args.eve_flows { cap.max(16_384) } else { cap };
        line_sink(&mut outputs, interest, "eve", p, LineFormat::Eve, cap)?;
    }
    let headers = args
        .webhook_headers
        .iter()
        .map(|h| match h.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => bail!("--webhook-header '{h}': expected `Name: value`"),
        })
        .collect::<Result<Vec<_>>>()?;
    let webhook_interest = match (args.webhook_flow_alerts, args.webhook_updates) {
        (true, _) => Interest::flow_alerts(),
        (false, true) => Interest::incidents_with_updates(),
        (false, false) => Interest::incidents(),
    };
    let format = match args.webhook_format {
        WebhookBody::Json => WebhookFormat::Json,
        WebhookBody::Eve => WebhookFormat::Eve,
    };
    for url in &args.webhook {
        let poster = HttpPoster::new(url, headers.clone(), policy)?;
        outputs.add(
            webhook_interest,
            Queue::spawn(
                format!("webhook {url}"),
                cap,
                1,
                Box::new(WebhookSink::new(poster, format)),
            ),
        );
    }
    if let Some(url) = &args.forward {
        let sink = ForwardSink::new(url, args.forward_token.as_deref(), policy)?;
        // Updates too: the server's list then follows an incident's growth, not only its ends.
        let interest = Interest {
            flow_alerts: args.flow_alerts,
            ..Interest::incidents_with_updates()
        };
        outputs.add(
            interest,
            Queue::spawn(
                format!("forward {}", mlids_watch::sinks::forward_base(url)),
                cap,
                500,
                Box::new(sink),
            ),
        );
    }
    if let Some(p) = &args.flows {
        outputs.add(
            Interest::flows(),
            Queue::spawn(
                format!("flows {}", p.display()),
                cap.max(16_384),
                1024,
                Box::new(FlowsSink::create(p, mode)?),
            ),
        );
    }
    Ok(outputs)
}

/// The live interface or the replayed file.
fn open_source(args: &WatchArgs) -> Result<Box<dyn PacketSource>> {
    Ok(match (&args.interface, &args.replay) {
        (Some(iface), None) => {
            let opts = LiveOptions {
                filter: args.filter.clone(),
                promisc: !args.no_promisc,
                snaplen: args.snaplen.clamp(64, 262_144),
                buffer_bytes: args.buffer_mb.clamp(1, 2047) << 20,
                ..LiveOptions::new(iface)
            };
            Box::new(LiveSource::open(&opts)?)
        }
        (None, Some(path)) => {
            if args.filter.is_some() {
                bail!("--filter applies to live capture only (filter a file with tcpdump -r FILE -w - 'BPF' | …)");
            }
            Box::new(ReplaySource::open(path, args.speed)?)
        }
        _ => bail!("give either -i IFACE or --replay FILE"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        args: WatchArgs,
    }

    /// The forward sink's interest for these extra arguments (after `--replay x.pcap`).
    fn forward_interest(extra: &[&str]) -> Interest {
        let argv = ["watch", "--replay", "x.pcap", "--no-stdout"];
        let cmd = Cmd::try_parse_from(argv.iter().chain(extra)).unwrap();
        let outputs = sinks(&cmd.args, mlids_flow::Mode::Corrected).unwrap();
        let names: Vec<String> = outputs
            .sinks
            .iter()
            .map(|o| o.queue.report().name)
            .collect();
        assert_eq!(names, ["forward http://127.0.0.1:8080"]);
        outputs.sinks[0].interest
    }

    #[test]
    fn forward_sends_incidents_and_per_flow_alerts_only_with_flow_alerts() {
        let base = ["--forward", "http://127.0.0.1:8080/"];
        assert_eq!(forward_interest(&base), Interest::incidents_with_updates());
        let with_alerts = forward_interest(&[base[0], base[1], "--flow-alerts"]);
        assert_eq!(
            with_alerts,
            Interest {
                flow_alerts: true,
                ..Interest::incidents_with_updates()
            }
        );
        assert!(
            Cmd::try_parse_from(["watch", "--replay", "x", "--forward", "not a url"])
                .is_ok_and(|c| sinks(&c.args, mlids_flow::Mode::Corrected).is_err())
        );
    }
}
