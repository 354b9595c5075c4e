//! MLflow's scoring-server protocol (`mlflow models serve`, the pyfunc scoring server of MLflow 2
//! and 3), so that a client of an MLflow deployment changes only the port:
//!
//! - `POST /invocations`: the bodies MLflow accepts (`dataframe_split`, `dataframe_records`,
//!   `instances`, `inputs`, each with an optional `params`, or `text/csv`) answered with MLflow's
//!   envelope `{"predictions": [...]}`. It is `/api/predictions`' own path ([`read_request`],
//!   [`score`]): the same parser, model choice, classifier and alerts.
//! - `GET /ping`, `GET /health`: MLflow's liveness answer, a newline.
//! - `GET /version`: the server's version as bare text, as MLflow sends its own.
//!
//! What `predictions` holds is what an MLflow-served LightGBM scikit-learn classifier returns: the
//! predicted class per row. For a binary bundle that is 0/1 (the seed's classifier, trained on
//! 0/1 labels, answered so); for a multiclass bundle the class label (`"Benign"`, `"DDoS
//! attacks-LOIC-HTTP"`, ...), after the bundle's decision threshold, as every other ml-ids verdict.
//! `detail` (query or `params`) gives one verdict object per row instead, as an MLflow model
//! returning a DataFrame gives records.
//!
//! Errors here carry MLflow's fields (`error_code`, `message`) as well as ml-ids' `error`, so both
//! MLflow-aware clients and ours read them.

use super::predictions::{read_request, score, with_model_header, PredictQuery, Scored};
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use mlids_model::Task;
use serde_json::{json, Value};

/// MLflow's scoring servers label their liveness and version answers JSON although neither body
/// is (a newline; `3.1.0`); clients read them as text. Kept, so that probes match byte for byte.
const MLFLOW_MEDIA_TYPE: &str = "application/json";

/// `POST /invocations`.
pub async fn invocations(
    State(state): State<AppState>,
    q: Result<Query<PredictQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, MlflowError> {
    let body = body.map_err(ApiError::from)?;
    let Query(q) = q.map_err(ApiError::from)?;
    let req = read_request(q, &headers, &body, "api:invocations")?;
    let detail = req.how.detail;
    let scored = score(&state, req).await?;
    let answer = Json(json!({ "predictions": predictions(&scored, detail)? })).into_response();
    Ok(with_model_header(answer, &scored.model))
}

/// The `predictions` list: the predicted class per row (0/1 for binary bundles, the label for
/// multiclass ones), or the verdicts themselves with `detail`.
fn predictions(scored: &Scored, detail: bool) -> Result<Value, ApiError> {
    let v = &scored.verdicts;
    if detail {
        return serde_json::to_value(v).map_err(|e| ApiError::Internal(e.to_string()));
    }
    Ok(match scored.task {
        Task::Binary => v.iter().map(|v| json!(u8::from(v.is_attack))).collect(),
        Task::Multiclass => v.iter().map(|v| json!(v.label)).collect(),
    })
}

/// `GET /ping` and `GET /health`: the model is loaded before the server listens, so a server
/// that answers is healthy.
pub async fn ping() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, MLFLOW_MEDIA_TYPE)], "\n")
}

/// `GET /version`: the ml-ids version, in MLflow's shape (bare text).
pub async fn version() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, MLFLOW_MEDIA_TYPE)],
        env!("CARGO_PKG_VERSION"),
    )
}

/// An [`ApiError`] answered in MLflow's error shape, `{"error_code": "BAD_REQUEST", "message":
/// ...}` (what `MlflowException.serialize_as_json` writes), plus ml-ids' `error` key.
pub struct MlflowError(ApiError);

impl From<ApiError> for MlflowError {
    fn from(e: ApiError) -> Self {
        MlflowError(e)
    }
}

impl IntoResponse for MlflowError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let message = self.0.to_string();
        let body = json!({
            "error_code": error_code(status),
            "message": message,
            "error": message,
        });
        (status, Json(body)).into_response()
    }
}

/// MLflow's error code for a status: the codes its `ERROR_CODE_TO_HTTP_STATUS` maps there, and
/// `BAD_REQUEST` for the client errors MLflow has no code of its own for (413, 415) or answers
/// 400 where ml-ids is more precise (422: rows of the other extractor mode).
fn error_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "UNAUTHENTICATED",
        404 => "RESOURCE_DOES_NOT_EXIST",
        422 => "INVALID_PARAMETER_VALUE",
        s if s < 500 => "BAD_REQUEST",
        _ => "INTERNAL_ERROR",
    }
}
