//! Which labels a flow can be, beyond what its features say.
//!
//! **Carriers.** Attack labels that name the protocol their traffic is made of, and whether a flow
//! can be one.
//! An HTTP flood is HTTP requests; an SSH brute force is SSH sessions; Heartbleed is TLS heartbeat
//! requests. The flow classifier sees only sizes, counts and timings, so a Zabbix agent's polls can
//! look to it like a HOIC flood and a UDP DNS exchange like LOIC-HTTP (both seen on the nDPI
//! corpus). The meter notes how each direction's data opened ([`mlids_flow::Opening`]); a label
//! whose carrier that contradicts is impossible for the flow, and the detector takes it out of the
//! class probabilities before the decision rule runs (the verdict is then the most probable label
//! the flow can be). Where nothing was seen — no data, a flow picked up mid-connection, a record
//! that did not come from packets — nothing is ruled out. SQL injection and XSS are carried by a
//! request's parameters: a flow whose every request the payload stage read in full without
//! finding one cannot be either ([`Carrier::WebParameters`]).
//!
//! **Scans.** A scan is what a source does across many destinations; one conversation is not a
//! scan. The classifier's scan labels say "this flow resembles a scanner's" (CIC's scan rows that
//! carry data are service probes to open ports), which a Zabbix server's poll of its one agent can
//! too. They stand only for a source the host-behaviour stage's scan detector calls a scanner;
//! the detector keeps the verdict without them ready for the other case ([`Context::Scanning`]).
//!
//! **Floods.** The same holds for HTTP floods and slow attacks: a flood is what a client does over
//! many connections, and one request looks like any other. The classifier's flood labels stand
//! only for a client the web-flood detector calls flooding that server ([`Context::WebFlooding`]).
//! Measured on real benign captures, every alert of the leave-one-source-out models and most of
//! a testbed-only model's false alarms were such labels on a single ordinary connection.
//!
//! **Repetition.** A brute force is many guesses and a bot's beacon many check-ins; what the
//! classifier learnt of SQL injection and XSS is the automated tools' traffic (hundreds of
//! requests). Those labels stand only for a client that contacted the server's port at least three
//! times within a minute around the flow ([`Context::Returning`]); an injection in one request is
//! the payload stage's to find, in its text.

use mlids_flow::{Exchange, Opening};

/// The protocol an attack label's flows carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    /// HTTP requests, in the clear or inside TLS: the HTTP floods and slow attacks, the web login
    /// brute force and the Ares-style bot (which polls its C2 over HTTP).
    Web,
    /// HTTP requests whose parameters carry the attack's text: SQL injection and XSS. Where the
    /// payload stage read every request of the flow in full and found no injection, the text
    /// that would make the flow one is known not to be there, whatever its shape says (measured:
    /// a classifier trained on the testbed alone called ordinary cleartext requests of real
    /// captures `Brute Force -XSS` and `SQL Injection`, and `models/default` three benign search
    /// requests of the testbed's users). Where the text is opaque (TLS, a body in later
    /// segments, a connection picked up mid-way) nothing is ruled out.
    WebParameters,
    /// TLS with heartbeat requests from the client.
    TlsHeartbeat,
    Ssh,
    Ftp,
}

/// The carrier of each canonical label that has one (`crates/dataset/labels.csv` names them). A
/// label not listed (scans, UDP floods, infiltration, the testbed's SYN flood) can be any traffic.
const CARRIERS: &[(&str, Carrier)] = &[
    ("DoS attacks-Hulk", Carrier::Web),
    ("DoS attacks-GoldenEye", Carrier::Web),
    ("DoS attacks-Slowloris", Carrier::Web),
    ("DoS attacks-SlowHTTPTest", Carrier::Web),
    ("DDoS attacks-LOIC-HTTP", Carrier::Web),
    ("DDOS attack-HOIC", Carrier::Web),
    ("Brute Force -Web", Carrier::Web),
    ("Brute Force -XSS", Carrier::WebParameters),
    ("SQL Injection", Carrier::WebParameters),
    ("Bot", Carrier::Web),
    ("Heartbleed", Carrier::TlsHeartbeat),
    ("SSH-Bruteforce", Carrier::Ssh),
    ("FTP-BruteForce", Carrier::Ftp),
];

impl Carrier {
    /// The carrier of a canonical label, if its definition names one.
    pub fn of_label(label: &str) -> Option<Carrier> {
        CARRIERS.iter().find(|(l, _)| *l == label).map(|&(_, c)| c)
    }

    /// Whether a flow with these exchange facts can be carried by this protocol. `false` only on
    /// positive evidence: a non-TCP flow, or data that opened as something else on a connection
    /// whose opening the meter saw.
    pub fn possible(self, e: &Exchange) -> bool {
        if e.packets() == 0 {
            return true; // not from packets: nothing is known
        }
        if !e.is_tcp() {
            return false;
        }
        let (fwd, bwd) = (e.fwd_opening, e.bwd_opening);
        match self {
            // Heartbeats recur through a session, so they are visible mid-connection too.
            Carrier::TlsHeartbeat => e.fwd_tls_heartbeat || !fwd.is_known(),
            _ if !e.saw_open() => true,
            Carrier::Web => matches!(fwd, Opening::Unknown | Opening::HttpRequest | Opening::Tls),
            Carrier::WebParameters => {
                Carrier::Web.possible(e) && !(e.request_text_read() && e.fwd_injection.is_none())
            }
            // Both ends send their identification string first (RFC 4253 §4.2).
            Carrier::Ssh => [fwd, bwd]
                .iter()
                .all(|o| matches!(o, Opening::Unknown | Opening::Ssh)),
            // The server greets first (`220`), the client answers with commands (RFC 959).
            Carrier::Ftp => {
                matches!(bwd, Opening::Unknown | Opening::NumericReply)
                    && matches!(fwd, Opening::Unknown | Opening::LineCommand)
            }
        }
    }
}

/// Labels that name a scan (CIC-2017's `PortScan`, the infiltration scenario's internal scan).
const SCAN_LABELS: &[&str] = &["PortScan", "Infiltration - Portscan"];

/// Labels that name an HTTP request flood or a slow attack (CIC-2017's `DDoS LOIT` is its LOIC
/// HTTP flood).
const WEB_FLOOD_LABELS: &[&str] = &[
    "DoS attacks-Hulk",
    "DoS attacks-GoldenEye",
    "DoS attacks-Slowloris",
    "DoS attacks-SlowHTTPTest",
    "DDoS attacks-LOIC-HTTP",
    "DDOS attack-HOIC",
    "DDoS LOIT",
];

/// Labels that name something a client does to one service again and again: guesses, a tool's
/// requests, a beacon.
const REPEATED_LABELS: &[&str] = &[
    "SSH-Bruteforce",
    "FTP-BruteForce",
    "Brute Force -Web",
    "Brute Force -XSS",
    "SQL Injection",
    "Bot",
];

/// What the host-behaviour stage must say of a flow's hosts for a label of the flow classifier to
/// stand: the label names something a host does across many flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// The source is a scanner.
    Scanning,
    /// The client floods this server (web-flood detector).
    WebFlooding,
    /// The client came back to this server's port again and again.
    Returning,
}

impl Context {
    /// The context a canonical label needs, if any.
    pub fn of_label(label: &str) -> Option<Context> {
        if SCAN_LABELS.contains(&label) {
            Some(Context::Scanning)
        } else if WEB_FLOOD_LABELS.contains(&label) {
            Some(Context::WebFlooding)
        } else if REPEATED_LABELS.contains(&label) {
            Some(Context::Returning)
        } else {
            None
        }
    }
}

/// Per class of a model: its carrier, if any (index = class).
pub(crate) fn carriers_of(
    labels: impl IntoIterator<Item = impl AsRef<str>>,
) -> Vec<Option<Carrier>> {
    labels
        .into_iter()
        .map(|l| Carrier::of_label(l.as_ref()))
        .collect()
}

/// Take the classes `out(class)` names out of one row of class probabilities and renormalise over
/// the rest. Returns whether any probability was taken (nothing changes otherwise).
pub(crate) fn take_out(probs: &mut [f64], out: impl Fn(usize) -> bool) -> bool {
    let mut removed = false;
    for (c, p) in probs.iter_mut().enumerate() {
        if *p > 0.0 && out(c) {
            *p = 0.0;
            removed = true;
        }
    }
    if removed {
        let total: f64 = probs.iter().sum();
        if total > 0.0 {
            probs.iter_mut().for_each(|p| *p /= total);
        }
    }
    removed
}

/// Take the classes a flow cannot be out of one row of class probabilities and renormalise (the
/// posterior given what the flow's data opened with). Returns whether anything was taken out.
pub(crate) fn rule_out(probs: &mut [f64], carriers: &[Option<Carrier>], e: &Exchange) -> bool {
    take_out(probs, |c| {
        carriers[c].is_some_and(|carrier| !carrier.possible(e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlids_flow::packet::proto;
    use mlids_flow::TcpFlags;

    /// A TCP connection the meter saw open (first packet the client's SYN), with data both ways.
    fn opened(fwd: Opening, bwd: Opening) -> Exchange {
        Exchange {
            ip_protocol: proto::TCP,
            fwd_packets: 5,
            bwd_packets: 4,
            fwd_payload: 300,
            bwd_payload: 900,
            first_flags: TcpFlags(TcpFlags::SYN),
            fwd_opening: fwd,
            bwd_opening: bwd,
            ..Exchange::default()
        }
    }

    #[test]
    fn web_labels_need_http_or_tls_from_the_client() {
        assert!(Carrier::Web.possible(&opened(Opening::HttpRequest, Opening::HttpResponse)));
        assert!(Carrier::Web.possible(&opened(Opening::Tls, Opening::Tls)));
        // Zabbix's ZBXD frames, an SMTP session.
        assert!(!Carrier::Web.possible(&opened(Opening::Other, Opening::Other)));
        assert!(!Carrier::Web.possible(&opened(Opening::LineCommand, Opening::NumericReply)));
        // The client sent nothing (a Slowloris socket that never got to send, a refused try).
        assert!(Carrier::Web.possible(&opened(Opening::Unknown, Opening::Unknown)));
    }

    #[test]
    fn injection_labels_need_text_the_payload_stage_could_not_read_or_found_injected() {
        let clean = |e: &mut Exchange| {
            e.fwd_requests = 1;
            e.fwd_unread_data = false;
        };
        // A benign search request, read in full, no injection: not SQL injection or XSS.
        let mut search = opened(Opening::HttpRequest, Opening::HttpResponse);
        clean(&mut search);
        assert!(search.request_text_read());
        assert!(!Carrier::WebParameters.possible(&search));
        assert!(
            Carrier::Web.possible(&search),
            "a flood or a login guess may still be"
        );
        // The same with an injection found: possible (the payload stage names it first anyway).
        search.fwd_injection = Some(mlids_flow::Injection::Script);
        assert!(Carrier::WebParameters.possible(&search));
        // Text the stage did not read: a form body in a later segment, TLS, no request seen.
        let mut long_form = opened(Opening::HttpRequest, Opening::HttpResponse);
        clean(&mut long_form);
        long_form.fwd_unread_data = true;
        assert!(Carrier::WebParameters.possible(&long_form));
        let mut tls = opened(Opening::Tls, Opening::Tls);
        tls.fwd_unread_data = true;
        assert!(Carrier::WebParameters.possible(&tls));
        assert!(Carrier::WebParameters.possible(&opened(Opening::Unknown, Opening::Unknown)));
        assert!(Carrier::WebParameters.possible(&Exchange::default()));
        // Not HTTP at all: impossible, as for every web label.
        assert!(!Carrier::WebParameters.possible(&opened(Opening::Other, Opening::Other)));
        assert_eq!(
            Carrier::of_label("SQL Injection"),
            Some(Carrier::WebParameters)
        );
        assert_eq!(
            Carrier::of_label("Brute Force -XSS"),
            Some(Carrier::WebParameters)
        );
    }

    #[test]
    fn a_connection_picked_up_midway_rules_nothing_out() {
        // A Slowloris connection split by the flow timeout continues with header lines.
        let mut e = opened(Opening::Other, Opening::Other);
        e.first_flags = TcpFlags(TcpFlags::ACK | TcpFlags::PSH);
        for c in [Carrier::Web, Carrier::Ssh, Carrier::Ftp] {
            assert!(c.possible(&e), "{c:?}");
        }
    }

    #[test]
    fn tcp_carriers_are_impossible_over_udp() {
        let mut e = opened(Opening::Unknown, Opening::Unknown);
        e.ip_protocol = proto::UDP;
        e.first_flags = TcpFlags(0);
        for c in [
            Carrier::Web,
            Carrier::TlsHeartbeat,
            Carrier::Ssh,
            Carrier::Ftp,
        ] {
            assert!(!c.possible(&e), "{c:?}");
        }
        // A record that did not come from packets keeps every label.
        assert!(Carrier::Web.possible(&Exchange::default()));
    }

    #[test]
    fn ssh_ftp_and_heartbleed_need_their_own_openings() {
        assert!(Carrier::Ssh.possible(&opened(Opening::Ssh, Opening::Ssh)));
        assert!(!Carrier::Ssh.possible(&opened(Opening::Ssh, Opening::HttpResponse)));
        assert!(Carrier::Ftp.possible(&opened(Opening::LineCommand, Opening::NumericReply)));
        assert!(!Carrier::Ftp.possible(&opened(Opening::Other, Opening::Other)));
        let mut tls = opened(Opening::Tls, Opening::Tls);
        assert!(!Carrier::TlsHeartbeat.possible(&tls));
        tls.fwd_tls_heartbeat = true;
        assert!(Carrier::TlsHeartbeat.possible(&tls));
    }

    #[test]
    fn scan_labels_are_the_two_scan_names() {
        let scan = |l| Context::of_label(l) == Some(Context::Scanning);
        assert!(scan("PortScan"));
        assert!(scan("Infiltration - Portscan"));
        assert!(!scan("Infiltration"));
        assert!(!scan("DDOS attack-HOIC"));
    }

    #[test]
    fn every_label_needs_at_most_one_context_and_canonical_names_are_used() {
        use Context::*;
        let cases = [
            ("PortScan", Some(Scanning)),
            ("DoS attacks-Hulk", Some(WebFlooding)),
            ("DDoS LOIT", Some(WebFlooding)),
            ("SSH-Bruteforce", Some(Returning)),
            ("FTP-BruteForce", Some(Returning)),
            ("Brute Force -Web", Some(Returning)),
            ("Brute Force -XSS", Some(Returning)),
            ("SQL Injection", Some(Returning)),
            ("Bot", Some(Returning)),
            // Not a repetition by definition: one flow can be each of these.
            ("Infiltration", None),
            ("Heartbleed", None),
            ("DoS attacks-Hulk ", None),
            ("Benign", None),
        ];
        for (label, want) in cases {
            assert_eq!(Context::of_label(label), want, "{label}");
        }
    }

    #[test]
    fn ruling_out_renormalises_over_the_labels_left() {
        let carriers = carriers_of(["Benign", "DDOS attack-HOIC", "PortScan"]);
        assert_eq!(carriers, [None, Some(Carrier::Web), None]);
        let zabbix = opened(Opening::Other, Opening::Other);
        let mut p = [0.2, 0.7, 0.1];
        assert!(rule_out(&mut p, &carriers, &zabbix));
        assert!(
            (p[0] - 2.0 / 3.0).abs() < 1e-12 && p[1] == 0.0 && (p[2] - 1.0 / 3.0).abs() < 1e-12
        );
        let http = opened(Opening::HttpRequest, Opening::HttpResponse);
        let mut q = [0.2, 0.7, 0.1];
        assert!(!rule_out(&mut q, &carriers, &http));
        assert_eq!(q, [0.2, 0.7, 0.1]);
    }
}
