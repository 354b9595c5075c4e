//! Scan detection by Threshold Random Walk (Jung, Paxson, Berger, Balakrishnan: "Fast Portscan
//! Detection Using Sequential Hypothesis Testing", IEEE S&P 2004).
//!
//! Each source's *first contacts* — its first flow to each (destination, port, protocol) — are
//! Bernoulli trials: a benign host's attempts mostly succeed (P = θ₀), a scanner's mostly fail
//! (P = θ₁). The log-likelihood ratio of "scanner" over "benign" takes a step up per failure and
//! down per success; crossing ln(β/α) flags the source as a scanner (false-positive rate ≤ α,
//! detection ≥ β), crossing ln((1−β)/(1−α)) declares it benign. With the paper's θ₀ = 0.8,
//! θ₁ = 0.2, α = 0.01, β = 0.99 four failed first contacts in a row flag a new source. Running
//! online, the walk is held between the two thresholds instead of ending at a decision (a benign
//! host needs seven net failures to be flagged later), and the walk over the source's whole
//! history, unheld, must cross the upper threshold as well. Outcomes, not timings, decide, so the verdict does not move with
//! the RTT or the rate. A flagged source whose failures have the shape of peer discovery (many
//! hosts, each on its own unprivileged port) is not called a scanner ([`FailureShape`]).
//!
//! Beside the walk, a source that sends a [`crafted_probe`] — a packet no protocol stack sends in
//! ordinary use (TCP segments without ACK other than a SYN or a RST: NULL, FIN, Xmas, SYN+FIN;
//! ICMP address-mask and information requests, deprecated by RFC 6918) — is a scanner from that
//! probe on: such packets exist to make a host answer, and a stealth or OS-fingerprinting scan of
//! a few ports sends too few for the walk to decide.

use crate::window::sweep_idle;
use crate::{is_group_address, Evidence, Finding};
use mlids_flow::packet::{proto, TcpFlags};
use mlids_flow::{Exchange, FlowRecord};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

#[derive(Clone, Debug)]
pub struct ScanConfig {
    /// P(first contact succeeds | benign source).
    pub theta0: f64,
    /// P(first contact succeeds | scanner).
    pub theta1: f64,
    /// Target false-positive rate.
    pub alpha: f64,
    /// Target detection rate.
    pub beta: f64,
    /// A source idle this long (flow time) is forgotten, flagged or not.
    pub memory_us: i64,
    /// First contacts remembered per source (beyond it every contact counts as new).
    pub max_contacts: usize,
}

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            theta0: 0.8,
            theta1: 0.2,
            alpha: 0.01,
            beta: 0.99,
            memory_us: 3_600_000_000,
            max_contacts: 4096,
        }
    }
}

/// How a first contact turned out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    /// Says nothing about the sender (a stray segment of an older connection, one-way by design).
    Neutral,
}

/// The outcome of a flow as a connection attempt by its source.
///
/// An unanswered UDP datagram is no evidence: peer-to-peer clients, QUIC, NAT keep-alives and
/// one-way services leave datagrams unanswered all day, and a capture often holds one direction
/// only. A closed UDP port says so with an ICMP port unreachable, which [`unreachables`] credits
/// to the prober.
pub fn outcome(flow: &FlowRecord) -> Outcome {
    let e = &flow.exchange;
    if e.fwd_packets == 0 {
        return Outcome::Neutral; // only the other side spoke: not an attempt by the source
    }
    match e.ip_protocol {
        proto::TCP => tcp_outcome(e),
        proto::UDP if e.bwd_packets > 0 => Outcome::Success,
        proto::UDP => Outcome::Neutral,
        proto::ICMP | proto::ICMPV6 => match e.icmp {
            // Echo request (ICMP 8, ICMPv6 128): a ping sweep's probe.
            Some((8, _)) | Some((128, _)) if e.bwd_packets == 0 => Outcome::Failure,
            Some((8, _)) | Some((128, _)) => Outcome::Success,
            _ => Outcome::Neutral,
        },
        _ => Outcome::Neutral,
    }
}

/// What made a flow a crafted probe ([`crafted_probe`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CraftedProbe {
    /// A TCP segment opening the flow without ACK that is neither a SYN nor a RST (NULL, FIN,
    /// Xmas, SYN+FIN, …), in a flow whose source sent no payload: stacks send FIN, PSH and URG only
    /// on an acknowledged connection, and a SYN never carries FIN.
    TcpFlags(TcpFlags),
    /// An ICMP address-mask (17) or information (15) request: obsolete queries (RFC 6918) that
    /// only fingerprinting tools still send.
    IcmpQuery(u8),
}

impl std::fmt::Display for CraftedProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            CraftedProbe::TcpFlags(flags) => {
                let names = [
                    (TcpFlags::FIN, "FIN"),
                    (TcpFlags::SYN, "SYN"),
                    (TcpFlags::PSH, "PSH"),
                    (TcpFlags::URG, "URG"),
                    (TcpFlags::ECE, "ECE"),
                    (TcpFlags::CWR, "CWR"),
                ];
                let set: Vec<&str> = names
                    .iter()
                    .filter(|(bit, _)| flags.has(*bit))
                    .map(|(_, name)| *name)
                    .collect();
                if set.is_empty() {
                    write!(f, "TCP NULL segment")
                } else {
                    write!(f, "TCP {} segment without ACK", set.join("+"))
                }
            }
            CraftedProbe::IcmpQuery(15) => write!(f, "ICMP information request"),
            CraftedProbe::IcmpQuery(t) => write!(f, "ICMP address-mask request (type {t})"),
        }
    }
}

/// Whether the flow holds a packet from its source that no stack sends in ordinary use: a TCP flow's
/// first segment (the first packet of a flow is its source's: corrected mode turns a flow first
/// seen at its SYN-ACK around, and a SYN-ACK has ACK), or any ICMP message of the source.
pub fn crafted_probe(e: &Exchange) -> Option<CraftedProbe> {
    if e.fwd_packets == 0 {
        return None;
    }
    match e.ip_protocol {
        proto::TCP => {
            let f = e.first_flags;
            let ordinary = f.has(TcpFlags::ACK)
                || f.has(TcpFlags::RST)
                || (f.has(TcpFlags::SYN) && !f.has(TcpFlags::FIN));
            // A probe is empty: it exists to make the host answer. Odd segments that carry data
            // are something else (nDPI's synthetic fuzzing seeds hold flagless segments with
            // payload from an ordinary client address).
            (!ordinary && e.fwd_payload == 0).then_some(CraftedProbe::TcpFlags(f))
        }
        proto::ICMP => [17, 15]
            .into_iter()
            .find(|&t| e.sent_icmp_type(t))
            .map(CraftedProbe::IcmpQuery),
        _ => None,
    }
}

fn tcp_outcome(e: &Exchange) -> Outcome {
    let first = e.first_flags;
    // A reset, or data/acknowledgement of a connection already under way, is the tail of an older
    // connection (the capture started mid-stream), not an attempt.
    if first.has(TcpFlags::RST) || (first.has(TcpFlags::ACK) && e.has_payload()) {
        return Outcome::Neutral;
    }
    // A lone ACK is an ACK-scan probe only when a reset answers it; unanswered it is as likely a
    // keep-alive or the tail of a connection the capture caught mid-way.
    if first.has(TcpFlags::ACK) && !first.has(TcpFlags::SYN) && !e.bwd_flags.has(TcpFlags::RST) {
        return Outcome::Neutral;
    }
    if e.bwd_packets == 0 {
        // A client that acknowledged or sent data was answered, on a path the capture missed.
        if e.fwd_flags.has(TcpFlags::ACK) || e.has_payload() {
            return Outcome::Neutral;
        }
        return Outcome::Failure; // unanswered SYN, FIN, NULL, Xmas probe
    }
    if e.bwd_flags.has(TcpFlags::RST) && !e.has_payload() {
        return Outcome::Failure; // refused
    }
    Outcome::Success
}

/// ICMP destination-unreachable messages a flow carries (ICMP type 3, ICMPv6 type 1), from the
/// host or router that sent them to the address whose packets they refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unreachables {
    pub prober: IpAddr,
    pub reporter: IpAddr,
    /// Messages, at most 64 per flow (one noisy router cannot make a scanner alone).
    pub messages: u32,
    /// Port or protocol unreachable: sent by the probed host itself, so they answer probes to the
    /// reporter only. Other codes (network/host unreachable, prohibited) come from routers on the
    /// way and answer probes to any host.
    pub from_probed_host: bool,
}

/// The unreachables of a flow, if it is an ICMP destination-unreachable flow. Each becomes a failed
/// UDP (or other-protocol) probe only while the prober has an unanswered probe it can answer (see
/// `Unanswered`).
pub fn unreachables(flow: &FlowRecord) -> Option<Unreachables> {
    let e = &flow.exchange;
    let from_probed_host = match (e.ip_protocol, e.icmp) {
        // ICMP code 2 protocol, 3 port unreachable; ICMPv6 code 4 port unreachable.
        (proto::ICMP, Some((3, code))) => matches!(code, 2 | 3),
        (proto::ICMPV6, Some((1, code))) => code == 4,
        _ => return None,
    };
    // The record's source sent the first message (corrected mode may orient it either way).
    let (reporter, prober, n) = if e.fwd_packets > 0 {
        (flow.src, flow.dst, e.fwd_packets)
    } else {
        (flow.dst, flow.src, e.bwd_packets)
    };
    Some(Unreachables {
        prober,
        reporter,
        messages: n.min(64),
        from_probed_host,
    })
}

/// A source's unanswered UDP and other-protocol probes and the unreachables reported to it, kept
/// so that only as many unreachables become failures as there are probes they can answer: a UDP
/// scan's closed ports each send one, but a peer that keeps sending to one closed port gets one
/// per datagram (one failed contact, not dozens), and a host that was probed answers only the
/// probes sent to it, whatever code it uses. Unreachables from an address never probed come from
/// a router on the way and answer a probe to any host.
#[derive(Clone, Debug, Default)]
struct Unanswered {
    /// Distinct (host, port, protocol) probed without an answer.
    probes: HashSet<(IpAddr, u16, u8)>,
    per_host: HashMap<IpAddr, HostTally>,
    /// Σ over probed hosts of min(probes, their unreachables).
    matched: u64,
    /// Unreachables with a router's code from addresses never probed.
    from_routers: u64,
    /// Unreachables already taken as failures.
    credited: u64,
}

/// Probes to one address and the unreachables it sent.
#[derive(Clone, Copy, Debug, Default)]
struct HostTally {
    probes: u64,
    /// Port or protocol unreachables (a host speaking for itself).
    own: u64,
    /// Network/host unreachable, prohibited: a router's codes (a firewall may send them for
    /// the host it guards).
    routers: u64,
}

impl HostTally {
    /// (unreachables answering probes to this host, unreachables answering a probe to any host).
    fn contribution(self) -> (u64, u64) {
        if self.probes > 0 {
            (self.probes.min(self.own + self.routers), 0)
        } else {
            (0, self.routers)
        }
    }
}

impl Unanswered {
    fn probe(&mut self, contact: (IpAddr, u16, u8), max_contacts: usize) {
        if self.probes.len() >= max_contacts || !self.probes.insert(contact) {
            return;
        }
        self.update(contact.0, |t| t.probes += 1);
    }

    fn reported(&mut self, u: &Unreachables) {
        let n = u64::from(u.messages);
        if u.from_probed_host {
            self.update(u.reporter, |t| t.own += n);
        } else {
            self.update(u.reporter, |t| t.routers += n);
        }
    }

    fn update(&mut self, host: IpAddr, change: impl FnOnce(&mut HostTally)) {
        if self.per_host.len() >= EVIDENCE_CAP && !self.per_host.contains_key(&host) {
            return;
        }
        let t = self.per_host.entry(host).or_default();
        let (m0, r0) = t.contribution();
        change(t);
        let (m1, r1) = t.contribution();
        // A host's matched share only grows (its probes and messages only grow); its router share
        // moves to the matched one once it is probed.
        self.matched += m1 - m0;
        self.from_routers = (self.from_routers + r1).saturating_sub(r0);
    }

    /// Unreachables that answer a probe and are not yet failures.
    fn take_new(&mut self) -> u64 {
        let answerable = (self.matched + self.from_routers).min(self.probes.len() as u64);
        let new = answerable.saturating_sub(self.credited);
        self.credited += new;
        new
    }
}

/// The walk of one source.
#[derive(Clone, Debug, Default)]
struct Walk {
    /// The walk, held between the thresholds.
    llr: f64,
    /// The same steps without the hold: the evidence of the source's whole history.
    history_llr: f64,
    contacted: HashSet<(IpAddr, u16, u8)>,
    successes: u32,
    failures: u32,
    hosts: HashSet<IpAddr>,
    ports: HashSet<u16>,
    /// Where the failed first contacts went (what tells peer discovery from a scan).
    failed: FailureShape,
    /// Its unanswered UDP datagrams and other-protocol packets (an IP protocol scan's), and the
    /// ICMP unreachables reported to it.
    unanswered: Unanswered,
    /// Crafted probes sent.
    crafted: u32,
    /// (host, port) its SYN probes found open, with when the probe ended: the ports a service
    /// scan (`nmap -sV`) then connects to.
    found_open: HashMap<(IpAddr, u16), i64>,
    flagged: Option<Flag>,
    last_us: i64,
}

impl Walk {
    /// Flagged, on the shape as it is now: a peer-to-peer client that starts sweeping one host or
    /// one service changes its shape and is a scanner from then on. No peer sends crafted probes.
    fn is_scanner(&self) -> bool {
        self.flagged.is_some() && (self.crafted > 0 || !self.failed.looks_like_peer_discovery())
    }
}

/// The spread of a source's failed first contacts over hosts and ports.
///
/// A peer-to-peer client's failures are first contacts to peers that have gone away: many hosts,
/// each tried on its own unprivileged port (the one the peer list named), no port shared by many
/// of them. A scan has the opposite shape: one host on many ports (vertical), one service port on
/// many hosts (horizontal), or both. TRW alone cannot tell them apart (peer discovery is its known
/// false positive); the shape can. What it cannot tell apart is a scan that probes each host on
/// one random unprivileged port — by outcomes alone that *is* peer discovery.
#[derive(Clone, Debug, Default)]
struct FailureShape {
    /// Failed first contacts with a port (TCP, UDP); ICMP unreachables and echo probes count in
    /// `other`.
    with_port: u32,
    other: u32,
    unprivileged: u32,
    per_host: HashMap<IpAddr, u32>,
    per_port: HashMap<u16, u32>,
}

impl FailureShape {
    fn add(&mut self, host: IpAddr, port: Option<u16>) {
        let Some(port) = port else {
            self.add_without_port();
            return;
        };
        self.with_port += 1;
        if port >= 1024 {
            self.unprivileged += 1;
        }
        if self.per_host.len() < EVIDENCE_CAP || self.per_host.contains_key(&host) {
            *self.per_host.entry(host).or_default() += 1;
        }
        if self.per_port.len() < EVIDENCE_CAP || self.per_port.contains_key(&port) {
            *self.per_port.entry(port).or_default() += 1;
        }
    }

    fn add_without_port(&mut self) {
        self.other += 1;
    }

    /// Peer discovery, not a scan: at least [`PEER_MIN_HOSTS`] failed hosts; ≥ 90% of the
    /// failures with a port, and ≥ 90% of all, to unprivileged ports; ≤ 10% of them beyond the
    /// second on any one host (no vertical sweep); ≤ 25% on the most-tried port (no horizontal
    /// sweep of one service).
    fn looks_like_peer_discovery(&self) -> bool {
        let n = self.with_port;
        let total = n + self.other;
        if self.per_host.len() < PEER_MIN_HOSTS || n == 0 {
            return false;
        }
        let share = |k: u32, of: u32| f64::from(k) / f64::from(of);
        let beyond_second: u32 = self.per_host.values().map(|&c| c.saturating_sub(2)).sum();
        let busiest_port = self.per_port.values().copied().max().unwrap_or(0);
        share(self.unprivileged, total) >= 0.9
            && share(beyond_second, n) <= 0.1
            && share(busiest_port, n) <= 0.25
    }
}

/// Failed hosts below which no failure pattern is called peer discovery.
const PEER_MIN_HOSTS: usize = 8;

/// The walk's state when it crossed the upper threshold.
#[derive(Clone, Debug)]
struct Flag {
    at_us: i64,
    contacts: u32,
    failures: u32,
    /// The crafted probe that flagged the source; `None` when the walk did.
    crafted: Option<CraftedProbe>,
}

/// One [`Walk`] per source.
#[derive(Debug)]
pub struct Scans {
    cfg: ScanConfig,
    walks: HashMap<IpAddr, Walk>,
    max_hosts: usize,
    steps: Steps,
}

/// Distinct hosts and ports a walk keeps for its evidence.
const EVIDENCE_CAP: usize = 65_536;

/// How long after a SYN probe found a port open a connection to it counts as the scan's follow-up.
const FOLLOW_UP_US: i64 = 60_000_000;

/// A SYN answered by a SYN-ACK on which no data followed: a SYN scan's open port (the prober
/// resets or abandons the handshake).
fn found_open_port(e: &Exchange) -> bool {
    e.is_tcp()
        && e.first_flags.has(TcpFlags::SYN)
        && !e.first_flags.has(TcpFlags::ACK)
        && e.bwd_flags.has(TcpFlags::SYN)
        && e.bwd_flags.has(TcpFlags::ACK)
        && !e.has_payload()
}

impl Scans {
    pub fn new(cfg: ScanConfig, max_hosts: usize) -> Scans {
        Scans {
            steps: Steps {
                success: (cfg.theta1 / cfg.theta0).ln(),
                failure: ((1.0 - cfg.theta1) / (1.0 - cfg.theta0)).ln(),
                upper: (cfg.beta / cfg.alpha).ln(),
                lower: ((1.0 - cfg.beta) / (1.0 - cfg.alpha)).ln(),
            },
            cfg,
            walks: HashMap::new(),
            max_hosts,
        }
    }

    pub fn observe(&mut self, flow: &FlowRecord) {
        if let Some(u) = unreachables(flow) {
            let w = self.walks.entry(u.prober).or_default();
            w.last_us = w.last_us.max(flow.end_us);
            if w.hosts.len() < EVIDENCE_CAP {
                w.hosts.insert(u.reporter);
            }
            w.unanswered.reported(&u);
            self.steps.settle_unreachables(w, flow.start_us);
            return;
        }
        if is_group_address(&flow.dst) {
            return;
        }
        if let Some(probe) = crafted_probe(&flow.exchange) {
            let w = self.walks.entry(flow.src).or_default();
            w.crafted += 1;
            w.flagged.get_or_insert(Flag {
                at_us: flow.start_us,
                contacts: w.successes + w.failures + 1,
                failures: w.failures,
                crafted: Some(probe),
            });
        }
        let result = outcome(flow);
        if result == Outcome::Neutral {
            let e = &flow.exchange;
            let answerable_by_unreachable =
                !matches!(e.ip_protocol, proto::TCP | proto::ICMP | proto::ICMPV6);
            if answerable_by_unreachable && e.fwd_packets > 0 && e.bwd_packets == 0 {
                let w = self.walks.entry(flow.src).or_default();
                w.last_us = w.last_us.max(flow.end_us);
                w.unanswered.probe(
                    (flow.dst, flow.dst_port, e.ip_protocol),
                    self.cfg.max_contacts,
                );
                self.steps.settle_unreachables(w, flow.start_us);
            }
            return;
        }
        let w = self.walks.entry(flow.src).or_default();
        w.last_us = w.last_us.max(flow.end_us);
        if found_open_port(&flow.exchange)
            && (w.found_open.len() < EVIDENCE_CAP
                || w.found_open.contains_key(&(flow.dst, flow.dst_port)))
        {
            w.found_open.insert((flow.dst, flow.dst_port), flow.end_us);
        }
        let contact = (flow.dst, flow.dst_port, flow.exchange.ip_protocol);
        let first = if w.contacted.len() < self.cfg.max_contacts {
            w.contacted.insert(contact)
        } else {
            !w.contacted.contains(&contact)
        };
        if !first {
            return;
        }
        if w.hosts.len() < EVIDENCE_CAP {
            w.hosts.insert(flow.dst);
        }
        if w.ports.len() < EVIDENCE_CAP {
            w.ports.insert(flow.dst_port);
        }
        match result {
            Outcome::Success => w.successes += 1,
            _ => {
                w.failures += 1;
                let port = matches!(flow.exchange.ip_protocol, proto::TCP | proto::UDP)
                    .then_some(flow.dst_port);
                w.failed.add(flow.dst, port);
            }
        }
        self.steps.take(w, result, flow.start_us);
    }
}

/// The walk's step sizes and thresholds, from the configuration.
#[derive(Clone, Copy, Debug)]
struct Steps {
    success: f64,
    failure: f64,
    upper: f64,
    lower: f64,
}

impl Steps {
    /// The unreachables that now answer a probe become failed first contacts (flows end in any
    /// order, so whichever comes second, the probes or the unreachables, settles).
    fn settle_unreachables(self, w: &mut Walk, t_us: i64) {
        for _ in 0..w.unanswered.take_new() {
            w.failures += 1;
            w.failed.add_without_port();
            self.take(w, Outcome::Failure, t_us);
        }
    }

    /// One step of a walk (its counts already updated).
    fn take(self, w: &mut Walk, result: Outcome, t_us: i64) {
        let step = match result {
            Outcome::Success => self.success,
            _ => self.failure,
        };
        w.llr += step;
        w.history_llr += step;
        if w.flagged.is_none() {
            // The whole history must pass the test too, not only the walk held at "benign": a
            // busy peer-to-peer client whose walk keeps returning there still meets runs of four
            // failures.
            if w.llr >= self.upper && w.history_llr >= self.upper {
                w.flagged = Some(Flag {
                    at_us: t_us,
                    contacts: w.successes + w.failures,
                    failures: w.failures,
                    crafted: None,
                });
            }
            // Online, the walk does not stop at "benign": it stays at that boundary, so a host
            // that starts scanning later is flagged after as many net failures as the two
            // thresholds lie apart (7 with the defaults), not after its whole history.
            w.llr = w.llr.clamp(self.lower, self.upper);
        }
    }
}

impl Scans {
    /// A probe (a failed or neutral-but-empty attempt) of a flagged source is part of its scan;
    /// its conversations are left to the flow classifier.
    pub fn judge(&self, flow: &FlowRecord) -> Option<Finding> {
        let w = self.walks.get(&flow.src)?;
        let flag = w.flagged.as_ref()?;
        if !w.is_scanner() {
            return None;
        }
        let e = &flow.exchange;
        let first = e.first_flags;
        // Its failed attempts, its SYNs that found an open port, and (for a scanner flagged by
        // unreachables) its unanswered datagrams and other-protocol packets.
        let probe = outcome(flow) == Outcome::Failure
            || crafted_probe(e).is_some()
            || (e.is_tcp()
                && e.fwd_packets > 0
                && first.has(TcpFlags::SYN)
                && !first.has(TcpFlags::ACK)
                && !e.has_payload())
            || (!matches!(e.ip_protocol, proto::TCP | proto::ICMP | proto::ICMPV6)
                && e.fwd_packets > 0
                && e.bwd_packets == 0);
        if !probe || is_group_address(&flow.dst) {
            return None;
        }
        Some(self.finding(w, flag, flow.src, ""))
    }

    /// The scanner's answers: ICMP port or protocol unreachables that a probed host sent back to
    /// a source this calls a scanner are part of its scan (the closed ports' replies to a UDP
    /// scan, as a TCP scan's RSTs are part of its probes' flows).
    pub fn judge_answer(&self, u: &Unreachables) -> Option<Finding> {
        let w = self.walks.get(&u.prober).filter(|w| w.is_scanner())?;
        let flag = w.flagged.as_ref()?;
        let prefix = format!(
            "ICMP unreachables from {} answering its probes; ",
            u.reporter
        );
        Some(self.finding(w, flag, u.prober, &prefix))
    }

    /// The finding for a flow of the scan of `scanner` (`prefix` says how the flow belongs to it).
    fn finding(&self, w: &Walk, flag: &Flag, scanner: IpAddr, prefix: &str) -> Finding {
        let contacts = w.successes + w.failures;
        let at = mlids_flow::time::rfc3339_micros(flag.at_us);
        let (detector, summary) = match flag.crafted {
            Some(first) => (
                "scan.crafted",
                format!(
                    "{} crafted probe(s), the first a {first} at {at} (packets no stack sends in \
                     ordinary use); {} of {} first contacts failed ({} hosts, {} ports)",
                    w.crafted,
                    w.failures,
                    contacts,
                    w.hosts.len(),
                    w.ports.len(),
                ),
            ),
            None => (
                "scan.trw",
                format!(
                    "threshold random walk: {} of {} first contacts failed ({} hosts, {} ports); \
                     flagged after {} contacts ({} failed) at {at}",
                    w.failures,
                    contacts,
                    w.hosts.len(),
                    w.ports.len(),
                    flag.contacts,
                    flag.failures,
                ),
            ),
        };
        Finding {
            label: "PortScan".into(),
            yields_to_model: false,
            score: 1.0 - self.cfg.alpha,
            evidence: Evidence {
                detector: detector.into(),
                summary: format!("{prefix}{summary}"),
                host: scanner.to_string(),
                category: "PortScan".into(),
            },
        }
    }

    /// A conversation of a scanner with a port its own SYN probe found open shortly before: the
    /// scan's service detection (nmap -sV sends its probes on full connections to the open ports
    /// the SYN phase found). Asked after every other detector, and it yields to the flow
    /// classifier's attack label: an attacker that scans and then logs in is a brute force's.
    pub fn judge_follow_up(&self, flow: &FlowRecord) -> Option<Finding> {
        let w = self.walks.get(&flow.src).filter(|w| w.is_scanner())?;
        let e = &flow.exchange;
        if !(e.is_tcp() && e.saw_open() && e.has_payload()) {
            return None;
        }
        let probed_us = *w.found_open.get(&(flow.dst, flow.dst_port))?;
        let after_us = flow.start_us - probed_us;
        if !(0..=FOLLOW_UP_US).contains(&after_us) {
            return None;
        }
        Some(Finding {
            label: "PortScan".into(),
            yields_to_model: true,
            score: 1.0 - self.cfg.alpha,
            evidence: Evidence {
                detector: "scan.follow_up".into(),
                summary: format!(
                    "a connection to {}:{} {:.1} s after this scanner's SYN probe found the port \
                     open (service detection); {} of {} first contacts failed",
                    flow.dst,
                    flow.dst_port,
                    after_us as f64 / 1e6,
                    w.failures,
                    w.successes + w.failures,
                ),
                host: flow.src.to_string(),
                category: "PortScan".into(),
            },
        })
    }

    /// Whether the walk calls this source a scanner (flagged, and not shaped like peer discovery).
    pub fn scanning(&self, src: &IpAddr) -> bool {
        self.walks.get(src).is_some_and(Walk::is_scanner)
    }

    /// Forget sources idle longer than the memory (or the longest-idle ones over the cap).
    pub fn sweep(&mut self, now_us: i64) {
        let memory = self.cfg.memory_us;
        sweep_idle(&mut self.walks, now_us, memory, self.max_hosts, |w| {
            w.last_us
        });
    }

    /// Sources tracked (for tests and status).
    pub fn tracked(&self) -> usize {
        self.walks.len()
    }
}
