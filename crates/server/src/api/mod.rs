//! Routes and the layers around them.

mod alerts;
mod capture;
mod incidents;
mod info;
pub(crate) mod mlflow;
mod predictions;
mod rows;
mod uploads;

use crate::auth::require_token;
use crate::config::ServerConfig;
use crate::error::{json_errors, ApiError};
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use std::convert::Infallible;
use std::time::{Duration, Instant};
use tower_http::timeout::TimeoutLayer;

/// One served path and its handlers (built from the server's settings: body limits).
pub struct Route {
    pub path: &'static str,
    handlers: fn(&ServerConfig) -> MethodRouter<AppState>,
}

/// Every route there is: [`router`] is built from this list alone, so the tests that hold each
/// entry against the OpenAPI document (tests/api.rs) see every path a client can reach.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/",
        handlers: |_| get(crate::ui::index),
    },
    Route {
        path: "/ui/{file}",
        handlers: |_| get(crate::ui::asset),
    },
    Route {
        path: "/healthz",
        handlers: |_| get(info::healthz),
    },
    Route {
        path: "/readyz",
        handlers: |_| get(crate::admission::readyz),
    },
    Route {
        path: "/metrics",
        handlers: |_| get(info::metrics),
    },
    Route {
        path: "/api/model",
        handlers: |_| get(info::model),
    },
    Route {
        path: "/api/openapi.json",
        handlers: |_| get(info::openapi),
    },
    Route {
        path: "/api/predictions",
        handlers: |c| bounded(post(predictions::predict), c),
    },
    Route {
        path: "/api/alerts",
        handlers: |c| get(alerts::websocket).merge(bounded(post(alerts::ingest_alerts), c)),
    },
    Route {
        path: "/api/incidents",
        handlers: |c| get(incidents::list).merge(bounded(post(incidents::ingest), c)),
    },
    Route {
        path: "/api/incidents/{id}",
        handlers: |_| get(incidents::one),
    },
    Route {
        path: "/api/uploads/{id}/flows",
        handlers: |_| get(uploads::page),
    },
    Route {
        path: "/api/uploads/{id}/flows/{index}",
        handlers: |_| get(uploads::one),
    },
    Route {
        path: "/api/pcap",
        handlers: |_| streaming(post(capture::upload)),
    },
    Route {
        path: "/api/stream",
        // PUT as well: `curl -T -` (the documented way to stream a capture) sends PUT.
        handlers: |_| streaming(post(capture::stream).put(capture::stream)),
    },
    // MLflow's scoring-server routes, so that `mlflow models serve` clients change only the port.
    Route {
        path: "/invocations",
        handlers: |c| bounded(post(mlflow::invocations), c),
    },
    Route {
        path: "/ping",
        handlers: |_| get(mlflow::ping),
    },
    Route {
        path: "/health",
        handlers: |_| get(mlflow::ping),
    },
    Route {
        path: "/version",
        handlers: |_| get(mlflow::version),
    },
];

/// Request/response handlers whose bodies are read whole: the body limit and a timeout.
fn bounded(handlers: MethodRouter<AppState>, config: &ServerConfig) -> MethodRouter<AppState> {
    handlers
        .layer::<_, Infallible>(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
}

/// Capture handlers stream the body and count its size themselves; a stream has no end.
fn streaming(handlers: MethodRouter<AppState>) -> MethodRouter<AppState> {
    handlers.layer(DefaultBodyLimit::disable())
}

pub fn router(state: AppState) -> Router {
    let routes = ROUTES
        .iter()
        .fold(Router::new(), |r, route| {
            r.route(route.path, (route.handlers)(&state.config))
        })
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::admission::admit,
        ))
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
        .with_state(state);
    // Around the whole router rather than its routes: a route's layers run before axum adds a
    // 405's `Allow` header, and `json_errors` names the allowed methods in its message.
    Router::new()
        .fallback_service(routes)
        .layer(middleware::from_fn(json_errors))
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
