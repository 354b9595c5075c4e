//! `GET /api/uploads/{id}/flows` (a page of an upload's flows, filtered and sorted) and
//! `GET /api/uploads/{id}/flows/{index}` (one flow with its features and, computed now, the
//! features that decided its verdict).

use crate::error::ApiError;
use crate::ingest::FlowRow;
use crate::state::AppState;
use crate::uploads::{StoredFlow, UploadFlows};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use mlids_model::{Contribution, Explain};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeMap;

const DEFAULT_PAGE: usize = 200;
const MAX_PAGE: usize = 5000;
/// Features in an on-demand explanation.
const EXPLAIN_TOP: usize = 10;

#[derive(Deserialize, Default)]
pub struct PageQuery {
    offset: Option<usize>,
    limit: Option<usize>,
    /// Only flows classified as attacks.
    attacks_only: Option<bool>,
    /// Text every listed flow contains (address, port, label, …), case-insensitive.
    q: Option<String>,
    /// Only flows from this source address (with `attacks_only`: an incident's flows, which the
    /// UI narrows to the incident's labels and time window).
    src: Option<String>,
    dst: Option<String>,
    /// Sort key: any row field (`time`, `packets`, `attack_score`, …); default capture order.
    sort: Option<String>,
    /// `asc` (default) or `desc`.
    dir: Option<String>,
}

#[derive(Serialize)]
pub struct Page {
    pub upload_id: String,
    /// Flows matching the filters.
    pub total: usize,
    pub offset: usize,
    pub flows: Vec<FlowRow>,
    /// Flows of the capture the server did not keep (beyond its limits).
    pub not_kept: u64,
}

fn upload(state: &AppState, id: &str) -> Result<std::sync::Arc<UploadFlows>, ApiError> {
    state.uploads.get(id).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no upload '{id}' kept (the server keeps the flows of its last {} uploads)",
            crate::uploads::UPLOADS_KEPT
        ))
    })
}

pub async fn page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Page>, ApiError> {
    let Query(q) = q?;
    let up = upload(&state, &id)?;
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit {limit}: must be between 1 and {MAX_PAGE}"
        )));
    }
    let desc = match q.dir.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(d) => return Err(ApiError::BadRequest(format!("dir '{d}': asc or desc"))),
    };
    let needle =
        q.q.as_deref()
            .map(str::to_lowercase)
            .filter(|s| !s.is_empty());
    let mut rows: Vec<&FlowRow> = up
        .flows
        .iter()
        .map(|f| &f.row)
        .filter(|r| !q.attacks_only.unwrap_or(false) || r.is_attack)
        .filter(|r| q.src.as_deref().is_none_or(|s| r.src_ip == s))
        .filter(|r| q.dst.as_deref().is_none_or(|d| r.dst_ip == d))
        .filter(|r| needle.as_deref().is_none_or(|n| row_text(r).contains(n)))
        .collect();
    if let Some(key) = q.sort.as_deref() {
        sort_rows(&mut rows, key, desc)?;
    } else if desc {
        rows.reverse();
    }
    let offset = q.offset.unwrap_or(0);
    Ok(Json(Page {
        upload_id: id,
        total: rows.len(),
        offset,
        flows: rows.into_iter().skip(offset).take(limit).cloned().collect(),
        not_kept: up.dropped,
    }))
}

/// The row's searchable text: addresses, ports, label, protocol, termination.
fn row_text(r: &FlowRow) -> String {
    format!(
        "{} {} {} {} {} {} {} {}",
        r.src_ip, r.src_port, r.dst_ip, r.dst_port, r.protocol, r.label, r.termination, r.time
    )
    .to_lowercase()
}

/// A sortable field's value: a number or a text.
#[derive(PartialEq, PartialOrd)]
enum Key<'a> {
    Num(f64),
    Text(&'a str),
}

fn sort_key<'a>(r: &'a FlowRow, key: &str) -> Option<Key<'a>> {
    Some(match key {
        "index" => Key::Num(r.index as f64),
        "src_port" => Key::Num(f64::from(r.src_port)),
        "dst_port" => Key::Num(f64::from(r.dst_port)),
        "protocol" => Key::Num(f64::from(r.protocol)),
        "packets" => Key::Num(r.packets as f64),
        "bytes" => Key::Num(r.bytes),
        "duration_us" => Key::Num(r.duration_us),
        "probability" => Key::Num(r.probability),
        "attack_score" => Key::Num(r.attack_score),
        "time" => Key::Text(&r.time),
        "src_ip" => Key::Text(&r.src_ip),
        "dst_ip" => Key::Text(&r.dst_ip),
        "label" => Key::Text(&r.label),
        "termination" => Key::Text(&r.termination),
        _ => return None,
    })
}

/// The fields a page may be sorted by: every name [`sort_key`] knows.
const SORT_FIELDS: [&str; 14] = [
    "index",
    "time",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "protocol",
    "packets",
    "bytes",
    "duration_us",
    "label",
    "termination",
    "probability",
    "attack_score",
];

/// Stable sort by a row field (ties keep capture order).
fn sort_rows(rows: &mut [&FlowRow], key: &str, desc: bool) -> Result<(), ApiError> {
    if !SORT_FIELDS.contains(&key) {
        return Err(ApiError::BadRequest(format!(
            "sort '{key}': one of {}",
            SORT_FIELDS.join(", ")
        )));
    }
    rows.sort_by(|a, b| {
        let o = sort_key(a, key)
            .partial_cmp(&sort_key(b, key))
            .unwrap_or(Ordering::Equal);
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    Ok(())
}

#[derive(Serialize)]
pub struct FlowDetail {
    pub flow: FlowRow,
    /// The flow's feature values as the model saw them (null: missing).
    pub features: BTreeMap<String, Option<f64>>,
    /// The features that moved the predicted class's score most, computed for this request.
    pub explanation: Vec<Contribution>,
    pub explained_label: String,
}

pub async fn one(
    State(state): State<AppState>,
    Path((id, index)): Path<(String, u64)>,
) -> Result<Json<FlowDetail>, ApiError> {
    let up = upload(&state, &id)?;
    let stored: &StoredFlow = up
        .flows
        .binary_search_by_key(&index, |f| f.row.index)
        .ok()
        .map(|i| &up.flows[i])
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "flow {index} of upload '{id}' is not kept (see GET /api/uploads/{id}/flows)"
            ))
        })?;
    let detector = state.detector.clone();
    let x = stored.features.clone();
    let verdict = tokio::task::spawn_blocking(move || {
        detector.classify_matrix(&x, Explain::all(EXPLAIN_TOP))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("explanation task failed: {e}")))??
    .pop()
    .ok_or_else(|| ApiError::Internal("no verdict for the flow".into()))?;
    let features = state
        .detector
        .feature_names()
        .iter()
        .zip(&stored.features)
        .map(|(n, &v)| (n.clone(), v.is_finite().then_some(v)))
        .collect();
    Ok(Json(FlowDetail {
        flow: stored.row.clone(),
        features,
        explanation: verdict.top_features,
        explained_label: verdict.label,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sort_field_has_a_key() {
        let row = FlowRow {
            index: 0,
            time: String::new(),
            src_ip: String::new(),
            src_port: 0,
            dst_ip: String::new(),
            dst_port: 0,
            protocol: 0,
            community_id: None,
            packets: 0,
            bytes: 0.0,
            duration_us: 0.0,
            termination: String::new(),
            label: String::new(),
            probability: 0.0,
            attack_score: 0.0,
            is_attack: false,
        };
        for f in SORT_FIELDS {
            assert!(sort_key(&row, f).is_some(), "{f}");
        }
        assert!(sort_key(&row, "colour").is_none());
    }
}
