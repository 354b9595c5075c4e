//! `ml-ids worker`: one member of the pool classifying what sensors publish. The work is in the
//! `mlids-bus` crate; this is argument parsing and wiring.

use super::sensor::{host_id, stop_flag, BusArgs};
use anyhow::{Context, Result};
use clap::Args;
use mlids_bus::stats::{AggregatorStats, LatencyHistogram, WorkerStats};
use mlids_bus::{AggregatorConfig, WorkerConfig, WorkerModel};
use mlids_incident::IncidentConfig;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Classify flows from the bus: a member of a worker pool sharing one durable JetStream consumer.
///
/// Each flow batch goes to one worker; it is classified through the same Detector as `ml-ids
/// detect`, its verdict record (every flow) and alerts (attack flows) are stored in the alert
/// stream, and only then is the batch acknowledged. A worker that dies leaves its unacknowledged
/// batches to the others after --ack-wait; the results it may already have stored carry stable
/// ids (derived from the flow ids), so the redelivery produces no duplicates. Start as many
/// workers as the flow rate needs (see docs/scale-out.md); they may come and go at any time.
///
/// With --incidents the worker also aggregates incidents: it reads the attack verdicts every
/// worker stores and groups them into incidents (attacker, family, time), merged across sensors
/// and workers, stored on `mlids.incidents.<family>` — what `ml-ids serve --nats` shows. One
/// aggregator is enough; two (on different workers) compute the same events and JetStream keeps
/// one copy of each.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  ml-ids worker --nats nats://127.0.0.1:4222 --model models/default
  ml-ids worker --nats nats://nats1:4222,nats://nats2:4222 --model models/default --replicas 3 --metrics 127.0.0.1:9102
  ml-ids worker --nats nats://127.0.0.1:4222 --model models/gbdt-multi --threshold 0.8 --worker-id w7

One worker of the pool also builds the incidents of every sensor:
  ml-ids worker --nats nats://127.0.0.1:4222 --model models/default --incidents

Watch the alerts and incidents in the UI of a server attached to the same bus:
  ml-ids serve --model models/default --nats nats://127.0.0.1:4222")]
pub struct WorkerArgs {
    #[command(flatten)]
    pub bus: BusArgs,
    /// Model bundle directory; sensors must publish flows in its extractor mode.
    #[arg(short, long, default_value = "models/default")]
    pub model: PathBuf,
    /// Override the model's decision threshold.
    #[arg(long, value_name = "P")]
    pub threshold: Option<f64>,
    /// Top contributing features attached to each alert.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub explain_top: usize,
    /// This worker's id in verdict records (default: host name and process id).
    #[arg(long, value_name = "ID")]
    pub worker_id: Option<String>,
    /// The durable consumer the pool shares.
    #[arg(long, default_value = "mlids-workers", value_name = "NAME")]
    pub consumer: String,
    /// Flow batches classified together.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub max_batches: usize,
    /// Seconds before a batch taken by a worker and not acknowledged goes to another worker
    /// (used when this worker creates the consumer).
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub ack_wait: u64,
    /// Seconds of flow time a batch waits for the flows after it before its verdicts are decided,
    /// so that the first flows of a flood or scan are judged with what the later ones revealed
    /// (as `ml-ids detect` does); in wall time at most half of --ack-wait. 0: decide at once.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub hold_back: f64,
    /// Also run an incident aggregator (see above).
    #[arg(long)]
    pub incidents: bool,
    /// An incident closes after this many seconds (flow time; wall time when no attack flow
    /// arrives at all) without a new attack flow of its attacker and family.
    #[arg(
        long,
        default_value_t = 120.0,
        value_name = "SECONDS",
        requires = "incidents"
    )]
    pub incident_timeout: f64,
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

pub fn run(args: WorkerArgs) -> Result<()> {
    let worker_id = args
        .worker_id
        .clone()
        .unwrap_or_else(|| format!("{}-{}", host_id(), std::process::id()));
    let models = WorkerModel::load(&args.model, args.threshold, args.explain_top)
        .with_context(|| format!("cannot load the model bundle {}", args.model.display()))?;
    let mut cfg = WorkerConfig::new(&worker_id);
    cfg.consumer = args.consumer.clone();
    cfg.max_batches = args.max_batches.max(1);
    cfg.ack_wait = Duration::from_secs(args.ack_wait.max(1));
    cfg.hold_back = Duration::try_from_secs_f64(args.hold_back)
        .map_err(|_| anyhow::anyhow!("--hold-back must be a number of seconds ≥ 0"))?;
    let topology = args.bus.topology();
    let aggregator = if args.incidents {
        let config = IncidentConfig::with_idle_timeout_secs(args.incident_timeout)
            .map_err(|e| anyhow::anyhow!("--incident-timeout {e}"))?;
        Some(AggregatorConfig::new(&worker_id, config))
    } else {
        None
    };
    let stop = stop_flag()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        let client =
            mlids_bus::connect(&args.bus.nats, &format!("ml-ids worker {worker_id}")).await?;
        let js = topology.context(client);
        let stats = WorkerStats::default();
        let latency = LatencyHistogram::default();
        let aggregator_stats = AggregatorStats::default();
        if let Some(addr) = args.metrics {
            let mut reg = Registry::default();
            stats.register(&mut reg, "mlids_worker");
            latency.register(&mut reg, "mlids_worker");
            if aggregator.is_some() {
                aggregator_stats.register(&mut reg, "mlids_incident_aggregator");
            }
            let bound = mlids_bus::metrics_http::serve(addr, Arc::new(reg)).await?;
            eprintln!("ml-ids worker: metrics at http://{bound}/metrics");
        }
        if args.stats_interval > 0 {
            let (s, id, every, stop) = (
                stats.clone(),
                worker_id.clone(),
                Duration::from_secs(args.stats_interval),
                stop.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(every).await;
                    eprintln!("ml-ids worker {id}: {}", s.line());
                }
            });
        }
        eprintln!(
            "ml-ids worker {worker_id}: model {} ({} features), consumer {}",
            args.model.display(),
            models.detector.mode(),
            cfg.consumer
        );
        let aggregating = aggregator.map(|a| {
            eprintln!(
                "ml-ids worker {worker_id}: aggregating incidents (consumer {})",
                a.consumer_name()
            );
            let (js, topology, s, stop) = (
                js.clone(),
                topology.clone(),
                aggregator_stats.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                let r = mlids_bus::run_incident_aggregator(js, &topology, a, s, stop.clone()).await;
                if r.is_err() {
                    // A worker asked to aggregate must not go on silently without it.
                    stop.store(true, Ordering::Relaxed);
                }
                r
            })
        });
        let report =
            mlids_bus::run_worker(js, &topology, cfg, models, stats, latency, stop).await?;
        if let Some(task) = aggregating {
            task.await.context("the incident aggregator failed")??;
            eprintln!(
                "ml-ids worker {worker_id}: incidents: {}",
                aggregator_stats.line()
            );
        }
        Ok::<_, anyhow::Error>(report)
    })?;
    eprintln!(
        "ml-ids worker {worker_id}: {} batches acked, {} flows classified, {} alerts ({} duplicates dropped), {} redeliveries, {} publish failures, {} malformed, {} mode mismatches",
        report.batches_acked,
        report.flows_classified,
        report.alerts_published,
        report.alerts_duplicate,
        report.redeliveries,
        report.publish_failures,
        report.malformed,
        report.mode_mismatch
    );
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    }
    Ok(())
}
