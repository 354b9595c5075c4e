//! `GET /api/incidents` (filtered list), `GET /api/incidents/{id}`, and `POST /api/incidents`:
//! incident events made elsewhere (`ml-ids watch --forward`, a replayed `--incidents` file),
//! recorded and published as if this server had built them.

use crate::error::ApiError;
use crate::incidents::IncidentQuery;
use crate::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use mlids_incident::{EventKind, Incident, IncidentEvent, Severity};
use serde::Deserialize;
use serde_json::{json, Value};

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

/// One posted incident event, in any of the shapes ml-ids writes one: the tracker's own
/// (`{"kind":"opened","incident":…}`), or the WebSocket's and `watch --incidents`'s
/// (`{"type":"incident.opened","source":…,"incident":…}`), so a sensor's output is posted as it is.
/// Other fields, such as that `source` (the sensor, `watch:eth0`), are accepted and not stored:
/// the incident's own `sources` says where its flows were seen.
#[derive(Deserialize)]
struct PostedEvent {
    #[serde(default)]
    kind: Option<EventKind>,
    #[serde(default, rename = "type")]
    event_type: Option<String>,
    incident: Incident,
}

/// Longest incident id taken: the tracker's are 16 hex digits; the bound keeps a client from
/// filling the store with megabyte keys.
const MAX_ID_LEN: usize = 128;

impl PostedEvent {
    /// The event, or why it is not one the store can keep.
    fn into_event(self) -> Result<IncidentEvent, String> {
        let from_type = match self.event_type.as_deref() {
            None => None,
            Some("incident.opened") => Some(EventKind::Opened),
            Some("incident.updated") => Some(EventKind::Updated),
            Some("incident.closed") => Some(EventKind::Closed),
            Some(other) => {
                return Err(format!(
                    "type: '{other}' is not incident.opened, incident.updated or incident.closed"
                ))
            }
        };
        let kind = match (self.kind, from_type) {
            (Some(k), Some(t)) if k != t => {
                return Err(format!(
                    "kind '{}' and type '{}' disagree",
                    kind_name(k),
                    t.event_name()
                ))
            }
            (Some(k), _) | (None, Some(k)) => k,
            (None, None) => {
                return Err(
                    "kind (opened, updated or closed) or type (incident.opened, …) is required"
                        .into(),
                )
            }
        };
        let i = &self.incident;
        let id_ok = !i.id.is_empty()
            && i.id.len() <= MAX_ID_LEN
            && i.id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !id_ok {
            return Err(format!(
                "incident.id: must be 1 to {MAX_ID_LEN} letters, digits, '-', '_' or '.' (it is a URL path segment of GET /api/incidents/{{id}})"
            ));
        }
        if i.family.trim().is_empty() {
            return Err("incident.family: must not be empty".into());
        }
        if i.first_seen_us > i.last_seen_us {
            return Err(format!(
                "incident.first_seen_us {} is after last_seen_us {}",
                i.first_seen_us, i.last_seen_us
            ));
        }
        for (name, score) in [("mean_score", i.mean_score), ("max_score", i.max_score)] {
            if !(0.0..=1.0).contains(&score) {
                return Err(format!("incident.{name} {score} is not within [0, 1]"));
            }
        }
        // The tracker reports open incidents as opened or updated and closes them once; an
        // event saying otherwise would leave the list contradicting the WebSocket.
        if i.open == (kind == EventKind::Closed) {
            return Err(format!(
                "incident.open is {} in a{} {} event",
                i.open,
                if kind == EventKind::Opened { "n" } else { "" },
                kind_name(kind)
            ));
        }
        Ok(IncidentEvent {
            kind,
            incident: self.incident,
        })
    }
}

fn kind_name(k: EventKind) -> &'static str {
    match k {
        EventKind::Opened => "opened",
        EventKind::Updated => "updated",
        EventKind::Closed => "closed",
    }
}

/// Parse one posted event, naming the field at fault (`incident.flows: invalid type …`).
fn posted(v: &Value) -> Result<IncidentEvent, String> {
    let e: PostedEvent = serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            e.into_inner().to_string()
        } else {
            format!("{path}: {}", e.into_inner())
        }
    })?;
    e.into_event()
}

/// `POST /api/incidents`: one incident event or an array of them. All are checked before any is
/// recorded, so a rejected batch leaves the store as it was and the client can fix and resend
/// it whole. Each is then recorded (a later state of an id replaces the earlier) and sent to
/// WebSocket subscribers, in the order given.
pub async fn ingest(
    State(state): State<AppState>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = body?;
    // Syntax first (400, with serde's line and column), then each event's content (422).
    let doc: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("malformed incident JSON: {e}")))?;
    let events =
        match &doc {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    posted(v).map_err(|e| {
                        ApiError::Unprocessable(format!(
                            "incident event {i}: {e} (nothing was recorded)"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            Value::Object(_) => vec![posted(&doc)
                .map_err(|e| ApiError::Unprocessable(format!("incident event: {e}")))?],
            _ => {
                return Err(ApiError::Unprocessable(
                    "expected an incident event object or an array of them".into(),
                ))
            }
        };
    for e in &events {
        state.publish_incident(e);
    }
    Ok(Json(json!({ "published": events.len() })))
}
