//! The single entry point for classifying flows: `serve`, `detect`, `watch`, the bus workers and
//! the testbed all go through [`Detector`], loaded once per process. Whether verdicts carry
//! explanations is an [`Explain`] policy chosen per call, so one detector serves both the fast
//! path (plain predictions) and alerts (explained), and no caller classifies a flow twice.

use crate::bundle::{Bundle, Manifest};

use crate::applicable::{carriers_of, rule_out, take_out, Carrier, Context};
use crate::decision::DecisionRule;
use crate::error::{ModelError, Result};
use mlids_behaviour::{flow_judged_by_model, Evidence, Finding, HostBehaviour};
use mlids_flow::{Exchange, Feature, FlowRecord, Injection, Mode, SinkError, Summary};
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
    /// The request's own text: SQL or script in a parameter of the client's HTTP requests
    /// ([`mlids_flow::request`]).
    Payload,
    /// Neither: a flow outside the classifier's scope (one packet, unanswered, refused, no
    /// payload) that no host-level detector explains. Not an attack for being short.
    Unjudged,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::FlowModel => "flow_model",
            Stage::HostBehaviour => "host_behaviour",
            Stage::Payload => "payload",
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
    /// Per class: the protocol its flows must carry ([`Carrier`]), if its label names one.
    carriers: Vec<Option<Carrier>>,
    /// Per class: what the host stage must say for its label to stand ([`Context`]).
    contexts: Vec<Option<Context>>,
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
        let carriers = carriers_of(bundle.manifest.labels.iter().map(|l| &l.name));
        let contexts = bundle
            .manifest
            .labels
            .iter()
            .map(|l| Context::of_label(&l.name))
            .collect();
        Ok(Detector {
            bundle,
            mode,
            rule,
            features,
            index,
            categories,
            carriers,
            contexts,
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

    /// The category of a verdict: the host-behaviour stage's family, else the label's.
    pub fn verdict_category<'a>(&'a self, v: &'a Verdict) -> &'a str {
        match &v.evidence {
            Some(e) => &e.category,
            None => self.category(&v.label),
        }
    }

    /// Classify rows already in model order (`feature_names()`), row-major, NaN for missing.
    pub fn classify_matrix(&self, x: &[f64], explain: Explain) -> Result<Vec<Verdict>> {
        Ok(self
            .classify_rows(x, explain, None)?
            .into_iter()
            .map(|o| o.verdict)
            .collect())
    }

    /// [`Self::classify_matrix`], with each row's exchange facts when the rows are flows from
    /// packets: labels whose [`Carrier`] the flow's data contradicts are ruled out first, and a
    /// scan verdict comes with its alternative for a source that is not scanning.
    fn classify_rows(
        &self,
        x: &[f64],
        explain: Explain,
        exchanges: Option<&[&Exchange]>,
    ) -> Result<Vec<ModelOpinion>> {
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
        if let Some(exchanges) = exchanges {
            for (p, e) in probs.chunks_exact_mut(k).zip(exchanges) {
                rule_out(p, &self.carriers, e);
            }
        }
        let mut out = Vec::with_capacity(n);
        for (r, p) in probs.chunks_exact(k).enumerate() {
            let row = &x[r * nf..(r + 1) * nf];
            let (verdict, class) = self.verdict_of(row, p, explain)?;
            let unless = match self.contexts[class] {
                Some(context) if exchanges.is_some() && verdict.is_attack => {
                    let mut q = p.to_vec();
                    take_out(&mut q, |c| self.contexts[c].is_some());
                    Some((context, self.verdict_of(row, &q, explain)?.0))
                }
                _ => None,
            };
            out.push(ModelOpinion { verdict, unless });
        }
        Ok(out)
    }

    /// The decision rule's verdict on one row's class probabilities, and its class.
    fn verdict_of(&self, row: &[f64], p: &[f64], explain: Explain) -> Result<(Verdict, usize)> {
        let (class, score, attack) = self.rule.decide(p);
        let top = explain.top_for(attack);
        let top_features = if top > 0 {
            self.explain(row, class, top)?
        } else {
            Vec::new()
        };
        let verdict = Verdict {
            label: self.bundle.manifest.labels[class].name.clone(),
            probability: p[class],
            attack_score: score,
            is_attack: attack,
            top_features,
            stage: Stage::FlowModel,
            evidence: None,
        };
        Ok((verdict, class))
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

    /// One flow's verdict from the flow classifier, whatever its scope (labels its data rules out
    /// are ruled out, as in [`Self::classify_in_scope`]).
    pub fn classify_record(&self, r: &FlowRecord, explain: Explain) -> Result<Verdict> {
        Ok(self
            .classify_records(std::slice::from_ref(r), explain)?
            .pop()
            .expect("one row"))
    }

    pub fn classify_records(&self, rs: &[FlowRecord], explain: Explain) -> Result<Vec<Verdict>> {
        let mut x = Vec::with_capacity(rs.len() * self.features.len());
        for r in rs {
            self.record_row(r, &mut x)?;
        }
        let exchanges: Vec<&Exchange> = rs.iter().map(|r| &r.exchange).collect();
        Ok(self
            .classify_rows(&x, explain, Some(&exchanges))?
            .into_iter()
            .map(|o| o.verdict)
            .collect())
    }

    /// The flow classifier's verdicts on the flows it judges ([`judged_by_model`]: answered
    /// conversations, the kind its training rows describe); `None` for the others, which are left
    /// to the host-behaviour stage. Only those flows are run through the model, and labels a flow
    /// cannot be for the protocol it carries are ruled out ([`crate::applicable`]).
    pub fn classify_in_scope(
        &self,
        flows: &[FlowRecord],
        explain: Explain,
    ) -> Result<Vec<Option<ModelOpinion>>> {
        let mut x = Vec::new();
        let mut rows = Vec::new();
        let mut exchanges = Vec::new();
        for (i, f) in flows.iter().enumerate() {
            if judged_by_model(f) {
                self.record_row(f, &mut x)?;
                rows.push(i);
                exchanges.push(&f.exchange);
            }
        }
        let mut out: Vec<Option<ModelOpinion>> = vec![None; flows.len()];
        if !rows.is_empty() {
            let verdicts = self.classify_rows(&x, explain, Some(&exchanges))?;
            for (i, v) in rows.into_iter().zip(verdicts) {
                out[i] = Some(v);
            }
        }
        Ok(out)
    }

    /// The verdicts of finished flows, the host-behaviour stage's state as it stands (the caller
    /// observed the flows into it). [`DetectorSink`] does the same with a hold-back, so that the
    /// first flows of an attack are judged with what the later ones revealed.
    pub fn judge(
        &self,
        flows: &[FlowRecord],
        explain: Explain,
        hosts: Option<&HostBehaviour>,
    ) -> Result<Vec<Verdict>> {
        Ok(self
            .classify_in_scope(flows, explain)?
            .into_iter()
            .zip(flows)
            .map(|(model, f)| decide(f, model, hosts))
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

/// The flow classifier's opinion of one flow, formed before the host-behaviour stage has seen
/// what follows it: its verdict and, when that verdict names what a host does across many flows
/// (a scan, a web flood), the context it needs and the verdict without such labels for a flow
/// whose hosts the stage does not see doing it ([`crate::applicable`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelOpinion {
    pub verdict: Verdict,
    /// The context the verdict needs, and the verdict for a flow whose hosts lack it.
    pub unless: Option<(Context, Verdict)>,
}

/// What the host-behaviour stage says of a flow's hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostContext {
    /// The source is a scanner.
    pub scanning: bool,
    /// The client floods this server with web requests.
    pub web_flooding: bool,
    /// The client came back to this server's port again and again.
    pub returning: bool,
}

impl HostContext {
    pub fn of(flow: &FlowRecord, hosts: &HostBehaviour) -> HostContext {
        HostContext {
            scanning: hosts.scanning(&flow.src),
            web_flooding: hosts.web_flooding(flow),
            returning: hosts.returning(flow),
        }
    }

    fn holds(self, context: Context) -> bool {
        match context {
            Context::Scanning => self.scanning,
            Context::WebFlooding => self.web_flooding,
            Context::Returning => self.returning,
        }
    }
}

impl ModelOpinion {
    /// The verdict, given what the host stage says of the flow's hosts (`None`: nothing known, no
    /// host stage — the classifier's verdict stands).
    pub fn verdict_for(self, hosts: Option<HostContext>) -> Verdict {
        match (self.unless, hosts) {
            (Some((needs, otherwise)), Some(h)) if !h.holds(needs) => otherwise,
            _ => self.verdict,
        }
    }
}

/// One verdict per flow: the payload stage's when the client's requests carried an injection
/// (the most specific evidence there is: the attack's own text), else the host-behaviour stage's
/// when its aggregates claim the flow, else the flow classifier's (`model`, for the flows it
/// judges; a scan label only for a source the stage calls a scanner, a web-flood label only for a
/// client it calls flooding, a brute-force, web-attack or bot label only for a client that came
/// back to the service again and again), else
/// [`Verdict::unjudged`]. A finding that yields to the model (a web request flood) gives way to
/// the classifier's attack label, which says what the requests are. The one place the stages'
/// verdicts combine.
pub fn decide(
    flow: &FlowRecord,
    model: Option<ModelOpinion>,
    hosts: Option<&HostBehaviour>,
) -> Verdict {
    if let Some(v) = injection_verdict(flow).or_else(|| dns_tunnel_verdict(flow)) {
        return v;
    }
    let finding = hosts.and_then(|h| h.judge(flow));
    let model = model.map(|opinion| opinion.verdict_for(hosts.map(|h| HostContext::of(flow, h))));
    match (finding, model) {
        (Some(f), Some(v)) if f.yields_to_model && v.is_attack => v,
        (Some(f), _) => Verdict::from_finding(f),
        (None, Some(v)) => v,
        (None, None) => Verdict::unjudged(),
    }
}

/// The payload stage: a flow whose client sent an HTTP request with SQL or script in a parameter
/// is that web attack, under the CIC label for it; one with a shell command, code for the server's
/// interpreter or a path out of the web root is a command injection, code injection or path
/// traversal (labels of their own: no training source has them).
fn injection_verdict(flow: &FlowRecord) -> Option<Verdict> {
    let kind = flow.exchange.fwd_injection?;
    let (detector, what, by) = match kind {
        Injection::Sql => (
            "payload.sqli",
            "SQL syntax in a parameter of",
            " (libinjection)",
        ),
        Injection::Script => (
            "payload.xss",
            "markup or script in a parameter of",
            " (libinjection)",
        ),
        Injection::Command => ("payload.cmdi", "a shell command in", ""),
        Injection::Code => ("payload.code", "code for the server's interpreter in", ""),
        Injection::Traversal => ("payload.traversal", "a path out of the web root in", ""),
    };
    Some(Verdict {
        label: kind.label().into(),
        probability: 0.99,
        attack_score: 0.99,
        is_attack: true,
        top_features: Vec::new(),
        stage: Stage::Payload,
        evidence: Some(Evidence {
            detector: detector.into(),
            summary: format!(
                "{what} an HTTP request from {} to {}:{}{by}",
                flow.src, flow.dst, flow.dst_port
            ),
            host: flow.src.to_string(),
            category: "WebAttack".into(),
        }),
    })
}

/// The payload stage on DNS: a client socket whose queries to port 53 carry data
/// ([`mlids_flow::dns::DnsQueries::look_like_a_tunnel`]) is a DNS tunnel, in the infiltration
/// family (a host already controlled talks out through the resolver). No training source labels
/// one, so the label is the stage's own.
fn dns_tunnel_verdict(flow: &FlowRecord) -> Option<Verdict> {
    let dns = flow.exchange.fwd_dns;
    if !dns.look_like_a_tunnel() {
        return None;
    }
    Some(Verdict {
        label: DNS_TUNNEL.into(),
        probability: 0.99,
        attack_score: 0.99,
        is_attack: true,
        top_features: Vec::new(),
        stage: Stage::Payload,
        evidence: Some(Evidence {
            detector: "payload.dns-tunnel".into(),
            summary: format!(
                "{} DNS quer{} from {}:{} to {}:{}: {} ask for NULL/TXT/MX/CNAME; the longest \
                 unbroken run of name characters is {} (data from {})",
                dns.queries,
                if dns.queries == 1 { "y" } else { "ies" },
                flow.src,
                flow.src_port,
                flow.dst,
                flow.dst_port,
                dns.tunnel_types,
                dns.longest_run,
                mlids_flow::dns::DnsQueries::DATA_RUN
            ),
            host: flow.src.to_string(),
            category: "Infiltration".into(),
        }),
    })
}

/// The label of the DNS-tunnel verdict.
pub const DNS_TUNNEL: &str = "DNS Tunnel";

/// Whether the flow classifier judges a flow ([`mlids_behaviour::judged_by_model`]).
pub fn judged_by_model(flow: &FlowRecord) -> bool {
    flow_judged_by_model(&flow.exchange)
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
