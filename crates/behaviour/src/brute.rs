//! Login brute force, per (client, server, authentication service): many short, complete
//! connections in a window. Each guess of patator, hydra or medusa against SSH, FTP, Telnet or a
//! database is a few login exchanges on its own connection; interactive users and clients open one
//! connection and keep it.

use crate::window::{sweep_idle, Tumbling};
use crate::{Evidence, Finding};
use mlids_flow::packet::proto;
use mlids_flow::FlowRecord;
use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Clone, Debug)]
pub struct BruteConfig {
    pub window_us: i64,
    /// Connections in a window that make a brute force (one every 6 s on average).
    pub min_connections: u64,
    /// Connections longer than this are sessions, not guesses.
    pub max_connection_us: i64,
    /// A flagged client stays flagged this long after its last guess.
    pub hold_us: i64,
}

impl Default for BruteConfig {
    fn default() -> Self {
        BruteConfig {
            window_us: 60_000_000,
            min_connections: 10,
            max_connection_us: 30_000_000,
            hold_us: 120_000_000,
        }
    }
}

/// TCP services that authenticate per connection, with the label their brute force gets (the
/// CIC labels where CIC has one).
const SERVICES: &[(u16, &str)] = &[
    (21, "FTP-BruteForce"),
    (22, "SSH-Bruteforce"),
    (23, "Telnet-BruteForce"),
    (110, "POP3-BruteForce"),
    (143, "IMAP-BruteForce"),
    (445, "SMB-BruteForce"),
    (1433, "MSSQL-BruteForce"),
    (3306, "MySQL-BruteForce"),
    (3389, "RDP-BruteForce"),
    (5432, "PostgreSQL-BruteForce"),
    (5900, "VNC-BruteForce"),
];

fn service(flow: &FlowRecord) -> Option<&'static str> {
    if flow.exchange.ip_protocol != proto::TCP {
        return None;
    }
    SERVICES
        .iter()
        .find(|(p, _)| *p == flow.dst_port)
        .map(|(_, l)| *l)
}

/// A login attempt: an answered connection with payload, short enough to be one guess.
fn is_attempt(flow: &FlowRecord, cfg: &BruteConfig) -> bool {
    let e = &flow.exchange;
    e.answered() && e.has_payload() && flow.end_us - flow.start_us <= cfg.max_connection_us
}

#[derive(Clone, Debug)]
struct Attempts {
    window: Tumbling,
    in_window: u64,
    total: u64,
    flagged: Option<(i64, i64)>,
    last_us: i64,
}

/// One [`Attempts`] per (client, server, port).
#[derive(Debug)]
pub struct BruteForce {
    cfg: BruteConfig,
    pairs: HashMap<(IpAddr, IpAddr, u16), Attempts>,
    max_hosts: usize,
}

impl BruteForce {
    pub fn new(cfg: BruteConfig, max_hosts: usize) -> BruteForce {
        BruteForce {
            cfg,
            pairs: HashMap::new(),
            max_hosts,
        }
    }

    pub fn observe(&mut self, flow: &FlowRecord) {
        if service(flow).is_none() || !is_attempt(flow, &self.cfg) {
            return;
        }
        let cfg = &self.cfg;
        let a = self
            .pairs
            .entry((flow.src, flow.dst, flow.dst_port))
            .or_insert_with(|| Attempts {
                window: Tumbling::new(cfg.window_us),
                in_window: 0,
                total: 0,
                flagged: None,
                last_us: flow.end_us,
            });
        let t = flow.start_us;
        a.last_us = a.last_us.max(flow.end_us);
        if a.window.advance(t) {
            a.in_window = 0;
        }
        a.in_window += 1;
        a.total += 1;
        let until = t + cfg.hold_us;
        a.flagged = match a.flagged {
            Some((from, end)) if t <= end => Some((from, end.max(until))),
            _ if a.in_window >= cfg.min_connections => Some((t - cfg.window_us, until)),
            other => other,
        };
    }

    pub fn judge(&self, flow: &FlowRecord) -> Option<Finding> {
        let label = service(flow)?;
        if !is_attempt(flow, &self.cfg) {
            return None;
        }
        let a = self.pairs.get(&(flow.src, flow.dst, flow.dst_port))?;
        let (from, until) = a.flagged?;
        let t = flow.start_us;
        (from <= t && t <= until).then(|| Finding {
            label: label.to_string(),
            score: 0.99,
            evidence: Evidence {
                detector: "brute.auth".into(),
                summary: format!(
                    "{} short connections from {} to {}:{} ({} or more within {:.0} s)",
                    a.total,
                    flow.src,
                    flow.dst,
                    flow.dst_port,
                    self.cfg.min_connections,
                    self.cfg.window_us as f64 / 1e6
                ),
                host: flow.src.to_string(),
                category: "BruteForce".into(),
            },
        })
    }

    pub fn tracked(&self) -> usize {
        self.pairs.len()
    }

    pub fn sweep(&mut self, now_us: i64) {
        let idle = self.cfg.hold_us.max(self.cfg.window_us);
        sweep_idle(&mut self.pairs, now_us, idle, self.max_hosts, |a| a.last_us);
    }
}
