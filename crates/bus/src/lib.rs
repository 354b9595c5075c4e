//! ml-ids beyond one machine, over NATS JetStream.
//!
//! ```text
//!  capture point                   NATS cluster (JetStream, R3)                 worker pool (N)
//!  ┌──────────────────────┐        ┌────────────────────────────┐       ┌──────────────────────┐
//!  │ PacketSource (live / │        │ MLIDS_FLOWS  work queue     │ pull  │ durable consumer     │
//!  │ replay, mlids-flow)  │ batch  │  mlids.flows.<sensor>       ├──────►│ "mlids-workers":     │
//!  │ → flow Pipeline      ├───────►│  dedup on Nats-Msg-Id       │       │ decode → Detector →  │
//!  │ → BusSink (encode,   │  msg   ├────────────────────────────┤       │ publish, then ack    │
//!  │   bounded buffer)    │        │ MLIDS_ALERTS  limits        │◄──────┤                      │
//!  └──────────────────────┘        │  mlids.alerts.<sensor>      │       └──────────────────────┘
//!   `ml-ids sensor`                │  mlids.verdicts.<sensor>    │        `ml-ids worker`
//!                                  └─────────────┬──────────────┘
//!                                                │ ordered consumer per server instance
//!                                                ▼
//!                                   `ml-ids serve --nats` (WebSocket, UI)
//! ```
//!
//! Incidents: workers store each batch's attack verdicts (`mlids.sightings.<sensor>`); an
//! incident aggregator (`ml-ids worker --incidents`) reads all of them into one tracker and
//! stores incident events (`mlids.incidents.<family>`), merged across sensors and workers
//! ([`incidents`]); every server instance shows them.
//!
//! - Flows become records only through [`mlids_flow::Pipeline`] (the sensor) and records become
//!   verdicts only through [`mlids_model::Detector`] (the worker); this crate moves them between.
//! - Delivery: a flow batch is stored once (JetStream de-duplicates on `Nats-Msg-Id` =
//!   `SENSOR.RUN.FIRST_SEQ`), handed to one worker at a time (work-queue retention), and removed
//!   only when a worker acks it, which it does after the verdicts and alerts it produced are stored.
//!   A redelivery (dead or slow worker) republishes the same verdict and alert ids, which
//!   JetStream drops as duplicates: each flow is classified exactly once in the stored accounting,
//!   as long as a redelivery happens within the duplicate window.
//! - Loss: a sensor buffers up to a bound while it cannot publish, then drops and counts
//!   ([`stats::SensorStats`]); nothing else drops silently.

pub mod codec;
pub mod incidents;
pub mod metrics_http;
pub mod sensor;
pub mod stats;
pub mod topology;
pub mod verdict;
pub mod worker;

pub use codec::{decode_batch, BatchEncoder, BatchHeader};
pub use incidents::{run_incident_aggregator, AggregatorConfig, SightingBatch};
pub use sensor::{
    run_sensor, BusSink, FlowPublisher, OnFull, PublisherConfig, SensorConfig, SensorReport,
};
pub use stats::{AggregatorStats, SensorStats, WorkerStats};
pub use topology::{connect, Topology};
pub use verdict::VerdictBatch;
pub use worker::{run_worker, WorkerConfig, WorkerModel, WorkerReport};

/// Errors of the bus library.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot connect to NATS at {url}: {message}")]
    Connect { url: String, message: String },
    #[error("JetStream: {0}")]
    JetStream(String),
    #[error("malformed flow batch: {0}")]
    Codec(String),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Model(#[from] mlids_model::ModelError),
    #[error(transparent)]
    Source(#[from] mlids_flow::SourceError),
    #[error(transparent)]
    Live(#[from] mlids_flow::live::LiveError),
    #[error(transparent)]
    Replay(#[from] mlids_flow::source::ReplayOpenError),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

impl BusError {
    pub(crate) fn js(e: impl std::fmt::Display) -> BusError {
        BusError::JetStream(e.to_string())
    }
}

/// Checks a sensor or worker id: it becomes a NATS subject token and part of message ids.
pub fn check_id(kind: &str, id: &str) -> Result<(), BusError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(BusError::Config(format!(
            "{kind} id `{id}` must be 1-64 characters of A-Z, a-z, 0-9, `-` and `_` (it is a NATS subject token)"
        )))
    }
}

/// Wall clock, µs since the epoch.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}
pub use async_nats;
