//! `manifest.json`: everything needed to understand, label again and evaluate a run.

use crate::catalog::{Budget, Kind, Scale};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const MANIFEST_FILE: &str = "manifest.json";
pub const FORMAT: &str = "mlids-testbed/1";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub run_id: String,
    pub seed: u64,
    pub scale: Scale,
    /// Extractor mode of flows.csv (`cic2018` or `corrected`).
    pub mode: String,
    pub started: String,
    pub finished: String,
    pub duration_s: f64,
    pub ml_ids_version: String,
    pub kernel: String,
    pub network: Network,
    /// The victim's daemons with their package versions.
    pub services: Vec<ToolVersion>,
    pub capture: CaptureInfo,
    pub scenarios: Vec<ScenarioRecord>,
    pub flows: FlowsInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<StreamInfo>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Network {
    pub subnet: String,
    pub victim: String,
    /// Namespace holding the bridge `br0` (the capture point).
    pub switch_namespace: String,
    pub victim_namespace: String,
    /// Extra delay on the victim's link (its outgoing frames, `testbed/lib/delay.py`): its
    /// round-trip time seen from the capture point grows by this much.
    #[serde(default, skip_serializing_if = "LinkDelay::is_none")]
    pub victim_delay: LinkDelay,
}

/// A delay on one link, in milliseconds (0: none).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LinkDelay {
    pub delay_ms: u32,
    /// Uniform extra delay of 0..jitter_ms per frame, never reordering.
    pub jitter_ms: u32,
    /// Share of the frames lost on the link, in percent (each frame independently, seeded by the
    /// run's seed). Absent in manifests written before loss could be set: none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub loss_pct: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl LinkDelay {
    pub fn is_none(&self) -> bool {
        self.delay_ms == 0 && self.jitter_ms == 0 && self.loss_pct == 0.0
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ToolVersion {
    pub tool: String,
    pub package: String,
    pub version: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaptureInfo {
    pub file: String,
    pub command: String,
    pub packets: u64,
    pub bytes: u64,
    /// tcpdump's own count of packets the kernel dropped before it could read them.
    pub dropped_by_kernel: Option<u64>,
    /// The packet cap passed to tcpdump (-c).
    pub max_packets: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HostRecord {
    pub namespace: String,
    pub ip: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScenarioRecord {
    pub name: String,
    pub kind: Kind,
    pub label: String,
    pub about: String,
    pub tools: Vec<ToolVersion>,
    /// The scenario's own hosts (the first one runs its script's tools; the others are bots).
    pub hosts: Vec<HostRecord>,
    pub budget: Budget,
    pub concurrent: bool,
    /// Its packets carry forged source addresses: its flows are those between the victim and
    /// addresses no scenario owns, inside its window.
    #[serde(default)]
    pub forged_sources: bool,
    pub start: String,
    pub end: String,
    pub start_us: i64,
    pub end_us: i64,
    /// Script exit code (None: killed at the hard time limit or by a signal).
    pub exit_code: Option<i32>,
    pub killed_at_limit: bool,
    /// Every tool invocation, as run (shell-quoted), with the namespace it ran in.
    pub commands: Vec<Command>,
    /// Command lines that ran more than the first `commands.len()` times are not repeated.
    pub commands_omitted: u64,
    pub pcap: String,
    pub packets: u64,
    pub bytes: u64,
    /// Flows labelled with this scenario (rows of flows.csv).
    pub flows: u64,
    /// Flows of this scenario's hosts that started outside its window (not in flows.csv).
    pub flows_outside_window: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Command {
    pub tool: String,
    pub namespace: String,
    pub command: String,
    /// How many times this exact command line ran.
    pub times: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FlowsInfo {
    pub file: String,
    pub mode: String,
    pub total: u64,
    pub by_label: BTreeMap<String, u64>,
    /// Flows between addresses of no scenario (none expected).
    pub unattributed: u64,
    pub outside_window: u64,
    pub packets_read: u64,
    pub packets_decoded: u64,
    pub packets_skipped: BTreeMap<String, u64>,
    pub extract_seconds: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StreamInfo {
    pub url: String,
    /// HTTP status of the stream request (the server answers when the capture ends).
    pub status: Option<u16>,
    pub alerts_file: String,
    pub alerts: u64,
    /// Alerts per scenario (by address), from the WebSocket.
    pub alerts_by_scenario: BTreeMap<String, u64>,
    /// Alerts the server said this client missed (`lagged`).
    pub alerts_missed: u64,
    pub error: Option<String>,
}

impl Manifest {
    pub fn load(dir: &Path) -> anyhow::Result<Manifest> {
        use anyhow::Context;
        let p = dir.join(MANIFEST_FILE);
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
        let m: Manifest = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a testbed manifest", p.display()))?;
        if m.format != FORMAT {
            anyhow::bail!("{}: format {} (expected {FORMAT})", p.display(), m.format);
        }
        Ok(m)
    }

    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(self).expect("manifest serialises");
        std::fs::write(dir.join(MANIFEST_FILE), text + "\n")
    }
}

/// `2026-11-26T13:42:05.123456Z`.
pub fn rfc3339(us: i64) -> String {
    let (y, mo, d, h, mi, s, micros) = mlids_flow::time::civil_utc(us);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{micros:06}Z")
}

/// Microseconds since the epoch, now.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
