//! `ml-ids serve`: the detection server (REST API, pcap upload, streaming ingest, WebSocket alerts,
//! web UI).

use anyhow::{bail, Context, Result};
use clap::Args;
use mlids_model::Detector;
use mlids_server::{AppState, ServerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Serve detections over HTTP: seed-compatible REST predictions, MLflow's scoring-server protocol,
/// pcap upload, streaming ingest, WebSocket alerts and a web UI.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  ml-ids serve --model models/default
  ml-ids serve --model models/default --bind 0.0.0.0:8080 --token \"$(openssl rand -hex 16)\"
  tcpdump -i eth0 -w - | curl -sS -T - -H 'Content-Type: application/vnd.tcpdump.pcap' http://127.0.0.1:8080/api/stream
  curl -sS --data-binary @capture.pcap http://127.0.0.1:8080/api/pcap
  curl -sS -H 'Content-Type: text/csv' --data-binary @flows.csv http://127.0.0.1:8080/invocations
  ml-ids serve --model models/default --nats nats://127.0.0.1:4222
  ml-ids serve --model models/default --nats nats://nats1:4222,nats://nats2:4222 --replicas 3 --ingest-to-bus

Without --token the server only binds loopback addresses. With a token every endpoint (WebSockets and
the UI included) needs `Authorization: Bearer TOKEN` or `?token=TOKEN`.")]
pub struct ServeArgs {
    /// Model bundle directory (manifest.json + model), repeatable; a directory holding bundles
    /// serves each of them. The first is the primary (captures and streams); `/api/predictions`
    /// picks the bundle of the rows' extractor mode, or `?model=NAME` (the bundle's folder name).
    /// Default: the two shipped bundles, models/default (corrected mode, for captures) and
    /// models/cic2018 (for CSE-CIC-IDS2018 rows) when it is there.
    #[arg(short, long)]
    pub model: Vec<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Connections served at once (more are closed on arrival).
    #[arg(long, default_value_t = 768)]
    pub max_connections: usize,
    /// Captures (uploads and streams) ingested at once (more get 503).
    #[arg(long, default_value_t = 64)]
    pub max_captures: usize,
    /// Seconds without progress on a socket read or write before the connection closes (silent
    /// connections, idle keep-alives, stalled senders, a stream silent that long).
    #[arg(long, default_value_t = 120)]
    pub idle_timeout: u64,
    /// An incident closes after this many seconds (flow time) without a new attack flow.
    #[arg(long, default_value_t = 120.0, value_name = "SECONDS")]
    pub incident_timeout: f64,
    /// Host name requests may carry in `Host`/`Origin` besides this host's loopback names
    /// (repeatable): a reverse proxy's public name. Other names are refused (DNS rebinding).
    #[arg(long, value_name = "NAME")]
    pub allow_host: Vec<String>,
    /// Bearer token required on every request; mandatory for non-loopback addresses.
    #[arg(long, env = "MLIDS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Largest pcap upload, in MiB (`/api/stream` has no total limit).
    #[arg(long, default_value_t = 1024)]
    pub max_upload_mb: u64,
    /// Largest JSON/CSV request body, in MiB.
    #[arg(long, default_value_t = 64)]
    pub max_body_mb: usize,
    /// Flows listed in an upload's response (the summary always counts all).
    #[arg(long, default_value_t = 10_000)]
    pub max_response_flows: usize,
    /// NATS URL(s), comma-separated: show the alerts of every `ml-ids worker` and server instance
    /// on the bus, and store this server's alerts there (see `ml-ids worker --help`).
    #[arg(long, value_name = "URL", env = "MLIDS_NATS")]
    pub nats: Option<String>,
    /// With --nats: publish uploaded and streamed captures' flows to the bus for the worker pool
    /// instead of classifying them here.
    #[arg(long, requires = "nats")]
    pub ingest_to_bus: bool,
    /// With --nats: replicas of the JetStream streams if this server creates them.
    #[arg(long, default_value_t = 1, value_name = "N", requires = "nats")]
    pub replicas: usize,
    /// With --nats: this instance's id on the bus (default: host name and port).
    #[arg(long, value_name = "ID", requires = "nats")]
    pub instance_id: Option<String>,
}

pub fn run(args: ServeArgs) -> Result<()> {
    let config = ServerConfig {
        bind: args.bind,
        token: args.token.filter(|t| !t.is_empty()),
        max_body_bytes: args.max_body_mb << 20,
        max_upload_bytes: args.max_upload_mb << 20,
        max_response_flows: args.max_response_flows,
        max_connections: args.max_connections,
        max_captures: args.max_captures,
        idle_timeout: std::time::Duration::from_secs(args.idle_timeout.max(1)),
        incident_timeout_us: mlids_incident::IncidentConfig::with_idle_timeout_secs(
            args.incident_timeout,
        )
        .map_err(|e| anyhow::anyhow!("--incident-timeout {e}"))?
        .idle_timeout_us,
        allowed_hosts: args
            .allow_host
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect(),
        bus: args.nats.as_ref().map(|url| mlids_server::BusConfig {
            url: url.clone(),
            topology: mlids_bus::Topology {
                replicas: args.replicas.max(1),
                ..Default::default()
            },
            ingest_to_bus: args.ingest_to_bus,
            instance_id: args
                .instance_id
                .clone()
                .unwrap_or_else(|| format!("{}-{}", super::sensor::host_id(), args.bind.port())),
        }),
        ..ServerConfig::default()
    };
    if let Err(e) = config.validate() {
        bail!("{e}");
    }
    let models = load_models(&model_paths(&args.model))?;
    let names: Vec<String> = models
        .iter()
        .map(|(n, d)| format!("{n} ({} mode)", d.mode()))
        .collect();
    let state = AppState::with_models(config, models);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime
        .block_on(mlids_server::serve(state, |addr| {
            eprintln!("ml-ids serve: models {}", names.join(", "));
            eprintln!("ml-ids serve: listening on http://{addr}/  (UI at http://{addr}/, API docs at http://{addr}/api/openapi.json)");
        }))
        .with_context(|| format!("cannot serve on {}", args.bind))
}

/// `--model` as given, else the shipped bundles: models/default, and models/cic2018 beside it if
/// present (so the seed's CSE-CIC-IDS2018 rows are answered out of the box).
fn model_paths(given: &[PathBuf]) -> Vec<PathBuf> {
    if !given.is_empty() {
        return given.to_vec();
    }
    let mut paths = vec![PathBuf::from("models/default")];
    let seed = PathBuf::from("models/cic2018");
    if seed.join("manifest.json").is_file() {
        paths.push(seed);
    }
    paths
}

/// The bundles to serve, named by their folder: each `--model` is a bundle (it has a
/// manifest.json) or a folder of bundles. Names must be unique.
fn load_models(paths: &[PathBuf]) -> Result<Vec<(String, Detector)>> {
    let mut dirs = Vec::new();
    for p in paths {
        if p.join("manifest.json").is_file() {
            dirs.push(p.clone());
            continue;
        }
        let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
            .with_context(|| {
                format!(
                    "cannot read {}: not a model bundle or a folder of bundles",
                    p.display()
                )
            })?
            .flatten()
            .map(|e| e.path())
            .filter(|d| d.join("manifest.json").is_file())
            .collect();
        inside.sort();
        if inside.is_empty() {
            bail!(
                "{}: no manifest.json there or in its subfolders (not a model bundle)",
                p.display()
            );
        }
        dirs.extend(inside);
    }
    let mut models: Vec<(String, Detector)> = Vec::new();
    for d in dirs {
        let name = std::fs::canonicalize(&d)
            .unwrap_or_else(|_| d.clone())
            .file_name()
            .map_or_else(
                || d.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
        if models.iter().any(|(n, _)| *n == name) {
            bail!("two model bundles are named '{name}' (the folder name is the model's name)");
        }
        let det = Detector::load(&d)
            .with_context(|| format!("cannot load the model bundle {}", d.display()))?;
        models.push((name, det));
    }
    Ok(models)
}
