//! Live capture and alerting: the library behind `ml-ids watch`.
//!
//! ```text
//!  LiveSource (libpcap) ─┐                                  ┌──────────┐  ┌─► Queue ─► stdout lines
//!  ReplaySource (file,   ├─► Pipeline::run ─► Classify ────►│ Router:  │  ├─► Queue ─► JSON Lines files
//!   paced, N× speed)    ─┘   (the one loop  (DetectorSink)  │ incident ├──┼─► Queue ─► EVE-JSON file
//!                             and flow meter; watch hooks:  │ tracker, │  ├─► Queue ─► webhook (retry)
//!                             snapshots, ticks, status)     │ dedup    │  ├─► Queue ─► ml-ids serve
//!                                                           └──────────┘  └─► Queue ─► flows JSONL
//! ```
//!
//! The router sends each sink the events it asked for ([`Interest`]): incidents opening, updating
//! and closing, per-flow alerts, classified flows.
//!
//! Packets become flows only through [`mlids_flow::Pipeline`] and flows become verdicts only
//! through [`mlids_model::Detector`]; this crate adds what live capture needs on top: a packet
//! source that can report "nothing arrived" so a timer can advance the flow clock, periodic
//! classification of long-running flows (with deduplication, so one slow DoS raises one alert), and
//! sinks that run on their own threads behind bounded queues so a slow disk or webhook never
//! blocks capture (a full queue drops the alert and counts it).

pub mod dedup;
pub mod error;
pub mod eve;
pub mod event;
pub mod outputs;
pub mod queue;
pub mod run;
pub mod sinks;

pub use dedup::Dedup;
pub use error::WatchError;
pub use event::{AlertEvent, ClassifiedFlow, IncidentNote, WatchEvent};
pub use outputs::{Interest, Output, Outputs};
pub use queue::{Queue, QueueReport};
pub use run::{run, IncidentCounts, Status, WatchConfig, WatchReport};
// The packet sources live in the flow crate (one trait for every front end); re-exported here for
// the watch command's users.
pub use mlids_flow::live::{LiveError, LiveOptions, LiveSource};
pub use mlids_flow::{CaptureStats, Next, PacketSource, ReplaySource};
