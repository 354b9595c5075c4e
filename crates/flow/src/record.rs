//! A finished flow: identity, timing, why it ended, and its feature values.

use crate::config::Mode;
use crate::exchange::Exchange;
use crate::features::{Feature, NUM_FEATURES};
use crate::key::FlowKey;
use std::fmt;
use std::net::IpAddr;

/// Why a flow record was emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Termination {
    /// A FIN ended it (cic2018: the first FIN from either side; corrected: FINs from both sides and
    /// the final ACK).
    Fin,
    /// A RST ended it (corrected mode only; the 2018 tool ignored RST).
    Rst,
    /// A packet (or the timer) found it older than the active timeout, counted from its first packet.
    ActiveTimeout,
    /// The timer found it silent for longer than the idle timeout.
    IdleTimeout,
    /// The capture ended with the flow still open.
    EndOfCapture,
    /// The flow table was full and this flow was among the least recently seen.
    Evicted,
}

impl Termination {
    pub const ALL: [Termination; 6] = [
        Termination::Fin,
        Termination::Rst,
        Termination::ActiveTimeout,
        Termination::IdleTimeout,
        Termination::EndOfCapture,
        Termination::Evicted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Termination::Fin => "fin",
            Termination::Rst => "rst",
            Termination::ActiveTimeout => "active_timeout",
            Termination::IdleTimeout => "idle_timeout",
            Termination::EndOfCapture => "end_of_capture",
            Termination::Evicted => "evicted",
        }
    }
}

impl fmt::Display for Termination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One emitted flow. Equality compares values bit for bit, so undefined (NaN) features compare equal.
#[derive(Clone, Debug)]
pub struct FlowRecord {
    pub mode: Mode,
    pub key: FlowKey,
    /// The flow's source: the sender of its first packet (cic2018) or the client (corrected).
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
    /// Protocol as written in the output (0 for non-TCP/UDP in cic2018 mode).
    pub protocol: u8,
    /// First and last packet times, µs since the epoch.
    pub start_us: i64,
    pub end_us: i64,
    pub termination: Termination,
    /// Feature values indexed by `Feature as usize`. Features a mode does not define are NaN.
    pub values: [f64; NUM_FEATURES],
    /// What passed between the ends, the same in both modes (for the host-behaviour stage).
    pub exchange: Exchange,
}

impl FlowRecord {
    #[inline]
    pub fn get(&self, f: Feature) -> f64 {
        self.values[f as usize]
    }

    pub fn packets(&self) -> u64 {
        (self.get(Feature::TotFwdPkts) + self.get(Feature::TotBwdPkts)) as u64
    }

    /// The CICFlowMeter Flow ID (`ipA-ipB-portA-portB-proto`).
    pub fn flow_id(&self) -> String {
        self.key.flow_id()
    }

    /// The flow's Community ID v1 with the default seed 0: the string Suricata, Zeek and Elastic
    /// log for the same conversation. Computed on demand from the record, so nothing the bus
    /// carries changes; `None` where the record lacks the tuple ([`community_id::of_record`]).
    ///
    /// [`community_id::of_record`]: crate::community_id::of_record
    pub fn community_id(&self) -> Option<String> {
        crate::community_id::of_record(self, 0)
    }

    /// The Timestamp column in the dataset's format: `dd/MM/yyyy hh:mm:ss` with the 2018 tool's
    /// 12-hour clock and no AM/PM marker (cic2018), or ISO-like `yyyy-MM-dd HH:mm:ss.ffffff` as in
    /// the improved release (corrected). Both UTC.
    pub fn timestamp(&self) -> String {
        crate::time::format_timestamp(self.start_us, self.mode)
    }
}

impl PartialEq for FlowRecord {
    fn eq(&self, other: &Self) -> bool {
        self.mode == other.mode
            && self.key == other.key
            && (
                self.src,
                self.src_port,
                self.dst,
                self.dst_port,
                self.protocol,
            ) == (
                other.src,
                other.src_port,
                other.dst,
                other.dst_port,
                other.protocol,
            )
            && (self.start_us, self.end_us, self.termination)
                == (other.start_us, other.end_us, other.termination)
            && self.exchange == other.exchange
            && self
                .values
                .iter()
                .zip(&other.values)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}
