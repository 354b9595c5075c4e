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
    /// The model, loaded once; each call chooses whether its verdicts are explained.
    pub detector: Arc<Detector>,
    pub config: Arc<ServerConfig>,
    pub alerts: broadcast::Sender<Arc<Alert>>,
    pub metrics: Arc<Metrics>,
    /// The link to the NATS JetStream bus, once [`crate::bus::attach`] has made it.
    pub bus: Option<Arc<crate::bus::BusLink>>,
}

impl AppState {
    pub fn new(config: ServerConfig, detector: Detector) -> AppState {
        let (alerts, _) = broadcast::channel(ALERT_BUFFER);
        AppState {
            detector: Arc::new(detector),
            config: Arc::new(config),
            alerts,
            metrics: Arc::new(Metrics::new()),
            bus: None,
        }
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
