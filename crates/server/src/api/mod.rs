//! Routes and the layers around them.

mod alerts;
mod capture;
mod incidents;
mod info;
mod predictions;
mod uploads;

use crate::auth::require_token;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::time::{Duration, Instant};
use tower_http::timeout::TimeoutLayer;

pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    // Bounded request/response routes: body limit and a timeout.
    let bounded = Router::new()
        .route("/api/predictions", post(predictions::predict))
        .route("/api/alerts", post(alerts::ingest_alerts))
        .layer(DefaultBodyLimit::max(limit))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ));
    // Capture routes stream the body and count its size themselves; the stream has no end.
    let streaming = Router::new()
        .route("/api/pcap", post(capture::upload))
        .route("/api/stream", post(capture::stream))
        .layer(DefaultBodyLimit::disable());
    Router::new()
        .route("/", get(crate::ui::index))
        .route("/ui/{file}", get(crate::ui::asset))
        .route("/healthz", get(info::healthz))
        .route("/metrics", get(info::metrics))
        .route("/api/model", get(info::model))
        .route("/api/openapi.json", get(info::openapi))
        .route("/api/alerts", get(alerts::websocket))
        .route("/api/incidents", get(incidents::list))
        .route("/api/incidents/{id}", get(incidents::one))
        .route("/api/uploads/{id}/flows", get(uploads::page))
        .route("/api/uploads/{id}/flows/{index}", get(uploads::one))
        .merge(bounded)
        .merge(streaming)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), require_token))
        // Outside the token check: a cross-site or rebound request is refused even with a token
        // (a browser would send the token the page stored).
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::origin::same_origin_only,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint; see GET /api/openapi.json".into())
}

/// Count every request and its latency by route (the route pattern, not the raw path, so the
/// label set stays bounded).
async fn record_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let resp = next.run(req).await.into_response();
    state.metrics.request(
        &route,
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    resp
}
