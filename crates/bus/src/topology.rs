//! Stream and subject names, stream settings, and connecting.
//!
//! Two streams:
//! - `MLIDS_FLOWS` (subjects `mlids.flows.<sensor>`): work-queue retention, so a batch is stored
//!   until one worker acks it and is then removed; `discard: new` when full, so a full stream
//!   pushes back on the sensors (which buffer, then drop and count) instead of deleting flows
//!   no worker has seen.
//! - `MLIDS_ALERTS` (subjects `mlids.alerts.<sensor>`, `mlids.verdicts.<sensor>`,
//!   `mlids.sightings.<sensor>` and `mlids.incidents.<family>`): limits retention with a maximum
//!   age, read by every server instance (each with its own consumer), by the incident
//!   aggregators (sightings in, incidents out) and by anything that audits the accounting.
//!
//! Every component creates missing streams with the same settings (`get_or_create`), so the
//! start order does not matter; an existing stream keeps its settings.

use crate::BusError;
use async_nats::jetstream::{self, stream};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Topology {
    /// Subject prefix (`mlids`): subjects are `PREFIX.flows.SENSOR`, `PREFIX.alerts.SENSOR`,
    /// `PREFIX.verdicts.SENSOR`.
    pub prefix: String,
    pub flows_stream: String,
    pub alerts_stream: String,
    /// Copies of each stream (1 on a single server, 3 in a 3-node cluster).
    pub replicas: usize,
    /// How long JetStream remembers message ids for de-duplication. A redelivered batch must be
    /// reprocessed within this window for its verdicts and alerts to be recognised as duplicates,
    /// so it must exceed the consumer's ack wait by a wide margin.
    pub duplicate_window: Duration,
    /// Largest size of the flow stream in bytes (`None`: unlimited); when full, publishes fail
    /// and sensors buffer.
    pub flows_max_bytes: Option<i64>,
    /// How long alerts and verdict records are kept.
    pub alerts_max_age: Duration,
    /// Timeout of JetStream API requests and publish acks.
    pub request_timeout: Duration,
}

impl Default for Topology {
    fn default() -> Self {
        Topology {
            prefix: "mlids".into(),
            flows_stream: "MLIDS_FLOWS".into(),
            alerts_stream: "MLIDS_ALERTS".into(),
            replicas: 1,
            duplicate_window: Duration::from_secs(10 * 60),
            flows_max_bytes: None,
            alerts_max_age: Duration::from_secs(24 * 3600),
            request_timeout: Duration::from_secs(5),
        }
    }
}

impl Topology {
    pub fn flows_subject(&self, sensor: &str) -> String {
        format!("{}.flows.{sensor}", self.prefix)
    }
    pub fn alerts_subject(&self, sensor: &str) -> String {
        format!("{}.alerts.{sensor}", self.prefix)
    }
    pub fn verdicts_subject(&self, sensor: &str) -> String {
        format!("{}.verdicts.{sensor}", self.prefix)
    }
    pub fn all_alerts(&self) -> String {
        format!("{}.alerts.>", self.prefix)
    }
    pub fn all_verdicts(&self) -> String {
        format!("{}.verdicts.>", self.prefix)
    }
    /// Attack verdicts of one sensor's batches, for the incident aggregators.
    pub fn sightings_subject(&self, sensor: &str) -> String {
        format!("{}.sightings.{sensor}", self.prefix)
    }
    pub fn all_sightings(&self) -> String {
        format!("{}.sightings.>", self.prefix)
    }
    /// Incident events of one family (`PortScan`, `DoS`, …): subscribers filter by family.
    pub fn incidents_subject(&self, family: &str) -> String {
        let token: String = family
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let token = if token.is_empty() {
            "unknown".into()
        } else {
            token
        };
        format!("{}.incidents.{token}", self.prefix)
    }
    pub fn all_incidents(&self) -> String {
        format!("{}.incidents.>", self.prefix)
    }

    pub fn flows_config(&self) -> stream::Config {
        stream::Config {
            name: self.flows_stream.clone(),
            description: Some(
                "ml-ids flow batches from sensors, consumed by the worker pool".into(),
            ),
            subjects: vec![format!("{}.flows.>", self.prefix)],
            retention: stream::RetentionPolicy::WorkQueue,
            storage: stream::StorageType::File,
            num_replicas: self.replicas,
            duplicate_window: self.duplicate_window,
            max_bytes: self.flows_max_bytes.unwrap_or(-1),
            discard: stream::DiscardPolicy::New,
            ..Default::default()
        }
    }

    pub fn alerts_config(&self) -> stream::Config {
        stream::Config {
            name: self.alerts_stream.clone(),
            description: Some(
                "ml-ids alerts, per-flow verdict records and attack sightings from the workers; incident events from the aggregators".into(),
            ),
            subjects: self.alerts_stream_subjects(),
            retention: stream::RetentionPolicy::Limits,
            storage: stream::StorageType::File,
            num_replicas: self.replicas,
            duplicate_window: self.duplicate_window,
            max_age: self.alerts_max_age,
            discard: stream::DiscardPolicy::Old,
            ..Default::default()
        }
    }

    fn alerts_stream_subjects(&self) -> Vec<String> {
        vec![
            self.all_alerts(),
            self.all_verdicts(),
            self.all_sightings(),
            self.all_incidents(),
        ]
    }

    /// A JetStream context with this topology's timeouts.
    pub fn context(&self, client: async_nats::Client) -> jetstream::Context {
        jetstream::ContextBuilder::new()
            .timeout(self.request_timeout)
            .max_ack_inflight(1 << 16)
            .build(client)
    }

    /// Create both streams if missing (retrying for up to `patience` while a freshly started
    /// cluster elects its JetStream leader) and return them.
    pub async fn ensure(
        &self,
        js: &jetstream::Context,
        patience: Duration,
    ) -> Result<(stream::Stream, stream::Stream), BusError> {
        let deadline = Instant::now() + patience;
        loop {
            let attempt = async {
                let flows = js
                    .get_or_create_stream(self.flows_config())
                    .await
                    .map_err(BusError::js)?;
                let alerts = js
                    .get_or_create_stream(self.alerts_config())
                    .await
                    .map_err(BusError::js)?;
                let alerts = self.add_missing_subjects(js, alerts).await?;
                Ok::<_, BusError>((flows, alerts))
            };
            match attempt.await {
                Ok(s) => return Ok(s),
                Err(e) if Instant::now() < deadline => {
                    debug_log(&format!("waiting for JetStream: {e}"));
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Topology {
    /// A stream created by an earlier version lacks the subjects added since (sightings,
    /// incidents): add them, keeping every other setting, so publishing to them does not fail
    /// with "no responders".
    async fn add_missing_subjects(
        &self,
        js: &jetstream::Context,
        mut alerts: stream::Stream,
    ) -> Result<stream::Stream, BusError> {
        let mut config = alerts.cached_info().config.clone();
        let missing: Vec<String> = self
            .alerts_stream_subjects()
            .into_iter()
            .filter(|s| !config.subjects.contains(s))
            .collect();
        if missing.is_empty() {
            return Ok(alerts);
        }
        debug_log(&format!("adding subjects {missing:?} to {}", config.name));
        config.subjects.extend(missing);
        js.update_stream(config).await.map_err(BusError::js)?;
        alerts.info().await.map_err(BusError::js)?;
        Ok(alerts)
    }
}

/// A durable pull consumer on `stream`, created if missing. Like the streams, the consumer's API
/// request times out while a (re)starting cluster elects leaders: retried for up to 30 s rather
/// than failing at startup. Shared by the worker pool and the incident aggregators.
pub(crate) async fn durable_consumer(
    stream: &stream::Stream,
    name: &str,
    config: jetstream::consumer::pull::Config,
) -> Result<jetstream::consumer::PullConsumer, BusError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match stream.get_or_create_consumer(name, config.clone()).await {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() < deadline => {
                debug_log(&format!("creating consumer {name}: {e}; retrying"));
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(BusError::js(e)),
        }
    }
}

/// A pull of up to `batch` messages at a time from `consumer` (heartbeats every 2 s, requests
/// renewed every 10 s); `None` after a failed request and a short pause, to be tried again.
pub(crate) async fn pull(
    consumer: &jetstream::consumer::PullConsumer,
    batch: usize,
) -> Option<jetstream::consumer::pull::Stream> {
    match consumer
        .stream()
        .max_messages_per_batch(batch.max(1))
        .heartbeat(Duration::from_secs(2))
        .expires(Duration::from_secs(10))
        .messages()
        .await
    {
        Ok(m) => Some(m),
        Err(e) => {
            debug_log(&format!("pull failed: {e}"));
            tokio::time::sleep(Duration::from_millis(500)).await;
            None
        }
    }
}

pub(crate) fn debug_log(msg: &str) {
    if std::env::var_os("MLIDS_BUS_DEBUG").is_some() {
        eprintln!("mlids-bus: {msg}");
    }
}

/// Connect to NATS. `url` may list several servers separated by commas
/// (`nats://10.0.0.1:4222,nats://10.0.0.2:4222`); the client also learns the rest of the cluster
/// from the server and reconnects elsewhere when its server goes away.
pub async fn connect(url: &str, name: &str) -> Result<async_nats::Client, BusError> {
    let urls: Vec<String> = url
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(String::from)
        .collect();
    if urls.is_empty() {
        return Err(BusError::Config("--nats needs at least one URL".into()));
    }
    async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(5))
        // Publishes queue in the client while it reconnects; bounded by our own buffers.
        .client_capacity(8192)
        .max_reconnects(None)
        .connect(urls.clone())
        .await
        .map_err(|e| BusError::Connect {
            url: urls.join(","),
            message: e.to_string(),
        })
}
