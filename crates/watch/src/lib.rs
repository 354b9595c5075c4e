//! Live capture and alerting: the library behind `ml-ids watch`.
//!
//! ```text
//!  LiveSource (libpcap) ─┐                                          ┌─► Queue ─► stdout lines
//!  ReplaySource (file,   ├─► run loop ─► mlids_flow::Pipeline ─► Classify ──► Queue ─► JSON Lines file
//!   paced, N× speed)    ─┘   (timer:      (the one flow meter)  (mlids_model ├─► Queue ─► EVE-JSON file
//!                             clock,                             ::Detector) ├─► Queue ─► webhook (retry)
//!                             snapshots,                             │       └─► Queue ─► ml-ids serve
//!                             stats)                                 └──────────► Queue ─► flows JSONL
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
pub mod source;

pub use dedup::Dedup;
pub use error::WatchError;
pub use event::AlertEvent;
pub use queue::{Queue, QueueReport};
pub use run::{run, Models, Outputs, Status, WatchConfig, WatchReport};
pub use source::{CaptureStats, LiveOptions, LiveSource, Next, PacketSource, ReplaySource};
