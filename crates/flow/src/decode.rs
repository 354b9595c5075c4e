//! Frame → [`Packet`]: link layer, IP, transport.
//!
//! etherparse does the IP and transport slicing; the link layers it does not know (Linux SLL2, BSD
//! null/loopback, raw IP) are a few fixed-size headers handled here. Anything that is not IPv4/IPv6
//! becomes a [`SkipReason`] so the caller can count it: every packet read is either decoded or
//! skipped for a named reason.
//!
//! IP fragments are not reassembled: a first fragment (offset 0) carries the L4 header and is
//! attributed to its flow with the bytes it carries; later fragments have no ports and are skipped as
//! [`SkipReason::IpFragment`].

use crate::opening::{Opening, PayloadHead};
use crate::packet::{proto, Packet, TcpFlags};
use etherparse::{
    EtherType, Ethernet2Slice, Ipv6ExtensionSlice, LaxIpSlice, SingleVlanSlice, TcpSlice,
};
use std::net::IpAddr;

/// libpcap link-type numbers we decode.
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const RAW_BSD: u32 = 12;
    pub const RAW_OPENBSD: u32 = 14;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;

    /// The libpcap name of a link type, for skip counters.
    pub fn name(lt: u32) -> String {
        let known = match lt {
            0 => "NULL",
            1 => "ETHERNET",
            6 => "IEEE802_5",
            8 => "SLIP",
            9 => "PPP",
            10 => "FDDI",
            12 | 14 | 101 => "RAW",
            50 => "PPP_HDLC",
            51 => "PPP_ETHER",
            104 => "C_HDLC",
            105 => "IEEE802_11",
            107 => "FRELAY",
            108 => "LOOP",
            113 => "LINUX_SLL",
            119 => "IEEE802_11_PRISM",
            127 => "IEEE802_11_RADIOTAP",
            147..=162 => "USER",
            163 => "IEEE802_11_AVS",
            187 => "BLUETOOTH_HCI_H4",
            192 => "PPI",
            195 => "IEEE802_15_4",
            201 => "BLUETOOTH_HCI_H4_WITH_PHDR",
            220 => "USB_LINUX_MMAPPED",
            228 => "IPV4",
            229 => "IPV6",
            239 => "NFLOG",
            252 => "WIRESHARK_UPPER_PDU",
            276 => "LINUX_SLL2",
            _ => return format!("LINKTYPE_{lt}"),
        };
        known.to_string()
    }
}

/// Why a frame did not become a [`Packet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// A link type we do not decode (the number is the libpcap link type).
    LinkType(u32),
    /// The frame is too short for its link-layer header.
    TruncatedLink,
    /// A link-layer protocol that is not IP (ARP, LLDP, …).
    NotIp,
    /// The IP header is malformed or cut off.
    BadIp,
    /// The transport header is malformed or cut off.
    BadTransport,
    /// A non-first IP fragment (no L4 header to key a flow on).
    IpFragment,
    /// IPv6, which the cic2018 mode ignores as the 2018 tool did.
    Ipv6Ignored,
}

impl SkipReason {
    /// A stable, human-readable label for summaries and metrics.
    pub fn label(self) -> String {
        match self {
            SkipReason::LinkType(lt) => format!("link type {}", linktype::name(lt)),
            SkipReason::TruncatedLink => "truncated link header".into(),
            SkipReason::NotIp => "not IP".into(),
            SkipReason::BadIp => "malformed IP header".into(),
            SkipReason::BadTransport => "malformed transport header".into(),
            SkipReason::IpFragment => "non-first IP fragment".into(),
            SkipReason::Ipv6Ignored => "IPv6 (ignored in cic2018 mode)".into(),
        }
    }
}

/// 802.1Q, 802.1ad (QinQ) and the old 0x9100 double-tag EtherTypes.
const VLAN_ETHERTYPES: [u16; 3] = [0x8100, 0x88a8, 0x9100];

/// The link layer of a frame: (EtherType of the network layer, network-layer bytes, VLAN-tagged).
fn link_layer(linktype: u32, frame: &[u8]) -> Result<(EtherType, &[u8], bool), SkipReason> {
    Ok(match linktype {
        linktype::ETHERNET => {
            let eth = Ethernet2Slice::from_slice_without_fcs(frame)
                .map_err(|_| SkipReason::TruncatedLink)?;
            let mut et = eth.ether_type();
            let mut rest = eth.payload_slice();
            let mut vlan = false;
            while VLAN_ETHERTYPES.contains(&et.0) {
                let tag =
                    SingleVlanSlice::from_slice(rest).map_err(|_| SkipReason::TruncatedLink)?;
                et = tag.ether_type();
                rest = tag.payload_slice();
                vlan = true;
            }
            (et, rest, vlan)
        }
        linktype::LINUX_SLL => {
            // 16-byte cooked header; the protocol (an EtherType) is in the last two bytes.
            let hdr = frame.get(..16).ok_or(SkipReason::TruncatedLink)?;
            (
                EtherType(u16::from_be_bytes([hdr[14], hdr[15]])),
                &frame[16..],
                false,
            )
        }
        linktype::LINUX_SLL2 => {
            // 20-byte cooked header v2; the protocol is in the first two bytes.
            let hdr = frame.get(..20).ok_or(SkipReason::TruncatedLink)?;
            (
                EtherType(u16::from_be_bytes([hdr[0], hdr[1]])),
                &frame[20..],
                false,
            )
        }
        linktype::NULL | linktype::LOOP => {
            // 4-byte address family: host byte order for NULL, network order for LOOP. Either way
            // the value is small, so read both orders and take the one that is.
            let hdr = frame.get(..4).ok_or(SkipReason::TruncatedLink)?;
            let le = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            let be = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            let et = match if le < 256 { le } else { be } {
                2 => EtherType::IPV4,
                // AF_INET6 differs per OS: 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS), 10 (Linux).
                10 | 24 | 28 | 30 => EtherType::IPV6,
                _ => return Err(SkipReason::NotIp),
            };
            (et, &frame[4..], false)
        }
        linktype::RAW
        | linktype::RAW_BSD
        | linktype::RAW_OPENBSD
        | linktype::IPV4
        | linktype::IPV6 => match frame.first().map(|b| b >> 4) {
            Some(4) => (EtherType::IPV4, frame, false),
            Some(6) => (EtherType::IPV6, frame, false),
            _ => return Err(SkipReason::BadIp),
        },
        other => return Err(SkipReason::LinkType(other)),
    })
}

/// Decode one captured frame of the given link type.
///
/// Uses etherparse's per-layer slices rather than its all-layers `SlicedPacket`: the latter is a
/// ~400-byte value moved several times per packet, which cost 10% of extract time.
pub fn decode(linktype: u32, ts_us: i64, frame: &[u8]) -> Result<Packet, SkipReason> {
    let (ether_type, l3, vlan) = link_layer(linktype, frame)?;
    if ether_type != EtherType::IPV4 && ether_type != EtherType::IPV6 {
        return Err(SkipReason::NotIp);
    }
    let (ip, ext_err) = LaxIpSlice::from_slice(l3).map_err(|_| SkipReason::BadIp)?;
    let expected_version = if ether_type == EtherType::IPV4 { 4 } else { 6 };
    if l3[0] >> 4 != expected_version {
        return Err(SkipReason::BadIp);
    }
    let (src, dst): (IpAddr, IpAddr) = (ip.source_addr(), ip.destination_addr());
    let payload = ip.payload();
    if fragment_offset(&ip) != 0 {
        return Err(SkipReason::IpFragment);
    }
    // L3 payload length: from the IP length fields when the capture was cut short (snaplen), from
    // the slice otherwise (etherparse already cut it to the IP length, trimming Ethernet padding, and
    // falls back to the slice when a TSO capture left the length field 0).
    let l3_len = if payload.incomplete {
        declared_l3_payload_len(&ip)
    } else {
        payload.payload.len() as u32
    };
    // Where the frame ends, to compute "payload including padding".
    let frame_end = frame.as_ptr() as usize + frame.len();
    let protocol = payload.ip_number.0;
    let mut pkt = Packet {
        ts_us,
        src,
        dst,
        src_port: 0,
        dst_port: 0,
        protocol,
        flags: TcpFlags::default(),
        window: None,
        payload_len: l3_len,
        frame_payload_len: 0,
        header_len: 0,
        icmp: None,
        vlan,
        head: PayloadHead::default(),
        injection: None,
        http_request: false,
        http_post: false,
        http_request_read: false,
        dns_query: None,
    };
    let body = payload.payload;
    // An IPv6 extension header that could not be parsed leaves the transport unknown.
    let transport_ok = ext_err.is_none();
    let l4_payload_start = match protocol {
        proto::TCP if transport_ok => {
            let tcp = TcpSlice::from_slice(body).map_err(|_| SkipReason::BadTransport)?;
            let hl = tcp.header_slice().len() as u32;
            pkt.src_port = tcp.source_port();
            pkt.dst_port = tcp.destination_port();
            pkt.flags = TcpFlags(tcp.header_slice()[13]);
            pkt.window = Some(tcp.window_size());
            pkt.header_len = hl;
            pkt.payload_len = l3_len.saturating_sub(hl);
            body.as_ptr() as usize + hl as usize
        }
        proto::UDP if transport_ok => {
            let udp = body.get(..8).ok_or(SkipReason::BadTransport)?;
            pkt.src_port = u16::from_be_bytes([udp[0], udp[1]]);
            pkt.dst_port = u16::from_be_bytes([udp[2], udp[3]]);
            pkt.header_len = 8;
            pkt.payload_len = l3_len.saturating_sub(8);
            body.as_ptr() as usize + 8
        }
        proto::TCP | proto::UDP => return Err(SkipReason::BadTransport),
        proto::ICMP | proto::ICMPV6 if transport_ok => {
            // Type and code are the first two bytes; the fixed ICMP header is 8 bytes.
            let tc = body.get(..2).ok_or(SkipReason::BadTransport)?;
            pkt.icmp = Some((tc[0], tc[1]));
            let hl = if body.len() >= 8 || payload.incomplete {
                8
            } else {
                0
            };
            pkt.header_len = hl;
            pkt.payload_len = l3_len.saturating_sub(hl);
            body.as_ptr() as usize + hl as usize
        }
        _ => body.as_ptr() as usize,
    };
    pkt.frame_payload_len = frame_end.saturating_sub(l4_payload_start) as u32;
    if matches!(protocol, proto::TCP | proto::UDP) {
        // The payload's captured bytes, without the Ethernet padding that may follow them.
        let start = l4_payload_start - frame.as_ptr() as usize;
        let end = frame
            .len()
            .min(start.saturating_add(pkt.payload_len as usize));
        let data = frame.get(start..end).unwrap_or_default();
        pkt.head = PayloadHead::of(data);
        pkt.dns_query = crate::dns::query_in(protocol == proto::TCP, pkt.dst_port, data);
        if protocol == proto::TCP
            && Opening::of(pkt.head.as_bytes(), pkt.payload_len) == Opening::HttpRequest
        {
            pkt.http_request = true;
            pkt.http_post = data.starts_with(b"POST ");
            let facts = crate::request::inspect_request(data, pkt.payload_len);
            pkt.injection = facts.injection;
            pkt.http_request_read = facts.read_in_full;
        }
    }
    Ok(pkt)
}

/// Fragment offset in 8-byte units (0 for unfragmented packets and first fragments).
fn fragment_offset(ip: &LaxIpSlice<'_>) -> u16 {
    match ip {
        LaxIpSlice::Ipv4(v4) => v4.header().fragments_offset().value(),
        LaxIpSlice::Ipv6(v6) => {
            if !v6.payload().fragmented {
                return 0;
            }
            v6.extensions()
                .clone()
                .into_iter()
                .find_map(|e| match e {
                    Ipv6ExtensionSlice::Fragment(f) => Some(f.fragment_offset().value()),
                    _ => None,
                })
                .unwrap_or(0)
        }
    }
}

/// The L3 payload length the IP header declares (used when the capture was truncated by snaplen).
fn declared_l3_payload_len(ip: &LaxIpSlice<'_>) -> u32 {
    match ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            u32::from(h.total_len()).saturating_sub(u32::from(h.ihl()) * 4)
        }
        LaxIpSlice::Ipv6(v6) => u32::from(v6.header().payload_length())
            .saturating_sub(v6.extensions().slice().len() as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet + IPv4 + TCP SYN with 6 bytes of Ethernet padding (a 54-byte frame padded to 60).
    fn eth_ipv4_tcp_padded() -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        // IPv4, IHL 5, total length 40 (20 IP + 20 TCP), proto 6, 10.0.0.1 -> 10.0.0.2
        f.extend_from_slice(&[
            0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]);
        // TCP 1234 -> 80, data offset 5, SYN, window 8192
        f.extend_from_slice(&[
            0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0x00, 0, 0, 0, 0,
        ]);
        f.extend_from_slice(&[0u8; 6]);
        f
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let p = decode(linktype::ETHERNET, 7, &eth_ipv4_tcp_padded()).unwrap();
        assert_eq!(p.payload_len, 0);
        assert_eq!(p.frame_payload_len, 6);
        assert_eq!(p.header_len, 20);
        assert_eq!((p.src_port, p.dst_port, p.protocol), (1234, 80, 6));
        assert!(p.flags.syn() && !p.flags.ack());
        assert_eq!(p.window, Some(8192));
        assert!(!p.vlan);
    }

    #[test]
    fn unknown_link_type_is_named() {
        assert_eq!(decode(105, 0, &[0u8; 40]), Err(SkipReason::LinkType(105)));
        assert_eq!(SkipReason::LinkType(105).label(), "link type IEEE802_11");
    }

    #[test]
    fn arp_is_not_ip() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x06]);
        f.extend_from_slice(&[0u8; 28]);
        assert_eq!(decode(linktype::ETHERNET, 0, &f), Err(SkipReason::NotIp));
    }
}
