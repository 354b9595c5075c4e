//! Counters of sensors, workers and the server's bus link, as Prometheus metrics
//! (`prometheus-client`) and as one-line summaries for periodic stderr reports.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

macro_rules! counters {
    ($(#[$doc:meta])* $name:ident { $( $field:ident : $kind:ident = $help:expr ),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default)]
        pub struct $name {
            $( #[doc = $help] pub $field: $kind ),*
        }

        impl $name {
            /// Register every counter under `prefix` (`mlids_sensor`, `mlids_worker`, …).
            pub fn register(&self, registry: &mut Registry, prefix: &str) {
                let sub = registry.sub_registry_with_prefix(prefix);
                $( sub.register(stringify!($field), $help, self.$field.clone()); )*
            }

            /// `name=value` pairs for a stats line.
            pub fn line(&self) -> String {
                let mut parts: Vec<String> = Vec::new();
                $( parts.push(format!("{}={}", stringify!($field), self.$field.get())); )*
                parts.join(" ")
            }
        }
    };
}

counters! {
    /// What a sensor (or the server's ingest-to-bus path) did with the flows it produced.
    /// Invariant once the sensor has stopped:
    /// `flows_in = flows_published + flows_dropped + flows_lost`.
    SensorStats {
        packets_read: Counter = "Packets read from the capture source",
        flows_in: Counter = "Flows handed to the bus by the flow pipeline",
        flows_published: Counter = "Flows stored in the flow stream (publish acknowledged)",
        flows_duplicate: Counter = "Flows whose retried publish JetStream recognised as already stored",
        flows_dropped: Counter = "Flows dropped because the publish buffer was full",
        flows_lost: Counter = "Flows still unacknowledged when the sensor stopped (drain timeout)",
        batches_published: Counter = "Flow batches stored",
        publish_retries: Counter = "Publish attempts that failed and were retried",
        bytes_published: Counter = "Bytes of flow batches stored",
        buffered_flows: Gauge = "Flows waiting to be published or acknowledged",
        capture_dropped: Gauge = "Packets dropped by the capture (libpcap buffer full)",
    }
}

counters! {
    /// What a worker did.
    WorkerStats {
        batches_received: Counter = "Flow batches fetched from the flow stream",
        redeliveries: Counter = "Fetched batches that had been delivered before (a worker died or was slow)",
        flows_classified: Counter = "Flows classified",
        alerts_published: Counter = "Alerts stored in the alert stream",
        alerts_duplicate: Counter = "Alerts JetStream recognised as already stored (redelivered batches)",
        verdict_batches_duplicate: Counter = "Verdict records JetStream recognised as already stored",
        sighting_batches_duplicate: Counter = "Attack-verdict batches for the incident aggregator JetStream recognised as already stored",
        batches_acked: Counter = "Flow batches acknowledged after their results were stored",
        publish_failures: Counter = "Batches whose results could not be stored; left for redelivery",
        malformed: Counter = "Batches that could not be decoded (terminated, never redelivered)",
        mode_mismatch: Counter = "Batches from a sensor in another extractor mode than the model (terminated)",
    }
}

counters! {
    /// What an incident aggregator did.
    AggregatorStats {
        sighting_batches: Counter = "Batches of attack verdicts taken from the alert stream",
        sightings: Counter = "Attack verdicts grouped into incidents",
        malformed: Counter = "Sighting batches that could not be decoded (acknowledged and skipped)",
        incidents_opened: Counter = "Incidents opened",
        incidents_closed: Counter = "Incidents closed",
        events_published: Counter = "Incident events stored",
        events_duplicate: Counter = "Incident events JetStream recognised as already stored (another aggregator, or a retry)",
        publish_failures: Counter = "Incident events that could not be stored (their sightings are redelivered)",
    }
}

counters! {
    /// The server's link to the bus.
    ServerBusStats {
        alerts_received: Counter = "Alerts received from the alert stream and shown to WebSocket clients",
        alerts_forwarded: Counter = "Locally produced alerts stored in the alert stream",
        alerts_forward_failed: Counter = "Locally produced alerts that could not be stored in the alert stream",
        incident_events_received: Counter = "Incident events received from the aggregators",
    }
}

/// Latency from a sensor sealing a batch to its verdicts and alerts being stored.
#[derive(Clone, Debug)]
pub struct LatencyHistogram(pub Histogram);

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram(Histogram::new(exponential_buckets(0.0005, 2.0, 16)))
    }
}

impl LatencyHistogram {
    pub fn register(&self, registry: &mut Registry, prefix: &str) {
        registry.sub_registry_with_prefix(prefix).register(
            "publish_to_stored_seconds",
            "Time from the sensor sealing a flow batch to its verdicts and alerts being stored",
            self.0.clone(),
        );
    }
}

/// Render a registry in the Prometheus text format.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry)
        .expect("writing to a String cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_is_rendered() {
        let s = SensorStats::default();
        s.flows_dropped.inc_by(3);
        let mut r = Registry::default();
        s.register(&mut r, "mlids_sensor");
        WorkerStats::default().register(&mut r, "mlids_worker");
        let text = render(&r);
        assert!(
            text.contains("mlids_sensor_flows_dropped_total 3"),
            "{text}"
        );
        assert!(text.contains("mlids_sensor_buffered_flows 0"));
        assert!(text.contains("mlids_worker_redeliveries_total 0"));
        assert!(s.line().contains("flows_dropped=3"));
    }
}
