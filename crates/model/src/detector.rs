//! The single entry point for classifying flows: `serve`, `detect` and `watch` all go through
//! [`Detector`].

use crate::bundle::{Bundle, Manifest};

use crate::decision::DecisionRule;
use crate::error::{ModelError, Result};
use mlids_flow::{Feature, FlowRecord, FlowSink, Mode, SinkError, Summary};
use serde::Serialize;
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
}

/// A loaded model bundle ready to classify feature rows.
pub struct Detector {
    bundle: Bundle,
    mode: Mode,
    rule: DecisionRule,
    /// Model input order as `Feature`s.
    features: Vec<Feature>,
    index: HashMap<String, usize>,
    explain_top: usize,
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
        Ok(Detector {
            bundle,
            mode,
            rule,
            features,
            index,
            explain_top: 3,
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

    /// How many top contributing features each verdict carries (0 disables explanations, which
    /// are one extra tree walk per row).
    pub fn set_explain(&mut self, top: usize) {
        self.explain_top = top;
    }

    /// Classify rows already in model order (`feature_names()`), row-major, NaN for missing.
    pub fn classify_matrix(&self, x: &[f64]) -> Result<Vec<Verdict>> {
        let nf = self.features.len();
        if x.len() % nf != 0 {
            return Err(ModelError::Width {
                expected: nf,
                got: x.len() % nf,
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
            let top_features = if self.explain_top > 0 {
                self.explain(&x[r * nf..(r + 1) * nf], class)?
            } else {
                Vec::new()
            };
            out.push(Verdict {
                label: labels[class].name.clone(),
                probability: p[class],
                attack_score: score,
                is_attack: attack,
                top_features,
            });
        }
        Ok(out)
    }

    fn explain(&self, row: &[f64], class: usize) -> Result<Vec<Contribution>> {
        let Some(c) = self.bundle.model.contributions(row, class)? else {
            return Ok(Vec::new());
        };
        let mut idx: Vec<usize> = (0..c.len()).filter(|&i| c[i] != 0.0).collect();
        idx.sort_by(|&a, &b| c[b].abs().total_cmp(&c[a].abs()));
        idx.truncate(self.explain_top);
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

    pub fn classify_record(&self, r: &FlowRecord) -> Result<Verdict> {
        let mut row = Vec::with_capacity(self.features.len());
        self.record_row(r, &mut row)?;
        Ok(self.classify_matrix(&row)?.pop().expect("one row"))
    }

    pub fn classify_records(&self, rs: &[FlowRecord]) -> Result<Vec<Verdict>> {
        let mut x = Vec::with_capacity(rs.len() * self.features.len());
        for r in rs {
            self.record_row(r, &mut x)?;
        }
        self.classify_matrix(&x)
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
    ) -> Result<Verdict> {
        let mut x = Vec::with_capacity(self.features.len());
        self.named_row(row, &mut x)?;
        Ok(self.classify_matrix(&x)?.pop().expect("one row"))
    }

    pub fn classify_named_many<K: AsRef<str>, R: IntoIterator<Item = (K, Option<f64>)>>(
        &self,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<Vec<Verdict>> {
        let mut x = Vec::new();
        for row in rows {
            self.named_row(row, &mut x)?;
        }
        self.classify_matrix(&x)
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

/// A [`FlowSink`] that classifies flows in batches and hands (flow, verdict) pairs to a
/// [`VerdictSink`]. Flows are held until `batch` have arrived or the run finishes; call
/// [`DetectorSink::flush`] to classify what is pending (e.g. on a timer in live capture).
pub struct DetectorSink<'d, S: VerdictSink> {
    detector: &'d Detector,
    inner: S,
    pending: Vec<FlowRecord>,
    x: Vec<f64>,
    batch: usize,
}

impl<'d, S: VerdictSink> DetectorSink<'d, S> {
    pub fn new(detector: &'d Detector, inner: S) -> Self {
        Self::with_batch(detector, inner, 4096)
    }

    pub fn with_batch(detector: &'d Detector, inner: S, batch: usize) -> Self {
        DetectorSink {
            detector,
            inner,
            pending: Vec::new(),
            x: Vec::new(),
            batch: batch.max(1),
        }
    }

    pub fn flush(&mut self) -> Result<(), SinkError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.x.clear();
        for r in &self.pending {
            self.detector.record_row(r, &mut self.x)?;
        }
        let verdicts = self.detector.classify_matrix(&self.x)?;
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
