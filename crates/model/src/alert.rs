//! The alert message: what every detection looks like on the server's WebSocket, in `ml-ids watch`'s
//! JSON Lines files and webhook bodies, and when `watch` forwards its detections to a running server.
//! It lives here, beside [`Verdict`], so the server and `watch` share one definition.

use crate::detector::{Stage, Verdict};
use mlids_behaviour::Evidence;
use mlids_flow::FlowRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One feature's share in a verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertFeature {
    pub feature: String,
    pub value: Option<f64>,
    pub contribution: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Flow start, RFC 3339 UTC with microseconds.
    pub time: String,
    pub src_ip: String,
    pub src_port: u16,
    pub dst_ip: String,
    pub dst_port: u16,
    pub protocol: u8,
    pub label: String,
    /// Probability of `label`.
    pub probability: f64,
    /// P(attack): the score compared with the decision threshold.
    pub attack_score: f64,
    #[serde(default)]
    pub top_features: Vec<AlertFeature>,
    /// Where the flow came from: `upload:NAME`, `stream`, `watch:IFACE`, ….
    pub source: String,
    /// CICFlowMeter flow id.
    #[serde(default)]
    pub flow_id: String,
    /// The flow's Community ID v1 (seed 0), the key Suricata, Zeek and Elastic records share;
    /// absent for a flow without one (SCTP) and for REST-classified rows, which have no addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub community_id: Option<String>,
    /// Which stage decided: `flow_model` or `host_behaviour`.
    #[serde(default)]
    pub stage: Stage,
    /// The host-behaviour stage's reason (detector, summary, host), when it decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// The served model that decided, when the server has several (REST predictions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The classified row's feature values (REST predictions: a row has no addresses, so its
    /// features are what a subscriber can act on), `null` for missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<BTreeMap<String, Option<f64>>>,
}

impl Alert {
    pub fn new(flow: &FlowRecord, v: &Verdict, source: &str) -> Alert {
        Alert {
            time: rfc3339_micros(flow.start_us),
            src_ip: flow.src.to_string(),
            src_port: flow.src_port,
            dst_ip: flow.dst.to_string(),
            dst_port: flow.dst_port,
            protocol: flow.protocol,
            label: v.label.clone(),
            probability: finite(v.probability),
            attack_score: finite(v.attack_score),
            top_features: alert_features(v),
            source: source.to_string(),
            flow_id: flow.flow_id(),
            community_id: flow.community_id(),
            stage: v.stage,
            evidence: v.evidence.clone(),
            model: None,
            features: None,
        }
    }

    /// The alert of a feature row classified through the REST API: no addresses or times of a
    /// flow (the row has none), `dst_port` and `protocol` from the request's columns (`service`)
    /// when present, the model's features of the row, the model's name and `source`.
    pub fn for_row(
        names: &[String],
        row: &[f64],
        v: &Verdict,
        model: &str,
        source: &str,
        service: (Option<f64>, Option<f64>),
    ) -> Alert {
        let value = |x: Option<f64>| x.filter(|x| x.is_finite());
        let port = |x: Option<f64>| {
            x.filter(|p| (0.0..=65535.0).contains(p))
                .map_or(0, |p| p as u16)
        };
        let features = names
            .iter()
            .zip(row)
            .map(|(n, x)| (n.clone(), x.is_finite().then_some(*x)))
            .collect();
        Alert {
            time: rfc3339_micros(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros() as i64),
            ),
            src_ip: String::new(),
            src_port: 0,
            dst_ip: String::new(),
            dst_port: port(value(service.0)),
            protocol: value(service.1)
                .filter(|p| (0.0..=255.0).contains(p))
                .map_or(0, |p| p as u8),
            label: v.label.clone(),
            probability: finite(v.probability),
            attack_score: finite(v.attack_score),
            top_features: alert_features(v),
            source: source.to_string(),
            flow_id: String::new(),
            community_id: None,
            stage: v.stage,
            evidence: None,
            model: Some(model.to_string()),
            features: Some(features),
        }
    }

    /// Validate an alert received from a client (POST /api/alerts).
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.probability) || !(0.0..=1.0).contains(&self.attack_score) {
            return Err("probability and attack_score must be within [0, 1]".into());
        }
        if self.label.is_empty() || self.label.len() > 200 || self.source.len() > 200 {
            return Err("label must be 1-200 characters and source at most 200".into());
        }
        if self.top_features.len() > 100 {
            return Err("at most 100 top_features".into());
        }
        if self.features.as_ref().is_some_and(|f| f.len() > 200) {
            return Err("at most 200 features".into());
        }
        if self.model.as_ref().is_some_and(|m| m.len() > 200) {
            return Err("model must be at most 200 characters".into());
        }
        if self.community_id.as_ref().is_some_and(|c| c.len() > 100) {
            return Err("community_id must be at most 100 characters".into());
        }
        if let Some(e) = &self.evidence {
            if e.detector.len() > 100 || e.summary.len() > 2000 || e.host.len() > 100 {
                return Err(
                    "evidence: detector and host at most 100 characters, summary 2000".into(),
                );
            }
        }
        Ok(())
    }
}

/// A verdict's top contributions as the alert carries them (missing values as `null`).
fn alert_features(v: &Verdict) -> Vec<AlertFeature> {
    v.top_features
        .iter()
        .map(|c| AlertFeature {
            feature: c.feature.clone(),
            value: c.value.is_finite().then_some(c.value),
            contribution: finite(c.contribution),
        })
        .collect()
}

fn finite(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

/// `2018-02-16T13:47:37.250000Z`.
pub use mlids_flow::time::rfc3339_micros;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_has_microseconds_and_z() {
        assert_eq!(
            rfc3339_micros(1_518_788_857_250_000),
            "2018-02-16T13:47:37.250000Z"
        );
    }

    #[test]
    fn validate_rejects_out_of_range_scores() {
        let mut a = Alert {
            time: rfc3339_micros(0),
            src_ip: "10.0.0.1".into(),
            src_port: 1,
            dst_ip: "10.0.0.2".into(),
            dst_port: 2,
            protocol: 6,
            label: "Attack".into(),
            probability: 0.9,
            attack_score: 0.9,
            top_features: vec![],
            source: "test".into(),
            flow_id: String::new(),
            community_id: None,
            stage: Stage::FlowModel,
            evidence: None,
            model: None,
            features: None,
        };
        assert!(a.validate().is_ok());
        a.community_id = Some("1:".repeat(51));
        assert!(a.validate().is_err());
        a.community_id = Some("1:wCb3OG7yAFWelaUydu0D+125CLM=".into());
        assert!(a.validate().is_ok());
        a.attack_score = 1.5;
        assert!(a.validate().is_err());
    }
}
