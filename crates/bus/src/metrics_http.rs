//! `--metrics ADDR` of sensors and workers: `GET /metrics` in the Prometheus text format.

use crate::stats::render;
use crate::BusError;
use axum::routing::get;
use axum::Router;
use prometheus_client::registry::Registry;
use std::net::SocketAddr;
use std::sync::Arc;

/// Bind `addr` and serve the registry until the runtime stops. Returns the bound address.
pub async fn serve(addr: SocketAddr, registry: Arc<Registry>) -> Result<SocketAddr, BusError> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let r = registry.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    render(&r),
                )
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(bound)
}
