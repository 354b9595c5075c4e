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
use serde::Deserialize;

#[derive(Deserialize)]
pub struct UploadQuery {
    /// Name shown in alerts (`upload:NAME`).
    #[serde(default)]
    name: Option<String>,
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
    if !is_multipart {
        let opts = IngestOptions {
            source: format!("upload:{}", clean_name(q.name.as_deref())),
            kind: "upload",
            batch: 4096,
            hold_back_us: mlids_model::sink::DEFAULT_HOLD_BACK_US,
            keep_rows: keep,
            limit,
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
            hold_back_us: mlids_model::sink::DEFAULT_HOLD_BACK_US,
            keep_rows: keep,
            limit,
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
    };
    ingest(&state, body.into_data_stream(), opts)
        .await
        .map(Json)
}
