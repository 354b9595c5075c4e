//! Floods, per destination host: half-open TCP (SYN floods), unsolicited SYN-ACKs (TCP
//! reflection) and one-way UDP (UDP floods, amplification), counted in a tumbling window of flow
//! time together with the number of distinct senders — which is what tells a spoofed or
//! distributed flood from one noisy client, and a flood from a scan (one sender, many ports).

use crate::scan::Unreachables;
use crate::window::{sweep_idle, Distinct, Tumbling};
use crate::{is_group_address, Evidence, Finding};
use mlids_flow::packet::{proto, TcpFlags};
use mlids_flow::FlowRecord;
use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Clone, Debug)]
pub struct FloodConfig {
    /// Window length (flow time).
    pub window_us: i64,
    /// Half-open or SYN-ACK flows to one host in a window that make a flood (10 per second).
    pub min_flows: u64,
    /// One-way UDP packets to one host in a window that make a flood (100 per second).
    pub min_udp_packets: u64,
    /// One-way UDP payload bytes to one host, from known amplifier ports of at least
    /// `distributed_senders` hosts, that make an amplification below the packet rate (80 kbit/s).
    /// Big answers split into IP fragments (DNS with DNSSEC records) come at a few hundred
    /// datagrams a second; in the shared benign captures no host gets more than 2.4 kB from 3
    /// such senders in a window, against 710 kB from 50 reflectors in the slowest attack.
    pub min_reflected_bytes: u64,
    /// Distinct senders from which a flood counts as distributed (DDoS).
    pub distributed_senders: usize,
    /// A flagged host stays flagged this long after its last flood flow.
    pub hold_us: i64,
}

impl Default for FloodConfig {
    fn default() -> Self {
        FloodConfig {
            window_us: 10_000_000,
            min_flows: 100,
            min_udp_packets: 1000,
            min_reflected_bytes: 100_000,
            distributed_senders: 10,
            hold_us: 60_000_000,
        }
    }
}

/// The most SYN-ACKs one handshake draws from a TCP stack: Linux sends one and retransmits it
/// up to 5 times (`tcp_synack_retries`), and answers each retransmitted SYN of the client (up to
/// 6, `tcp_syn_retries`) with another; Windows and the BSDs send fewer. More on one connection,
/// with nothing coming back, means someone keeps sending the server SYNs in the receiver's name:
/// the receiver is the victim of a reflection, however slow.
pub(crate) const MAX_HANDSHAKE_SYN_ACKS: u32 = 12;

/// UDP services known to amplify (answer a small request with a large response): chargen, DNS,
/// NTP, SNMP, LDAP/CLDAP, SSDP, memcached, WS-Discovery, BACnet, ARD, NetBIOS, portmap.
const AMPLIFIERS: &[u16] = &[
    19, 53, 111, 123, 137, 161, 389, 1900, 3283, 3702, 11211, 37810, 47808,
];

/// A UDP flow its source sent from the port of a known amplifying service (a reflector's
/// answers).
pub(crate) fn from_amplifier_port(flow: &FlowRecord) -> bool {
    flow.exchange.ip_protocol == proto::UDP && AMPLIFIERS.contains(&flow.src_port)
}

/// What a flow contributes to its receiver's counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A SYN without payload that never became a conversation.
    HalfOpen,
    /// SYN-ACKs nobody asked for (reflection), one way: `packets` of them.
    SynAck { packets: u32 },
    /// UDP in one direction only: `packets`, payload `bytes`, the sender's port.
    OneWayUdp { packets: u32, bytes: u64, port: u16 },
}

/// (kind, sender, receiver, receiver port) of a flow that can be part of a flood.
fn classify(flow: &FlowRecord) -> Option<(Kind, IpAddr, IpAddr, u16)> {
    let e = &flow.exchange;
    let forward = (flow.src, flow.dst, flow.dst_port, flow.src_port);
    let backward = (flow.dst, flow.src, flow.src_port, flow.dst_port);
    let one_way = match (e.fwd_packets > 0, e.bwd_packets > 0) {
        (true, false) => Some(forward),
        (false, true) => Some(backward),
        _ => None,
    };
    match e.ip_protocol {
        proto::TCP if !e.has_payload() => {
            let syn_ack = TcpFlags::SYN | TcpFlags::ACK;
            let flags = if e.fwd_packets > 0 {
                e.fwd_flags
            } else {
                e.bwd_flags
            };
            if let Some((s, r, rport, _)) = one_way.filter(|_| flags.0 & syn_ack == syn_ack) {
                let packets = e.fwd_packets.max(e.bwd_packets);
                return Some((Kind::SynAck { packets }, s, r, rport));
            }
            // The client sent SYNs (retransmitted or not) and never acknowledged a SYN-ACK. A SYN
            // the server refused (RST, no SYN-ACK) holds no half-open state: it is a closed port's
            // answer — a scan's probe, or a client trying its second choice (smbclient tries 139
            // when 445 is slow to answer) — and not part of a flood on the listener.
            let client = if e.fwd_packets > 0 {
                e.fwd_flags
            } else {
                TcpFlags(0)
            };
            let refused = e.refused() && !e.bwd_flags.syn();
            (e.saw_open() && !client.has(TcpFlags::ACK) && !refused).then_some((
                Kind::HalfOpen,
                flow.src,
                flow.dst,
                flow.dst_port,
            ))
        }
        proto::UDP => one_way.map(|(s, r, rport, sport)| {
            let (packets, bytes) = if e.fwd_packets > 0 {
                (e.fwd_packets, e.fwd_payload)
            } else {
                (e.bwd_packets, e.bwd_payload)
            };
            (
                Kind::OneWayUdp {
                    packets,
                    bytes,
                    port: sport,
                },
                s,
                r,
                rport,
            )
        }),
        _ => None,
    }
}

/// Counts of one kind in the current window.
#[derive(Clone, Debug)]
struct Counts {
    flows: u64,
    packets: u64,
    bytes: u64,
    senders: Distinct<IpAddr>,
    receiver_ports: Distinct<u16>,
    sender_ports: Distinct<u16>,
    /// (sender, sender port): more of them than sender ports means two senders share a port.
    sender_endpoints: Distinct<(IpAddr, u16)>,
    /// SYN-ACK flows with more SYN-ACKs than one handshake draws ([`MAX_HANDSHAKE_SYN_ACKS`]),
    /// and the most SYN-ACKs of one of them.
    persistent: u64,
    most_syn_acks: u32,
}

impl Counts {
    fn new() -> Counts {
        Counts {
            flows: 0,
            packets: 0,
            bytes: 0,
            senders: Distinct::new(1024),
            receiver_ports: Distinct::new(64),
            sender_ports: Distinct::new(64),
            sender_endpoints: Distinct::new(256),
            persistent: 0,
            most_syn_acks: 0,
        }
    }

    fn reset(&mut self) {
        self.flows = 0;
        self.packets = 0;
        self.bytes = 0;
        self.senders.clear();
        self.receiver_ports.clear();
        self.sender_ports.clear();
        self.sender_endpoints.clear();
        self.persistent = 0;
        self.most_syn_acks = 0;
    }
}

/// Which flood a host is under, and until when.
#[derive(Clone, Debug)]
struct Flag {
    label: String,
    category: &'static str,
    detector: &'static str,
    summary: String,
    from_us: i64,
    until_us: i64,
}

impl Flag {
    fn holds_at(&self, t_us: i64) -> bool {
        self.from_us <= t_us && t_us <= self.until_us
    }

    /// The finding for a flow of this flood on `victim`.
    fn finding(&self, victim: IpAddr, summary: String) -> Finding {
        Finding {
            label: self.label.clone(),
            yields_to_model: false,
            score: 0.99,
            evidence: Evidence {
                detector: self.detector.into(),
                summary,
                host: victim.to_string(),
                category: self.category.into(),
            },
        }
    }
}

#[derive(Clone, Debug)]
struct Victim {
    /// One window and one set of counts per [`slot`]: each kind's windows begin with its own
    /// flows, so another kind of traffic to the host (a client's refused attempt, a scan's probe)
    /// does not move where a flood's windows fall.
    windows: [Tumbling; SLOTS],
    counts: [Counts; SLOTS],
    flags: [Option<Flag>; SLOTS],
    last_us: i64,
}

const HALF_OPEN: usize = 0;
const SYN_ACK: usize = 1;
const UDP: usize = 2;
/// One-way UDP from a known amplifier's port, counted apart from other one-way UDP: a flood that
/// follows an amplification on the same victim (or runs beside it) is judged on its own datagrams,
/// not labelled by the amplification's flag.
const UDP_FROM_AMPLIFIER: usize = 3;
const SLOTS: usize = 4;

fn slot(kind: Kind) -> usize {
    match kind {
        Kind::HalfOpen => HALF_OPEN,
        Kind::SynAck { .. } => SYN_ACK,
        Kind::OneWayUdp { port, .. } if AMPLIFIERS.contains(&port) => UDP_FROM_AMPLIFIER,
        Kind::OneWayUdp { .. } => UDP,
    }
}

/// One [`Victim`] per receiving host.
#[derive(Debug)]
pub struct Floods {
    cfg: FloodConfig,
    victims: HashMap<IpAddr, Victim>,
    max_hosts: usize,
}

impl Floods {
    pub fn new(cfg: FloodConfig, max_hosts: usize) -> Floods {
        Floods {
            cfg,
            victims: HashMap::new(),
            max_hosts,
        }
    }

    pub fn observe(&mut self, flow: &FlowRecord) {
        let Some((kind, sender, receiver, receiver_port)) = classify(flow) else {
            return;
        };
        if is_group_address(&receiver) {
            return;
        }
        let cfg = &self.cfg;
        let v = self.victims.entry(receiver).or_insert_with(|| Victim {
            windows: std::array::from_fn(|_| Tumbling::new(cfg.window_us)),
            counts: std::array::from_fn(|_| Counts::new()),
            flags: Default::default(),
            last_us: flow.end_us,
        });
        let t = flow.start_us;
        v.last_us = v.last_us.max(flow.end_us);
        let i = slot(kind);
        if v.windows[i].advance(t) {
            v.counts[i].reset();
        }
        let c = &mut v.counts[i];
        c.flows += 1;
        c.senders.insert(sender);
        c.receiver_ports.insert(receiver_port);
        // A flag holds for `hold_us` after the flow that proves it. Most such flows are short; a
        // persistent SYN-ACK flow proves the reflection for as long as it lasts (up to the active
        // timeout, 120 s), so the next cut of the same connection finds the flag still up.
        let mut proves_until = t;
        match kind {
            Kind::OneWayUdp {
                packets,
                bytes,
                port,
            } => {
                c.packets += u64::from(packets);
                c.bytes += bytes;
                c.sender_ports.insert(port);
                c.sender_endpoints.insert((sender, port));
            }
            Kind::SynAck { packets } => {
                c.packets += u64::from(packets);
                if packets > MAX_HANDSHAKE_SYN_ACKS {
                    c.persistent += 1;
                    c.most_syn_acks = c.most_syn_acks.max(packets);
                    proves_until = flow.end_us.max(t);
                }
            }
            Kind::HalfOpen => c.packets += u64::from(flow.exchange.packets()),
        }
        let until = proves_until + cfg.hold_us;
        if let Some(f) = v.flags[i].as_mut() {
            if t <= f.until_us {
                f.until_us = f.until_us.max(until);
                return;
            }
        }
        if let Some(mut f) = decide(cfg, kind, c, receiver) {
            f.from_us = t - cfg.window_us;
            f.until_us = until;
            v.flags[i] = Some(f);
        }
    }

    pub fn judge(&self, flow: &FlowRecord) -> Option<Finding> {
        let (kind, _, receiver, _) = classify(flow)?;
        let v = self.victims.get(&receiver)?;
        let f = v.flags[slot(kind)].as_ref()?;
        f.holds_at(flow.start_us)
            .then(|| f.finding(receiver, f.summary.clone()))
    }

    /// A UDP flood's answers: ICMP port or protocol unreachables that a host under a UDP flood or
    /// amplification sent while its flag held are part of that attack (its closed ports'
    /// replies to the datagrams; they go to the senders, or to whoever the senders forged).
    pub fn judge_answer(&self, u: &Unreachables, t_us: i64) -> Option<Finding> {
        if !u.from_probed_host {
            return None;
        }
        let v = self.victims.get(&u.reporter)?;
        let f = [UDP, UDP_FROM_AMPLIFIER]
            .iter()
            .filter_map(|&i| v.flags[i].as_ref())
            .find(|f| f.holds_at(t_us))?;
        let summary = format!("its ICMP unreachables answering the flood; {}", f.summary);
        Some(f.finding(u.reporter, summary))
    }

    pub fn tracked(&self) -> usize {
        self.victims.len()
    }

    pub fn sweep(&mut self, now_us: i64) {
        let idle = self.cfg.hold_us.max(self.cfg.window_us);
        sweep_idle(&mut self.victims, now_us, idle, self.max_hosts, |v| {
            v.last_us
        });
    }
}

/// Whether the window's counts of `kind` toward `receiver` make a flood.
fn decide(cfg: &FloodConfig, kind: Kind, c: &Counts, receiver: IpAddr) -> Option<Flag> {
    let secs = cfg.window_us as f64 / 1e6;
    let senders = c.senders.len();
    let distributed = senders >= cfg.distributed_senders;
    let family = if distributed { "DDoS" } else { "DoS" };
    let flag = |label: &str, category, detector, summary: String| Flag {
        label: label.to_string(),
        category,
        detector,
        summary,
        from_us: 0,
        until_us: 0,
    };
    match kind {
        // One sender probing many ports is a scan, not a flood.
        Kind::HalfOpen
            if c.flows >= cfg.min_flows && (distributed || c.receiver_ports.len() <= 4) =>
        {
            Some(flag(
                "SYN flood",
                family,
                "flood.syn",
                format!(
                    "{} half-open TCP connections to {receiver} within {secs:.0} s from {senders} \
                     sender(s) to {} port(s)",
                    c.flows,
                    c.receiver_ports.len()
                ),
            ))
        }
        Kind::SynAck { .. } if c.flows >= cfg.min_flows && senders >= 5 => Some(flag(
            "SYN-ACK reflection",
            "DDoS",
            "flood.syn_ack",
            format!(
                "{} unsolicited SYN-ACK flows to {receiver} within {secs:.0} s from {senders} \
                 reflector(s)",
                c.flows
            ),
        )),
        // A slow reflection: few SYN-ACKs per second, but on one connection more than any
        // handshake draws, so the reflector is being fed SYNs forged with the receiver's address.
        Kind::SynAck { .. } if c.persistent > 0 => Some(flag(
            "SYN-ACK reflection",
            "DDoS",
            "flood.syn_ack",
            format!(
                "{} unsolicited SYN-ACK flow(s) to {receiver} within {secs:.0} s from {senders} \
                 reflector(s); {} of them repeat one handshake's SYN-ACK up to {} times (a TCP \
                 stack sends at most {MAX_HANDSHAKE_SYN_ACKS}): SYNs forged with its address",
                c.flows, c.persistent, c.most_syn_acks
            ),
        )),
        Kind::OneWayUdp { .. } if c.packets >= cfg.min_udp_packets => {
            let mean = c.bytes as f64 / c.packets.max(1) as f64;
            // Reflectors answer from their service's port: the datagrams come from a known
            // amplifier's port, or one port shared by several senders. A flood's own sockets
            // (LOIC, hping3) have ephemeral ports, one per sender and thread, so a handful of
            // senders with a handful of ports is not, by itself, amplification.
            let few_ports = c.sender_ports.len() <= 4;
            let shared_port = c.sender_endpoints.len() > c.sender_ports.len();
            let amplifier_port = AMPLIFIERS.iter().any(|p| c.sender_ports.contains(p));
            let from_amplifiers =
                few_ports && mean >= 200.0 && senders >= 2 && (shared_port || amplifier_port);
            let (label, category) = if from_amplifiers {
                ("UDP amplification", "DDoS")
            } else {
                ("UDP flood", family)
            };
            let known = if c.sender_ports.len() == 1 {
                AMPLIFIERS.iter().find(|p| c.sender_ports.seen_one(**p))
            } else {
                None
            };
            Some(flag(
                label,
                category,
                "flood.udp",
                format!(
                    "{} one-way UDP packets ({} payload bytes, mean {mean:.0} B) to {receiver} \
                     within {secs:.0} s from {senders} sender(s) using {} source port(s){}",
                    c.packets,
                    c.bytes,
                    c.sender_ports.len(),
                    known.map_or(String::new(), |p| format!(" (port {p}, a known amplifier)"))
                ),
            ))
        }
        // Answers from many reflectors the host never asked: amplification, however few the
        // datagrams (counted apart, in their own slot, so the sender port is an amplifier's).
        Kind::OneWayUdp { port, .. }
            if AMPLIFIERS.contains(&port) && distributed && c.bytes >= cfg.min_reflected_bytes =>
        {
            Some(flag(
                "UDP amplification",
                "DDoS",
                "flood.udp",
                format!(
                    "{} payload bytes of one-way UDP ({} packets) to {receiver} within {secs:.0} s \
                     from {senders} sender(s) on {} known amplifier port(s): answers to requests \
                     it never sent",
                    c.bytes,
                    c.packets,
                    c.sender_ports.len()
                ),
            ))
        }
        _ => None,
    }
}
