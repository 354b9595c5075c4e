//! The ml-ids detection server: an axum app over the flow pipeline and the model crate's `Detector`.
//!
//! ```text
//! POST /api/predictions, /invocations ─► parse rows ────────────────► Detector ─► JSON verdicts
//! POST /api/pcap, /api/stream ─► body stream ─► Pipeline (mlids-flow) ─► Detector ─► flows + alerts
//! GET  /api/alerts (WebSocket) ◄── broadcast ◄── alerts from every source (also POST /api/alerts)
//! ```
//! Cross-cutting concerns (auth, body limits, timeouts, metrics) are tower layers on the router; one
//! error type turns every failure into a clear 4xx/5xx JSON body.

mod admission;
mod alert;
mod api;
mod auth;
pub mod bus;
mod cancel;
mod config;
mod conn;
mod error;
mod incidents;
mod ingest;
mod metrics;
mod origin;
mod state;
mod ui;
mod uploads;

pub use alert::Alert;
pub use bus::BusConfig;
pub use config::ServerConfig;
pub use error::ApiError;
pub use state::AppState;

use axum::Router;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Build the router (used by `serve` and by tests with their own listener).
pub fn app(state: AppState) -> Router {
    api::router(state)
}

/// Every path the router serves (patterns such as `/ui/{file}`), for the tests that hold them
/// against the OpenAPI document.
pub fn route_paths() -> impl Iterator<Item = &'static str> {
    api::ROUTES.iter().map(|r| r.path)
}

/// Bind and serve until Ctrl-C or SIGTERM. Calls `on_ready` with the bound address.
pub async fn serve(state: AppState, on_ready: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    // With `config.bus` set, alerts also come from (and go to) the NATS JetStream bus.
    let state = bus::attach(state).await.map_err(std::io::Error::other)?;
    let listener = TcpListener::bind(state.config.bind).await?;
    let addr = listener.local_addr()?;
    on_ready(addr);
    serve_on(listener, state, shutdown_signal()).await
}

/// Serve on a bound listener until `shutdown` resolves, with the configured connection limits
/// (used by [`serve`] and by tests with an ephemeral port).
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = conn::ConnLimits {
        max_connections: state.config.max_connections,
        header_read_timeout: state.config.header_read_timeout,
        idle_timeout: state.config.idle_timeout,
    };
    conn::serve_connections(listener, app(state), limits, shutdown).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
