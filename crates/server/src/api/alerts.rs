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
    Ok(ws?.on_upgrade(move |socket| forward(socket, state, filter)))
}

async fn forward(mut socket: WebSocket, state: AppState, filter: AlertFilter) {
    let mut rx = state.alerts.subscribe();
    let hello = json!({ "type": "hello", "mode": state.detector.mode().to_string() }).to_string();
    if socket.send(Message::Text(hello.into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            alert = rx.recv() => {
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
