//! `ml-ids testbed eval`: a model against a run. The merged capture goes through the flow pipeline in
//! the model's extractor mode (whatever mode the run's flows.csv was written in) and the model's
//! `Detector`; each flow is attributed to its scenario exactly as when the run was labelled. The
//! result: detection rate per attack scenario, false-alarm rate per benign scenario.

use crate::catalog::Kind;
use crate::manifest::Manifest;
use crate::routing::Routing;
use anyhow::{Context, Result};
use mlids_flow::{CaptureReader, FlowRecord, MeterConfig, Pipeline, SinkError};
use mlids_model::{Detector, DetectorSink, Verdict, VerdictSink};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Debug, Serialize)]
pub struct ScenarioScore {
    pub scenario: String,
    pub kind: Kind,
    pub label: String,
    pub flows: u64,
    /// Flows the model called attacks.
    pub flagged: u64,
    /// flagged / flows: the detection rate of an attack scenario, the false-alarm rate of a benign one.
    pub rate: Option<f64>,
    /// Predicted labels of the scenario's flows.
    pub predicted: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    pub run: String,
    pub run_id: String,
    pub seed: u64,
    pub model: String,
    pub model_mode: String,
    pub threshold: f64,
    pub scenarios: Vec<ScenarioScore>,
    pub attack_flows: u64,
    pub attacks_detected: u64,
    pub benign_flows: u64,
    pub false_alarms: u64,
    pub detection_rate: Option<f64>,
    pub false_alarm_rate: Option<f64>,
}

struct Scorer<'a> {
    routing: &'a Routing,
    rows: Vec<ScenarioScore>,
}

impl VerdictSink for Scorer<'_> {
    fn verdict(&mut self, f: &FlowRecord, v: &Verdict) -> Result<(), SinkError> {
        if let Some(i) = self.routing.scenario(f.src, f.dst, f.start_us) {
            if self.routing.in_window(i, f.start_us) {
                let r = &mut self.rows[i];
                r.flows += 1;
                r.flagged += v.is_attack as u64;
                *r.predicted.entry(v.label.clone()).or_default() += 1;
            }
        }
        Ok(())
    }
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Score `detector` (loaded from `model`) on the run in `dir`.
pub fn evaluate(dir: &Path, detector: &Detector, model: &str) -> Result<EvalReport> {
    let m = Manifest::load(dir)?;
    let routing = Routing::from_manifest(&m).map_err(anyhow::Error::msg)?;
    let rows = m
        .scenarios
        .iter()
        .map(|s| ScenarioScore {
            scenario: s.name.clone(),
            kind: s.kind,
            label: s.label.clone(),
            flows: 0,
            flagged: 0,
            rate: None,
            predicted: BTreeMap::new(),
        })
        .collect();
    let capture = dir.join(&m.capture.file);
    let mut reader = CaptureReader::open(&capture)
        .with_context(|| format!("cannot read {}", capture.display()))?;
    let mut sink = DetectorSink::new(
        detector,
        Scorer {
            routing: &routing,
            rows,
        },
    )
    .hold_back(mlids_model::sink::FILE_HOLD_BACK_US);
    let outcome = Pipeline::new(MeterConfig::new(detector.mode()))
        .run(&mut reader, &mut sink, &mut ())
        .map_err(|e| anyhow::anyhow!("classification failed: {e}"))?;
    if let Some(e) = outcome.error {
        anyhow::bail!("{}: {e}", capture.display());
    }
    let mut rows = sink.into_inner().rows;
    let (mut af, mut ad, mut bf, mut fa) = (0, 0, 0, 0);
    for r in &mut rows {
        r.rate = ratio(r.flagged, r.flows);
        match r.kind {
            Kind::Attack => {
                af += r.flows;
                ad += r.flagged;
            }
            Kind::Benign => {
                bf += r.flows;
                fa += r.flagged;
            }
        }
    }
    Ok(EvalReport {
        run: dir.display().to_string(),
        run_id: m.run_id,
        seed: m.seed,
        model: model.to_string(),
        model_mode: detector.mode().to_string(),
        threshold: detector.threshold(),
        scenarios: rows,
        attack_flows: af,
        attacks_detected: ad,
        benign_flows: bf,
        false_alarms: fa,
        detection_rate: ratio(ad, af),
        false_alarm_rate: ratio(fa, bf),
    })
}

fn pct(r: Option<f64>) -> String {
    r.map_or("–".into(), |r| format!("{:.1}%", 100.0 * r))
}

impl EvalReport {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serialises") + "\n"
    }

    /// The report as a Markdown table.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "Model `{}` ({} mode, threshold {:.3}) on testbed run `{}` (seed {}):\n\n",
            self.model, self.model_mode, self.threshold, self.run_id, self.seed
        );
        s.push_str("| scenario | label | flows | flagged | detection rate | false-alarm rate | most predicted |\n");
        s.push_str("|---|---|---:|---:|---:|---:|---|\n");
        for r in &self.scenarios {
            let top = r
                .predicted
                .iter()
                .max_by_key(|(l, n)| (**n, std::cmp::Reverse(l.as_str())))
                .map(|(l, n)| format!("{l} ({n})"))
                .unwrap_or_default();
            let (det, fa) = match r.kind {
                Kind::Attack => (pct(r.rate), String::new()),
                Kind::Benign => (String::new(), pct(r.rate)),
            };
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                r.scenario, r.label, r.flows, r.flagged, det, fa, top
            ));
        }
        s.push_str(&format!(
            "| **all attacks** | | {} | {} | {} | | |\n| **all benign** | | {} | {} | | {} | |\n",
            self.attack_flows,
            self.attacks_detected,
            pct(self.detection_rate),
            self.benign_flows,
            self.false_alarms,
            pct(self.false_alarm_rate)
        ));
        s
    }
}
