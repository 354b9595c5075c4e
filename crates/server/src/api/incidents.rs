//! `GET /api/incidents` (filtered list) and `GET /api/incidents/{id}`.

use crate::error::ApiError;
use crate::incidents::IncidentQuery;
use crate::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use mlids_incident::{Incident, Severity};
use serde::Deserialize;

/// Incidents returned when the query sets no limit, and the most it may ask for.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    /// Attack family (`PortScan`, `DoS`, …), case-insensitive.
    family: Option<String>,
    /// At least this severe: low, medium, high or critical.
    severity: Option<String>,
    /// Active at or after this time (RFC 3339, e.g. `2026-12-01T10:00:00Z`).
    since: Option<String>,
    /// Active at or before this time (RFC 3339).
    until: Option<String>,
    /// The attacker or a victim.
    address: Option<String>,
    /// `true`: only open incidents; `false`: only closed ones.
    open: Option<bool>,
    limit: Option<usize>,
}

pub async fn list(
    State(state): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<Incident>>, ApiError> {
    let Query(q) = q?;
    let query = IncidentQuery {
        family: q.family,
        min_severity: q.severity.as_deref().map(parse_severity).transpose()?,
        since_us: q
            .since
            .as_deref()
            .map(|t| parse_time("since", t))
            .transpose()?,
        until_us: q
            .until
            .as_deref()
            .map(|t| parse_time("until", t))
            .transpose()?,
        address: q
            .address
            .as_deref()
            .map(|a| {
                a.trim().parse().map_err(|_| {
                    ApiError::BadRequest(format!("address '{a}' is not an IPv4 or IPv6 address"))
                })
            })
            .transpose()?,
        open: q.open,
        limit: match q.limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT).contains(&n) => n,
            Some(n) => {
                return Err(ApiError::BadRequest(format!(
                    "limit {n}: must be between 1 and {MAX_LIMIT}"
                )))
            }
        },
    };
    Ok(Json(state.incidents.query(&query)))
}

pub async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Incident>, ApiError> {
    state.incidents.get(&id).map(Json).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no incident '{id}' (GET /api/incidents lists them)"
        ))
    })
}

fn parse_severity(s: &str) -> Result<Severity, ApiError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "low" => Ok(Severity::Low),
        "medium" => Ok(Severity::Medium),
        "high" => Ok(Severity::High),
        "critical" => Ok(Severity::Critical),
        _ => Err(ApiError::BadRequest(format!(
            "severity '{s}': one of low, medium, high, critical"
        ))),
    }
}

fn parse_time(name: &str, t: &str) -> Result<i64, ApiError> {
    chrono::DateTime::parse_from_rfc3339(t.trim())
        .map(|d| d.timestamp_micros())
        .map_err(|e| {
            ApiError::BadRequest(format!(
                "{name} '{t}': not an RFC 3339 time such as 2026-12-01T10:00:00Z ({e})"
            ))
        })
}
