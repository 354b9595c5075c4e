//! The alert message is defined once, in the model crate (`mlids_model::alert`), and shared with
//! `ml-ids watch`; this module re-exports it under the server's old paths.

pub use mlids_model::alert::{rfc3339_micros, Alert};
