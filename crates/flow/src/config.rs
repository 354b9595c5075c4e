//! Extractor modes and flow-meter settings.

use std::fmt;
use std::str::FromStr;

/// Which CICFlowMeter semantics to compute. The two produce different quantities under the same
/// names, so the mode travels with every flow record, dataset and model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The CICFlowMeter-V3 build behind the CSE-CIC-IDS2018 CSVs, quirks included (spec §2–§6).
    #[default]
    Cic2018,
    /// The repaired semantics of the 2022 improved re-release (spec §7).
    Corrected,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Cic2018 => "cic2018",
            Mode::Corrected => "corrected",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cic2018" => Ok(Mode::Cic2018),
            "corrected" => Ok(Mode::Corrected),
            other => Err(format!(
                "unknown extractor mode '{other}' (expected cic2018 or corrected)"
            )),
        }
    }
}

/// Flow-meter settings. [`MeterConfig::new`] gives each mode's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct MeterConfig {
    pub mode: Mode,
    /// A packet arriving more than this long after its flow's *first* packet starts a new flow.
    pub active_timeout_us: i64,
    /// Flows silent for longer are expired by the timer (`None`: never; the 2018 tool had none).
    pub idle_timeout_us: Option<i64>,
    /// Gap that separates active periods (Active/Idle features), 5 s in every CIC build.
    pub activity_timeout_us: i64,
    /// Corrected mode: after a flow closes, packets of the same connection arriving within this
    /// window (retransmitted FINs, the last ACK) are absorbed instead of starting new flows.
    pub close_grace_us: i64,
    /// Flows with fewer packets are dropped (and counted). 2 in cic2018 (as the tool did), 1 in
    /// corrected (scans consist of one-packet flows).
    pub min_packets: u32,
    /// Upper bound on live flows; past it the least recently seen eighth is evicted (emitted).
    pub max_flows: usize,
}

impl MeterConfig {
    /// The settings for live capture (watch, the bus sensor) in `mode`.
    ///
    /// cic2018 mode has no idle timeout (the 2018 tool had none): a finished connection that ended
    /// without a FIN (a SYN flood's half-open flows, RST-closed connections, UDP) would stay in
    /// the table until the 120 s active timeout cut it at its next packet, or forever if none
    /// comes. Live capture therefore expires flows idle for as long as the active timeout. That
    /// changes no feature value: a packet arriving after such a gap would have been past the
    /// active timeout anyway and started a new flow. (The only difference is the new flow's
    /// orientation: the 2018 tool's continuation kept the old flow's direction, an idle-expired
    /// flow's successor is oriented by its own first packet.) Corrected mode keeps its own 60 s
    /// idle timeout.
    pub fn live(mode: Mode) -> Self {
        let mut cfg = MeterConfig::new(mode);
        if cfg.idle_timeout_us.is_none() {
            cfg.idle_timeout_us = Some(cfg.active_timeout_us);
        }
        cfg
    }

    pub fn new(mode: Mode) -> Self {
        match mode {
            Mode::Cic2018 => MeterConfig {
                mode,
                active_timeout_us: 120_000_000,
                idle_timeout_us: None,
                activity_timeout_us: 5_000_000,
                close_grace_us: 0,
                min_packets: 2,
                max_flows: 1 << 20,
            },
            Mode::Corrected => MeterConfig {
                mode,
                active_timeout_us: 120_000_000,
                idle_timeout_us: Some(60_000_000),
                activity_timeout_us: 5_000_000,
                close_grace_us: 2_000_000,
                min_packets: 1,
                max_flows: 1 << 20,
            },
        }
    }
}
