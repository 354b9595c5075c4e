//! What actually passed between the two ends of a flow, independent of the feature mode.
//!
//! The feature columns follow each mode's conventions (cic2018's flag counts are read from the
//! first packet with shifted bits, its forward direction compares addresses only), which makes them
//! unfit for reasoning about connection outcomes. The host-behaviour stage needs the plain facts —
//! did the responder answer, with what flags, was any payload exchanged — so the meter keeps them
//! here for both modes, from the packets' real directions.

use crate::dns::DnsQueries;
use crate::opening::{starts_tls_heartbeat, Opening};
use crate::packet::{proto, Packet, TcpFlags};
use crate::request::Injection;
use crate::ssh_auth::SshAuth;

/// Per-flow exchange facts; "forward" is from the record's source to its destination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exchange {
    /// The real IP protocol (cic2018 reports non-TCP/UDP as 0; this does not).
    pub ip_protocol: u8,
    pub fwd_packets: u32,
    pub bwd_packets: u32,
    /// L4 payload bytes per direction.
    pub fwd_payload: u64,
    pub bwd_payload: u64,
    /// TCP flags of the first packet.
    pub first_flags: TcpFlags,
    /// Union of the TCP flags seen in each direction.
    pub fwd_flags: TcpFlags,
    pub bwd_flags: TcpFlags,
    /// ICMP type and code of the first ICMP packet.
    pub icmp: Option<(u8, u8)>,
    /// ICMP (IPv4) message types below 32 the source sent, one bit each: an ICMP flow holds
    /// every message between two hosts, so an OS-fingerprinting probe (an address-mask request)
    /// is often not the first.
    pub fwd_icmp_types: u32,
    /// What each direction's first data looked like (HTTP, TLS, SSH…): an HTTP flood's flows carry
    /// HTTP, a Zabbix poll's do not.
    pub fwd_opening: Opening,
    pub bwd_opening: Opening,
    /// The source sent a segment that begins with a TLS heartbeat record (Heartbleed's request).
    pub fwd_tls_heartbeat: bool,
    /// The first injection found in the source's HTTP requests ([`crate::request`]): SQL or script
    /// where a value belongs, a shell command, code for the server's interpreter or a path out of
    /// the web root.
    pub fwd_injection: Option<Injection>,
    /// Segments from the source that begin an HTTP/1.x request: how many requests a keep-alive
    /// connection carried (a keep-alive flood sends hundreds a second over a few connections).
    /// A retransmitted request counts again; requests pipelined into one segment count once.
    pub fwd_requests: u32,
    /// Those of [`Exchange::fwd_requests`] that are `POST`s: a web login brute force posts one
    /// credential per connection. Saturates at 65,535 (the detectors ask only whether a
    /// connection posted; 16 bits keep the flow state within its budget).
    pub fwd_posts: u16,
    /// Login attempts inferred from the encrypted segment sizes of an SSH connection
    /// ([`crate::ssh_auth`]): hydra against SSH makes few connections, each with several
    /// rejected passwords.
    pub ssh_auth: SshAuth,
    /// Server replies with code 530 ("Not logged in", RFC 959) on a connection of client commands
    /// and server numeric replies (FTP's shape): each a rejected USER/PASS. hydra against FTP,
    /// like against SSH, makes a few connections with several guesses each.
    pub ftp_rejected_logins: u16,
    /// The source sent data the payload stage did not read in full: a segment that is no HTTP
    /// request start, or a request whose headers or declared body went past its first segment.
    /// While this is false and [`Exchange::fwd_requests`] is not 0, every byte the source sent
    /// was an HTTP request the stage read, so [`Exchange::fwd_injection`] speaks for all of it.
    pub fwd_unread_data: bool,
    /// The DNS queries the source sent to port 53 ([`crate::dns`]): a tunnel's client asks for
    /// names that are encoded data, or for record types stub resolvers rarely ask for.
    pub fwd_dns: DnsQueries,
}

impl Exchange {
    /// Account one packet (`forward`: sent by the record's source).
    pub(crate) fn add(&mut self, pkt: &Packet, forward: bool) {
        if self.fwd_packets + self.bwd_packets == 0 {
            self.ip_protocol = pkt.protocol;
            self.first_flags = pkt.flags;
        }
        if self.icmp.is_none() {
            self.icmp = pkt.icmp;
        }
        let payload = u64::from(pkt.payload_len);
        if forward {
            if payload > 0 {
                if self.fwd_payload == 0 {
                    self.fwd_opening = Opening::of(pkt.head.as_bytes(), pkt.payload_len);
                }
                self.fwd_tls_heartbeat |= starts_tls_heartbeat(pkt.head.as_bytes());
                self.fwd_injection = self.fwd_injection.or(pkt.injection);
                self.fwd_requests = self
                    .fwd_requests
                    .saturating_add(u32::from(pkt.http_request));
                self.fwd_posts = self.fwd_posts.saturating_add(u16::from(pkt.http_post));
                // `http_request_read` is only ever set on a segment that starts a request.
                self.fwd_unread_data |= !pkt.http_request_read;
                if self.is_ssh() {
                    self.ssh_auth
                        .client_segment(pkt.head.as_bytes(), pkt.payload_len);
                }
                if let Some(query) = pkt.dns_query {
                    self.fwd_dns.add(query);
                }
            }
            self.fwd_packets += 1;
            self.fwd_payload += payload;
            self.fwd_flags.0 |= pkt.flags.0;
            if let (proto::ICMP, Some((t @ 0..=31, _))) = (pkt.protocol, pkt.icmp) {
                self.fwd_icmp_types |= 1 << t;
            }
        } else {
            if payload > 0 {
                if self.bwd_payload == 0 {
                    self.bwd_opening = Opening::of(pkt.head.as_bytes(), pkt.payload_len);
                }
                if self.is_ssh() {
                    self.ssh_auth.server_segment(pkt.payload_len);
                }
                if self.is_line_protocol() && is_login_rejection(pkt.head.as_bytes()) {
                    self.ftp_rejected_logins = self.ftp_rejected_logins.saturating_add(1);
                }
            }
            self.bwd_packets += 1;
            self.bwd_payload += payload;
            self.bwd_flags.0 |= pkt.flags.0;
        }
    }

    /// Everything the source sent was cleartext HTTP/1.x requests that the payload stage read in
    /// full: their text is known, and [`Exchange::fwd_injection`] says whether it held an
    /// injection. (Its first data was then a request too, so its opening is
    /// [`Opening::HttpRequest`].)
    pub fn request_text_read(&self) -> bool {
        self.fwd_requests > 0 && !self.fwd_unread_data
    }

    /// Both ends opened with an SSH version string, whatever the port.
    pub fn is_ssh(&self) -> bool {
        self.fwd_opening == Opening::Ssh && self.bwd_opening == Opening::Ssh
    }

    /// Rejected SSH logins of a connection that never logged in ([`SshAuth::failed_logins`]).
    pub fn failed_ssh_logins(&self) -> u16 {
        if self.is_ssh() {
            self.ssh_auth.failed_logins()
        } else {
            0
        }
    }

    /// The client opened with a text command and the server with a numeric reply: FTP, SMTP,
    /// POP3-like line protocols (whatever the port).
    pub fn is_line_protocol(&self) -> bool {
        self.fwd_opening == Opening::LineCommand && self.bwd_opening == Opening::NumericReply
    }

    /// Rejected logins of the connection as the wire shows them: inferred from the sizes for SSH,
    /// the server's 530 replies for a line protocol (FTP), none otherwise.
    pub fn rejected_logins(&self) -> u16 {
        if self.is_ssh() {
            self.failed_ssh_logins()
        } else if self.is_line_protocol() {
            self.ftp_rejected_logins
        } else {
            0
        }
    }

    pub fn packets(&self) -> u32 {
        self.fwd_packets + self.bwd_packets
    }

    pub fn is_tcp(&self) -> bool {
        self.ip_protocol == proto::TCP
    }

    pub fn is_udp(&self) -> bool {
        self.ip_protocol == proto::UDP
    }

    /// Whether the source sent an ICMP (IPv4) message of this type.
    pub fn sent_icmp_type(&self, t: u8) -> bool {
        t < 32 && self.fwd_icmp_types & (1 << t) != 0
    }

    pub fn is_icmp(&self) -> bool {
        matches!(self.ip_protocol, proto::ICMP | proto::ICMPV6)
    }

    /// Whether the record's first packet was the source's SYN: the meter saw the connection open,
    /// so each direction's first data is the start of its stream (not the middle of a connection
    /// that began before the capture or the previous flow's timeout).
    pub fn saw_open(&self) -> bool {
        self.is_tcp() && self.first_flags.syn() && !self.first_flags.ack()
    }

    /// Both ends sent something.
    pub fn answered(&self) -> bool {
        self.fwd_packets > 0 && self.bwd_packets > 0
    }

    /// Some payload crossed in either direction.
    pub fn has_payload(&self) -> bool {
        self.fwd_payload + self.bwd_payload > 0
    }

    /// A TCP flow whose responder answered with a reset (a refused connection or a probe of a
    /// closed port).
    pub fn refused(&self) -> bool {
        self.is_tcp() && self.bwd_flags.has(TcpFlags::RST)
    }

    /// A TCP flow that carried no payload and never completed a handshake and a data exchange:
    /// an unanswered SYN, a SYN answered by SYN-ACK or RST, or a lone segment of another kind.
    pub fn half_open(&self) -> bool {
        self.is_tcp() && !self.has_payload() && self.packets() <= 3
    }
}

/// A server segment that begins a 530 reply (`530 ` or the first line of a multi-line `530-`).
fn is_login_rejection(head: &[u8]) -> bool {
    matches!(head, [b'5', b'3', b'0', b' ' | b'-', ..])
}
