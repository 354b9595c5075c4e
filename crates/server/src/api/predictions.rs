//! `POST /api/predictions`: classify feature rows sent as JSON or CSV (the shapes are listed in
//! [`super::rows`]).
//!
//! The answer is a JSON array of 0/1 in input order, or with `?detail=true` (or
//! `Accept: application/vnd.mlids.detail+json`) one object per row with label, probability and the
//! top contributing features. Columns are matched by snake_case name (or any CIC header spelling);
//! columns the model does not use (the timestamp, a label) are ignored.
//!
//! [`read_request`] and [`score`] are `POST /invocations`' too (`super::mlflow`): one parser, one
//! model choice, one classifier and one alert path, with two answer envelopes.

use super::rows::{self, parse_flag, Cell, Table};
use crate::alert::Alert;
use crate::cancel::CancelOnDrop;
use crate::error::ApiError;
use crate::state::{AppState, ServedModel};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use mlids_flow::{Feature, Mode};
use mlids_model::{Detector, Explain, Task, Verdict};
use serde::Deserialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Deserialize)]
pub struct PredictQuery {
    #[serde(default)]
    detail: Option<String>,
    /// A served model's name; by default the first served model of the rows' extractor mode.
    #[serde(default)]
    model: Option<String>,
    /// `false`: no alerts for the rows classified as attacks (bulk scoring).
    #[serde(default)]
    alerts: Option<String>,
}

/// A prediction request as both endpoints read it: the rows, the bundle asked for, how to answer.
pub(super) struct PredictionRequest {
    table: Table,
    model: Option<String>,
    pub how: Answer,
}

/// Parse a request: the body by its `Content-Type`, the options from the query string or else
/// the body's MLflow `params`. `source` names the endpoint in the alerts it raises.
pub(super) fn read_request(
    q: PredictQuery,
    headers: &HeaderMap,
    body: &[u8],
    source: &'static str,
) -> Result<PredictionRequest, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_ascii_lowercase();
    let rows::Body { table, params } = rows::parse(&content_type, body)?;
    let flag = |q: &Option<String>| q.as_deref().and_then(parse_flag);
    let detail_accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/vnd.mlids.detail+json"));
    let how = Answer {
        detail: flag(&q.detail).or(params.detail).unwrap_or(false) || detail_accept,
        alerts: flag(&q.alerts).or(params.alerts).unwrap_or(true),
        source,
    };
    Ok(PredictionRequest {
        table,
        model: q.model.or(params.model),
        how,
    })
}

/// One classified request: the answering bundle's name and task, and a verdict per row in input
/// order.
pub(super) struct Scored {
    pub model: String,
    pub task: Task,
    pub verdicts: Vec<Verdict>,
}

/// Response header naming the bundle that classified the rows.
pub const MODEL_HEADER: &str = "x-mlids-model";

/// Name the bundle that answered, so a client of a multi-bundle server can tell without
/// `?detail` (both prediction endpoints; MLflow clients ignore the header).
pub(super) fn with_model_header(mut answer: Response, model: &str) -> Response {
    if let Ok(name) = axum::http::HeaderValue::from_str(model) {
        answer.headers_mut().insert(MODEL_HEADER, name);
    }
    answer
}

/// Choose the bundle, classify the rows and publish the alerts. Parsing is done by now and
/// classification is CPU work, so it leaves the async threads.
pub(super) async fn score(state: &AppState, req: PredictionRequest) -> Result<Scored, ApiError> {
    let st = state.clone();
    let PredictionRequest { table, model, how } = req;
    // Dropped with this future when the request times out or the client leaves: the blocking
    // work then stops at its next chunk of rows.
    let cancelled = Arc::new(AtomicBool::new(false));
    let mut guard = CancelOnDrop(Some(cancelled.clone()));
    let scored = tokio::task::spawn_blocking(move || {
        classify(&st, table, model.as_deref(), how, &cancelled)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("prediction task failed: {e}")))?;
    guard.disarm();
    scored
}

/// Rows classified between two looks at the cancellation flag.
const CANCEL_CHECK_ROWS: usize = 8192;

pub async fn predict(
    State(state): State<AppState>,
    q: Result<Query<PredictQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let Query(q) = q?;
    let req = read_request(q, &headers, &body, "api:predictions")?;
    let detail = req.how.detail;
    let Scored {
        model, verdicts, ..
    } = score(&state, req).await?;
    let answer = if detail {
        Json(verdicts).into_response()
    } else {
        let flags: Vec<u8> = verdicts.iter().map(|v| u8::from(v.is_attack)).collect();
        Json(flags).into_response()
    };
    Ok(with_model_header(answer, &model))
}

/// The feature a request column names, in any spelling: either mode's snake name (the seed's
/// `cwe_flag_count` and the improved `cwr_flag_count` are one feature), the CSE-CIC-IDS2018
/// header, the improved header or the CIC-IDS2017 header.
fn column_feature(name: &str) -> Option<Feature> {
    let t = name.trim();
    Feature::from_snake(t).or_else(|| {
        Feature::ALL.iter().copied().find(|f| {
            let n = f.names();
            n.cic2018 == t || n.improved == t || n.cic2017 == t
        })
    })
}

/// The extractor mode rows come from: values in the corrected-only columns (Fwd/Bwd RST Flags,
/// ICMP Code/Type, Total TCP Flow Time) make corrected-mode rows; without them (absent or empty)
/// they are cic2018-mode rows (the seed's CSE-CIC-IDS2018 data).
fn rows_mode(table: &Table, features: &[Option<Feature>]) -> Mode {
    let corrected_only: Vec<usize> = (0..features.len())
        .filter(|&c| features[c].is_some_and(|f| !f.in_cic2018()))
        .collect();
    let has_corrected_values = table.rows.iter().any(|row| {
        corrected_only
            .iter()
            .any(|&c| matches!(row.get(c), Some(Cell::Num(v)) if v.is_finite()))
    });
    if has_corrected_values {
        Mode::Corrected
    } else {
        Mode::Cic2018
    }
}

/// The model for a request: the one named, else the first served for the rows' mode (the primary
/// when no rows tell). Rows of the other mode than the chosen model's are a 422 naming both,
/// never a silent wrong answer.
fn choose_model<'s>(
    state: &'s AppState,
    name: Option<&str>,
    request: Option<Mode>,
) -> Result<&'s ServedModel, ApiError> {
    let chosen = match (name, request) {
        (Some(n), _) => state.model(n).ok_or_else(|| {
            ApiError::NotFound(format!(
                "no model '{n}' is served (served: {})",
                state.model_list()
            ))
        })?,
        (None, Some(mode)) => state.model_for_mode(mode).unwrap_or(&state.models[0]),
        (None, None) => &state.models[0],
    };
    let model = chosen.detector.mode();
    let Some(request) = request.filter(|&r| r != model) else {
        return Ok(chosen);
    };
    let why = match request {
        Mode::Cic2018 => {
            "their corrected-mode columns (fwd_rst_flags, bwd_rst_flags, icmp_code, icmp_type, \
             total_tcp_flow_time) are absent or empty, so they are cic2018-mode rows \
             (CSE-CIC-IDS2018 / CICFlowMeter-V3 semantics)"
        }
        Mode::Corrected => {
            "they carry corrected-mode columns (Fwd/Bwd RST Flags, ICMP Code/Type, Total TCP \
             Flow Time), so they are corrected-mode rows (2022 improved CICFlowMeter semantics)"
        }
    };
    Err(ApiError::Unprocessable(format!(
        "the rows are {request}-mode features but the model '{}' is a {model}-mode model: {why}; \
         the same column means different things in the two modes, so the model would misread \
         them. Send {model}-mode features, or serve a {request}-mode bundle (served: {})",
        chosen.name,
        state.model_list()
    )))
}

/// How a prediction request is answered.
#[derive(Clone, Copy)]
pub(super) struct Answer {
    /// Verdicts (label, probability, top features) instead of plain predictions.
    pub detail: bool,
    /// Every attack row becomes an alert (WebSocket, bus), as the seed published each prediction.
    pub alerts: bool,
    /// The alerts' `source`: which endpoint classified the rows.
    pub source: &'static str,
}

fn classify(
    state: &AppState,
    mut table: Table,
    model: Option<&str>,
    how: Answer,
    cancelled: &AtomicBool,
) -> Result<Scored, ApiError> {
    let positional = table.positional;
    let duplicates = rows::duplicates(table.columns.iter().map(String::as_str));
    if !duplicates.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "duplicate column names: {} (each column may appear once)",
            duplicates.join(", ")
        )));
    }
    if positional {
        // Rows without column names are in the answering model's own feature order, as a numpy
        // array is to an MLflow model; they say nothing about their extractor mode.
        let chosen = choose_model(state, model, None)?;
        table.columns = chosen.detector.feature_names().to_vec();
    }
    check_widths(&table)?;
    let features: Vec<Option<Feature>> = table.columns.iter().map(|c| column_feature(c)).collect();
    let request = (!positional && !table.rows.is_empty()).then(|| rows_mode(&table, &features));
    let chosen = choose_model(state, model, request)?;
    let detector = &chosen.detector;
    let names = detector.feature_names();
    let corrected = detector.mode() == Mode::Corrected;
    let map: Vec<Option<usize>> = features
        .iter()
        .map(|f| f.and_then(|f| names.iter().position(|n| n == f.snake_name(corrected))))
        .collect();
    // The service a row describes, for its alert (dst_port is no model feature).
    let column = |want: Feature| features.iter().position(|f| *f == Some(want));
    let service = (column(Feature::DstPort), column(Feature::Protocol));
    let columns = Columns { map, service };
    let verdicts = classify_mapped(state, chosen, table, columns, (how, cancelled))?;
    Ok(Scored {
        model: chosen.name.clone(),
        task: detector.manifest().task,
        verdicts,
    })
}

/// Where a request's columns go: each column's index in the model's feature order, and the
/// columns holding the destination port and protocol (for alerts).
struct Columns {
    map: Vec<Option<usize>>,
    service: (Option<usize>, Option<usize>),
}

/// Rows into the model's feature order (`map`: each column's model index) and classified.
fn classify_mapped(
    state: &AppState,
    chosen: &ServedModel,
    table: Table,
    columns: Columns,
    (how, cancelled): (Answer, &AtomicBool),
) -> Result<Vec<Verdict>, ApiError> {
    let Columns { map, service } = columns;
    let detector: &Detector = &chosen.detector;
    let names = detector.feature_names();
    let nf = names.len();
    let mut present = vec![false; nf];
    for i in map.iter().flatten() {
        present[*i] = true;
    }
    let missing: Vec<&str> = names
        .iter()
        .zip(&present)
        .filter(|(_, p)| !**p)
        .map(|(n, _)| n.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "missing feature columns the model needs: {}",
            missing.join(", ")
        )));
    }
    // Widths are checked first (in `classify`): the matrix is allocated only for rows that are
    // what they claim.
    let mut x = vec![f64::NAN; table.rows.len() * nf];
    for (r, row) in table.rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let Some(i) = map[c] else { continue };
            x[r * nf + i] = match *cell {
                // Non-finite values are missing, as in training.
                Cell::Num(v) if v.is_finite() => v,
                Cell::Num(_) | Cell::Missing => f64::NAN,
                Cell::Text => {
                    return Err(ApiError::BadRequest(format!(
                        "row {r}, column '{}': not a number",
                        table.columns[c]
                    )));
                }
            };
        }
    }
    state.metrics.flows("api", table.rows.len() as u64);
    let explain = if how.detail {
        Explain::all(state.config.explain_top)
    } else {
        Explain::None
    };
    let mut verdicts = Vec::with_capacity(table.rows.len());
    for chunk in x.chunks(CANCEL_CHECK_ROWS * nf.max(1)) {
        if cancelled.load(Ordering::Relaxed) {
            tracing::info!(
                "predictions: stopped after {} of {} rows, the client went away",
                verdicts.len(),
                table.rows.len()
            );
            return Err(ApiError::RequestTimeout(
                "the client went away; classification stopped".into(),
            ));
        }
        verdicts.extend(detector.classify_matrix(chunk, explain)?);
    }
    if how.alerts {
        let num = |row: &[Cell], c: Option<usize>| match c.and_then(|c| row.get(c)) {
            Some(Cell::Num(v)) => Some(*v),
            _ => None,
        };
        for ((x_row, row), v) in x.chunks_exact(nf.max(1)).zip(&table.rows).zip(&verdicts) {
            if v.is_attack {
                let row_service = (num(row, service.0), num(row, service.1));
                let alert = Alert::for_row(names, x_row, v, &chosen.name, how.source, row_service);
                state.publish(alert);
            }
        }
    }
    Ok(verdicts)
}

/// Every row as wide as the columns: a malformed request is a 400 before anything is read
/// into it (mode, model, matrix).
fn check_widths(table: &Table) -> Result<(), ApiError> {
    match table
        .rows
        .iter()
        .enumerate()
        .find(|(_, row)| row.len() != table.columns.len())
    {
        Some((r, row)) => Err(width_error(
            r,
            row.len(),
            table.columns.len(),
            table.positional,
        )),
        None => Ok(()),
    }
}

/// A row of the wrong width; rows without column names are told where the order comes from.
fn width_error(row: usize, got: usize, want: usize, positional: bool) -> ApiError {
    if positional {
        ApiError::BadRequest(format!(
            "row {row} has {got} values but the model takes {want} features: rows without column \
             names hold the model's features in its order (GET /api/model lists them)"
        ))
    } else {
        ApiError::BadRequest(format!(
            "row {row} has {got} values but there are {want} columns"
        ))
    }
}
