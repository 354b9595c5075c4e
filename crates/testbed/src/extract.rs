//! One pass over the merged capture through the ml-ids flow pipeline (`Pipeline::run`, exactly
//! what `ml-ids extract` runs): a run hook sees each frame with its decoded packet and copies it to
//! its scenario's pcap; each flow is labelled by its scenario (address + time window) and written
//! by the flow crate's CSV sink with that label. The per-scenario CSVs are then joined into one
//! `flows.csv` that `ml-ids dataset import` reads.

use crate::pcap::PcapWriter;
use crate::routing::Routing;
use anyhow::{bail, Context, Result};
use mlids_flow::capture::Frame;
use mlids_flow::{
    CaptureReader, CsvSink, FlowRecord, FlowSink, Layout, MeterConfig, Mode, NameStyle, Packet,
    Pipeline, RunHooks, SinkError, Summary,
};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Where one scenario's outputs go.
pub struct Target {
    pub label: String,
    pub pcap: PathBuf,
}

#[derive(Clone, Debug, Default)]
pub struct Counts {
    pub packets: u64,
    pub bytes: u64,
    pub flows: u64,
    pub outside_window: u64,
}

#[derive(Debug)]
pub struct Extracted {
    pub per_scenario: Vec<Counts>,
    pub unattributed_flows: u64,
    pub unattributed_packets: u64,
    pub summary: Summary,
}

/// Routes flows to per-scenario CSV sinks.
struct LabelSink<'a> {
    routing: &'a Routing,
    sinks: Vec<CsvSink<BufWriter<File>>>,
    counts: Vec<Counts>,
    unattributed: u64,
}

impl FlowSink for LabelSink<'_> {
    fn flow(&mut self, f: &FlowRecord) -> Result<(), SinkError> {
        match self.routing.scenario(f.src, f.dst, f.start_us) {
            Some(i) if self.routing.in_window(i, f.start_us) => {
                self.counts[i].flows += 1;
                self.sinks[i].flow(f)
            }
            Some(i) => {
                self.counts[i].outside_window += 1;
                Ok(())
            }
            None => {
                self.unattributed += 1;
                Ok(())
            }
        }
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), SinkError> {
        for s in &mut self.sinks {
            s.finish(summary)?;
        }
        Ok(())
    }
}

/// Copies each frame to its scenario's pcap, by the addresses of its decoded packet.
struct SplitFrames<'a> {
    routing: &'a Routing,
    targets: &'a [Target],
    pcaps: Vec<Option<PcapWriter>>,
    counts: Vec<Counts>,
    unattributed_packets: u64,
    /// Link type of the last frame (Ethernet until one is seen), for the empty files of scenarios
    /// that sent nothing.
    linktype: u32,
}

impl<'s> RunHooks<LabelSink<'s>> for SplitFrames<'_> {
    fn frame(&mut self, frame: &Frame, packet: Option<&Packet>) -> Result<(), SinkError> {
        self.linktype = frame.linktype;
        let Some(i) = packet.and_then(|p| self.routing.scenario(p.src, p.dst, frame.ts_us)) else {
            self.unattributed_packets += 1;
            return Ok(());
        };
        if self.pcaps[i].is_none() {
            let p = &self.targets[i].pcap;
            let w = PcapWriter::create(p, frame.linktype)
                .with_context(|| format!("cannot create {}", p.display()))?;
            self.pcaps[i] = Some(w);
        }
        let w = self.pcaps[i].as_mut().expect("just created");
        w.frame(frame.ts_us, frame.data, frame.orig_len)?;
        self.counts[i].packets += 1;
        self.counts[i].bytes += frame.orig_len.max(frame.data.len() as u32) as u64;
        Ok(())
    }
}

/// Split `merged` into the targets' pcaps and write the labelled flows to `flows_csv`.
pub fn split_and_label(
    merged: &Path,
    routing: &Routing,
    targets: &[Target],
    mode: Mode,
    flows_csv: &Path,
) -> Result<Extracted> {
    assert_eq!(routing.scenarios(), targets.len());
    let tmp = flows_csv.with_extension("parts");
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let layout = Layout::new(mode, NameStyle::default_for(mode), true);
    let mut parts = Vec::new();
    let mut sinks = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let p = tmp.join(format!("{i:03}.csv"));
        let f = File::create(&p).with_context(|| format!("cannot create {}", p.display()))?;
        sinks.push(CsvSink::new(
            BufWriter::with_capacity(1 << 16, f),
            layout.clone(),
            Some(t.label.clone()),
        ));
        parts.push(p);
    }
    let mut sink = LabelSink {
        routing,
        sinks,
        counts: vec![Counts::default(); targets.len()],
        unattributed: 0,
    };
    let mut split = SplitFrames {
        routing,
        targets,
        pcaps: (0..targets.len()).map(|_| None).collect(),
        counts: vec![Counts::default(); targets.len()],
        unattributed_packets: 0,
        linktype: 1,
    };
    let mut reader =
        CaptureReader::open(merged).with_context(|| format!("cannot read {}", merged.display()))?;
    let outcome = Pipeline::new(MeterConfig::new(mode))
        .run(&mut reader, &mut sink, &mut split)
        .map_err(|e| anyhow::anyhow!("writing flows failed: {e}"))?;
    let summary = outcome.summary;
    for (i, w) in split.pcaps.into_iter().enumerate() {
        match w {
            Some(w) => w.finish()?,
            None => PcapWriter::create(&targets[i].pcap, split.linktype)?.finish()?,
        }
    }
    for (c, packets) in sink.counts.iter_mut().zip(&split.counts) {
        c.packets = packets.packets;
        c.bytes = packets.bytes;
    }
    let unattributed_packets = split.unattributed_packets;
    let LabelSink {
        sinks,
        counts,
        unattributed,
        ..
    } = sink;
    drop(sinks);
    concat_csv(&parts, flows_csv)?;
    std::fs::remove_dir_all(&tmp).ok();
    if let Some(e) = outcome.error {
        // Flows up to the damage are written; a truncated capture (tcpdump killed) is reported.
        bail!("{e} (flows before this point were written)");
    }
    Ok(Extracted {
        per_scenario: counts,
        unattributed_flows: unattributed,
        unattributed_packets,
        summary,
    })
}

/// Join CSV files that share a header into one (header once).
fn concat_csv(parts: &[PathBuf], out: &Path) -> Result<()> {
    let mut w = BufWriter::with_capacity(
        1 << 16,
        File::create(out).with_context(|| format!("cannot create {}", out.display()))?,
    );
    let mut header: Option<String> = None;
    for p in parts {
        let mut r = BufReader::with_capacity(1 << 16, File::open(p)?);
        let mut first = String::new();
        r.read_line(&mut first)?;
        match &header {
            None => {
                w.write_all(first.as_bytes())?;
                header = Some(first);
            }
            Some(h) if *h == first => {}
            Some(_) => bail!("{}: header differs from the other parts", p.display()),
        }
        std::io::copy(&mut r, &mut w)?;
    }
    w.flush()?;
    Ok(())
}
