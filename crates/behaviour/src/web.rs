//! Request floods against a web server, per (client, server, port): many HTTP or TLS connections
//! opened by one client in a short window, or many HTTP requests sent over a few. HTTP floods
//! (Hulk, LOIC-HTTP, HOIC), slow attacks that hold hundreds of connections (Slowloris, slow body)
//! and the automated tools that send one request per connection (sqlmap, login brute force over
//! HTTP) open connections; keep-alive floods (GoldenEye, wrk-style tools) send hundreds of requests
//! a second over a few dozen. A person with a browser does neither: browsers keep a handful of
//! connections per server alive (HTTP/1.1 caps at about six per host, HTTP/2 uses one) and a
//! page is tens of requests.
//!
//! The counts are of connections and requests, not of bytes or of a flow's timing, so they hold
//! at any RTT and whatever the flow classifier learnt of one network's timings. Requests are
//! counted in plain HTTP/1.x only (HTTPS is opaque: a keep-alive flood over TLS is not seen).
//! The detector says *that* a client floods a web server, not *what* each request is: when the
//! flow classifier names an attack for the flow (SQL injection, a web login brute force), that
//! more specific label stands ([`crate::Finding::yields_to_model`]).
//!
//! An injection tool's flood is the injection's: sqlmap sends one request per connection, and
//! only some carry SQL (the payload stage names those); the rest — its page fetches, stability and
//! heuristic checks — would be an "HTTP flood" of the same client, or whatever flood label the
//! classifier gives them, a second and wrong incident beside the injection (measured: testbed seed
//! 7, 41 of sqlmap's 1,532 flows, two extra incidents). A flooding pair whose requests carried an
//! injection within the hold is labelled with that injection instead, and the label does not
//! yield to the classifier's.
//!
//! Known limit: a client that legitimately opens a connection per request at a high rate — a
//! reverse proxy without upstream keep-alive, a load generator — is flagged; its traffic is, on
//! the wire, a request flood.

use crate::window::{sweep_idle, PairWindow};
use crate::{Evidence, Finding};
use mlids_flow::{FlowRecord, Injection, Opening};
use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Clone, Debug)]
pub struct WebFloodConfig {
    pub window_us: i64,
    /// Connections from one client to one web server in a window that make a flood: 15 a second
    /// for 10 s, more than twice what the busiest client of the 535 real benign captures opened
    /// (61 in 10 s, to a CDN over TLS) and thirty times a browser's keep-alive pool.
    pub min_connections: u64,
    /// HTTP requests from one client to one web server in a window that make a flood: 50 a second
    /// for 10 s, twenty times the busiest client of the real benign captures (24 request segments
    /// in 10 s, to one HTTP server) and several page loads of a heavy site every second.
    pub min_requests: f64,
    /// A flagged client stays flagged this long after its last connection.
    pub hold_us: i64,
}

impl Default for WebFloodConfig {
    fn default() -> Self {
        WebFloodConfig {
            window_us: 10_000_000,
            min_connections: 150,
            min_requests: 500.0,
            hold_us: 60_000_000,
        }
    }
}

/// A connection this detector counts: TCP, seen from its SYN, accepted by the server (SYN-ACK),
/// and the client's first data an HTTP request or a TLS record. Flows picked up mid-connection,
/// refused ones, or of another protocol on port 80, are not web requests as far as the wire shows.
fn is_web_request(flow: &FlowRecord) -> bool {
    let e = &flow.exchange;
    e.saw_open()
        && e.answered()
        && e.bwd_flags.syn()
        && matches!(e.fwd_opening, Opening::HttpRequest | Opening::Tls)
}

/// The HTTP requests of a flow that fall in one window: all of them for a flow shorter than the
/// window, its mean rate over the window for a longer one (a keep-alive connection the meter cut
/// at its active timeout carries two minutes of requests).
fn requests_per_window(flow: &FlowRecord, window_us: i64) -> f64 {
    let duration = (flow.end_us - flow.start_us).max(1) as f64;
    f64::from(flow.exchange.fwd_requests) * (window_us as f64 / duration).min(1.0)
}

/// The counts of one (client, server, port).
#[derive(Debug)]
struct Pair {
    connections: PairWindow,
    /// HTTP requests in the current window ([`requests_per_window`]).
    requests_in_window: f64,
    requests_total: u64,
    /// The latest injection the payload stage found in the pair's requests, and when (the end of
    /// its flow).
    injection: Option<(Injection, i64)>,
}

impl Pair {
    /// The injection the pair's requests carried within `hold_us` of `t_us`, if any.
    fn injecting_at(&self, t_us: i64, hold_us: i64) -> Option<Injection> {
        self.injection
            .filter(|&(_, at)| (t_us - at).abs() <= hold_us)
            .map(|(kind, _)| kind)
    }
}

/// One [`Pair`] per (client, server, port).
#[derive(Debug)]
pub struct WebFloods {
    cfg: WebFloodConfig,
    pairs: HashMap<(IpAddr, IpAddr, u16), Pair>,
    max_hosts: usize,
}

impl WebFloods {
    pub fn new(cfg: WebFloodConfig, max_hosts: usize) -> WebFloods {
        WebFloods {
            cfg,
            pairs: HashMap::new(),
            max_hosts,
        }
    }

    pub fn observe(&mut self, flow: &FlowRecord) {
        if !is_web_request(flow) {
            return;
        }
        let cfg = &self.cfg;
        let p = self
            .pairs
            .entry((flow.src, flow.dst, flow.dst_port))
            .or_insert_with(|| Pair {
                connections: PairWindow::new(cfg.window_us, flow.end_us),
                requests_in_window: 0.0,
                requests_total: 0,
                injection: None,
            });
        if let Some(kind) = flow.exchange.fwd_injection {
            p.injection = Some((kind, flow.end_us));
        }
        if p.connections.count(flow.start_us, flow.end_us) {
            p.requests_in_window = 0.0;
        }
        p.requests_in_window += requests_per_window(flow, cfg.window_us);
        p.requests_total += u64::from(flow.exchange.fwd_requests);
        let raise = p.connections.in_window >= cfg.min_connections
            || p.requests_in_window >= cfg.min_requests;
        p.connections
            .flag(flow.start_us, cfg.window_us, cfg.hold_us, raise);
    }

    pub fn judge(&self, flow: &FlowRecord) -> Option<Finding> {
        if !is_web_request(flow) {
            return None;
        }
        let p = self.pairs.get(&(flow.src, flow.dst, flow.dst_port))?;
        if !p.connections.flagged_at(flow.start_us) {
            return None;
        }
        if let Some(kind) = p.injecting_at(flow.start_us, self.cfg.hold_us) {
            return Some(self.injection_tool(flow, p, kind));
        }
        Some(Finding {
            label: "HTTP flood".into(),
            score: 0.95,
            yields_to_model: true,
            evidence: Evidence {
                detector: "web.flood".into(),
                summary: format!(
                    "{} HTTP/TLS connections carrying {} HTTP requests from {} to {}:{} ({} \
                     connections or {} requests within {:.0} s make a flood; a browser keeps a \
                     handful of connections open)",
                    p.connections.total,
                    p.requests_total,
                    flow.src,
                    flow.dst,
                    flow.dst_port,
                    self.cfg.min_connections,
                    self.cfg.min_requests,
                    self.cfg.window_us as f64 / 1e6
                ),
                host: flow.src.to_string(),
                category: "DoS".into(),
            },
        })
    }

    /// The finding for a request of a flooding pair whose requests inject `kind`: the tool's.
    fn injection_tool(&self, flow: &FlowRecord, p: &Pair, kind: Injection) -> Finding {
        let what = kind.what();
        Finding {
            label: kind.label().into(),
            score: 0.95,
            yields_to_model: false,
            evidence: Evidence {
                detector: "web.injection_tool".into(),
                summary: format!(
                    "one of {} HTTP/TLS connections from {} to {}:{}, whose requests inject {what} \
                     into it: an injection tool's request",
                    p.connections.total, flow.src, flow.dst, flow.dst_port
                ),
                host: flow.src.to_string(),
                category: "WebAttack".into(),
            },
        }
    }

    /// Whether the pair of this flow is flagged at its start (any flow of the pair, whatever it
    /// opened with: the classifier's flood labels ask).
    pub fn flooding(&self, flow: &FlowRecord) -> bool {
        self.pairs
            .get(&(flow.src, flow.dst, flow.dst_port))
            .is_some_and(|p| p.connections.flagged_at(flow.start_us))
    }

    pub fn tracked(&self) -> usize {
        self.pairs.len()
    }

    pub fn sweep(&mut self, now_us: i64) {
        let idle = self.cfg.hold_us.max(self.cfg.window_us);
        sweep_idle(&mut self.pairs, now_us, idle, self.max_hosts, |p| {
            p.connections.last_us()
        });
    }
}
