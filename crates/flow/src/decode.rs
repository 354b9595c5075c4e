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

use crate::packet::{proto, Packet, TcpFlags};
use etherparse::{
    EtherType, Ipv6ExtensionSlice, LaxIpSlice, LaxLinkExtSlice, LaxNetSlice, LaxSlicedPacket,
    TransportSlice,
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

/// Decode one captured frame of the given link type.
pub fn decode(linktype: u32, ts_us: i64, frame: &[u8]) -> Result<Packet, SkipReason> {
    let sliced = match linktype {
        linktype::ETHERNET => {
            LaxSlicedPacket::from_ethernet(frame).map_err(|_| SkipReason::TruncatedLink)?
        }
        linktype::LINUX_SLL => {
            // 16-byte cooked header; the protocol (an EtherType) is in the last two bytes.
            let hdr = frame.get(..16).ok_or(SkipReason::TruncatedLink)?;
            let et = u16::from_be_bytes([hdr[14], hdr[15]]);
            LaxSlicedPacket::from_ether_type(EtherType(et), &frame[16..])
        }
        linktype::LINUX_SLL2 => {
            // 20-byte cooked header v2; the protocol is in the first two bytes.
            let hdr = frame.get(..20).ok_or(SkipReason::TruncatedLink)?;
            let et = u16::from_be_bytes([hdr[0], hdr[1]]);
            LaxSlicedPacket::from_ether_type(EtherType(et), &frame[20..])
        }
        linktype::NULL | linktype::LOOP => {
            // 4-byte address family: host byte order for NULL, network order for LOOP. Either way
            // the value is small, so read both orders and take the one that is.
            let hdr = frame.get(..4).ok_or(SkipReason::TruncatedLink)?;
            let le = u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            let be = u32::from_be_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]);
            let family = if le < 256 { le } else { be };
            let et = match family {
                2 => EtherType::IPV4,
                // AF_INET6 differs per BSD: 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS), 10 (Linux).
                10 | 24 | 28 | 30 => EtherType::IPV6,
                _ => return Err(SkipReason::NotIp),
            };
            LaxSlicedPacket::from_ether_type(et, &frame[4..])
        }
        linktype::RAW
        | linktype::RAW_BSD
        | linktype::RAW_OPENBSD
        | linktype::IPV4
        | linktype::IPV6 => match frame.first().map(|b| b >> 4) {
            Some(4) => LaxSlicedPacket::from_ether_type(EtherType::IPV4, frame),
            Some(6) => LaxSlicedPacket::from_ether_type(EtherType::IPV6, frame),
            _ => return Err(SkipReason::BadIp),
        },
        other => return Err(SkipReason::LinkType(other)),
    };
    let vlan = sliced
        .link_exts
        .iter()
        .any(|e| matches!(e, LaxLinkExtSlice::Vlan(_)));
    let ip = match &sliced.net {
        Some(LaxNetSlice::Ipv4(v4)) => LaxIpSlice::Ipv4(v4.clone()),
        Some(LaxNetSlice::Ipv6(v6)) => LaxIpSlice::Ipv6(v6.clone()),
        Some(LaxNetSlice::Arp(_)) => return Err(SkipReason::NotIp),
        None => {
            return Err(match sliced.stop_err {
                Some(_) => SkipReason::BadIp,
                None => SkipReason::NotIp,
            })
        }
    };
    let (src, dst): (IpAddr, IpAddr) = (ip.source_addr(), ip.destination_addr());
    let payload = ip.payload();
    let (fragment_offset, _) = fragment_info(&ip);
    if fragment_offset != 0 {
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
    // Where the L3 payload ends in the frame, to compute "payload including padding".
    let frame_end = frame.as_ptr() as usize + frame.len();
    let protocol = payload.ip_number.0;

    let transport = match sliced.transport {
        Some(t) => Some(t),
        // etherparse does not slice a fragmented payload; a first fragment still has its header.
        None if payload.fragmented => slice_transport(protocol, payload.payload),
        None => None,
    };
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
    };
    let l4_payload_start = match transport {
        Some(TransportSlice::Tcp(tcp)) => {
            let hl = tcp.header_slice().len() as u32;
            pkt.src_port = tcp.source_port();
            pkt.dst_port = tcp.destination_port();
            pkt.flags = TcpFlags(tcp.header_slice()[13]);
            pkt.window = Some(tcp.window_size());
            pkt.header_len = hl;
            pkt.payload_len = l3_len.saturating_sub(hl);
            tcp.payload().as_ptr() as usize
        }
        Some(TransportSlice::Udp(udp)) => {
            pkt.src_port = udp.source_port();
            pkt.dst_port = udp.destination_port();
            pkt.header_len = 8;
            pkt.payload_len = l3_len.saturating_sub(8);
            udp.header_slice().as_ptr() as usize + 8
        }
        Some(TransportSlice::Icmpv4(icmp)) => {
            pkt.icmp = Some((icmp.type_u8(), icmp.code_u8()));
            pkt.header_len = 8;
            pkt.payload_len = l3_len.saturating_sub(8);
            icmp.slice().as_ptr() as usize + 8
        }
        Some(TransportSlice::Icmpv6(icmp)) => {
            pkt.icmp = Some((icmp.type_u8(), icmp.code_u8()));
            pkt.header_len = 8;
            pkt.payload_len = l3_len.saturating_sub(8);
            icmp.slice().as_ptr() as usize + 8
        }
        _ if matches!(protocol, proto::TCP | proto::UDP) => return Err(SkipReason::BadTransport),
        _ if matches!(protocol, proto::ICMP | proto::ICMPV6) => {
            // Too short for etherparse's 8-byte ICMP header; type and code may still be there.
            let p = payload.payload;
            if p.len() < 2 {
                return Err(SkipReason::BadTransport);
            }
            pkt.icmp = Some((p[0], p[1]));
            pkt.header_len = 0;
            p.as_ptr() as usize
        }
        _ => payload.payload.as_ptr() as usize,
    };
    pkt.frame_payload_len = frame_end.saturating_sub(l4_payload_start) as u32;
    Ok(pkt)
}

/// Slice the transport header of a first IP fragment ourselves.
fn slice_transport(protocol: u8, payload: &[u8]) -> Option<TransportSlice<'_>> {
    match protocol {
        proto::TCP => etherparse::TcpSlice::from_slice(payload)
            .ok()
            .map(TransportSlice::Tcp),
        proto::UDP => etherparse::UdpSlice::from_slice_lax(payload)
            .ok()
            .map(TransportSlice::Udp),
        _ => None,
    }
}

/// (fragment offset in 8-byte units, more-fragments flag)
fn fragment_info(ip: &LaxIpSlice<'_>) -> (u16, bool) {
    match ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            (h.fragments_offset().value(), h.more_fragments())
        }
        LaxIpSlice::Ipv6(v6) => v6
            .extensions()
            .clone()
            .into_iter()
            .find_map(|e| match e {
                Ipv6ExtensionSlice::Fragment(f) => {
                    Some((f.fragment_offset().value(), f.more_fragments()))
                }
                _ => None,
            })
            .unwrap_or((0, false)),
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
