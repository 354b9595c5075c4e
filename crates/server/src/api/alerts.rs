//! `GET /api/alerts`: every detection from any source, as JSON text messages on a WebSocket.
//! `POST /api/alerts`: publish alerts from elsewhere (`ml-ids watch --forward`).

use crate::alert::Alert;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

#[derive(Deserialize, Default, Clone)]
pub struct AlertFilter {
    /// Only alerts whose attack score is at least this.
    #[serde(default)]
    min_probability: Option<f64>,
    /// Comma-separated labels to keep.
    #[serde(default)]
    labels: Option<String>,
    /// What to receive, comma-separated: `incidents` (incident.opened/updated/closed events, the
    /// default), `alerts` (one message per attack flow or REST prediction, opt-in: a scan is
    /// thousands of them) and `progress` (upload.progress while uploads are classified).
    #[serde(default)]
    events: Option<String>,
}

/// Which streams a WebSocket subscriber asked for.
#[derive(Clone, Copy)]
struct Streams {
    alerts: bool,
    incidents: bool,
    progress: bool,
}

impl AlertFilter {
    fn streams(&self) -> Result<Streams, ApiError> {
        let Some(list) = self.events.as_deref() else {
            return Ok(Streams {
                alerts: false,
                incidents: true,
                progress: false,
            });
        };
        let mut s = Streams {
            alerts: false,
            incidents: false,
            progress: false,
        };
        for e in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match e {
                "alerts" => s.alerts = true,
                "incidents" => s.incidents = true,
                "progress" => s.progress = true,
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "events: unknown '{other}' (alerts, incidents, progress)"
                    )))
                }
            }
        }
        Ok(s)
    }
}

impl AlertFilter {
    fn keeps(&self, a: &Alert) -> bool {
        if self.min_probability.is_some_and(|p| a.attack_score < p) {
            return false;
        }
        match &self.labels {
            Some(l) if !l.is_empty() => l.split(',').any(|x| x.trim() == a.label),
            _ => true,
        }
    }
}

pub async fn websocket(
    State(state): State<AppState>,
    filter: Result<Query<AlertFilter>, QueryRejection>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let Query(filter) = filter?;
    if filter
        .min_probability
        .is_some_and(|p| !(0.0..=1.0).contains(&p))
    {
        return Err(ApiError::BadRequest(
            "min_probability must be within [0, 1]".into(),
        ));
    }
    let streams = filter.streams()?;
    Ok(ws?.on_upgrade(move |socket| forward(socket, state, filter, streams)))
}

async fn forward(mut socket: WebSocket, state: AppState, filter: AlertFilter, streams: Streams) {
    let mut rx = state.alerts.subscribe();
    let mut incidents = state.incident_events.subscribe();
    let mut progress = state.progress.subscribe();
    let hello = json!({ "type": "hello", "mode": state.detector.mode().to_string() }).to_string();
    if socket.send(Message::Text(hello.into())).await.is_err() {
        return;
    }
    // A quiet subscriber is pinged well within the server's idle timeout, so the connection is
    // not closed as silent (and a dead peer is noticed).
    let every = (state.config.idle_timeout / 4).max(std::time::Duration::from_secs(1));
    let mut ping = tokio::time::interval(every);
    ping.tick().await;
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
            alert = rx.recv(), if streams.alerts => {
                let text = match alert {
                    Ok(a) if filter.keeps(&a) => serde_json::to_string(&*a).unwrap_or_default(),
                    Ok(_) => continue,
                    // A slow client: say how many it missed instead of silently dropping them.
                    Err(RecvError::Lagged(n)) => json!({ "type": "lagged", "missed": n }).to_string(),
                    Err(RecvError::Closed) => return,
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            event = incidents.recv(), if streams.incidents => {
                let text = match event {
                    Ok(e) => json!({ "type": e.kind.event_name(), "incident": e.incident }).to_string(),
                    Err(RecvError::Lagged(n)) => json!({ "type": "lagged", "missed_incident_events": n }).to_string(),
                    Err(RecvError::Closed) => return,
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            p = progress.recv(), if streams.progress => {
                let text = match p {
                    Ok(p) => p.to_string(),
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return;
                }
            }
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            }
        }
    }
}

/// One alert or an array of them.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum AlertBatch {
    One(Box<Alert>),
    Many(Vec<Alert>),
}

pub async fn ingest_alerts(
    State(state): State<AppState>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = body?;
    let batch: AlertBatch = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("malformed alert JSON: {e}")))?;
    let alerts = match batch {
        AlertBatch::One(a) => vec![*a],
        AlertBatch::Many(v) => v,
    };
    for (i, a) in alerts.iter().enumerate() {
        a.validate()
            .map_err(|e| ApiError::BadRequest(format!("alert {i}: {e}")))?;
    }
    let n = alerts.len();
    for a in alerts {
        state.publish(a);
    }
    Ok(Json(json!({ "published": n })))
}
