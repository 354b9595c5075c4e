//! Writing flows with their verdicts (CSV, JSON Lines) and tallying a detection run.

use crate::detector::{Verdict, VerdictSink};
use mlids_flow::schema::{Column, MetaColumn};
use mlids_flow::sink::{format_value, json_string, json_string_or_null};
use mlids_flow::{FlowRecord, Layout, NameStyle, SinkError, Summary};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::IpAddr;

/// Names of the verdict columns in a style.
fn verdict_columns(style: NameStyle) -> [&'static str; 6] {
    match style {
        NameStyle::Snake => [
            "prediction",
            "attack_score",
            "is_attack",
            "top_features",
            "stage",
            "evidence",
        ],
        _ => [
            "Prediction",
            "Attack Score",
            "Is Attack",
            "Top Features",
            "Stage",
            "Evidence",
        ],
    }
}

fn meta(flow: &FlowRecord, m: MetaColumn) -> String {
    match m {
        MetaColumn::FlowId => flow.flow_id(),
        MetaColumn::CommunityId => flow.community_id().unwrap_or_default(),
        MetaColumn::SrcIp => flow.src.to_string(),
        MetaColumn::SrcPort => flow.src_port.to_string(),
        MetaColumn::DstIp => flow.dst.to_string(),
        MetaColumn::Timestamp => flow.timestamp(),
        MetaColumn::Label => String::new(),
    }
}

fn csv_field(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

fn top_string(v: &Verdict) -> String {
    v.top_features
        .iter()
        .map(|c| format!("{}={:+.3}", c.feature, c.contribution))
        .collect::<Vec<_>>()
        .join(" ")
}

/// CSV: the extractor's columns (without Label; with Community ID when the layout asks for it)
/// followed by Prediction, Attack Score, Is Attack and Top Features (`feature=+contribution`
/// separated by spaces), Stage (`flow_model`, `host_behaviour`, `unjudged`) and Evidence (the
/// host-behaviour stage's summary).
pub struct VerdictCsvWriter<W: Write> {
    out: W,
    layout: Layout,
    columns: Vec<Column>,
    line: Vec<u8>,
    wrote_header: bool,
}

impl<W: Write> VerdictCsvWriter<W> {
    pub fn new(out: W, layout: Layout) -> Self {
        let layout = Layout {
            with_label: false,
            ..layout
        };
        let columns = layout.columns();
        VerdictCsvWriter {
            out,
            layout,
            columns,
            line: Vec::with_capacity(1024),
            wrote_header: false,
        }
    }

    fn header(&mut self) -> std::io::Result<()> {
        self.wrote_header = true;
        let mut h = self.layout.header().join(",");
        for c in verdict_columns(self.layout.style) {
            h.push(',');
            h.push_str(c);
        }
        h.push('\n');
        self.out.write_all(h.as_bytes())
    }
}

impl<W: Write> VerdictSink for VerdictCsvWriter<W> {
    fn verdict(&mut self, flow: &FlowRecord, v: &Verdict) -> Result<(), SinkError> {
        if !self.wrote_header {
            self.header()?;
        }
        self.line.clear();
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            match *c {
                Column::Feature(f) => format_value(&mut self.line, flow.get(f), f.kind()),
                Column::Meta(m) => csv_field(&mut self.line, &meta(flow, m)),
            }
        }
        self.line.push(b',');
        csv_field(&mut self.line, &v.label);
        self.line
            .extend_from_slice(format!(",{:.6},{},", v.attack_score, v.is_attack).as_bytes());
        csv_field(&mut self.line, &top_string(v));
        self.line.push(b',');
        self.line.extend_from_slice(v.stage.as_str().as_bytes());
        self.line.push(b',');
        csv_field(
            &mut self.line,
            v.evidence.as_ref().map_or("", |e| e.summary.as_str()),
        );
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), SinkError> {
        if !self.wrote_header {
            self.header()?;
        }
        self.out.flush()?;
        Ok(())
    }
}

/// JSON Lines: the extractor's keys plus `prediction`, `attack_score`, `is_attack` and
/// `top_features` (`[{"feature", "value", "contribution"}]`) in the layout's style. Every line has
/// the flow's Community ID after its flow id (named in the layout's style, `null` where the flow has
/// none): a JSON consumer joins on it with Suricata and Zeek records, and a key more costs no
/// reader anything.
pub struct VerdictJsonlWriter<W: Write> {
    out: W,
    layout: Layout,
    columns: Vec<Column>,
    line: Vec<u8>,
}

impl<W: Write> VerdictJsonlWriter<W> {
    pub fn new(out: W, layout: Layout) -> Self {
        let layout = Layout {
            with_label: false,
            community_id: true,
            ..layout
        };
        let columns = layout.columns();
        VerdictJsonlWriter {
            out,
            layout,
            columns,
            line: Vec::with_capacity(2048),
        }
    }
}

fn json_number(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        // serde_json writes the shortest round-trip form.
        out.extend_from_slice(
            serde_json::to_string(&v)
                .as_deref()
                .unwrap_or("null")
                .as_bytes(),
        );
    } else {
        out.extend_from_slice(b"null");
    }
}

impl<W: Write> VerdictSink for VerdictJsonlWriter<W> {
    fn verdict(&mut self, flow: &FlowRecord, v: &Verdict) -> Result<(), SinkError> {
        self.line.clear();
        self.line.push(b'{');
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            json_string(&mut self.line, self.layout.column_name(*c));
            self.line.push(b':');
            match *c {
                Column::Feature(f) => {
                    let x = flow.get(f);
                    if x.is_finite() {
                        format_value(&mut self.line, x, f.kind());
                    } else {
                        self.line.extend_from_slice(b"null");
                    }
                }
                Column::Meta(MetaColumn::SrcPort) => self
                    .line
                    .extend_from_slice(flow.src_port.to_string().as_bytes()),
                Column::Meta(MetaColumn::CommunityId) => {
                    json_string_or_null(&mut self.line, flow.community_id().as_deref())
                }
                Column::Meta(m) => json_string(&mut self.line, &meta(flow, m)),
            }
        }
        let [p, s, a, t, stage, evidence] = verdict_columns(NameStyle::Snake);
        self.line.push(b',');
        json_string(&mut self.line, p);
        self.line.push(b':');
        json_string(&mut self.line, &v.label);
        self.line.push(b',');
        json_string(&mut self.line, s);
        self.line.push(b':');
        json_number(&mut self.line, v.attack_score);
        self.line.push(b',');
        json_string(&mut self.line, a);
        self.line
            .extend_from_slice(if v.is_attack { b":true," } else { b":false," });
        json_string(&mut self.line, t);
        self.line.extend_from_slice(b":[");
        for (i, c) in v.top_features.iter().enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            self.line.extend_from_slice(b"{\"feature\":");
            json_string(&mut self.line, &c.feature);
            self.line.extend_from_slice(b",\"value\":");
            json_number(&mut self.line, c.value);
            self.line.extend_from_slice(b",\"contribution\":");
            json_number(&mut self.line, c.contribution);
            self.line.push(b'}');
        }
        self.line.extend_from_slice(b"],");
        json_string(&mut self.line, stage);
        self.line.push(b':');
        json_string(&mut self.line, v.stage.as_str());
        self.line.push(b',');
        json_string(&mut self.line, evidence);
        self.line.push(b':');
        match &v.evidence {
            Some(e) => {
                self.line.extend_from_slice(b"{\"detector\":");
                json_string(&mut self.line, &e.detector);
                self.line.extend_from_slice(b",\"summary\":");
                json_string(&mut self.line, &e.summary);
                self.line.extend_from_slice(b",\"host\":");
                json_string(&mut self.line, &e.host);
                self.line.extend_from_slice(b",\"category\":");
                json_string(&mut self.line, &e.category);
                self.line.push(b'}');
            }
            None => self.line.extend_from_slice(b"null"),
        }
        self.line.extend_from_slice(b"}\n");
        self.out.write_all(&self.line)?;
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), SinkError> {
        self.out.flush()?;
        Ok(())
    }
}

/// Counts of a detection run.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct DetectionStats {
    pub flows: u64,
    pub attacks: u64,
    /// Flows per predicted label.
    pub by_label: BTreeMap<String, u64>,
    /// Attack flows per deciding stage (`flow_model`, `host_behaviour`).
    #[serde(default)]
    pub attacks_by_stage: BTreeMap<String, u64>,
    /// Attack flows per source address, most first (top 10).
    pub top_attackers: Vec<(IpAddr, u64)>,
    /// Attack flows per destination address, most first (top 10).
    pub top_victims: Vec<(IpAddr, u64)>,
}

impl std::fmt::Display for DetectionStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = if self.flows == 0 {
            0.0
        } else {
            100.0 * self.attacks as f64 / self.flows as f64
        };
        writeln!(f, "flows classified:  {}", self.flows)?;
        writeln!(f, "attacks:           {} ({pct:.2}%)", self.attacks)?;
        for (l, n) in &self.by_label {
            writeln!(f, "  {l}: {n}")?;
        }
        if !self.attacks_by_stage.is_empty() {
            let stages: Vec<String> = self
                .attacks_by_stage
                .iter()
                .map(|(s, n)| format!("{s} {n}"))
                .collect();
            writeln!(f, "attacks by stage:  {}", stages.join(", "))?;
        }
        if !self.top_attackers.is_empty() {
            writeln!(f, "top attacker addresses (attack flows):")?;
            for (a, n) in &self.top_attackers {
                writeln!(f, "  {a}: {n}")?;
            }
            writeln!(f, "top victim addresses (attack flows):")?;
            for (a, n) in &self.top_victims {
                writeln!(f, "  {a}: {n}")?;
            }
        }
        Ok(())
    }
}

/// A [`VerdictSink`] that tallies verdicts and forwards them.
pub struct Tally<S: VerdictSink> {
    inner: S,
    flows: u64,
    attacks: u64,
    by_label: BTreeMap<String, u64>,
    by_stage: BTreeMap<String, u64>,
    src: HashMap<IpAddr, u64>,
    dst: HashMap<IpAddr, u64>,
}

impl<S: VerdictSink> Tally<S> {
    pub fn new(inner: S) -> Self {
        Tally {
            inner,
            flows: 0,
            attacks: 0,
            by_label: BTreeMap::new(),
            by_stage: BTreeMap::new(),
            src: HashMap::new(),
            dst: HashMap::new(),
        }
    }

    pub fn stats(&self) -> DetectionStats {
        let top = |m: &HashMap<IpAddr, u64>| {
            let mut v: Vec<(IpAddr, u64)> = m.iter().map(|(a, n)| (*a, *n)).collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            v.truncate(10);
            v
        };
        DetectionStats {
            flows: self.flows,
            attacks: self.attacks,
            by_label: self.by_label.clone(),
            attacks_by_stage: self.by_stage.clone(),
            top_attackers: top(&self.src),
            top_victims: top(&self.dst),
        }
    }

    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: VerdictSink> VerdictSink for Tally<S> {
    fn verdict(&mut self, flow: &FlowRecord, v: &Verdict) -> Result<(), SinkError> {
        self.flows += 1;
        if let Some(n) = self.by_label.get_mut(&v.label) {
            *n += 1;
        } else {
            self.by_label.insert(v.label.clone(), 1);
        }
        if v.is_attack {
            self.attacks += 1;
            *self
                .by_stage
                .entry(v.stage.as_str().to_string())
                .or_default() += 1;
            *self.src.entry(flow.src).or_default() += 1;
            *self.dst.entry(flow.dst).or_default() += 1;
        }
        self.inner.verdict(flow, v)
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), SinkError> {
        self.inner.finish(summary)
    }
}

/// Drops every verdict (a [`Tally`] whose counts are all that is wanted).
pub struct Discard;

impl VerdictSink for Discard {
    fn verdict(&mut self, _flow: &FlowRecord, _v: &Verdict) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Forwards only attack verdicts.
pub struct AttacksOnly<S: VerdictSink>(pub S);

impl<S: VerdictSink> VerdictSink for AttacksOnly<S> {
    fn verdict(&mut self, flow: &FlowRecord, v: &Verdict) -> Result<(), SinkError> {
        if v.is_attack {
            self.0.verdict(flow, v)
        } else {
            Ok(())
        }
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), SinkError> {
        self.0.finish(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::Stage;
    use mlids_flow::synth::{tcp, Link, CLIENT, SERVER, T0};
    use mlids_flow::{MeterConfig, Mode, Pipeline, VecSink};

    /// 10.0.0.1:40000 → 10.0.0.2:80, whose Community ID (computed by hand with Python's hashlib,
    /// see crates/flow/tests/community_id.rs) is `1:3k1SoWXs/FltHw2aBCgUTgbDQF4=`.
    fn flow() -> FlowRecord {
        let mut p = Pipeline::new(MeterConfig::new(Mode::Corrected));
        let mut sink = VecSink::default();
        for (i, (from, to, flags)) in [(CLIENT, SERVER, "S"), (SERVER, CLIENT, "SA")]
            .into_iter()
            .enumerate()
        {
            let f = tcp(T0 + i as i64, from, to, flags, 0, 1000, Link::default());
            p.push_frame(1, f.ts_us, &f.data, &mut sink).unwrap();
        }
        p.finish(&mut sink).unwrap();
        sink.0.remove(0)
    }

    fn verdict() -> Verdict {
        Verdict {
            label: "Benign".into(),
            probability: 0.9,
            attack_score: 0.1,
            is_attack: false,
            top_features: vec![],
            stage: Stage::FlowModel,
            evidence: None,
        }
    }

    const ID: &str = "1:3k1SoWXs/FltHw2aBCgUTgbDQF4=";

    #[test]
    fn jsonl_lines_carry_the_community_id_after_the_flow_id() {
        let layout = Layout::new(Mode::Corrected, NameStyle::Snake, false);
        let mut w = VerdictJsonlWriter::new(Vec::new(), layout);
        let (f, v) = (flow(), verdict());
        w.verdict(&f, &v).unwrap();
        let mut sctp = f.clone();
        (sctp.protocol, sctp.exchange.ip_protocol) = (132, 132);
        w.verdict(&sctp, &v).unwrap();
        let out = String::from_utf8(w.out).unwrap();
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["community_id"], ID);
        assert!(lines[1]["community_id"].is_null());
        let expected =
            format!(r#"{{"flow_id":"10.0.0.1-10.0.0.2-40000-80-6","community_id":"{ID}","#);
        assert!(out.starts_with(&expected), "{out}");
    }

    #[test]
    fn csv_has_the_column_only_when_asked_for() {
        let (f, v) = (flow(), verdict());
        let layout = Layout::new(Mode::Corrected, NameStyle::Improved, false);
        let mut plain = VerdictCsvWriter::new(Vec::new(), layout.clone());
        plain.verdict(&f, &v).unwrap();
        assert!(!String::from_utf8(plain.out).unwrap().contains(ID));
        let mut with = VerdictCsvWriter::new(Vec::new(), layout.with_community_id(true));
        with.verdict(&f, &v).unwrap();
        let out = String::from_utf8(with.out).unwrap();
        let mut lines = out.lines();
        assert!(lines
            .next()
            .unwrap()
            .starts_with("Flow ID,Community ID,Src IP,"));
        assert_eq!(lines.next().unwrap().split(',').nth(1), Some(ID));
    }
}
