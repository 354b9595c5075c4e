//! The server on the NATS JetStream bus (`ml-ids serve --nats URL`), through `mlids-bus`.
//!
//! - Alerts from the bus: each server instance reads the alert stream with its own ordered
//!   consumer (new alerts only), so every instance shows every alert on its WebSocket and UI.
//! - Incidents from the bus: the aggregators' events (`mlids.incidents.>`, merged across sensors
//!   and workers) go to the incident store and the WebSocket like an upload's.
//! - Alerts made here (uploads, streams, POST /api/alerts) are shown at once and also stored in
//!   the alert stream for the other instances; the copy that comes back is recognised by its
//!   `Mlids-Origin` header and not shown twice.
//! - With `ingest_to_bus`, uploaded and streamed captures are turned into flows here and published
//!   to the flow stream for the worker pool instead of being classified in this process.

use crate::alert::Alert;
use crate::state::AppState;
use futures_util::StreamExt;
use mlids_bus::stats::{SensorStats, ServerBusStats};
use mlids_bus::topology::Topology;
use mlids_bus::{BusError, FlowPublisher, OnFull, PublisherConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Header naming the server instance that stored an alert.
const ORIGIN_HEADER: &str = "Mlids-Origin";

/// `serve --nats` settings.
#[derive(Clone, Debug)]
pub struct BusConfig {
    /// NATS URL(s), comma-separated.
    pub url: String,
    pub topology: Topology,
    /// Publish uploaded and streamed captures' flows to the bus instead of classifying them here.
    pub ingest_to_bus: bool,
    /// This instance's id (subject token): `Mlids-Origin` of its alerts and the sensor id of its
    /// ingest-to-bus flows.
    pub instance_id: String,
}

/// The running link, kept in [`AppState::bus`].
pub struct BusLink {
    instance_id: String,
    forward: mpsc::Sender<Alert>,
    publisher: Option<FlowPublisher>,
    stats: ServerBusStats,
}

impl BusLink {
    /// Hand a locally produced alert to the forwarder (never blocks; counted when it cannot).
    pub(crate) fn forward(&self, alert: &Alert) {
        if self.forward.try_send(alert.clone()).is_err() {
            self.stats.alerts_forward_failed.inc();
        }
    }

    pub(crate) fn ingests_to_bus(&self) -> bool {
        self.publisher.is_some()
    }
}

/// Connect, make sure the streams exist, start the alert reader and forwarder, and return the
/// state with the link attached. Does nothing when `state.config.bus` is `None`.
pub async fn attach(mut state: AppState) -> Result<AppState, BusError> {
    let Some(cfg) = state.config.bus.clone() else {
        return Ok(state);
    };
    mlids_bus::check_id("server instance", &cfg.instance_id)?;
    let client = mlids_bus::connect(&cfg.url, &format!("ml-ids serve {}", cfg.instance_id)).await?;
    let topo = cfg.topology.clone();
    let js = topo.context(client);
    let (_, alerts_stream) = topo.ensure(&js, Duration::from_secs(30)).await?;
    let stats = ServerBusStats::default();
    let ingest_stats = SensorStats::default();
    let publisher = if cfg.ingest_to_bus {
        let mut p = PublisherConfig::new(&cfg.instance_id);
        // An upload can wait for room; it must not lose flows.
        p.on_full = OnFull::Block;
        Some(FlowPublisher::start(
            js.clone(),
            &topo,
            p,
            ingest_stats.clone(),
        )?)
    } else {
        None
    };
    state.metrics.register_with(|r| {
        stats.register(r, "mlids_bus");
        if cfg.ingest_to_bus {
            ingest_stats.register(r, "mlids_bus_ingest");
        }
    });
    let (tx, rx) = mpsc::channel::<Alert>(4096);
    tokio::spawn(forward_alerts(
        js.clone(),
        topo.clone(),
        cfg.instance_id.clone(),
        rx,
        stats.clone(),
    ));
    // The readers start before `attach` returns: nothing stored from now on is missed.
    let messages = new_messages(&alerts_stream, topo.all_alerts()).await?;
    let incidents = new_messages(&alerts_stream, topo.all_incidents()).await?;
    let link = Arc::new(BusLink {
        instance_id: cfg.instance_id.clone(),
        forward: tx,
        publisher,
        stats: stats.clone(),
    });
    state.bus = Some(link.clone());
    tokio::spawn(read_alerts(state.clone(), messages, link.clone()));
    tokio::spawn(read_incidents(state.clone(), incidents, link));
    Ok(state)
}

/// This instance's own ordered consumer of `filter`, from the messages stored from now on.
async fn new_messages(
    stream: &mlids_bus::async_nats::jetstream::stream::Stream,
    filter: String,
) -> Result<mlids_bus::async_nats::jetstream::consumer::pull::Ordered, BusError> {
    use mlids_bus::async_nats::jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
    let config = OrderedConfig {
        filter_subject: filter,
        deliver_policy: DeliverPolicy::New,
        ..Default::default()
    };
    let js = |e: &dyn std::fmt::Display| BusError::JetStream(e.to_string());
    let consumer = stream.create_consumer(config).await.map_err(|e| js(&e))?;
    consumer.messages().await.map_err(|e| js(&e))
}

/// Incident events of the aggregators (`ml-ids worker --incidents`): merged across sensors and
/// workers there, shown here like the incidents of an upload.
async fn read_incidents(
    state: AppState,
    mut messages: mlids_bus::async_nats::jetstream::consumer::pull::Ordered,
    link: Arc<BusLink>,
) {
    while let Some(m) = messages.next().await {
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!("incident stream: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        match serde_json::from_slice::<mlids_incident::IncidentEvent>(&m.payload) {
            Ok(event) => {
                link.stats.incident_events_received.inc();
                state.publish_incident(&event);
            }
            Err(e) => tracing::warn!("ignoring a malformed incident event from the bus: {e}"),
        }
    }
}

async fn read_alerts(
    state: AppState,
    mut messages: mlids_bus::async_nats::jetstream::consumer::pull::Ordered,
    link: Arc<BusLink>,
) {
    while let Some(m) = messages.next().await {
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                // The ordered consumer recreates itself after a server failure.
                tracing::warn!("alert stream: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let mine = m
            .headers
            .as_ref()
            .and_then(|h| h.get(ORIGIN_HEADER))
            .is_some_and(|o| o.as_str() == link.instance_id);
        if mine {
            continue;
        }
        match serde_json::from_slice::<Alert>(&m.payload) {
            Ok(alert) => {
                link.stats.alerts_received.inc();
                state.metrics.alert(&alert.label);
                let _ = state.alerts.send(Arc::new(alert));
            }
            Err(e) => tracing::warn!("ignoring a malformed alert from the bus: {e}"),
        }
    }
}

async fn forward_alerts(
    js: mlids_bus::async_nats::jetstream::Context,
    topo: Topology,
    instance: String,
    mut rx: mpsc::Receiver<Alert>,
    stats: ServerBusStats,
) {
    let subject = topo.alerts_subject(&instance);
    let start = mlids_bus::now_us();
    let n = AtomicU64::new(0);
    while let Some(alert) = rx.recv().await {
        let Ok(body) = serde_json::to_vec(&alert) else {
            stats.alerts_forward_failed.inc();
            continue;
        };
        let mut h = mlids_bus::async_nats::HeaderMap::new();
        let id = format!("a.{instance}.{start}.{}", n.fetch_add(1, Ordering::Relaxed));
        h.insert(mlids_bus::async_nats::header::NATS_MESSAGE_ID, id.as_str());
        h.insert(ORIGIN_HEADER, instance.as_str());
        let r = async {
            js.publish_with_headers(subject.clone(), h, body.into())
                .await
                .map_err(|e| e.to_string())?
                .await
                .map_err(|e| e.to_string())
        };
        match r.await {
            Ok(_) => {
                stats.alerts_forwarded.inc();
            }
            Err(e) => {
                tracing::warn!("cannot store an alert in the alert stream: {e}");
                stats.alerts_forward_failed.inc();
            }
        }
    }
}

/// With `ingest_to_bus`, the sink an upload's flows go to: the flow stream (nothing is classified
/// here: the verdicts come back as alerts).
pub(crate) fn flow_sink(
    link: &BusLink,
    mode: mlids_flow::Mode,
) -> Result<mlids_bus::BusSink, crate::error::ApiError> {
    let publisher = link.publisher.as_ref().ok_or_else(|| {
        crate::error::ApiError::Internal("the bus publisher is not running".into())
    })?;
    Ok(publisher.sink(mode))
}
