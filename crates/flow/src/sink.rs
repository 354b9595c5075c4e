//! Flow sinks: where finished flows go. The pipeline pushes each flow into a [`FlowSink`] and calls
//! [`FlowSink::finish`] with the run's accounting, as ripgrep's searcher drives its printers; CSV and
//! JSON Lines writers live here, Parquet and classification sinks in the crates that own those
//! dependencies.

use crate::features::ValueKind;
use crate::pipeline::Summary;
use crate::record::FlowRecord;
use crate::schema::{Column, Layout, MetaColumn};
use std::io::{self, Write};

/// Errors a sink can report (an I/O error, a model error, a closed channel…).
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

pub trait FlowSink {
    /// Take one finished flow.
    fn flow(&mut self, flow: &FlowRecord) -> Result<(), SinkError>;
    /// End of the run; flush buffers. `summary` has the packet and flow accounting.
    fn finish(&mut self, _summary: &Summary) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Collects flows in memory (tests, small uploads).
#[derive(Default)]
pub struct VecSink(pub Vec<FlowRecord>);

impl FlowSink for VecSink {
    fn flow(&mut self, flow: &FlowRecord) -> Result<(), SinkError> {
        self.0.push(flow.clone());
        Ok(())
    }
}

impl<S: FlowSink + ?Sized> FlowSink for Box<S> {
    fn flow(&mut self, flow: &FlowRecord) -> Result<(), SinkError> {
        (**self).flow(flow)
    }
    fn finish(&mut self, summary: &Summary) -> Result<(), SinkError> {
        (**self).finish(summary)
    }
}

impl<S: FlowSink + ?Sized> FlowSink for &mut S {
    fn flow(&mut self, flow: &FlowRecord) -> Result<(), SinkError> {
        (**self).flow(flow)
    }
    fn finish(&mut self, summary: &Summary) -> Result<(), SinkError> {
        (**self).finish(summary)
    }
}

/// Write a number the way the CIC CSVs do: integers without a fraction, doubles in shortest
/// round-trip form with `.0`, and Java's `Infinity`/`NaN` spellings.
#[inline]
pub fn format_value(out: &mut Vec<u8>, v: f64, kind: ValueKind) {
    if v == 0.0 {
        // The most common value by far (bulk, flags, empty directions).
        out.extend_from_slice(if kind == ValueKind::Float {
            b"0.0"
        } else {
            b"0"
        });
    } else if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
    } else if v.abs() < 1e15 && v == (v as i64) as f64 {
        // Most values are whole numbers (counts, µs, bytes): integer formatting is several times
        // faster than the shortest-round-trip algorithm and prints the same digits.
        let mut buf = itoa::Buffer::new();
        out.extend_from_slice(buf.format(v as i64).as_bytes());
        if kind == ValueKind::Float {
            out.extend_from_slice(b".0");
        }
    } else {
        let mut buf = ryu::Buffer::new();
        out.extend_from_slice(buf.format_finite(v).as_bytes());
    }
}

/// Append an address: IPv4 by hand (the `Display` impl goes through the formatting machinery and
/// cost more than all the numbers of a row), IPv6 through `Display` (rare).
fn write_ip(out: &mut Vec<u8>, ip: &std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut buf = itoa::Buffer::new();
            for (i, o) in v4.octets().iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                out.extend_from_slice(buf.format(*o).as_bytes());
            }
        }
        std::net::IpAddr::V6(v6) => {
            use std::io::Write as _;
            let _ = write!(out, "{v6}");
        }
    }
}

fn write_int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Render one meta column's value (none of them needs CSV quoting or JSON escaping).
fn write_meta(out: &mut Vec<u8>, flow: &FlowRecord, m: MetaColumn) {
    match m {
        MetaColumn::FlowId => {
            let k = &flow.key;
            write_ip(out, &k.ip_a());
            out.push(b'-');
            write_ip(out, &k.ip_b());
            out.push(b'-');
            write_int(out, k.port_a);
            out.push(b'-');
            write_int(out, k.port_b);
            out.push(b'-');
            write_int(out, k.protocol);
        }
        MetaColumn::CommunityId => {
            // `1:` and base64: nothing to quote or escape.
            if let Some(id) = flow.community_id() {
                out.extend_from_slice(id.as_bytes());
            }
        }
        MetaColumn::SrcIp => write_ip(out, &flow.src),
        MetaColumn::SrcPort => write_int(out, flow.src_port),
        MetaColumn::DstIp => write_ip(out, &flow.dst),
        MetaColumn::Timestamp => crate::time::write_timestamp(out, flow.start_us, flow.mode),
        MetaColumn::Label => unreachable!("the label is written by the sink"),
    }
}

/// CSV writer in the CIC datasets' format.
pub struct CsvSink<W: Write> {
    out: W,
    layout: Layout,
    columns: Vec<Column>,
    label: String,
    line: Vec<u8>,
    wrote_header: bool,
}

impl<W: Write> CsvSink<W> {
    /// `label` fills the Label column when the layout has one.
    pub fn new(out: W, layout: Layout, label: Option<String>) -> Self {
        let columns = layout.columns();
        CsvSink {
            out,
            layout,
            columns,
            label: label.unwrap_or_default(),
            line: Vec::with_capacity(1024),
            wrote_header: false,
        }
    }

    fn write_header(&mut self) -> io::Result<()> {
        self.wrote_header = true;
        let header = self.layout.header().join(",");
        self.out.write_all(header.as_bytes())?;
        self.out.write_all(b"\n")
    }

    pub fn into_inner(self) -> W {
        self.out
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

impl<W: Write> FlowSink for CsvSink<W> {
    fn flow(&mut self, flow: &FlowRecord) -> Result<(), SinkError> {
        if !self.wrote_header {
            self.write_header()?;
        }
        self.line.clear();
        for (i, c) in self.columns.iter().enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            match *c {
                Column::Feature(f) => format_value(&mut self.line, flow.get(f), f.kind()),
                Column::Meta(MetaColumn::Label) => csv_field(&mut self.line, &self.label),
                Column::Meta(m) => write_meta(&mut self.line, flow, m),
            }
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> Result<(), SinkError> {
        if !self.wrote_header {
            // An empty result still gets a header, so the file is a valid (empty) table.
            self.write_header()?;
        }
        self.out.flush()?;
        Ok(())
    }
}

/// JSON Lines: one object per flow, keys in the layout's style. Non-finite numbers (a zero-duration
/// flow's rates in cic2018 mode) become `null`, since JSON has no Infinity.
pub struct JsonlSink<W: Write> {
    out: W,
    layout: Layout,
    columns: Vec<Column>,
    label: String,
    line: Vec<u8>,
}

impl<W: Write> JsonlSink<W> {
    pub fn new(out: W, layout: Layout, label: Option<String>) -> Self {
        let columns = layout.columns();
        JsonlSink {
            out,
            layout,
            columns,
            label: label.unwrap_or_default(),
            line: Vec::with_capacity(2048),
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Append `s` as a JSON string literal.
pub fn json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for ch in s.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Append `s` as a JSON string, or `null` for `None`.
pub fn json_string_or_null(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => json_string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

impl<W: Write> FlowSink for JsonlSink<W> {
    fn flow(&mut self, flow: &FlowRecord) -> Result<(), SinkError> {
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
                    let v = flow.get(f);
                    if v.is_finite() {
                        format_value(&mut self.line, v, f.kind());
                    } else {
                        self.line.extend_from_slice(b"null");
                    }
                }
                Column::Meta(MetaColumn::SrcPort) => self
                    .line
                    .extend_from_slice(flow.src_port.to_string().as_bytes()),
                Column::Meta(MetaColumn::Label) => json_string(&mut self.line, &self.label),
                Column::Meta(MetaColumn::CommunityId) => {
                    json_string_or_null(&mut self.line, flow.community_id().as_deref())
                }
                Column::Meta(m) => {
                    self.line.push(b'"');
                    write_meta(&mut self.line, flow, m);
                    self.line.push(b'"');
                }
            }
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

/// Runs a sink on its own thread, fed in batches through a bounded channel, so formatting and
/// writing output (40% of `extract`'s time on a capture with many short flows) overlaps with packet
/// processing. Errors of the inner sink surface on the next call or at `finish`.
pub struct ThreadedSink {
    tx: Option<std::sync::mpsc::SyncSender<Batch>>,
    batch: Vec<FlowRecord>,
    worker: Option<std::thread::JoinHandle<Result<(), SinkError>>>,
}

enum Batch {
    Flows(Vec<FlowRecord>),
    Finish(Box<Summary>),
}

const THREADED_BATCH: usize = 256;

impl ThreadedSink {
    pub fn new<S: FlowSink + Send + 'static>(mut inner: S) -> ThreadedSink {
        // 16 batches in flight: enough to ride out write stalls, bounded so memory stays small.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(16);
        let worker = std::thread::Builder::new()
            .name("flow-sink".into())
            .spawn(move || {
                for msg in rx {
                    match msg {
                        Batch::Flows(flows) => {
                            for f in &flows {
                                inner.flow(f)?;
                            }
                        }
                        Batch::Finish(summary) => return inner.finish(&summary),
                    }
                }
                Ok(())
            })
            .expect("spawning the sink thread");
        ThreadedSink {
            tx: Some(tx),
            batch: Vec::with_capacity(THREADED_BATCH),
            worker: Some(worker),
        }
    }

    /// The worker stopped (its sink failed): collect its error.
    fn worker_error(&mut self) -> SinkError {
        self.tx = None;
        match self.worker.take().map(|w| w.join()) {
            Some(Ok(Err(e))) => e,
            Some(Err(_)) => "the output thread panicked".into(),
            _ => "the output thread stopped".into(),
        }
    }

    fn send(&mut self, msg: Batch) -> Result<(), SinkError> {
        match &self.tx {
            Some(tx) if tx.send(msg).is_ok() => Ok(()),
            _ => Err(self.worker_error()),
        }
    }
}

impl FlowSink for ThreadedSink {
    fn flow(&mut self, flow: &FlowRecord) -> Result<(), SinkError> {
        self.batch.push(flow.clone());
        if self.batch.len() >= THREADED_BATCH {
            let full = std::mem::replace(&mut self.batch, Vec::with_capacity(THREADED_BATCH));
            self.send(Batch::Flows(full))?;
        }
        Ok(())
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), SinkError> {
        let rest = std::mem::take(&mut self.batch);
        self.send(Batch::Flows(rest))?;
        self.send(Batch::Finish(Box::new(summary.clone())))?;
        self.tx = None;
        match self.worker.take().map(|w| w.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err("the output thread panicked".into()),
            None => Ok(()),
        }
    }
}
