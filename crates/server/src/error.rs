//! One error type for every handler: each failure becomes a status code and a JSON body
//! `{"error": "...", ...}` that says what was wrong with the request. [`json_errors`] gives the
//! failures no handler sees (wrong method, axum's own rejections, timeouts) the same shape.

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
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
    /// The client was too slow, or left.
    #[error("{0}")]
    RequestTimeout(String),
    /// The server is at a limit (captures, request memory): retry later.
    #[error("{0}")]
    Unavailable(String),
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
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
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

/// The most of a plain-text error body carried into the JSON message (axum's rejections are one
/// line; anything longer is not a message meant for the client).
const MAX_ERROR_TEXT: usize = 16 * 1024;

/// Every 4xx/5xx leaves as `{"error": "..."}`, whoever produced it. Handlers answer with
/// [`ApiError`] already; this layer catches what happens before or around them — axum's 405 (an
/// empty body; its `Allow` header is kept and named in the message), extractor rejections (plain
/// text), the timeout layer's empty 408 — so that clients parse one error shape everywhere.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(resp.headers()) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, MAX_ERROR_TEXT)
        .await
        .unwrap_or_default();
    let message = error_message(status, &method, &path, &parts.headers, &text);
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let mut out = (status, Json(json!({ "error": message }))).into_response();
    out.headers_mut().extend(parts.headers);
    out
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.to_ascii_lowercase())
        .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"))
}

/// What a non-JSON error response meant: its own text when it has one, else what its status
/// says about this request.
fn error_message(
    status: StatusCode,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    text: &[u8],
) -> String {
    if status == StatusCode::METHOD_NOT_ALLOWED {
        let allow = headers
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        return format!("method {method} is not allowed on {path} (allowed: {allow})");
    }
    let text = String::from_utf8_lossy(text);
    match text.trim() {
        "" if status == StatusCode::REQUEST_TIMEOUT => {
            format!("{method} {path} took longer than the server's time limit")
        }
        "" => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_string(),
        t => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_for_bodiless_errors_say_what_happened() {
        let mut h = HeaderMap::new();
        h.insert(header::ALLOW, "GET,HEAD".parse().unwrap());
        let msg = |status, text: &[u8]| error_message(status, &Method::POST, "/x", &h, text);
        assert_eq!(
            msg(StatusCode::METHOD_NOT_ALLOWED, b""),
            "method POST is not allowed on /x (allowed: GET,HEAD)"
        );
        assert_eq!(
            msg(StatusCode::REQUEST_TIMEOUT, b""),
            "POST /x took longer than the server's time limit"
        );
        assert_eq!(
            msg(StatusCode::BAD_REQUEST, b" Invalid URL \n"),
            "Invalid URL"
        );
        assert_eq!(msg(StatusCode::BAD_GATEWAY, b""), "Bad Gateway");
    }
}
