//! A small model trained in the test (cic2018 mode: attack = many forward packets) and a server on an
//! ephemeral loopback port.
#![allow(dead_code)]

use mlids_model::Detector;
use mlids_server::{AppState, ServerConfig};
use mlids_test_support::models::forward_packets_model;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The fixture model of `mlids_test_support::models::forward_packets_model` (attacks have 20–60
/// forward packets, benign flows 1–10), trained once per test process
/// into a scratch directory that a later run removes (see `process_scratch_dir`).
pub fn model_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = mlids_test_support::process_scratch_dir("server-test-model");
        forward_packets_model(&dir)
    })
    .clone()
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    _runtime_guard: tokio::task::JoinHandle<()>,
}

/// Start a server with `config` (its bind address is replaced by 127.0.0.1:0).
pub async fn start(config: ServerConfig) -> TestServer {
    start_with_model(config, &model_dir()).await
}

/// [`start`] with another bundle.
pub async fn start_with_model(config: ServerConfig, dir: &std::path::Path) -> TestServer {
    start_with_models(config, &[("default", dir)]).await
}

/// [`start`] with several named bundles, the first the primary.
pub async fn start_with_models(
    mut config: ServerConfig,
    models: &[(&str, &std::path::Path)],
) -> TestServer {
    config.bind = "127.0.0.1:0".parse().unwrap();
    let models = models
        .iter()
        .map(|(n, d)| (n.to_string(), Detector::load(d).unwrap()))
        .collect();
    let state = AppState::with_models(config, models);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        mlids_server::serve_on(listener, state, std::future::pending())
            .await
            .unwrap();
    });
    TestServer {
        addr,
        base: format!("http://{addr}"),
        _runtime_guard: handle,
    }
}
