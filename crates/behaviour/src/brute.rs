//! Login brute force, per (client, server, authentication service): many short, complete
//! connections in a window, *paced by a tool*. Each guess of patator, hydra or medusa against
//! SSH, FTP, Telnet or a database is a few login exchanges on its own connection, and the tool
//! opens the next one at once — several in parallel (hydra's tasks, patator's threads) or back to
//! back. Interactive users open one connection and keep it; scripts and automation that do open
//! many (a backup job, a deploy, a monitoring check) wait between them — think time, the job's own
//! work — so the count alone would call them brute force (measured: the testbed's benign SSH and
//! FTP users, 15–30 short logins a minute, were flagged in full).
//!
//! A web login brute force (hydra's `http-post-form`, patator's `http_fuzz`) is the same pattern
//! over HTTP: each guess a short connection that posts a form, on whatever port the site uses.
//! The web-flood detector counts such connections too, but its threshold is a flood's (150 in
//! 10 s), and a tool waiting for a far server's answers stays below it (measured: hydra with four
//! tasks against a victim 80 ms away, 116 connections in 10 s).
//!
//! SSH is different: the server allows several guesses per connection and answers each wrong one
//! only after a delay, so hydra against OpenSSH makes about nine connections a minute — a deploy
//! script's rate. But the meter infers from the encrypted segments' sizes how many logins each
//! SSH connection had rejected ([`mlids_flow::ssh_auth`], Zeek's heuristic), so a pair whose
//! connections had [`BruteConfig::min_failed_logins`] rejected logins in a window is flagged
//! whatever their pace. A person who mistypes a password gets three prompts per connection and
//! needs seconds for each; a client whose key is refused before the right one logs in is not
//! counted at all.
//!
//! FTP the same: hydra's tasks each keep one connection and send guess after guess on it, and the
//! server answers each wrong one with a 530 reply, which is clear text
//! ([`mlids_flow::Exchange::rejected_logins`]). Eight such connections in a minute are below the
//! connection count (measured: hydra against FTP behind 20 ms with jitter or loss, 1–2 of its 8
//! connections left to the classifier, which missed them), but their rejected logins are not.
//!
//! Known limit: an HTTP client that posts a stream of short requests without keep-alive (a
//! telemetry agent flushing every few hundred milliseconds) has, on the wire, this pattern.

use crate::window::{sweep_idle, PairWindow};
use crate::{Evidence, Finding};
use mlids_flow::packet::proto;
use mlids_flow::{FlowRecord, Opening};
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
    /// An attempt that starts within this time of the end of the pair's previous attempt (or
    /// before it ended: in parallel) is paced by a tool; a person or a script waits longer.
    pub max_tool_gap_us: i64,
    /// Rejected logins (SSH, FTP) in a window that make a brute force, at any pace.
    pub min_failed_logins: u64,
}

impl Default for BruteConfig {
    fn default() -> Self {
        BruteConfig {
            window_us: 60_000_000,
            min_connections: 10,
            max_connection_us: 30_000_000,
            hold_us: 120_000_000,
            max_tool_gap_us: 250_000,
            min_failed_logins: 10,
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

/// The label of an SSH brute force (CIC-IDS2018's name).
const SSH: &str = "SSH-Bruteforce";

/// The label of a web login brute force (CIC-IDS2018's name).
const WEB_LOGIN: &str = "Brute Force -Web";

/// The authentication service a flow talks to: SSH when both ends opened with an SSH version
/// string (any port); a web login when the connection, seen from its
/// SYN, opens with an HTTP request, posts something and gets an HTTP response (any port: sites run
/// on 8080 and 8443 too; a slow-body attack's POSTs, never finished, get no answer and are a DoS,
/// which the web-flood detector names); otherwise by the server's port.
fn service(flow: &FlowRecord) -> Option<&'static str> {
    let e = &flow.exchange;
    if e.ip_protocol != proto::TCP {
        return None;
    }
    if e.is_ssh() {
        return Some(SSH);
    }
    if is_http_exchange(flow) && e.fwd_posts > 0 {
        return Some(WEB_LOGIN);
    }
    SERVICES
        .iter()
        .find(|(p, _)| *p == flow.dst_port)
        .map(|(_, l)| *l)
}

/// A connection that fetches a page over HTTP (from its SYN, an HTTP request answered by an HTTP
/// response, nothing posted). hydra's `http-post-form` fetches the login form on a connection of
/// its own before each guess (for the session cookie), so half of its connections are these. On
/// its own a fetch is what every browser does and no evidence; from a client already flagged for
/// a web login brute force against the same server and port, it is the brute force's (measured:
/// hydra against a victim 80 ms away, 60 of its 120 connections; nearer, the request-flood count
/// had caught them).
fn fetches_web_page(flow: &FlowRecord) -> bool {
    is_http_exchange(flow) && flow.exchange.fwd_posts == 0
}

/// A TCP connection seen from its SYN whose client opened with an HTTP request and whose server
/// answered with an HTTP response: what a web login attempt and a page fetch both are.
fn is_http_exchange(flow: &FlowRecord) -> bool {
    let e = &flow.exchange;
    e.ip_protocol == proto::TCP
        && e.saw_open()
        && e.fwd_opening == Opening::HttpRequest
        && e.bwd_opening == Opening::HttpResponse
}

/// A login attempt: an answered connection with payload, short enough to be one guess, or one
/// whose logins were rejected (hydra's, with several guesses and the server's delays, can last
/// longer).
fn is_attempt(flow: &FlowRecord, cfg: &BruteConfig) -> bool {
    let e = &flow.exchange;
    e.answered()
        && e.has_payload()
        && (flow.end_us - flow.start_us <= cfg.max_connection_us || e.rejected_logins() > 0)
}

/// A pair's connections ([`PairWindow`]), and how many of them followed the previous one at a
/// tool's pace.
#[derive(Clone, Debug)]
struct Attempts {
    counts: PairWindow,
    /// Attempts in the window that followed the previous one at a tool's pace.
    paced_in_window: u64,
    /// Latest end of the pair's attempts so far.
    last_end_us: Option<i64>,
    /// Rejected logins in the window's attempts, and in all of the pair's.
    failed_in_window: u64,
    failed_total: u64,
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
                counts: PairWindow::new(cfg.window_us, flow.end_us),
                paced_in_window: 0,
                last_end_us: None,
                failed_in_window: 0,
                failed_total: 0,
            });
        let t = flow.start_us;
        if a.counts.count(t, flow.end_us) {
            a.paced_in_window = 0;
            a.failed_in_window = 0;
        }
        let failed = u64::from(flow.exchange.rejected_logins());
        a.failed_in_window += failed;
        a.failed_total += failed;
        if a.last_end_us
            .is_some_and(|end| t <= end.saturating_add(cfg.max_tool_gap_us))
        {
            a.paced_in_window += 1;
        }
        a.last_end_us = Some(a.last_end_us.map_or(flow.end_us, |e| e.max(flow.end_us)));
        // Enough attempts, and most of them (all but the first of each run) at a tool's pace.
        let in_window = a.counts.in_window;
        // Or enough rejected logins (SSH, FTP) at any pace.
        let raise = (in_window >= cfg.min_connections && 2 * a.paced_in_window >= in_window)
            || a.failed_in_window >= cfg.min_failed_logins;
        a.counts.flag(t, cfg.window_us, cfg.hold_us, raise);
    }

    pub fn judge(&self, flow: &FlowRecord) -> Option<Finding> {
        // A page fetch is judged by the pair's posts: only web logins count on a port that is in
        // no service table, so a pair kept there is a web login's.
        let label = match service(flow) {
            Some(label) => label,
            None if fetches_web_page(flow) => WEB_LOGIN,
            None => return None,
        };
        if !is_attempt(flow, &self.cfg) {
            return None;
        }
        let a = self.pairs.get(&(flow.src, flow.dst, flow.dst_port))?;
        a.counts.flagged_at(flow.start_us).then(|| Finding {
            label: label.to_string(),
            // A tool posting forms may be after more than a password (sqlmap on a login form):
            // the classifier's web-attack label, when it names one, is the more specific.
            yields_to_model: label == WEB_LOGIN,
            score: 0.99,
            evidence: Evidence {
                detector: "brute.auth".into(),
                summary: self.summary(flow, a),
                host: flow.src.to_string(),
                category: if label == WEB_LOGIN {
                    "WebAttack"
                } else {
                    "BruteForce"
                }
                .into(),
            },
        })
    }

    fn summary(&self, flow: &FlowRecord, a: &Attempts) -> String {
        let (src, dst, port) = (flow.src, flow.dst, flow.dst_port);
        let window_s = self.cfg.window_us as f64 / 1e6;
        if a.failed_total >= self.cfg.min_failed_logins {
            let (what, how) = if flow.exchange.is_ssh() {
                ("SSH", "inferred from the encrypted segment sizes")
            } else {
                ("FTP", "the server's 530 replies")
            };
            format!(
                "{} rejected {what} logins over {} connections from {src} to {dst}:{port} ({} or \
                 more within {window_s:.0} s; {how})",
                a.failed_total, a.counts.total, self.cfg.min_failed_logins
            )
        } else {
            format!(
                "{} short connections from {src} to {dst}:{port} ({} or more within \
                 {window_s:.0} s, opened in parallel or back to back)",
                a.counts.total, self.cfg.min_connections
            )
        }
    }

    pub fn tracked(&self) -> usize {
        self.pairs.len()
    }

    pub fn sweep(&mut self, now_us: i64) {
        let idle = self.cfg.hold_us.max(self.cfg.window_us);
        sweep_idle(&mut self.pairs, now_us, idle, self.max_hosts, |a| {
            a.counts.last_us()
        });
    }
}
