//! Returning clients, per (client, server, port): how often one client contacted one TCP service
//! in a window. Not a detector — no flow is called an attack for it. It answers a question the
//! flow classifier's labels raise: a brute force is many guesses, a bot's beacon many check-ins,
//! and what the classifier learnt of SQL injection and cross-site scripting is the automated
//! tools' traffic (sqlmap, scanners: hundreds of requests). One connection carrying one or two
//! requests is none of these, however its sizes and timings look; an injection in a single
//! request is the payload stage's to find, in the request's own text.
//!
//! A contact is an answered connection, or each HTTP request of one beyond its first (a
//! keep-alive connection carrying a tool's requests is many contacts). Unanswered SYNs are no
//! contact (and a spoofed flood's millions of sources are not tracked here).

use crate::window::{sweep_idle, PairWindow};
use mlids_flow::FlowRecord;
use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Clone, Debug)]
pub struct RepeatConfig {
    pub window_us: i64,
    /// Contacts in a window that make a client a returning one: "again and again", the least
    /// count that is more than a retry.
    pub min_contacts: u64,
}

impl Default for RepeatConfig {
    fn default() -> Self {
        RepeatConfig {
            window_us: 60_000_000,
            min_contacts: 3,
        }
    }
}

/// The contacts of a flow: its connection, plus its HTTP requests after the first.
fn contacts(flow: &FlowRecord) -> u64 {
    1 + u64::from(flow.exchange.fwd_requests.saturating_sub(1))
}

/// One pair's connections ([`PairWindow`]) and contacts in the current window.
#[derive(Debug)]
struct Pair {
    connections: PairWindow,
    contacts_in_window: u64,
}

/// One [`Pair`] per (client, server, port), TCP only: every label that asks is carried by TCP.
#[derive(Debug)]
pub struct Returns {
    cfg: RepeatConfig,
    pairs: HashMap<(IpAddr, IpAddr, u16), Pair>,
    max_hosts: usize,
}

impl Returns {
    pub fn new(cfg: RepeatConfig, max_hosts: usize) -> Returns {
        Returns {
            cfg,
            pairs: HashMap::new(),
            max_hosts,
        }
    }

    pub fn observe(&mut self, flow: &FlowRecord) {
        if !(flow.exchange.is_tcp() && flow.exchange.answered()) {
            return;
        }
        let cfg = &self.cfg;
        let p = self
            .pairs
            .entry((flow.src, flow.dst, flow.dst_port))
            .or_insert_with(|| Pair {
                connections: PairWindow::new(cfg.window_us, flow.end_us),
                contacts_in_window: 0,
            });
        if p.connections.count(flow.start_us, flow.end_us) {
            p.contacts_in_window = 0;
        }
        p.contacts_in_window += contacts(flow);
        let raise = p.contacts_in_window >= cfg.min_contacts;
        // Held for a window after the latest contact: the contacts before the raise (flagged
        // from a window back) and those after it belong to the same repetition.
        p.connections
            .flag(flow.start_us, cfg.window_us, cfg.window_us, raise);
    }

    /// Whether this flow's client contacted its server's port again and again around the flow.
    pub fn returning(&self, flow: &FlowRecord) -> bool {
        self.pairs
            .get(&(flow.src, flow.dst, flow.dst_port))
            .is_some_and(|p| p.connections.flagged_at(flow.start_us))
    }

    pub fn tracked(&self) -> usize {
        self.pairs.len()
    }

    pub fn sweep(&mut self, now_us: i64) {
        let idle = 2 * self.cfg.window_us;
        sweep_idle(&mut self.pairs, now_us, idle, self.max_hosts, |p| {
            p.connections.last_us()
        });
    }
}
