//! Incidents: one story per attack instead of one alert per flow.
//!
//! A port scan is thousands of flows and a flood millions; an analyst works from cases. The
//! [`IncidentTracker`] groups the attack verdicts of the pipeline — from the flow classifier and
//! from the host-behaviour stage alike — by *attacker* (the flow's source), *attack family* and
//! *time* (floods and reflection, whose sources are many and often spoofed, by *victim* instead): a verdict joins the open incident of its attacker and family, or opens one; an incident
//! closes when no verdict has joined it for the idle timeout (flow time, so a replayed capture
//! gives the same incidents as the live traffic did). Each carries its victims, counts, labels,
//! the host-behaviour evidence, the features that weighed most and a few sample flows.
//!
//! [`IncidentSink`] puts the tracker in the pipeline: a [`mlids_model::VerdictSink`] that passes
//! every verdict on unchanged and reports [`IncidentEvent`]s (opened, updated, closed) to a
//! callback. `detect`, `serve` and `watch` differ only in what the callback does with them.
//!
//! On the bus the verdicts are made by many workers: each publishes a [`Sighting`] per attack
//! verdict, and one tracker fed with them ([`IncidentTracker::observe_sighting`]) builds the
//! incidents of every sensor and worker together.

mod incident;
mod sighting;
mod sink;
mod timeline;
mod tracker;

pub use incident::{sort_by_start, Grouping, Incident, SampleFlow, Severity, TopFeature, Victim};
pub use sighting::Sighting;
pub use sink::IncidentSink;
pub use timeline::Timeline;
pub use tracker::{EventKind, IncidentConfig, IncidentEvent, IncidentTracker};
