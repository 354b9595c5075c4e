//! Prometheus metrics (`GET /metrics`), via the official `prometheus-client` crate.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::Mutex;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteOnly {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LabelLabels {
    pub label: String,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RouteLabels, Counter>,
    latency: Family<RouteOnly, Histogram>,
    flows: Family<SourceLabels, Counter>,
    packets: Counter,
    alerts: Family<LabelLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("mlids");
        let requests = Family::<RouteLabels, Counter>::default();
        let latency = Family::<RouteOnly, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 2.0, 18))
        });
        let flows = Family::<SourceLabels, Counter>::default();
        let packets = Counter::default();
        let alerts = Family::<LabelLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "flows_classified",
            "Flows classified, by source",
            flows.clone(),
        );
        registry.register(
            "packets_ingested",
            "Packets read from uploaded and streamed captures",
            packets.clone(),
        );
        registry.register("alerts", "Alerts published, by label", alerts.clone());
        Metrics {
            registry: Mutex::new(registry),
            requests,
            latency,
            flows,
            packets,
            alerts,
        }
    }

    pub fn request(&self, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RouteLabels {
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteOnly {
                route: route.to_string(),
            })
            .observe(seconds);
    }

    pub fn flows(&self, source_kind: &str, n: u64) {
        self.flows
            .get_or_create(&SourceLabels {
                source: source_kind.to_string(),
            })
            .inc_by(n);
    }

    pub fn packets(&self, n: u64) {
        self.packets.inc_by(n);
    }

    pub fn alert(&self, label: &str) {
        self.alerts
            .get_or_create(&LabelLabels {
                label: label.to_string(),
            })
            .inc();
    }

    /// Register more metrics (the bus link's counters) in the same registry.
    pub fn register_with(&self, f: impl FnOnce(&mut Registry)) {
        f(&mut self.registry.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        prometheus_client::encoding::text::encode(&mut out, &registry)
            .expect("writing to a String cannot fail");
        out
    }
}
