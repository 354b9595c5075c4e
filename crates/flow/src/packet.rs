//! A decoded packet: the few header fields the flow meter needs, owned and small (no borrow of the
//! capture buffer), so the decoder and the flow table stay independent.

use crate::opening::PayloadHead;
use std::net::IpAddr;

/// TCP flags as a bit set (the low byte of the TCP flags field).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    #[inline]
    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
}

/// IP protocol numbers we treat specially.
pub mod proto {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ICMPV6: u8 = 58;
}

/// One packet as the flow meter sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Packet {
    /// Capture time in microseconds since the Unix epoch.
    pub ts_us: i64,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Ports for TCP/UDP, 0 otherwise.
    pub src_port: u16,
    pub dst_port: u16,
    /// The real IP protocol number (the cic2018 mode maps non-TCP/UDP to 0 itself).
    pub protocol: u8,
    /// TCP flags; empty for other protocols.
    pub flags: TcpFlags,
    /// Raw TCP window (no scaling); `None` for non-TCP.
    pub window: Option<u16>,
    /// L4 payload bytes, from the IP length fields (so Ethernet padding is not counted).
    pub payload_len: u32,
    /// L4 payload bytes counted from the captured frame instead (Ethernet padding included); the
    /// cic2018 mode uses it for 802.1Q frames, where the 2018 tool skipped the padding trim.
    pub frame_payload_len: u32,
    /// L4 header bytes: TCP data offset × 4, 8 for UDP, 8 for ICMP, 0 otherwise.
    pub header_len: u32,
    /// ICMP/ICMPv6 type and code.
    pub icmp: Option<(u8, u8)>,
    /// The frame carried at least one 802.1Q/QinQ tag.
    pub vlan: bool,
    /// The first bytes of the TCP/UDP payload as captured (empty otherwise): what the flow meter
    /// needs to note each direction's [`crate::opening::Opening`].
    pub head: PayloadHead,
    /// SQL or script in the parameters of the HTTP request this segment starts, or a command,
    /// code or traversal in its text ([`crate::request`]); read from the whole captured segment
    /// while the decoder has it.
    pub injection: Option<crate::request::Injection>,
    /// The segment's data begins with an HTTP/1.x request line: one request of the connection
    /// (keep-alive connections carry many).
    pub http_request: bool,
    /// That request line is a `POST`: a form or an API call sends data (a web login brute force
    /// is one POST of a credential per attempt).
    pub http_post: bool,
    /// That request was read in full ([`crate::request::RequestFacts::read_in_full`]): what
    /// [`Self::injection`] says of its parameters holds for all of them.
    pub http_request_read: bool,
    /// The DNS query this datagram (or TCP segment) sends to port 53 ([`crate::dns::query_in`]).
    pub dns_query: Option<crate::dns::DnsQuery>,
}

impl Packet {
    pub fn is_ipv6(&self) -> bool {
        self.src.is_ipv6()
    }
}
