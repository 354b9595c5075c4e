//! The per-flow verdict record a worker stores for every flow batch it classified: the accounting
//! that proves each flow was classified exactly once, and the data for latency measurements.

use crate::codec::{batch_msg_id, flow_id, BatchHeader};
use serde::{Deserialize, Serialize};

/// Verdicts of one flow batch, in the batch's record order (`first_seq`, `first_seq + 1`, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerdictBatch {
    pub version: u8,
    pub sensor: String,
    pub run: u64,
    pub first_seq: u64,
    /// Sensor clock when the batch was sealed, µs since the epoch.
    pub sent_us: u64,
    /// Worker clock when the batch was classified.
    pub classified_us: u64,
    pub worker: String,
    /// How many times JetStream had delivered the batch (1 unless a worker died or was slow).
    pub delivered: u64,
    pub mode: String,
    /// Label table; `label[i]` indexes it.
    pub labels: Vec<String>,
    pub label: Vec<u16>,
    pub attack_score: Vec<f32>,
    pub is_attack: Vec<u8>,
}

impl VerdictBatch {
    pub fn new(h: &BatchHeader, worker: &str, delivered: u64, classified_us: u64) -> Self {
        VerdictBatch {
            version: 1,
            sensor: h.sensor.clone(),
            run: h.run,
            first_seq: h.first_seq,
            sent_us: h.sent_us,
            classified_us,
            worker: worker.to_string(),
            delivered,
            mode: h.mode.to_string(),
            labels: Vec::new(),
            label: Vec::with_capacity(h.count as usize),
            attack_score: Vec::with_capacity(h.count as usize),
            is_attack: Vec::with_capacity(h.count as usize),
        }
    }

    pub fn push(&mut self, label: &str, attack_score: f64, is_attack: bool) {
        let idx = match self.labels.iter().position(|l| l == label) {
            Some(i) => i,
            None => {
                self.labels.push(label.to_string());
                self.labels.len() - 1
            }
        };
        self.label.push(idx as u16);
        self.attack_score.push(attack_score as f32);
        self.is_attack.push(u8::from(is_attack));
    }

    pub fn len(&self) -> usize {
        self.label.len()
    }

    pub fn is_empty(&self) -> bool {
        self.label.is_empty()
    }

    /// `Nats-Msg-Id` of the verdict record: derived from the flow batch's id, so reprocessing a
    /// redelivered batch produces the same id and JetStream keeps one copy.
    pub fn msg_id(&self) -> String {
        format!("v.{}", batch_msg_id(&self.sensor, self.run, self.first_seq))
    }

    /// The stable ids of the flows, in order.
    pub fn flow_ids(&self) -> impl Iterator<Item = String> + '_ {
        (0..self.len() as u64).map(|i| flow_id(&self.sensor, self.run, self.first_seq + i))
    }
}

/// `Nats-Msg-Id` of the alert raised for a flow.
pub fn alert_msg_id(sensor: &str, run: u64, seq: u64) -> String {
    format!("a.{}", flow_id(sensor, run, seq))
}
