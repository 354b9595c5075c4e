//! Per-flow accumulators and the feature formulas of both modes.
//!
//! The packet-by-packet rules follow `shared/spec/flow-features.md`: §5 for `cic2018` (first-packet-only
//! flags, the duplicated first payload, last-backward-window, …) and §7 for `corrected`. The state is
//! kept compact (≈ 600 bytes with its key) because a flood keeps hundreds of thousands of flows alive.

use crate::config::{MeterConfig, Mode};
use crate::exchange::Exchange;
use crate::features::{Feature as F, NUM_FEATURES};
use crate::key::{ip_bytes, FlowKey};
use crate::packet::{proto, Packet, TcpFlags};
use crate::record::{FlowRecord, Termination};
use crate::stats::RunningStats;

/// Gap that starts a new subflow (corrected mode).
const SUBFLOW_GAP_US: i64 = 1_000_000;
/// Maximum gap between packets of one bulk transfer (corrected mode).
const BULK_GAP_US: i64 = 1_000_000;
/// Packets that make a run a bulk.
const BULK_MIN_PACKETS: u32 = 4;

/// One direction's bulk-transfer detector (spec §5.6; used by the corrected mode only).
#[derive(Clone, Copy, Debug, Default)]
struct Bulk {
    start_helper: i64,
    last_ts: i64,
    packets_helper: u32,
    bytes_helper: u64,
    bulks: u32,
    packets: u32,
    bytes: u64,
    duration_us: i64,
}

impl Bulk {
    /// `other_last` is the last bulk timestamp of the opposite direction: a later packet there breaks
    /// this direction's candidate.
    fn update(&mut self, ts: i64, size: u32, other_last: i64) {
        if other_last > self.start_helper {
            self.start_helper = 0;
        }
        if size == 0 {
            return;
        }
        if self.start_helper == 0 || ts - self.last_ts > BULK_GAP_US {
            self.start_helper = ts;
            self.last_ts = ts;
            self.packets_helper = 1;
            self.bytes_helper = u64::from(size);
            return;
        }
        self.packets_helper += 1;
        self.bytes_helper += u64::from(size);
        if self.packets_helper == BULK_MIN_PACKETS {
            self.bulks += 1;
            self.packets += self.packets_helper;
            self.bytes += self.bytes_helper;
            self.duration_us += ts - self.start_helper;
        } else if self.packets_helper > BULK_MIN_PACKETS {
            self.packets += 1;
            self.bytes += u64::from(size);
            self.duration_us += ts - self.last_ts;
        }
        self.last_ts = ts;
    }

    /// (bytes per bulk, packets per bulk, bulk rate in B/s), integer-truncated as in Java.
    fn outputs(&self) -> (f64, f64, f64) {
        if self.bulks == 0 {
            return (0.0, 0.0, 0.0);
        }
        let bulks = u64::from(self.bulks);
        let rate = if self.duration_us > 0 {
            (self.bytes as f64 / (self.duration_us as f64 / 1e6)).trunc()
        } else {
            0.0
        };
        (
            (self.bytes / bulks) as f64,
            (u64::from(self.packets) / bulks) as f64,
            rate,
        )
    }
}

/// The accumulators of one live flow.
///
/// Kept small (≈ 400 bytes) because a SYN flood keeps a million of these alive: the endpoints live
/// in the key (`src_is_a` says which side is the source), all-packet length statistics are merged
/// from the two directions at the end, and the rarely used active/idle and bulk state is boxed on
/// first use.
#[derive(Clone, Debug)]
pub struct FlowState {
    pub(crate) key: FlowKey,
    /// The source is the key's `a` endpoint (else `b`).
    src_is_a: bool,
    /// Protocol as reported (0 for non-TCP/UDP in cic2018).
    protocol: u8,
    mode: Mode,
    fin_fwd: bool,
    fin_bwd: bool,
    icmp: Option<(u8, u8)>,
    pub(crate) start_us: i64,
    pub(crate) last_us: i64,
    fwd_last_us: i64,
    bwd_last_us: i64,
    start_active: i64,
    end_active: i64,
    fwd_len: RunningStats,
    bwd_len: RunningStats,
    flow_iat: RunningStats,
    fwd_iat: RunningStats,
    bwd_iat: RunningStats,
    /// Active and idle period statistics; allocated at the first gap over the activity timeout.
    activity: Option<Box<[RunningStats; 2]>>,
    /// Forward and backward bulk detectors (corrected mode); allocated at the first payload.
    bulk: Option<Box<[Bulk; 2]>>,
    fwd_header: u64,
    bwd_header: u64,
    /// Packets carrying each TCP flag, indexed by bit position (FIN=0 … CWR=7).
    flag_counts: [u32; 8],
    fwd_psh: u32,
    bwd_psh: u32,
    fwd_urg: u32,
    bwd_urg: u32,
    fwd_rst: u32,
    bwd_rst: u32,
    init_fwd_win: i32,
    init_bwd_win: i32,
    fwd_act_data: u32,
    fwd_seg_min: u32,
    /// cic2018: the first packet's payload, counted twice in the packet-length statistics.
    first_payload: u32,
    subflows: u32,
    /// Mode-independent facts for the host-behaviour stage.
    exchange: Exchange,
}

/// What the meter should do after a packet was added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterPacket {
    KeepOpen,
    Close(Termination),
}

impl FlowState {
    /// Start a flow from its first packet. `src_is_a` forces the orientation (a continuation after
    /// the active timeout keeps its predecessor's); in cic2018 the first packet is then still booked
    /// forward whatever its sender (the 2018 continuation quirk, spec §3).
    pub(crate) fn new(
        key: FlowKey,
        pkt: &Packet,
        cfg: &MeterConfig,
        src_is_a: Option<bool>,
    ) -> (FlowState, AfterPacket) {
        let mode = cfg.mode;
        let (sp, _) = reported_ports(pkt, mode);
        let sender_is_a = ip_bytes(&pkt.src) == key.a && sp == key.port_a;
        let src_is_a = match src_is_a {
            Some(o) => o,
            // Corrected: a flow first seen at its SYN-ACK belongs to the other side (Engelen's fix).
            None if mode == Mode::Corrected && pkt.flags.syn() && pkt.flags.ack() => !sender_is_a,
            None => sender_is_a,
        };
        let unset_win = if mode == Mode::Cic2018 { -1 } else { 0 };
        let mut st = FlowState {
            key,
            src_is_a,
            protocol: reported_protocol(pkt.protocol, mode),
            mode,
            fin_fwd: false,
            fin_bwd: false,
            icmp: None,
            start_us: pkt.ts_us,
            last_us: pkt.ts_us,
            fwd_last_us: 0,
            bwd_last_us: 0,
            start_active: pkt.ts_us,
            end_active: pkt.ts_us,
            fwd_len: RunningStats::default(),
            bwd_len: RunningStats::default(),
            flow_iat: RunningStats::default(),
            fwd_iat: RunningStats::default(),
            bwd_iat: RunningStats::default(),
            activity: None,
            bulk: None,
            fwd_header: 0,
            bwd_header: 0,
            flag_counts: [0; 8],
            fwd_psh: 0,
            bwd_psh: 0,
            fwd_urg: 0,
            bwd_urg: 0,
            fwd_rst: 0,
            bwd_rst: 0,
            init_fwd_win: unset_win,
            init_bwd_win: unset_win,
            fwd_act_data: 0,
            fwd_seg_min: 0,
            first_payload: 0,
            subflows: 1,
            exchange: Exchange::default(),
        };
        let forward = st.sent_by_source(pkt);
        st.exchange.add(pkt, forward);
        let after = match mode {
            Mode::Cic2018 => {
                st.first_packet_cic2018(pkt);
                AfterPacket::KeepOpen
            }
            Mode::Corrected => st.add_corrected(pkt, true, forward),
        };
        (st, after)
    }

    /// The source endpoint: (address bytes, port).
    fn src(&self) -> (&[u8; 16], u16) {
        if self.src_is_a {
            (&self.key.a, self.key.port_a)
        } else {
            (&self.key.b, self.key.port_b)
        }
    }

    /// The destination endpoint.
    fn dst(&self) -> (&[u8; 16], u16) {
        if self.src_is_a {
            (&self.key.b, self.key.port_b)
        } else {
            (&self.key.a, self.key.port_a)
        }
    }

    pub(crate) fn packets(&self) -> u32 {
        self.fwd_len.count() + self.bwd_len.count()
    }

    pub(crate) fn src_is_a(&self) -> bool {
        self.src_is_a
    }

    /// Add a later packet (not the first of the flow).
    pub(crate) fn add(&mut self, pkt: &Packet, cfg: &MeterConfig) -> AfterPacket {
        let forward = self.sent_by_source(pkt);
        self.exchange.add(pkt, forward);
        match self.mode {
            Mode::Cic2018 => {
                // Spec §4 rule 3/4: a FIN is added without the active/idle update and closes the flow.
                if pkt.protocol == proto::TCP && pkt.flags.fin() {
                    self.later_packet_cic2018(pkt);
                    AfterPacket::Close(Termination::Fin)
                } else {
                    self.update_active_idle(pkt.ts_us, cfg.activity_timeout_us);
                    self.later_packet_cic2018(pkt);
                    AfterPacket::KeepOpen
                }
            }
            Mode::Corrected => {
                self.update_active_idle(pkt.ts_us, cfg.activity_timeout_us);
                self.add_corrected(pkt, false, forward)
            }
        }
    }

    /// The packet's real direction (address and port), whatever the mode's convention.
    fn sent_by_source(&self, pkt: &Packet) -> bool {
        let (src_ip, src_port) = self.src();
        ip_bytes(&pkt.src) == *src_ip && reported_ports(pkt, self.mode).0 == src_port
    }

    /// The 2018 tool's direction: only the source address is compared (corrected mode uses
    /// [`FlowState::sent_by_source`]).
    fn sent_from_source_address(&self, pkt: &Packet) -> bool {
        ip_bytes(&pkt.src) == *self.src().0
    }

    fn update_active_idle(&mut self, ts: i64, threshold: i64) {
        if ts - self.end_active > threshold {
            let activity = self.activity.get_or_insert_with(Default::default);
            if self.end_active - self.start_active > 0 {
                activity[0].add((self.end_active - self.start_active) as f64);
            }
            activity[1].add((ts - self.end_active) as f64);
            self.start_active = ts;
            self.end_active = ts;
        } else {
            self.end_active = ts;
        }
    }

    /// cic2018 first packet (spec §5.1): booked forward, flags counted, first payload counted twice.
    fn first_packet_cic2018(&mut self, pkt: &Packet) {
        let (pl, hl, win) = cic2018_lengths(pkt);
        let flags = cic2018_flags(pkt);
        for bit in 0..8 {
            if flags.has(1 << bit) {
                self.flag_counts[bit] += 1;
            }
        }
        self.fwd_len.add(f64::from(pl));
        self.first_payload = pl;
        self.fwd_seg_min = hl;
        self.init_fwd_win = win;
        self.fwd_header = u64::from(hl);
        self.fwd_last_us = pkt.ts_us;
        if flags.has(TcpFlags::PSH) {
            self.fwd_psh += 1;
        }
        if flags.has(TcpFlags::URG) {
            self.fwd_urg += 1;
        }
    }

    /// cic2018 later packet (spec §5.2).
    fn later_packet_cic2018(&mut self, pkt: &Packet) {
        let (pl, hl, win) = cic2018_lengths(pkt);
        let ts = pkt.ts_us;
        if self.sent_from_source_address(pkt) {
            if pl >= 1 {
                self.fwd_act_data += 1;
            }
            self.fwd_len.add(f64::from(pl));
            self.fwd_header += u64::from(hl);
            if self.fwd_len.count() > 1 {
                self.fwd_iat.add((ts - self.fwd_last_us) as f64);
            }
            self.fwd_last_us = ts;
            self.fwd_seg_min = self.fwd_seg_min.min(hl);
        } else {
            self.bwd_len.add(f64::from(pl));
            self.init_bwd_win = win;
            self.bwd_header += u64::from(hl);
            if self.bwd_len.count() > 1 {
                self.bwd_iat.add((ts - self.bwd_last_us) as f64);
            }
            self.bwd_last_us = ts;
        }
        self.flow_iat.add((ts - self.last_us) as f64);
        self.last_us = ts;
    }

    /// Corrected mode, every packet including the first (spec §7).
    /// `forward`: sent by the source ([`FlowState::sent_by_source`], the corrected direction).
    fn add_corrected(&mut self, pkt: &Packet, first: bool, forward: bool) -> AfterPacket {
        let ts = pkt.ts_us;
        let pl = pkt.payload_len;
        let hl = pkt.header_len;
        let flags = pkt.flags;
        for bit in 0..8 {
            if flags.has(1 << bit) {
                self.flag_counts[bit] += 1;
            }
        }
        if self.icmp.is_none() {
            self.icmp = pkt.icmp;
        }
        if !first {
            if ts - self.last_us > SUBFLOW_GAP_US {
                self.subflows += 1;
            }
            self.flow_iat.add((ts - self.last_us) as f64);
            self.last_us = ts;
        }
        let win = pkt.window.map(i32::from);
        if forward {
            let first_fwd = self.fwd_len.count() == 0;
            self.fwd_len.add(f64::from(pl));
            self.fwd_header += u64::from(hl);
            if !first_fwd {
                self.fwd_iat.add((ts - self.fwd_last_us) as f64);
            }
            self.fwd_last_us = ts;
            self.fwd_seg_min = if first_fwd {
                hl
            } else {
                self.fwd_seg_min.min(hl)
            };
            if first_fwd {
                self.init_fwd_win = win.unwrap_or(0);
            }
            if pl >= 1 {
                self.fwd_act_data += 1;
            }
            self.fwd_psh += u32::from(flags.has(TcpFlags::PSH));
            self.fwd_urg += u32::from(flags.has(TcpFlags::URG));
            self.fwd_rst += u32::from(flags.has(TcpFlags::RST));
            self.update_bulk(0, ts, pl);
        } else {
            let first_bwd = self.bwd_len.count() == 0;
            self.bwd_len.add(f64::from(pl));
            self.bwd_header += u64::from(hl);
            if !first_bwd {
                self.bwd_iat.add((ts - self.bwd_last_us) as f64);
            }
            self.bwd_last_us = ts;
            if first_bwd {
                self.init_bwd_win = win.unwrap_or(0);
            }
            self.bwd_psh += u32::from(flags.has(TcpFlags::PSH));
            self.bwd_urg += u32::from(flags.has(TcpFlags::URG));
            self.bwd_rst += u32::from(flags.has(TcpFlags::RST));
            self.update_bulk(1, ts, pl);
        }
        if pkt.protocol != proto::TCP {
            return AfterPacket::KeepOpen;
        }
        if flags.rst() {
            return AfterPacket::Close(Termination::Rst);
        }
        if flags.fin() {
            if forward {
                self.fin_fwd = true;
            } else {
                self.fin_bwd = true;
            }
        } else if self.fin_fwd && self.fin_bwd && flags.ack() {
            // The ACK of the second FIN completes the teardown.
            return AfterPacket::Close(Termination::Fin);
        }
        AfterPacket::KeepOpen
    }

    /// Feed direction `dir` (0 forward, 1 backward) of the bulk detector.
    fn update_bulk(&mut self, dir: usize, ts: i64, payload: u32) {
        if self.bulk.is_none() {
            if payload == 0 {
                return;
            }
            self.bulk = Some(Box::default());
        }
        let bulks = self.bulk.as_mut().expect("just set");
        let other_last = bulks[1 - dir].last_ts;
        bulks[dir].update(ts, payload, other_last);
    }

    /// Length statistics over all packets: both directions, plus (cic2018) the first payload again.
    fn all_lengths(&self) -> RunningStats {
        let mut all = self.fwd_len.merged(&self.bwd_len);
        if self.mode == Mode::Cic2018 {
            all.add(f64::from(self.first_payload));
        }
        all
    }

    /// Compute the feature vector.
    pub(crate) fn finish(&self, termination: Termination) -> FlowRecord {
        let mut v = [f64::NAN; NUM_FEATURES];
        let corrected = self.mode == Mode::Corrected;
        let n_f = f64::from(self.fwd_len.count());
        let n_b = f64::from(self.bwd_len.count());
        let n = n_f + n_b;
        let duration = (self.last_us - self.start_us) as f64;
        let secs = duration / 1e6;
        let bytes = self.fwd_len.sum() + self.bwd_len.sum();
        let all_len = self.all_lengths();
        let (src_ip, src_port) = self.src();
        let (dst_ip, dst_port) = self.dst();

        v[F::DstPort as usize] = f64::from(dst_port);
        v[F::Protocol as usize] = f64::from(self.protocol);
        v[F::FlowDuration as usize] = duration;
        v[F::TotFwdPkts as usize] = n_f;
        v[F::TotBwdPkts as usize] = n_b;
        v[F::TotLenFwdPkts as usize] = self.fwd_len.sum();
        v[F::TotLenBwdPkts as usize] = self.bwd_len.sum();
        put_len_block(&mut v, F::FwdPktLenMax, &self.fwd_len);
        put_len_block(&mut v, F::BwdPktLenMax, &self.bwd_len);
        if corrected && duration <= 0.0 {
            // Documented choice: rates of a zero-length flow are 0, not Infinity/NaN.
            v[F::FlowBytsS as usize] = 0.0;
            v[F::FlowPktsS as usize] = 0.0;
        } else {
            // IEEE division, as Java did: Infinity or NaN when the duration is 0.
            v[F::FlowBytsS as usize] = bytes / secs;
            v[F::FlowPktsS as usize] = n / secs;
        }
        v[F::FlowIatMean as usize] = self.flow_iat.mean();
        v[F::FlowIatStd as usize] = self.flow_iat.std();
        v[F::FlowIatMax as usize] = self.flow_iat.max();
        v[F::FlowIatMin as usize] = self.flow_iat.min();
        put_iat_block(&mut v, F::FwdIatTot, &self.fwd_iat);
        put_iat_block(&mut v, F::BwdIatTot, &self.bwd_iat);
        v[F::FwdPshFlags as usize] = f64::from(self.fwd_psh);
        v[F::BwdPshFlags as usize] = f64::from(self.bwd_psh);
        v[F::FwdUrgFlags as usize] = f64::from(self.fwd_urg);
        v[F::BwdUrgFlags as usize] = f64::from(self.bwd_urg);
        v[F::FwdHeaderLen as usize] = self.fwd_header as f64;
        v[F::BwdHeaderLen as usize] = self.bwd_header as f64;
        v[F::FwdPktsS as usize] = if duration > 0.0 { n_f / secs } else { 0.0 };
        v[F::BwdPktsS as usize] = if duration > 0.0 { n_b / secs } else { 0.0 };
        v[F::PktLenMin as usize] = all_len.min();
        v[F::PktLenMax as usize] = all_len.max();
        v[F::PktLenMean as usize] = all_len.mean();
        v[F::PktLenStd as usize] = all_len.std();
        v[F::PktLenVar as usize] = all_len.variance();
        // Flag columns. Bit order: FIN SYN RST PSH ACK URG ECE CWR.
        let c = |bit: usize| f64::from(self.flag_counts[bit]);
        let (fin, syn, rst, psh, ack, urg, ece, cwr) =
            (c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7));
        let flag_columns = if corrected {
            [fin, syn, rst, psh, ack, urg, cwr, ece]
        } else {
            // The 2018 HashMap permutation (spec §0 item 2): each header names another flag.
            [rst, psh, ece, syn, ack, fin, urg, cwr]
        };
        let flag_features = [
            F::FinFlagCnt,
            F::SynFlagCnt,
            F::RstFlagCnt,
            F::PshFlagCnt,
            F::AckFlagCnt,
            F::UrgFlagCnt,
            F::CweFlagCount,
            F::EceFlagCnt,
        ];
        for (f, val) in flag_features.iter().zip(flag_columns) {
            v[*f as usize] = val;
        }
        v[F::DownUpRatio as usize] = match (corrected, n_f > 0.0) {
            (_, false) => 0.0,
            (true, true) => n_b / n_f,
            (false, true) => (n_b / n_f).floor(),
        };
        v[F::PktSizeAvg as usize] = if n > 0.0 { all_len.sum() / n } else { 0.0 };
        v[F::FwdSegSizeAvg as usize] = if n_f > 0.0 {
            self.fwd_len.sum() / n_f
        } else {
            0.0
        };
        v[F::BwdSegSizeAvg as usize] = if n_b > 0.0 {
            self.bwd_len.sum() / n_b
        } else {
            0.0
        };
        let bulks = self.bulk.as_deref().copied().unwrap_or_default();
        let (fb, fp, fr) = bulks[0].outputs();
        let (bb, bp, br) = bulks[1].outputs();
        v[F::FwdBytsBAvg as usize] = fb;
        v[F::FwdPktsBAvg as usize] = fp;
        v[F::FwdBlkRateAvg as usize] = fr;
        v[F::BwdBytsBAvg as usize] = bb;
        v[F::BwdPktsBAvg as usize] = bp;
        v[F::BwdBlkRateAvg as usize] = br;
        // cic2018: one subflow, so these equal the totals. Corrected: per-subflow averages.
        let sf = u64::from(self.subflows.max(1));
        v[F::SubflowFwdPkts as usize] = (u64::from(self.fwd_len.count()) / sf) as f64;
        v[F::SubflowFwdByts as usize] = (self.fwd_len.sum() as u64 / sf) as f64;
        v[F::SubflowBwdPkts as usize] = (u64::from(self.bwd_len.count()) / sf) as f64;
        v[F::SubflowBwdByts as usize] = (self.bwd_len.sum() as u64 / sf) as f64;
        v[F::InitFwdWinByts as usize] = f64::from(self.init_fwd_win);
        v[F::InitBwdWinByts as usize] = f64::from(self.init_bwd_win);
        v[F::FwdActDataPkts as usize] = f64::from(self.fwd_act_data);
        v[F::FwdSegSizeMin as usize] = f64::from(self.fwd_seg_min);
        let [mut active, idle] = self.activity.as_deref().copied().unwrap_or_default();
        if corrected && self.end_active - self.start_active > 0 {
            // Corrected: the last active period is closed at the flow's end.
            active.add((self.end_active - self.start_active) as f64);
        }
        put_stats4(&mut v, F::ActiveMean, &active);
        put_stats4(&mut v, F::IdleMean, &idle);
        if corrected {
            v[F::FwdRstFlags as usize] = f64::from(self.fwd_rst);
            v[F::BwdRstFlags as usize] = f64::from(self.bwd_rst);
            let (t, c) = self
                .icmp
                .map(|(t, c)| (f64::from(t), f64::from(c)))
                .unwrap_or((-1.0, -1.0));
            v[F::IcmpType as usize] = t;
            v[F::IcmpCode as usize] = c;
            v[F::TotalTcpFlowTime as usize] = if self.protocol == proto::TCP {
                duration
            } else {
                0.0
            };
        }
        FlowRecord {
            mode: self.mode,
            key: self.key,
            src: crate::key::ip_from_bytes(src_ip, self.key.v6),
            src_port,
            dst: crate::key::ip_from_bytes(dst_ip, self.key.v6),
            dst_port,
            protocol: self.protocol,
            start_us: self.start_us,
            end_us: self.last_us,
            termination,
            values: v,
            exchange: self.exchange,
        }
    }
}

/// Max, Min, Mean, Std of packet lengths (0,0,0,0 when the direction is empty).
fn put_len_block(v: &mut [f64; NUM_FEATURES], max: F, s: &RunningStats) {
    let i = max as usize;
    v[i] = s.max();
    v[i + 1] = s.min();
    v[i + 2] = s.mean();
    v[i + 3] = s.std();
}

/// Tot, Mean, Std, Max, Min of a direction's gaps (all 0 with fewer than two packets).
fn put_iat_block(v: &mut [f64; NUM_FEATURES], tot: F, s: &RunningStats) {
    let i = tot as usize;
    v[i] = s.sum();
    v[i + 1] = s.mean();
    v[i + 2] = s.std();
    v[i + 3] = s.max();
    v[i + 4] = s.min();
}

/// Mean, Std, Max, Min.
fn put_stats4(v: &mut [f64; NUM_FEATURES], mean: F, s: &RunningStats) {
    let i = mean as usize;
    v[i] = s.mean();
    v[i + 1] = s.std();
    v[i + 2] = s.max();
    v[i + 3] = s.min();
}

/// Protocol as the mode reports it: the 2018 tool folded everything but TCP and UDP into 0.
pub(crate) fn reported_protocol(p: u8, mode: Mode) -> u8 {
    match (mode, p) {
        (Mode::Cic2018, proto::TCP | proto::UDP) => p,
        (Mode::Cic2018, _) => 0,
        (Mode::Corrected, _) => p,
    }
}

/// The packet's (source, destination) ports as decoded, the same in both modes (`_mode` is unused;
/// the decoder, not this function, leaves them 0 for portless protocols).
pub(crate) fn reported_ports(pkt: &Packet, _mode: Mode) -> (u16, u16) {
    (pkt.src_port, pkt.dst_port)
}

/// (payload, header, window) as the 2018 tool saw them (spec §2): protocol-0 packets have no
/// payload, header or window; 802.1Q frames keep their Ethernet padding in the payload.
fn cic2018_lengths(pkt: &Packet) -> (u32, u32, i32) {
    match pkt.protocol {
        proto::TCP => {
            let pl = if pkt.vlan {
                pkt.frame_payload_len
            } else {
                pkt.payload_len
            };
            (pl, pkt.header_len, pkt.window.map(i32::from).unwrap_or(-1))
        }
        proto::UDP => (
            if pkt.vlan {
                pkt.frame_payload_len
            } else {
                pkt.payload_len
            },
            8,
            -1,
        ),
        _ => (0, 0, -1),
    }
}

fn cic2018_flags(pkt: &Packet) -> TcpFlags {
    if pkt.protocol == proto::TCP {
        pkt.flags
    } else {
        TcpFlags::default()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn flow_state_stays_small() {
        // The per-flow budget is 1 KB including the table entry and allocator slack: the feature
        // state plus the mode-independent exchange facts (with the source's ICMP message types,
        // which the scan detector's fingerprinting check reads, the client's HTTP request counts,
        // which the web detectors read, and the SSH login inference, which the brute-force
        // detector reads, and the client's DNS query counts, which the tunnel check reads).
        assert!(
            std::mem::size_of::<super::FlowState>() <= 512,
            "{}",
            std::mem::size_of::<super::FlowState>()
        );
    }
}
