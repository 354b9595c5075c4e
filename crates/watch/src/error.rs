//! Errors of the watch library. Each names what failed (interface, filter, file, URL) so the CLI can
//! print it as is.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot capture on interface '{iface}': {source} (capturing needs root or the capabilities cap_net_raw,cap_net_admin; see docs/watch.md)")]
    Open { iface: String, source: pcap::Error },
    #[error("invalid capture filter '{filter}': {source}")]
    Filter { filter: String, source: pcap::Error },
    #[error("capture on '{iface}' failed: {source}")]
    Capture { iface: String, source: pcap::Error },
    #[error(transparent)]
    Replay(#[from] mlids_flow::CaptureError),
    #[error(transparent)]
    Model(#[from] mlids_model::ModelError),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{0}")]
    Config(String),
    #[error("classifying flows failed: {0}")]
    Classify(String),
}
