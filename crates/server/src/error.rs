//! One error type for every handler: each failure becomes a status code and a JSON body
//! `{"error": "...", ...}` that says what was wrong with the request.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    /// A request the server refuses whoever sends it (cross-site, foreign Host).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    UpgradeRequired(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Well-formed input the server must not answer: features of the other extractor mode.
    #[error("{0}")]
    Unprocessable(String),
    /// The input was processed in part: the error plus what was recovered.
    #[error("{message}")]
    Partial { message: String, partial: Value },
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::UpgradeRequired(_) => StatusCode::UPGRADE_REQUIRED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Partial { .. } | ApiError::Unprocessable(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            ApiError::Partial { message, partial } => {
                json!({ "error": message, "partial": partial })
            }
            other => json!({ "error": other.to_string() }),
        };
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert("www-authenticate", "Bearer".parse().expect("static header"));
        }
        resp
    }
}

impl From<mlids_model::ModelError> for ApiError {
    fn from(e: mlids_model::ModelError) -> Self {
        // Model errors on request data (missing features, wrong widths, mode mismatch) are the
        // client's; the predictor itself does not fail on valid rows.
        ApiError::BadRequest(e.to_string())
    }
}

impl From<axum::extract::rejection::BytesRejection> for ApiError {
    fn from(e: axum::extract::rejection::BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!(
                "request body over the size limit (server option --max-body-mb): {}",
                e.body_text()
            ))
        } else {
            ApiError::BadRequest(format!("cannot read the request body: {}", e.body_text()))
        }
    }
}

/// Extractor rejections (query strings, WebSocket handshakes, multipart) become JSON 4xx bodies like
/// every other error, so clients and the OpenAPI contract see one error shape.
macro_rules! from_rejection {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                let status = e.status();
                let text = e.body_text();
                match status {
                    StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(text),
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(text),
                    StatusCode::UPGRADE_REQUIRED => ApiError::UpgradeRequired(text),
                    _ => ApiError::BadRequest(text),
                }
            }
        }
    )*};
}
from_rejection!(
    axum::extract::rejection::QueryRejection,
    axum::extract::ws::rejection::WebSocketUpgradeRejection,
    axum::extract::multipart::MultipartRejection
);
