//! Health, metrics, model manifest and the OpenAPI document.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

/// Liveness, the primary model's mode and feature count (as before several models were served),
/// and every served model.
pub async fn healthz(State(state): State<AppState>) -> Json<Value> {
    let models: Vec<Value> = state
        .models
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "mode": m.detector.mode().to_string(),
                "task": m.detector.manifest().task,
                "features": m.detector.feature_names().len(),
            })
        })
        .collect();
    Json(json!({
        "status": "ok",
        "mode": state.detector.mode().to_string(),
        "features": state.detector.feature_names().len(),
        "models": models,
    }))
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

#[derive(serde::Deserialize)]
pub struct ModelQuery {
    /// A served model's name (default: the primary).
    #[serde(default)]
    model: Option<String>,
}

/// A served model's manifest: the primary's, or `?model=NAME`'s.
pub async fn model(
    State(state): State<AppState>,
    q: Result<Query<ModelQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q?;
    let detector = match q.model.as_deref() {
        None => &state.detector,
        Some(n) => {
            &state
                .model(n)
                .ok_or_else(|| {
                    ApiError::NotFound(format!(
                        "no model '{n}' is served (served: {})",
                        state.model_list()
                    ))
                })?
                .detector
        }
    };
    serde_json::to_value(detector.manifest())
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
