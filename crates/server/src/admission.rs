//! Admission control: what the server takes on at once, so no pile of requests can take it down.
//!
//! - A request whose `Content-Length` exceeds its route's cap is answered 413 before its body is
//!   read (the client learns at once instead of after a timeout).
//! - Requests whose bodies are parsed whole (predictions, posted alerts and incidents, MLflow
//!   invocations) reserve an estimate of the memory they need, [`MEMORY_PER_BODY_BYTE`] × their
//!   size, from a global budget; when it is spent the answer is 503 with `Retry-After`, never an
//!   abort.
//! - Captures (uploads, streams) each hold one of `max_captures` slots for their duration: their
//!   parsing runs on blocking threads that wait for the client's bytes, and without a bound enough
//!   slow uploads would occupy every blocking thread and starve predictions.
//!
//! `GET /readyz` reports both (503 when either is exhausted), for a load balancer.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Peak memory of a parsed request per byte of its body: the parsed cells (16 B per cell of at
/// least 2 bytes of JSON), the feature matrix (8 B per cell) and the verdicts, with margin.
pub const MEMORY_PER_BODY_BYTE: usize = 12;

/// The shared limits, in [`AppState`].
pub struct Admission {
    /// KiB of request memory that may be in use at once.
    memory_kib: Arc<Semaphore>,
    memory_total_kib: usize,
    captures: Arc<Semaphore>,
    captures_total: usize,
}

impl Admission {
    /// A memory budget of `memory_bytes` and `captures` capture slots.
    pub fn new(memory_bytes: usize, captures: usize) -> Admission {
        let kib = (memory_bytes / 1024).clamp(1, Semaphore::MAX_PERMITS);
        Admission {
            memory_kib: Arc::new(Semaphore::new(kib)),
            memory_total_kib: kib,
            captures: Arc::new(Semaphore::new(captures.max(1))),
            captures_total: captures.max(1),
        }
    }

    /// A capture slot, or 503 naming the limit.
    pub fn capture_slot(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        self.captures.clone().try_acquire_owned().map_err(|_| {
            ApiError::Unavailable(format!(
                "{} captures are being ingested, the most this server takes at once (serve --max-captures); retry shortly",
                self.captures_total
            ))
        })
    }

    fn reserve(&self, body_bytes: usize) -> Result<OwnedSemaphorePermit, ApiError> {
        let need = (body_bytes.saturating_mul(MEMORY_PER_BODY_BYTE) / 1024).max(1);
        let need = u32::try_from(need.min(self.memory_total_kib)).unwrap_or(u32::MAX);
        self.memory_kib
            .clone()
            .try_acquire_many_owned(need)
            .map_err(|_| {
                ApiError::Unavailable(format!(
                    "the server is busy with other requests ({} MiB of request memory in use); retry shortly",
                    (self.memory_total_kib - self.memory_kib.available_permits()) / 1024
                ))
            })
    }

    fn status(&self) -> Value {
        let captures_busy = self.captures_total - self.captures.available_permits();
        let memory_free = self.memory_kib.available_permits();
        json!({
            "ready": captures_busy < self.captures_total && memory_free > 0,
            "captures_in_flight": captures_busy,
            "max_captures": self.captures_total,
            "request_memory_free_mib": memory_free / 1024,
            "request_memory_mib": self.memory_total_kib / 1024,
        })
    }
}

/// The body cap of a request, if its route has one: whole-body routes `max_body_bytes`, uploads
/// `max_upload_bytes`, streams none.
fn body_cap(state: &AppState, req: &Request) -> Option<(usize, bool)> {
    if req.method() != Method::POST && req.method() != Method::PUT {
        return None;
    }
    match req.uri().path() {
        "/api/predictions" | "/api/alerts" | "/api/incidents" | "/invocations" => {
            Some((state.config.max_body_bytes, true))
        }
        "/api/pcap" => Some((
            usize::try_from(state.config.max_upload_bytes).unwrap_or(usize::MAX),
            false,
        )),
        _ => None,
    }
}

/// An error in the shape the route's clients read: MLflow's on `/invocations`, ours elsewhere.
fn refuse(path: &str, e: ApiError) -> Response {
    if path == "/invocations" {
        crate::api::mlflow::MlflowError::from(e).into_response()
    } else {
        e.into_response()
    }
}

pub async fn admit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some((cap, parsed_whole)) = body_cap(&state, &req) else {
        return next.run(req).await;
    };
    let path = req.uri().path().to_owned();
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = length.filter(|&n| n > cap as u64) {
        let mut resp = refuse(
            &path,
            ApiError::PayloadTooLarge(format!(
                "Content-Length {n} exceeds this endpoint's limit of {cap} bytes (serve --max-body-mb / --max-upload-mb)"
            )),
        );
        // The body will not be read: close rather than leave it in the connection.
        resp.headers_mut()
            .insert(header::CONNECTION, "close".parse().expect("static header"));
        return resp;
    }
    if !parsed_whole {
        return next.run(req).await;
    }
    let estimate = length.map_or(cap, |n| n as usize);
    match state.admission.reserve(estimate) {
        Ok(permit) => {
            let resp = next.run(req).await;
            drop(permit);
            resp
        }
        Err(e) => {
            let mut resp = refuse(&path, e);
            resp.headers_mut()
                .insert(header::RETRY_AFTER, "1".parse().expect("static header"));
            resp
        }
    }
}

/// `GET /readyz`: 200 while the server takes new work, 503 when captures or request memory are
/// exhausted (liveness stays `/healthz`).
pub async fn readyz(State(state): State<AppState>) -> Response {
    let s = state.admission.status();
    let code = if s["ready"] == true {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(s)).into_response()
}
