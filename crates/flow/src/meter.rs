//! The flow table: packets in, finished flows out.
//!
//! [`FlowMeter::push`] takes decoded packets in capture order; finished flows queue up until
//! [`FlowMeter::pop_finished`] takes them. Memory is the live flows plus the output queue, bounded by
//! `max_flows` (the least recently seen eighth is evicted and emitted when the table is full).
//!
//! Flow states live in a slab and the hash table maps keys to slab slots: table entries stay 48 bytes,
//! so growing the table moves little memory, and a state is never copied while it lives.

use crate::config::{MeterConfig, Mode};
use crate::decode::SkipReason;
use crate::flow::{reported_protocol, AfterPacket, FlowState};
use crate::key::FlowKey;
use crate::packet::{proto, Packet};
use crate::record::{FlowRecord, Termination};
use slab::Slab;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// The hasher for the flow table: keys come from the network, so a keyed hash (HashDoS-resistant),
/// and a fast one (SipHash costs ~10% of throughput here).
type Table<V> = HashMap<FlowKey, V, ahash::RandomState>;

/// What the meter did with the packets it was given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MeterCounters {
    /// Packets accepted into flows.
    pub packets: u64,
    /// Corrected mode: packets that arrived just after their connection closed (retransmitted FIN,
    /// last ACK) and were absorbed rather than starting a new flow.
    pub absorbed: u64,
    /// Flows emitted, by why they ended.
    pub flows: BTreeMap<Termination, u64>,
    /// Flows dropped because they had fewer than `min_packets` packets (one-packet flows in cic2018).
    pub dropped_short: u64,
}

pub struct FlowMeter {
    cfg: MeterConfig,
    /// Key → slot in `flows`.
    table: Table<usize>,
    flows: Slab<FlowState>,
    /// Flows still to be emitted by [`FlowMeter::flush`], newest first (popped from the back), so the
    /// end-of-capture output is produced one record at a time instead of all at once.
    flushing: Vec<usize>,
    /// Corrected mode: recently closed connections and the end of their grace period.
    closed: Table<i64>,
    finished: VecDeque<FlowRecord>,
    counters: MeterCounters,
    now_us: i64,
    last_scan_us: i64,
}

impl FlowMeter {
    pub fn new(cfg: MeterConfig) -> Self {
        FlowMeter {
            cfg,
            table: Table::default(),
            flows: Slab::new(),
            flushing: Vec::new(),
            closed: Table::default(),
            finished: VecDeque::new(),
            counters: MeterCounters::default(),
            now_us: i64::MIN,
            last_scan_us: i64::MIN,
        }
    }

    pub fn config(&self) -> &MeterConfig {
        &self.cfg
    }

    pub fn counters(&self) -> &MeterCounters {
        &self.counters
    }

    /// Flows currently open.
    pub fn live_flows(&self) -> usize {
        self.table.len()
    }

    /// The latest packet (or clock) time seen, µs.
    pub fn now_us(&self) -> i64 {
        self.now_us
    }

    /// Next finished flow, oldest first.
    pub fn pop_finished(&mut self) -> Option<FlowRecord> {
        if let Some(f) = self.finished.pop_front() {
            return Some(f);
        }
        while let Some(slot) = self.flushing.pop() {
            let st = self.flows.remove(slot);
            self.emit(st, Termination::EndOfCapture);
            if let Some(f) = self.finished.pop_front() {
                return Some(f);
            }
        }
        None
    }

    /// Add one packet. `Err` means the mode does not take this packet (IPv6 in cic2018); the caller
    /// counts it as skipped.
    pub fn push(&mut self, pkt: &Packet) -> Result<(), SkipReason> {
        let mode = self.cfg.mode;
        if mode == Mode::Cic2018 && pkt.is_ipv6() {
            return Err(SkipReason::Ipv6Ignored);
        }
        self.advance_clock(pkt.ts_us);
        let protocol = reported_protocol(pkt.protocol, mode);
        let (sp, dp) = if matches!(pkt.protocol, proto::TCP | proto::UDP) {
            (pkt.src_port, pkt.dst_port)
        } else {
            (0, 0)
        };
        let key = match mode {
            Mode::Cic2018 => FlowKey::cic2018(&pkt.src, &pkt.dst, sp, dp, protocol),
            Mode::Corrected => FlowKey::corrected(&pkt.src, &pkt.dst, sp, dp, protocol),
        };
        if !self.closed.is_empty() {
            if let Some(&deadline) = self.closed.get(&key) {
                let new_connection = pkt.flags.syn() && !pkt.flags.ack();
                if pkt.ts_us <= deadline && !new_connection {
                    self.counters.absorbed += 1;
                    return Ok(());
                }
                self.closed.remove(&key);
            }
        }
        self.counters.packets += 1;
        let continuation = match self.table.get(&key) {
            Some(&slot) => {
                let st = &mut self.flows[slot];
                if pkt.ts_us - st.start_us <= self.cfg.active_timeout_us {
                    if let AfterPacket::Close(why) = st.add(pkt, &self.cfg) {
                        self.table.remove(&key);
                        let st = self.flows.remove(slot);
                        self.close(st, why, pkt.ts_us);
                    }
                    return Ok(());
                }
                // Past the active timeout: the old flow ends and a continuation starts with this
                // packet, keeping the old orientation.
                self.table.remove(&key);
                let old = self.flows.remove(slot);
                let src_is_a = old.src_is_a();
                self.emit(old, Termination::ActiveTimeout);
                Some(src_is_a)
            }
            None => None,
        };
        if self.table.len() >= self.cfg.max_flows {
            self.evict_oldest();
        }
        let (st, after) = FlowState::new(key, pkt, &self.cfg, continuation);
        match after {
            AfterPacket::KeepOpen => {
                let slot = self.flows.insert(st);
                self.table.insert(key, slot);
            }
            AfterPacket::Close(why) => self.close(st, why, pkt.ts_us),
        }
        Ok(())
    }

    /// Move the clock forward (live capture calls this when no packets arrive) and run the timers.
    pub fn advance_clock(&mut self, now_us: i64) {
        if now_us <= self.now_us {
            return;
        }
        self.now_us = now_us;
        let Some(interval) = self.scan_interval() else {
            return;
        };
        if self.last_scan_us == i64::MIN {
            self.last_scan_us = now_us;
        } else if now_us - self.last_scan_us >= interval {
            self.last_scan_us = now_us;
            self.expire(now_us);
        }
    }

    /// How often (in capture time) to look for expired flows: an eighth of the shortest timeout, so
    /// a flow outlives its timeout by at most 12.5%. `None` when no timer applies (cic2018 default).
    fn scan_interval(&self) -> Option<i64> {
        let timer_active = match self.cfg.mode {
            Mode::Cic2018 => None,
            Mode::Corrected => Some(self.cfg.active_timeout_us),
        };
        let shortest = match (self.cfg.idle_timeout_us, timer_active) {
            (Some(i), Some(a)) => i.min(a),
            (Some(i), None) => i,
            (None, Some(a)) => a,
            (None, None) => return None,
        };
        Some((shortest / 8).max(1))
    }

    fn expire(&mut self, now: i64) {
        let idle = self.cfg.idle_timeout_us.unwrap_or(i64::MAX);
        let active = if self.cfg.mode == Mode::Corrected {
            self.cfg.active_timeout_us
        } else {
            i64::MAX
        };
        let flows = &self.flows;
        let mut expired: Vec<(i64, usize, Termination)> = self
            .table
            .extract_if(|_, slot| {
                let st = &flows[*slot];
                now - st.last_us > idle || now - st.start_us > active
            })
            .map(|(_, slot)| {
                let st = &flows[slot];
                let why = if now - st.start_us > active {
                    Termination::ActiveTimeout
                } else {
                    Termination::IdleTimeout
                };
                (st.start_us, slot, why)
            })
            .collect();
        expired.sort_unstable_by_key(|&(start, slot, _)| (start, slot));
        for (_, slot, why) in expired {
            let st = self.flows.remove(slot);
            self.emit(st, why);
        }
        self.closed.retain(|_, deadline| *deadline >= now);
    }

    /// Evict the least recently seen eighth of the table (at least one flow).
    fn evict_oldest(&mut self) {
        let mut last: Vec<i64> = self.flows.iter().map(|(_, st)| st.last_us).collect();
        if last.is_empty() {
            return;
        }
        let k = (last.len() / 8).max(1) - 1;
        let (_, threshold, _) = last.select_nth_unstable(k);
        let threshold = *threshold;
        let flows = &self.flows;
        let mut evicted: Vec<(i64, usize)> = self
            .table
            .extract_if(|_, slot| flows[*slot].last_us <= threshold)
            .map(|(_, slot)| (flows[slot].start_us, slot))
            .collect();
        evicted.sort_unstable();
        for (_, slot) in evicted {
            let st = self.flows.remove(slot);
            self.emit(st, Termination::Evicted);
        }
    }

    fn close(&mut self, st: FlowState, why: Termination, ts: i64) {
        if self.cfg.mode == Mode::Corrected && self.cfg.close_grace_us > 0 {
            self.closed.insert(st.key, ts + self.cfg.close_grace_us);
        }
        self.emit(st, why);
    }

    fn emit(&mut self, st: FlowState, why: Termination) {
        if st.packets() < self.cfg.min_packets {
            self.counters.dropped_short += 1;
            return;
        }
        *self.counters.flows.entry(why).or_default() += 1;
        self.finished.push_back(st.finish(why));
    }

    /// End of input: every open flow is emitted (oldest first) as [`Termination::EndOfCapture`].
    /// The records are computed lazily as [`FlowMeter::pop_finished`] takes them.
    pub fn flush(&mut self) {
        let mut order: Vec<(i64, usize)> = self
            .table
            .drain()
            .map(|(_, slot)| (self.flows[slot].start_us, slot))
            .collect();
        self.table = Table::default();
        order.sort_unstable_by(|a, b| b.cmp(a));
        self.flushing
            .extend(order.into_iter().map(|(_, slot)| slot));
        self.closed.clear();
    }

    /// Feature records of open flows that started at least `min_age_us` ago, without closing them:
    /// lets live capture classify a long-running flow (a slow DoS) before it ends.
    pub fn snapshot_long_running(&self, min_age_us: i64) -> Vec<FlowRecord> {
        self.flows
            .iter()
            .map(|(_, st)| st)
            .filter(|st| {
                self.now_us - st.start_us >= min_age_us && st.packets() >= self.cfg.min_packets
            })
            .map(|st| st.finish(Termination::EndOfCapture))
            .collect()
    }
}
