//! `ml-ids sensor`: the flow pipeline at a capture point, publishing flows to NATS JetStream. The
//! work is in the `mlids-bus` crate; this is argument parsing and wiring.

use crate::cmd::flow_options::FlowLimits;
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use mlids_bus::stats::SensorStats;
use mlids_bus::{FlowPublisher, OnFull, PublisherConfig, SensorConfig, Topology};
use mlids_flow::live::{LiveOptions, LiveSource};
use mlids_flow::Mode;
use mlids_flow::{PacketSource, ReplaySource};
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// Where the bus is and how its streams are created (shared by sensor, worker and serve).
#[derive(Args, Debug, Clone)]
pub struct BusArgs {
    /// NATS server URL(s), comma-separated (`nats://10.0.0.5:4222,nats://10.0.0.6:4222`); the
    /// client learns the rest of the cluster and reconnects elsewhere when a server goes away.
    #[arg(long, value_name = "URL", env = "MLIDS_NATS")]
    pub nats: String,
    /// Replicas of the JetStream streams when this process creates them (3 in a 3-node cluster;
    /// existing streams keep their settings).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub replicas: usize,
    /// JetStream de-duplication window, seconds: redeliveries and publish retries within it are
    /// recognised as duplicates. Must be well above the workers' --ack-wait.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    pub duplicate_window: u64,
}

impl BusArgs {
    pub fn topology(&self) -> Topology {
        Topology {
            replicas: self.replicas.max(1),
            duplicate_window: Duration::from_secs(self.duplicate_window.max(1)),
            ..Topology::default()
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OnFullArg {
    /// Drop new batches and count them (default for -i: capture never waits).
    Drop,
    /// Wait for room (default for --replay: a replay slows down and loses nothing).
    Block,
}

/// Run the flow pipeline at a capture point and publish finished flows to NATS JetStream, where a
/// pool of `ml-ids worker`s classifies them.
///
/// Flows are computed exactly as by `ml-ids extract` (the same pipeline; --mode must match the
/// workers' model) and published in batches in a compact binary encoding (see docs/scale-out.md).
/// Every flow has a stable id SENSOR.RUN.SEQ; batches carry `Nats-Msg-Id` SENSOR.RUN.FIRST_SEQ, so
/// a retried publish is never stored twice. While NATS cannot take them, flows wait in a buffer of
/// --buffer flows; when it is full, new flows are dropped and counted (--on-full drop) or the
/// reader waits (--on-full block). Counters are printed every --stats-interval seconds, served at
/// --metrics, and summarised at the end. Ctrl-C or SIGTERM stops capture, flushes the open flows
/// and waits up to --drain-timeout for their publication.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  sudo ml-ids sensor -i eth0 --nats nats://nats1:4222,nats://nats2:4222 --sensor-id dmz-1
  ml-ids sensor -i eth0 --filter 'not port 4222' --nats nats://127.0.0.1:4222 --metrics 127.0.0.1:9101
  ml-ids sensor --replay capture.pcap --nats nats://127.0.0.1:4222 --sensor-id lab
  ml-ids sensor --replay day1.pcap.gz --speed 10 --mode corrected --nats nats://127.0.0.1:4222

Start workers to classify what sensors publish:
  ml-ids worker --nats nats://127.0.0.1:4222 --model models/default
Capturing needs root or cap_net_raw,cap_net_admin (see `ml-ids watch --help`). Exclude the
sensor's own NATS traffic from the capture when it crosses the monitored interface.")]
pub struct SensorArgs {
    /// Network interface to capture on.
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        required_unless_present = "replay",
        conflicts_with = "replay"
    )]
    pub interface: Option<String>,
    /// BPF capture filter for -i, as for tcpdump.
    #[arg(long, value_name = "BPF", requires = "interface")]
    pub filter: Option<String>,
    /// Read this capture file (pcap, pcapng, gzip) instead of an interface.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// Replay speed: 1 the recorded pace, 10 ten times faster, 0 as fast as possible.
    #[arg(long, default_value_t = 0.0, requires = "replay")]
    pub speed: f64,
    #[command(flatten)]
    pub bus: BusArgs,
    /// This sensor's id: the subject token `mlids.flows.ID` and the prefix of every flow id
    /// (A-Z a-z 0-9 - _). Default: the host name.
    #[arg(long, value_name = "ID")]
    pub sensor_id: Option<String>,
    /// Run number distinguishing restarts of the same sensor id (default: start time in µs).
    /// Reusing a run number within the de-duplication window makes JetStream drop its batches as
    /// duplicates: only do it to resend the same capture.
    #[arg(long, value_name = "N")]
    pub run_id: Option<u64>,
    /// Feature extractor mode (must be the workers' model's mode).
    #[arg(long, default_value = "cic2018")]
    pub mode: Mode,
    #[command(flatten)]
    pub limits: FlowLimits,
    /// Flows per message.
    #[arg(long, default_value_t = 256, value_name = "FLOWS")]
    pub batch: usize,
    /// Longest wait for a batch to fill, milliseconds.
    #[arg(long, default_value_t = 100, value_name = "MS")]
    pub linger_ms: u64,
    /// Flows that may wait for publication before --on-full applies.
    #[arg(long, default_value_t = 100_000, value_name = "FLOWS")]
    pub buffer: usize,
    /// Batches awaiting their publish acknowledgement at once.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub max_inflight: usize,
    /// What to do when the buffer is full (default: drop for -i, block for --replay).
    #[arg(long, value_enum)]
    pub on_full: Option<OnFullArg>,
    /// At the end, how long unacknowledged flows may still be retried before they count as lost.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub drain_timeout: u64,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// Print a stats line on stderr every N seconds (0: never).
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub stats_interval: u64,
    /// Print the final report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The host name as an id: `sensor` when it has no usable characters.
pub fn host_id() -> String {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let id: String = h
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if id.is_empty() {
        "sensor".into()
    } else {
        id
    }
}

/// SIGINT/SIGTERM set the flag; a second one exits at once.
pub fn stop_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone())
            .context("cannot install the signal handler")?;
        signal_hook::flag::register(sig, stop.clone())
            .context("cannot install the signal handler")?;
    }
    Ok(stop)
}

pub fn run(args: SensorArgs) -> Result<()> {
    let sensor_id = args.sensor_id.clone().unwrap_or_else(host_id);
    let live = args.interface.is_some();
    let mut pcfg = PublisherConfig::new(&sensor_id);
    if let Some(r) = args.run_id {
        pcfg.run = r;
    }
    pcfg.batch_flows = args.batch;
    pcfg.linger = Duration::from_millis(args.linger_ms);
    pcfg.buffer_flows = args.buffer;
    pcfg.max_inflight = args.max_inflight;
    pcfg.drain_timeout = Duration::from_secs(args.drain_timeout);
    pcfg.on_full = match args.on_full {
        Some(OnFullArg::Drop) => OnFull::Drop,
        Some(OnFullArg::Block) => OnFull::Block,
        None if live => OnFull::Drop,
        None => OnFull::Block,
    };
    pcfg.validate()?;
    // Live capture expires idle flows (as `watch` does); a replay computes exactly what `extract`
    // and `detect` compute from the same file.
    let mut scfg = SensorConfig::new(args.mode);
    scfg.meter = if live {
        args.limits.live_meter_config(args.mode)?
    } else {
        args.limits.meter_config(args.mode)?
    };
    scfg.status_every = Duration::from_secs(args.stats_interval);
    let topology = args.bus.topology();
    let stop = stop_flag()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        let client =
            mlids_bus::connect(&args.bus.nats, &format!("ml-ids sensor {sensor_id}")).await?;
        let js = topology.context(client);
        topology.ensure(&js, Duration::from_secs(30)).await?;
        let stats = SensorStats::default();
        if let Some(addr) = args.metrics {
            let mut reg = Registry::default();
            stats.register(&mut reg, "mlids_sensor");
            let bound = mlids_bus::metrics_http::serve(addr, Arc::new(reg)).await?;
            eprintln!("ml-ids sensor: metrics at http://{bound}/metrics");
        }
        let publisher = FlowPublisher::start(js, &topology, pcfg, stats.clone())?;
        let mut sink = publisher.sink(args.mode);
        let (iface, filter, replay, speed) = (
            args.interface.clone(),
            args.filter.clone(),
            args.replay.clone(),
            args.speed,
        );
        let stop2 = stop.clone();
        let status_stats = stats.clone();
        let id = sensor_id.clone();
        let capture = tokio::task::spawn_blocking(move || -> Result<mlids_flow::Summary> {
            let mut source: Box<dyn PacketSource> = match (iface, replay) {
                (Some(i), _) => {
                    let mut o = LiveOptions::new(i);
                    o.filter = filter;
                    Box::new(LiveSource::open(&o)?)
                }
                (None, Some(p)) => Box::new(
                    ReplaySource::open(&p, speed)
                        .with_context(|| format!("cannot open {}", p.display()))?,
                ),
                (None, None) => unreachable!("clap requires -i or --replay"),
            };
            eprintln!("ml-ids sensor {id}: reading {}", source.name());
            let summary = mlids_bus::run_sensor(&mut *source, &mut sink, &scfg, &stop2, |s| {
                eprintln!(
                    "ml-ids sensor {id}: packets={} flows={} {}",
                    s.packets_read,
                    s.flows_emitted(),
                    status_stats.line()
                )
            })?;
            Ok(summary)
        });
        let summary = capture.await.context("the capture thread failed")??;
        eprint!("{summary}");
        eprintln!(
            "ml-ids sensor {sensor_id}: capture done; publishing the rest (up to {} s)",
            args.drain_timeout
        );
        let report = publisher.close().await;
        Ok::<_, anyhow::Error>(report)
    })?;
    eprintln!(
        "ml-ids sensor {}: flows {} = published {} + dropped {} + lost {} ({} batches, {} bytes, {} retries, {} duplicate acks)",
        report.sensor_id,
        report.flows_in,
        report.flows_published,
        report.flows_dropped,
        report.flows_lost,
        report.batches_published,
        report.bytes_published,
        report.publish_retries,
        report.flows_duplicate
    );
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    if report.flows_lost > 0 || report.flows_dropped > 0 {
        anyhow::bail!(
            "{} flows were not published (dropped {}, lost {})",
            report.flows_dropped + report.flows_lost,
            report.flows_dropped,
            report.flows_lost
        );
    }
    Ok(())
}
