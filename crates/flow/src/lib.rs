//! Packets → bidirectional flows → CICFlowMeter features.
//!
//! ```text
//! PacketSource ─► decode() ─► FlowMeter ─► FlowRecord ─► FlowSink (CSV, JSONL, Parquet, Detector…)
//!  (CaptureReader: (link→IP     (keys, timeouts,   (cic2018 |
//!   pcap/ng, gzip,  →L4)         eviction)          corrected)
//!   stdin, HTTP;
//!   ReplaySource;
//!   LiveSource)
//! ```
//! [`Pipeline::run`] is the one loop that wires them together; every front end (extract, detect,
//! upload, stream, watch, the bus sensor, the testbed) uses it. This crate has no ML and no async
//! dependencies; live capture (libpcap) is behind the `live` feature.

pub mod capture;
pub mod community_id;
pub mod config;
pub mod decode;
pub mod dns;
pub mod exchange;
mod exploit;
pub mod features;
mod flow;
pub mod key;
#[cfg(feature = "live")]
pub mod live;
pub mod meter;
pub mod opening;
pub mod packet;
pub mod pipeline;
pub mod record;
pub mod request;
pub mod schema;
pub mod sink;
pub mod source;
pub mod ssh_auth;
pub mod stats;
pub mod synth;
pub mod time;

pub use capture::{CaptureError, CaptureReader, Frame};
pub use config::{MeterConfig, Mode};
pub use decode::{decode, SkipReason};
pub use exchange::Exchange;
pub use features::{Feature, NUM_FEATURES};
pub use meter::FlowMeter;
pub use opening::Opening;
pub use packet::{Packet, TcpFlags};
pub use pipeline::{run_captures, CaptureProgress, Fed, Outcome, Pipeline, RunHooks, Summary};
pub use record::{FlowRecord, Termination};
pub use request::Injection;
pub use schema::{Layout, NameStyle};
pub use sink::{CsvSink, FlowSink, JsonlSink, SinkError, VecSink};
pub use source::{CaptureStats, Next, PacketSource, ReplaySource, SourceError};
pub use ssh_auth::{SshAuth, SshPhase};
