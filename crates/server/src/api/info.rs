//! Health, metrics, model manifest and the OpenAPI document.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

pub async fn healthz(State(state): State<AppState>) -> Json<Value> {
    Json(
        json!({ "status": "ok", "mode": state.detector.mode().to_string(), "features": state.detector.feature_names().len() }),
    )
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

pub async fn model(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    serde_json::to_value(state.detector.manifest())
        .map(Json)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The OpenAPI 3 document, kept by hand next to the code it describes (crates/server/openapi.json)
/// and checked by schemathesis in CI.
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../../openapi.json"),
    )
}
