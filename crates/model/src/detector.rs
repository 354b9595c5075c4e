//! The single entry point for classifying flows: `serve`, `detect`, `watch`, the bus workers and
//! the testbed all go through [`Detector`], loaded once per process. Whether verdicts carry
//! explanations is an [`Explain`] policy chosen per call, so one detector serves both the fast
//! path (plain predictions) and alerts (explained), and no caller classifies a flow twice.

use crate::bundle::{Bundle, Manifest};

use crate::decision::DecisionRule;
use crate::error::{ModelError, Result};
use mlids_behaviour::{flow_judged_by_model, Evidence, Finding, HostBehaviour};
use mlids_flow::{Feature, FlowRecord, FlowSink, Mode, SinkError, Summary};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// One feature's share in a verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Contribution {
    pub feature: String,
    /// The row's value of the feature (NaN: missing).
    pub value: f64,
    /// Change in the predicted class's raw score (log-odds) attributed to this feature.
    pub contribution: f64,
}

/// The classification of one flow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// Predicted label (`Benign`/`Attack` for binary models, a canonical attack label otherwise).
    pub label: String,
    /// Probability of the predicted label.
    pub probability: f64,
    /// Attack score: P(attack) (binary) or 1 − P(benign) (multiclass).
    pub attack_score: f64,
    /// `attack_score >= threshold`.
    pub is_attack: bool,
    /// The features that pushed the predicted class's score most (largest |contribution|), when
    /// explanations are enabled.
    pub top_features: Vec<Contribution>,
    /// Which stage decided.
    pub stage: Stage,
    /// The host-behaviour stage's reason, when it decided.
    pub evidence: Option<Evidence>,
}

/// The stage that decided a verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The flow classifier (a conversation of the kind it was trained on).
    #[default]
    FlowModel,
    /// The host-behaviour stage (scan, flood, reflection, brute force), from many flows.
    HostBehaviour,
    /// Neither: a flow outside the classifier's scope (one packet, unanswered, refused, no
    /// payload) that no host-level detector explains. Not an attack for being short.
    Unjudged,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::FlowModel => "flow_model",
            Stage::HostBehaviour => "host_behaviour",
            Stage::Unjudged => "unjudged",
        }
    }
}

impl Verdict {
    /// The host-behaviour stage's verdict on a flow.
    pub fn from_finding(f: Finding) -> Verdict {
        Verdict {
            label: f.label,
            probability: f.score,
            attack_score: f.score,
            is_attack: true,
            top_features: Vec::new(),
            stage: Stage::HostBehaviour,
            evidence: Some(f.evidence),
        }
    }

    /// A flow no stage judges: benign, with score 0.
    pub fn unjudged() -> Verdict {
        Verdict {
            label: BENIGN.into(),
            probability: 1.0,
            attack_score: 0.0,
            is_attack: false,
            top_features: Vec::new(),
            stage: Stage::Unjudged,
            evidence: None,
        }
    }
}

/// The benign label of every bundle.
pub const BENIGN: &str = "Benign";

/// Which verdicts of a call carry their top contributing features. An explanation is one more
/// walk of every tree per row, so the fast paths ask for none and alerting paths for attacks only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Explain {
    /// No explanations.
    #[default]
    None,
    /// The `top` largest contributions of each verdict that is an attack.
    Attacks { top: usize },
    /// The `top` largest contributions of every verdict.
    All { top: usize },
}

impl Explain {
    /// Top-k for a verdict (0: do not explain it).
    fn top_for(self, is_attack: bool) -> usize {
        match self {
            Explain::None => 0,
            Explain::Attacks { top } if is_attack => top,
            Explain::Attacks { .. } => 0,
            Explain::All { top } => top,
        }
    }

    /// Attack verdicts explained with `top` features (none when `top` is 0).
    pub fn attacks(top: usize) -> Explain {
        if top == 0 {
            Explain::None
        } else {
            Explain::Attacks { top }
        }
    }

    /// Every verdict explained with `top` features (none when `top` is 0).
    pub fn all(top: usize) -> Explain {
        if top == 0 {
            Explain::None
        } else {
            Explain::All { top }
        }
    }
}

/// A loaded model bundle ready to classify feature rows.
pub struct Detector {
    bundle: Bundle,
    mode: Mode,
    rule: DecisionRule,
    /// Model input order as `Feature`s.
    features: Vec<Feature>,
    index: HashMap<String, usize>,
    /// Label → category (`DoS`, `Brute Force`, …), from the manifest.
    categories: HashMap<String, String>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("bundle", &self.bundle.dir)
            .field("mode", &self.mode)
            .finish()
    }
}

impl Detector {
    /// Load and validate a bundle directory (`models/NAME`).
    pub fn load(dir: &Path) -> Result<Detector> {
        Self::from_bundle(Bundle::load(dir)?)
    }

    pub fn from_bundle(bundle: Bundle) -> Result<Detector> {
        let mode = bundle.manifest.mode()?;
        let features = bundle
            .manifest
            .features
            .iter()
            .map(|n| {
                Feature::from_snake_in(n, mode)
                    .ok_or_else(|| ModelError::Data(format!("`{n}` is not a {mode} feature")))
            })
            .collect::<Result<Vec<_>>>()?;
        let index = bundle
            .manifest
            .features
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i))
            .collect();
        let rule = bundle.manifest.decision_rule();
        let categories = bundle
            .manifest
            .labels
            .iter()
            .map(|l| (l.name.clone(), l.category.clone()))
            .collect();
        Ok(Detector {
            bundle,
            mode,
            rule,
            features,
            index,
            categories,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.bundle.manifest
    }

    /// The extractor mode flows must come from.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Feature names in model input order.
    pub fn feature_names(&self) -> &[String] {
        &self.bundle.manifest.features
    }

    pub fn labels(&self) -> Vec<String> {
        self.bundle.manifest.label_names()
    }

    pub fn threshold(&self) -> f64 {
        self.rule.threshold
    }

    /// Override the manifest's decision threshold (per-site calibration).
    pub fn set_threshold(&mut self, t: f64) -> Result<()> {
        if !(0.0..=1.0).contains(&t) {
            return Err(ModelError::Params(format!(
                "threshold must be in [0, 1], got {t}"
            )));
        }
        self.rule.threshold = t;
        Ok(())
    }

    /// The category of a label (`Attack` for a label the manifest does not list).
    pub fn category(&self, label: &str) -> &str {
        self.categories.get(label).map_or("Attack", |c| c.as_str())
    }

    /// Classify rows already in model order (`feature_names()`), row-major, NaN for missing.
    pub fn classify_matrix(&self, x: &[f64], explain: Explain) -> Result<Vec<Verdict>> {
        let nf = self.features.len();
        if x.len() % nf != 0 {
            return Err(ModelError::Width {
                expected: nf,
                got: x.len(),
            });
        }
        let n = x.len() / nf;
        let k = self.bundle.manifest.labels.len();
        let mut probs = vec![0.0; n * k];
        self.bundle.model.predict_proba(x, &mut probs)?;
        let labels = &self.bundle.manifest.labels;
        let mut out = Vec::with_capacity(n);
        for (r, p) in probs.chunks_exact(k).enumerate() {
            let (class, score, attack) = self.rule.decide(p);
            let top = explain.top_for(attack);
            let top_features = if top > 0 {
                self.explain(&x[r * nf..(r + 1) * nf], class, top)?
            } else {
                Vec::new()
            };
            out.push(Verdict {
                label: labels[class].name.clone(),
                probability: p[class],
                attack_score: score,
                is_attack: attack,
                top_features,
                stage: Stage::FlowModel,
                evidence: None,
            });
        }
        Ok(out)
    }

    fn explain(&self, row: &[f64], class: usize, top: usize) -> Result<Vec<Contribution>> {
        let Some(c) = self.bundle.model.contributions(row, class)? else {
            return Ok(Vec::new());
        };
        let mut idx: Vec<usize> = (0..c.len()).filter(|&i| c[i] != 0.0).collect();
        idx.sort_by(|&a, &b| c[b].abs().total_cmp(&c[a].abs()));
        idx.truncate(top);
        Ok(idx
            .into_iter()
            .map(|i| Contribution {
                feature: self.bundle.manifest.features[i].clone(),
                value: row[i],
                contribution: c[i],
            })
            .collect())
    }

    /// Model-order feature values of a flow record (non-finite → NaN, as in training).
    pub fn record_row(&self, r: &FlowRecord, out: &mut Vec<f64>) -> Result<()> {
        if r.mode != self.mode {
            return Err(ModelError::ModeMismatch {
                model: self.mode.to_string(),
                input: r.mode.to_string(),
            });
        }
        out.extend(self.features.iter().map(|&f| {
            let v = r.get(f);
            if v.is_finite() {
                v
            } else {
                f64::NAN
            }
        }));
        Ok(())
    }

    pub fn classify_record(&self, r: &FlowRecord, explain: Explain) -> Result<Verdict> {
        let mut row = Vec::with_capacity(self.features.len());
        self.record_row(r, &mut row)?;
        Ok(self.classify_matrix(&row, explain)?.pop().expect("one row"))
    }

    pub fn classify_records(&self, rs: &[FlowRecord], explain: Explain) -> Result<Vec<Verdict>> {
        let mut x = Vec::with_capacity(rs.len() * self.features.len());
        for r in rs {
            self.record_row(r, &mut x)?;
        }
        self.classify_matrix(&x, explain)
    }

    /// The verdicts of finished flows: the one place flows are judged. The host-behaviour stage
    /// (when given; the caller has observed the flows into it) decides the flows its aggregates
    /// explain; the flow classifier judges the conversations it was trained on
    /// ([`mlids_behaviour::judged_by_model`]); every other flow is [`Stage::Unjudged`]. Only the
    /// classifier's flows are run through the model.
    pub fn judge(
        &self,
        flows: &[FlowRecord],
        explain: Explain,
        hosts: Option<&HostBehaviour>,
    ) -> Result<Vec<Verdict>> {
        let mut verdicts: Vec<Option<Verdict>> = flows
            .iter()
            .map(|f| hosts.and_then(|h| h.judge(f)).map(Verdict::from_finding))
            .collect();
        let mut x = Vec::new();
        let mut model_rows = Vec::new();
        for (i, f) in flows.iter().enumerate() {
            if verdicts[i].is_none() && flow_judged_by_model(&f.exchange) {
                self.record_row(f, &mut x)?;
                model_rows.push(i);
            }
        }
        if !model_rows.is_empty() {
            let model = self.classify_matrix(&x, explain)?;
            for (i, v) in model_rows.into_iter().zip(model) {
                verdicts[i] = Some(v);
            }
        }
        Ok(verdicts
            .into_iter()
            .map(|v| v.unwrap_or_else(Verdict::unjudged))
            .collect())
    }

    /// Model-order values of a named row (snake names as in the manifest; `None` = missing value).
    /// Names the model does not use are ignored; a feature the model needs that is absent is an
    /// error listing every absent name.
    pub fn named_row<K: AsRef<str>>(
        &self,
        row: impl IntoIterator<Item = (K, Option<f64>)>,
        out: &mut Vec<f64>,
    ) -> Result<()> {
        let base = out.len();
        let nf = self.features.len();
        out.resize(base + nf, f64::NAN);
        let mut seen = vec![false; nf];
        for (k, v) in row {
            if let Some(&i) = self.index.get(k.as_ref()) {
                out[base + i] = v.filter(|v| v.is_finite()).unwrap_or(f64::NAN);
                seen[i] = true;
            }
        }
        if seen.iter().any(|s| !s) {
            out.truncate(base);
            let missing: Vec<String> = (0..nf)
                .filter(|&i| !seen[i])
                .map(|i| self.bundle.manifest.features[i].clone())
                .collect();
            return Err(ModelError::MissingFeatures(missing));
        }
        Ok(())
    }

    pub fn classify_named<K: AsRef<str>>(
        &self,
        row: impl IntoIterator<Item = (K, Option<f64>)>,
        explain: Explain,
    ) -> Result<Verdict> {
        let mut x = Vec::with_capacity(self.features.len());
        self.named_row(row, &mut x)?;
        Ok(self.classify_matrix(&x, explain)?.pop().expect("one row"))
    }

    pub fn classify_named_many<K: AsRef<str>, R: IntoIterator<Item = (K, Option<f64>)>>(
        &self,
        rows: impl IntoIterator<Item = R>,
        explain: Explain,
    ) -> Result<Vec<Verdict>> {
        let mut x = Vec::new();
        for row in rows {
            self.named_row(row, &mut x)?;
        }
        self.classify_matrix(&x, explain)
    }
}

/// Receives each flow with its verdict, in flow order.
pub trait VerdictSink {
    fn verdict(&mut self, flow: &FlowRecord, verdict: &Verdict) -> Result<(), SinkError>;
    fn finish(&mut self, _summary: &Summary) -> Result<(), SinkError> {
        Ok(())
    }
}

/// A closure as a [`VerdictSink`].
pub struct FnVerdictSink<F>(pub F);

impl<F: FnMut(&FlowRecord, &Verdict) -> Result<(), SinkError>> VerdictSink for FnVerdictSink<F> {
    fn verdict(&mut self, flow: &FlowRecord, verdict: &Verdict) -> Result<(), SinkError> {
        (self.0)(flow, verdict)
    }
}

impl<S: VerdictSink + ?Sized> VerdictSink for Box<S> {
    fn verdict(&mut self, flow: &FlowRecord, verdict: &Verdict) -> Result<(), SinkError> {
        (**self).verdict(flow, verdict)
    }
    fn finish(&mut self, summary: &Summary) -> Result<(), SinkError> {
        (**self).finish(summary)
    }
}

/// `None` discards verdicts (e.g. `detect` without `-o`, when only the summary is wanted).
impl<S: VerdictSink> VerdictSink for Option<S> {
    fn verdict(&mut self, flow: &FlowRecord, verdict: &Verdict) -> Result<(), SinkError> {
        match self {
            Some(s) => s.verdict(flow, verdict),
            None => Ok(()),
        }
    }
    fn finish(&mut self, summary: &Summary) -> Result<(), SinkError> {
        match self {
            Some(s) => s.finish(summary),
            None => Ok(()),
        }
    }
}

/// The classifying sink: a [`FlowSink`] that classifies flows in batches and hands (flow,
/// verdict) pairs to a [`VerdictSink`]. Flows are held until `batch` have arrived or the run
/// finishes; call [`DetectorSink::flush`] to classify what is pending (on a timer in live
/// capture). This is the one place flows are batched for the model.
pub struct DetectorSink<'d, S: VerdictSink> {
    detector: &'d Detector,
    inner: S,
    pending: Vec<FlowRecord>,
    batch: usize,
    explain: Explain,
    /// The host-behaviour stage: every flow is observed into it before its batch is judged.
    hosts: Option<HostBehaviour>,
}

/// Flows classified together by default: large enough to amortise the per-call cost, small
/// enough that memory stays a few MiB.
pub const DEFAULT_BATCH: usize = 4096;

impl<'d, S: VerdictSink> DetectorSink<'d, S> {
    /// Batches of [`DEFAULT_BATCH`], no explanations, the host-behaviour stage with its defaults.
    pub fn new(detector: &'d Detector, inner: S) -> Self {
        DetectorSink {
            detector,
            inner,
            pending: Vec::new(),
            batch: DEFAULT_BATCH,
            explain: Explain::None,
            hosts: Some(HostBehaviour::default()),
        }
    }

    /// Replace the host-behaviour stage (`None`: the flow classifier alone, e.g. to measure it).
    pub fn hosts(mut self, hosts: Option<HostBehaviour>) -> Self {
        self.hosts = hosts;
        self
    }

    /// The host-behaviour stage's state (watch's snapshots judge open flows against it).
    pub fn host_behaviour(&self) -> Option<&HostBehaviour> {
        self.hosts.as_ref()
    }

    /// Classify in batches of `batch` flows (1: each flow as it ends, for streams).
    pub fn batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    /// Which verdicts carry explanations.
    pub fn explain(mut self, explain: Explain) -> Self {
        self.explain = explain;
        self
    }

    pub fn detector(&self) -> &'d Detector {
        self.detector
    }

    /// Flows waiting for their batch.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    pub fn flush(&mut self) -> Result<(), SinkError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        if let Some(h) = self.hosts.as_mut() {
            self.pending.iter().for_each(|f| h.observe(f));
        }
        let verdicts = self
            .detector
            .judge(&self.pending, self.explain, self.hosts.as_ref())?;
        for (f, v) in self.pending.iter().zip(&verdicts) {
            self.inner.verdict(f, v)?;
        }
        self.pending.clear();
        Ok(())
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: VerdictSink> FlowSink for DetectorSink<'_, S> {
    fn flow(&mut self, flow: &FlowRecord) -> Result<(), SinkError> {
        if flow.mode != self.detector.mode {
            return Err(Box::new(ModelError::ModeMismatch {
                model: self.detector.mode.to_string(),
                input: flow.mode.to_string(),
            }));
        }
        self.pending.push(flow.clone());
        if self.pending.len() >= self.batch {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), SinkError> {
        self.flush()?;
        self.inner.finish(summary)
    }
}
