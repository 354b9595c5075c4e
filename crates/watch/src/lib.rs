//! Live capture and alerting: the library behind `ml-ids watch`.
//!
//! ```text
//!  LiveSource (libpcap) ─┐                                           ┌─► Queue ─► stdout lines
//!  ReplaySource (file,   ├─► Pipeline::run ─────────────► Classify ──┼─► Queue ─► JSON Lines file
//!   paced, N× speed)    ─┘   (the one loop and flow     (DetectorSink├─► Queue ─► EVE-JSON file
//!                             meter; watch hooks:        + Router)   ├─► Queue ─► webhook (retry)
//!                             snapshots, status, stop)       │       └─► Queue ─► ml-ids serve
//!                                                            └──────────► Queue ─► flows JSONL
//! ```
//!
//! Packets become flows only through [`mlids_flow::Pipeline`] and flows become verdicts only
//! through [`mlids_model::Detector`]; this crate adds what live capture needs on top: a packet
//! source that can report "nothing arrived" so a timer can advance the flow clock, periodic
//! classification of long-running flows (with deduplication, so one slow DoS raises one alert), and
//! sinks that run on their own threads behind bounded queues so a slow disk or webhook never
//! blocks capture (a full queue drops the alert and counts it).

pub mod dedup;
pub mod error;
pub mod event;
pub mod queue;
pub mod run;
pub mod sinks;

pub use dedup::Dedup;
pub use error::WatchError;
pub use event::AlertEvent;
pub use queue::{Queue, QueueReport};
pub use run::{run, Outputs, Status, WatchConfig, WatchReport};
// The packet sources live in the flow crate (one trait for every front end); re-exported here for
// the watch command's users.
pub use mlids_flow::live::{LiveError, LiveOptions, LiveSource};
pub use mlids_flow::{CaptureStats, Next, PacketSource, ReplaySource};
