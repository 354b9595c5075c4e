//! Shared server state, cloned into every handler.

use crate::alert::Alert;
use crate::config::ServerConfig;
use crate::metrics::Metrics;
use mlids_model::Detector;
use std::sync::Arc;
use tokio::sync::broadcast;

/// How many alerts a slow WebSocket client may fall behind before it is told it missed some.
const ALERT_BUFFER: usize = 4096;

#[derive(Clone)]
pub struct AppState {
    /// Classifies without explanations (fast path for plain 0/1 predictions).
    pub detector: Arc<Detector>,
    /// The same model with top-feature explanations (alerts, detailed predictions).
    pub explaining: Arc<Detector>,
    pub config: Arc<ServerConfig>,
    pub alerts: broadcast::Sender<Arc<Alert>>,
    pub metrics: Arc<Metrics>,
    /// The link to the NATS JetStream bus, once [`crate::bus::attach`] has made it.
    pub bus: Option<Arc<crate::bus::BusLink>>,
}

impl AppState {
    /// `load` is called twice: once for a plain detector and once for an explaining one.
    pub fn new(
        config: ServerConfig,
        mut load: impl FnMut() -> mlids_model::Result<Detector>,
    ) -> mlids_model::Result<AppState> {
        let mut detector = load()?;
        detector.set_explain(0);
        let mut explaining = load()?;
        explaining.set_explain(config.explain_top);
        let (alerts, _) = broadcast::channel(ALERT_BUFFER);
        Ok(AppState {
            detector: Arc::new(detector),
            explaining: Arc::new(explaining),
            config: Arc::new(config),
            alerts,
            metrics: Arc::new(Metrics::new()),
            bus: None,
        })
    }

    /// Send an alert to every WebSocket subscriber (none listening is fine).
    pub fn publish(&self, alert: Alert) {
        self.metrics.alert(&alert.label);
        if let Some(bus) = &self.bus {
            bus.forward(&alert);
        }
        let _ = self.alerts.send(Arc::new(alert));
    }
}
