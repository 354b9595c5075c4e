//! Packets → bidirectional flows → CICFlowMeter features.
//!
//! ```text
//! CaptureReader ─► decode() ─► FlowMeter ─► FlowRecord ─► FlowSink (CSV, JSONL, Parquet, Detector…)
//!   (pcap/ng,       (link→IP      (keys, timeouts,   (cic2018 |
//!    gzip, stdin)    →L4)          eviction)          corrected)
//! ```
//! [`Pipeline`] wires them together; every front end (extract, detect, upload, stream, watch) uses it.
//! This crate has no ML and no async dependencies.

pub mod capture;
pub mod config;
pub mod decode;
pub mod features;
mod flow;
pub mod key;
pub mod meter;
pub mod packet;
pub mod pipeline;
pub mod record;
pub mod schema;
pub mod sink;
pub mod stats;
pub mod synth;
pub mod time;

pub use capture::{CaptureError, CaptureReader, Frame};
pub use config::{MeterConfig, Mode};
pub use decode::{decode, SkipReason};
pub use features::{Feature, NUM_FEATURES};
pub use meter::FlowMeter;
pub use packet::{Packet, TcpFlags};
pub use pipeline::{Pipeline, PipelineError, Summary};
pub use record::{FlowRecord, Termination};
pub use schema::{Layout, NameStyle};
pub use sink::{CsvSink, FlowSink, JsonlSink, SinkError, VecSink};
