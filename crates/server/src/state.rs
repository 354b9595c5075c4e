//! Shared server state, cloned into every handler.

use crate::admission::Admission;
use crate::alert::Alert;
use crate::config::ServerConfig;
use crate::incidents::IncidentStore;
use crate::ingest::{IngestOptions, Progress};
use crate::metrics::Metrics;
use crate::uploads::UploadStore;
use mlids_incident::IncidentEvent;
use mlids_model::Detector;
use std::sync::Arc;
use tokio::sync::broadcast;

/// How many alerts a slow WebSocket client may fall behind before it is told it missed some.
const ALERT_BUFFER: usize = 4096;

/// A served bundle and the name requests give it (`?model=NAME`): its directory's name.
pub struct ServedModel {
    pub name: String,
    pub detector: Arc<Detector>,
}

#[derive(Clone)]
pub struct AppState {
    /// The primary model (the first served), loaded once: captures, streams and the bus use it;
    /// each call chooses whether its verdicts are explained.
    pub detector: Arc<Detector>,
    /// Every served model, the primary first: `/api/predictions` picks one per request.
    pub models: Arc<Vec<ServedModel>>,
    pub config: Arc<ServerConfig>,
    pub alerts: broadcast::Sender<Arc<Alert>>,
    /// Incidents opening, updating and closing, for WebSocket subscribers.
    pub incident_events: broadcast::Sender<Arc<IncidentEvent>>,
    /// The latest state of every incident seen (`GET /api/incidents`).
    pub incidents: Arc<IncidentStore>,
    /// Progress of uploads being classified (`upload.progress` WebSocket events).
    pub progress: broadcast::Sender<Arc<serde_json::Value>>,
    /// The flows of recent uploads (`GET /api/uploads/{id}/flows`).
    pub uploads: Arc<UploadStore>,
    /// Capture slots and the request-memory budget.
    pub admission: Arc<Admission>,
    pub metrics: Arc<Metrics>,
    /// The link to the NATS JetStream bus, once [`crate::bus::attach`] has made it.
    pub bus: Option<Arc<crate::bus::BusLink>>,
}

impl AppState {
    /// One model, named `default`.
    pub fn new(config: ServerConfig, detector: Detector) -> AppState {
        AppState::with_models(config, vec![("default".into(), detector)])
    }

    /// Several models (at least one; names unique), the first the primary.
    pub fn with_models(config: ServerConfig, models: Vec<(String, Detector)>) -> AppState {
        let (alerts, _) = broadcast::channel(ALERT_BUFFER);
        let (incident_events, _) = broadcast::channel(ALERT_BUFFER);
        let (progress, _) = broadcast::channel(ALERT_BUFFER);
        let models: Vec<ServedModel> = models
            .into_iter()
            .map(|(name, d)| ServedModel {
                name,
                detector: Arc::new(d),
            })
            .collect();
        let admission = Arc::new(Admission::new(
            config.request_memory_bytes.max(
                config
                    .max_body_bytes
                    .saturating_mul(crate::admission::MEMORY_PER_BODY_BYTE),
            ),
            config.max_captures,
        ));
        AppState {
            detector: models.first().expect("at least one model").detector.clone(),
            models: Arc::new(models),
            config: Arc::new(config),
            alerts,
            incident_events,
            incidents: Arc::new(IncidentStore::default()),
            progress,
            uploads: Arc::new(UploadStore::default()),
            admission,
            metrics: Arc::new(Metrics::new()),
            bus: None,
        }
    }

    /// The served model called `name`.
    pub fn model(&self, name: &str) -> Option<&ServedModel> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The first served model of an extractor mode.
    pub fn model_for_mode(&self, mode: mlids_flow::Mode) -> Option<&ServedModel> {
        self.models.iter().find(|m| m.detector.mode() == mode)
    }

    /// `name (mode)` of every served model, for messages.
    pub fn model_list(&self) -> String {
        self.models
            .iter()
            .map(|m| format!("{} ({})", m.name, m.detector.mode()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Send an alert to every WebSocket subscriber (none listening is fine).
    pub fn publish(&self, alert: Alert) {
        self.metrics.alert(&alert.label);
        if let Some(bus) = &self.bus {
            bus.forward(&alert);
        }
        let _ = self.alerts.send(Arc::new(alert));
    }

    /// Tell WebSocket subscribers how far an upload's classification has got.
    pub fn publish_progress(&self, opts: &IngestOptions, bytes: u64, p: &Progress, done: bool) {
        let Some(id) = &opts.upload_id else {
            return;
        };
        if self.progress.receiver_count() == 0 {
            return;
        }
        let msg = serde_json::json!({
            "type": "upload.progress",
            "upload_id": id,
            "source": opts.source,
            "bytes": bytes,
            "flows": p.flows.load(std::sync::atomic::Ordering::Relaxed),
            "attacks": p.attacks.load(std::sync::atomic::Ordering::Relaxed),
            "done": done,
        });
        let _ = self.progress.send(Arc::new(msg));
    }

    /// Record an incident's new state and tell every WebSocket subscriber.
    pub fn publish_incident(&self, event: &IncidentEvent) {
        self.incidents.record(event);
        let _ = self.incident_events.send(Arc::new(event.clone()));
    }
}
