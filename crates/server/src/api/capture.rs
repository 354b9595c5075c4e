//! `POST /api/pcap` (upload, raw body or multipart) and `POST /api/stream` (endless chunked pcap):
//! both feed the flow pipeline as the bytes arrive.

use crate::error::ApiError;
use crate::ingest::{ingest, IngestOptions, IngestReport};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::header;
use axum::Json;
use futures_util::stream;
use mlids_model::Explain;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct UploadQuery {
    /// Name shown in alerts (`upload:NAME`).
    #[serde(default)]
    name: Option<String>,
    /// Upload id chosen by the client (1–64 of `A-Za-z0-9_-`), so it can follow the upload's
    /// progress events before the answer arrives; default: one is made up.
    #[serde(default)]
    id: Option<String>,
}

/// The client's upload id if valid, else a new one (time and a counter: unique per server).
fn upload_id(requested: Option<&str>) -> Result<String, ApiError> {
    if let Some(id) = requested {
        let ok = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        return if ok {
            Ok(id.to_string())
        } else {
            Err(ApiError::BadRequest(
                "id: 1 to 64 characters of A-Z, a-z, 0-9, '-' and '_'".into(),
            ))
        };
    }
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    Ok(format!("u{t:x}-{n}"))
}

fn clean_name(n: Option<&str>) -> String {
    let n: String = n
        .unwrap_or("capture")
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    if n.is_empty() {
        "capture".into()
    } else {
        n
    }
}

pub async fn upload(
    State(state): State<AppState>,
    q: Result<Query<UploadQuery>, QueryRejection>,
    req: Request,
) -> Result<Json<IngestReport>, ApiError> {
    let Query(q) = q?;
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let limit = Some(state.config.max_upload_bytes);
    let keep = state.config.max_response_flows;
    let id = upload_id(q.id.as_deref())?;
    if !is_multipart {
        let opts = IngestOptions {
            source: format!("upload:{}", clean_name(q.name.as_deref())),
            kind: "upload",
            batch: 4096,
            hold_back_us: mlids_model::sink::FILE_HOLD_BACK_US,
            keep_rows: keep,
            limit,
            upload_id: Some(id),
            explain: Explain::None,
        };
        let body = req.into_body().into_data_stream();
        return ingest(&state, body, opts).await.map(Json);
    }
    let mut multipart = Multipart::from_request(req, &state).await?;
    // The first field carrying a file (or named `file`) is the capture.
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::BadRequest(format!("multipart body: {e}")))?
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "multipart body has no file field (send the capture as field `file`)".into(),
                )
            })?;
        if field.file_name().is_none() && field.name() != Some("file") {
            continue;
        }
        let name = clean_name(q.name.as_deref().or(field.file_name()));
        let opts = IngestOptions {
            source: format!("upload:{name}"),
            kind: "upload",
            batch: 4096,
            hold_back_us: mlids_model::sink::FILE_HOLD_BACK_US,
            keep_rows: keep,
            limit,
            upload_id: Some(id),
            explain: Explain::None,
        };
        let chunks = stream::unfold(field, |mut f| async move {
            match f.chunk().await {
                Ok(Some(b)) => Some((Ok(b), f)),
                Ok(None) => None,
                Err(e) => Some((Err(e), f)),
            }
        });
        return ingest(&state, Box::pin(chunks), opts).await.map(Json);
    }
}

/// An endless capture: flows are classified one by one as they end and alerts leave at once. The
/// response (the run's summary, no flow list) comes when the client ends the stream.
pub async fn stream(
    State(state): State<AppState>,
    q: Result<Query<UploadQuery>, QueryRejection>,
    body: Body,
) -> Result<Json<IngestReport>, ApiError> {
    let Query(q) = q?;
    let source = match q.name.as_deref() {
        Some(n) => format!("stream:{}", clean_name(Some(n))),
        None => "stream".into(),
    };
    let opts = IngestOptions {
        source,
        kind: "stream",
        batch: 1,
        hold_back_us: 0,
        keep_rows: 0,
        limit: None,
        upload_id: None,
        explain: Explain::attacks(state.config.explain_top),
    };
    ingest(&state, body.into_data_stream(), opts)
        .await
        .map(Json)
}
