//! Community ID v1: the flow hash Suricata, Zeek, Arkime and Elastic all compute, so an ml-ids
//! alert joins their records on one string (`1:` + base64 of a SHA-1 over the flow tuple).
//!
//! The algorithm is the one of <https://github.com/corelight/community-id-spec>: a 2-byte seed,
//! the two addresses, the IP protocol, a zero pad byte and the two ports, all in network byte
//! order, with the endpoints ordered so that both directions of a conversation hash alike. ICMP
//! and ICMPv6 have no ports; their type and code stand in for them (Zeek's mapping: a request type
//! is paired with its reply type so request and reply share an ID; other types are one-way and
//! keep the code). Protocols without ports hash without them.
//!
//! Written here rather than taken from a `community-id` crate: it is about sixty lines, and the
//! ICMP case has to follow how our records hold ICMP (ports 0 in the flow key, type and code of
//! the first ICMP packet in [`Exchange`](crate::Exchange)), which a generic crate's tuple type
//! would only obscure.

use crate::packet::proto;
use crate::record::FlowRecord;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use sha1::{Digest, Sha1};
use std::net::IpAddr;

/// SCTP, the one protocol of the spec with ports that [`Packet`](crate::Packet) does not decode.
pub const SCTP: u8 = 132;

/// Community ID v1 of a flow tuple, e.g. `1:wCb3OG7yAFWelaUydu0D+125CLM=`.
///
/// `src`/`dst` are the flow's source and destination (the order matters only for one-way ICMP
/// messages). For ICMP and ICMPv6, `src_port` is the message type and `dst_port` its code, as in the
/// spec's tables; for protocols other than TCP, UDP, SCTP, ICMP and ICMPv6 the ports are ignored.
/// `seed` separates ID domains; 0 is everyone's default.
pub fn community_id(
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    protocol: u8,
    seed: u16,
) -> String {
    let (sp, dp, one_way) = port_equivalents(protocol, src_port, dst_port);
    let (s, d) = (Endpoint::new(&src, sp), Endpoint::new(&dst, dp));
    let (first, second) = if one_way || s.sort_key() <= d.sort_key() {
        (s, d)
    } else {
        (d, s)
    };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(first.addr());
    h.update(second.addr());
    h.update([protocol, 0]);
    if has_ports(protocol) {
        h.update(first.port.to_be_bytes());
        h.update(second.port.to_be_bytes());
    }
    format!("1:{}", STANDARD.encode(h.finalize()))
}

/// A record's Community ID, or `None` where our records do not hold the spec's tuple:
///
/// - SCTP: the decoder reads no SCTP ports, so one record covers every association between two
///   hosts, and an ID without their ports would match no other tool's;
/// - ICMP whose header was never decoded (an IPv6 extension chain that could not be parsed).
///
/// The protocol is the real one (cic2018 reports all but TCP and UDP as 0; the exchange keeps the
/// first packet's). ICMP's type and code are those of the flow's first ICMP packet, taken as sent by
/// the record's source, which holds for every flow but an active-timeout continuation whose first
/// packet came from the destination.
pub fn of_record(r: &FlowRecord, seed: u16) -> Option<String> {
    let protocol = if r.protocol == 0 {
        r.exchange.ip_protocol
    } else {
        r.protocol
    };
    let (sp, dp) = match protocol {
        proto::TCP | proto::UDP => (r.src_port, r.dst_port),
        proto::ICMP | proto::ICMPV6 => {
            let (t, c) = r.exchange.icmp?;
            (u16::from(t), u16::from(c))
        }
        SCTP => return None,
        _ => (0, 0),
    };
    Some(community_id(r.src, r.dst, sp, dp, protocol, seed))
}

/// One end of the tuple: the address in network byte order (4 or 16 bytes) and the port.
struct Endpoint {
    octets: [u8; 16],
    len: usize,
    port: u16,
}

impl Endpoint {
    fn new(ip: &IpAddr, port: u16) -> Endpoint {
        let mut octets = [0u8; 16];
        let len = match ip {
            IpAddr::V4(v4) => {
                octets[..4].copy_from_slice(&v4.octets());
                4
            }
            IpAddr::V6(v6) => {
                octets = v6.octets();
                16
            }
        };
        Endpoint { octets, len, port }
    }

    fn addr(&self) -> &[u8] {
        &self.octets[..self.len]
    }

    /// The spec's order: the smaller address first, the smaller port when the addresses are equal.
    fn sort_key(&self) -> (&[u8], u16) {
        (self.addr(), self.port)
    }
}

/// The protocols whose tuple includes ports (ICMP's being its type and code).
fn has_ports(protocol: u8) -> bool {
    matches!(
        protocol,
        proto::TCP | proto::UDP | SCTP | proto::ICMP | proto::ICMPV6
    )
}

/// The ports the hash sees, and whether the flow is one-way (then the endpoints are not reordered:
/// a one-way ICMP message has no reply to share its ID with, and its sender stays first).
fn port_equivalents(protocol: u8, sport: u16, dport: u16) -> (u16, u16, bool) {
    let counterpart = match protocol {
        proto::ICMP => icmp_counterpart,
        proto::ICMPV6 => icmp6_counterpart,
        _ => return (sport, dport, false),
    };
    let Ok(mtype) = u8::try_from(sport) else {
        return (sport, dport, true);
    };
    match counterpart(mtype) {
        Some(reply) => (sport, u16::from(reply), false),
        None => (sport, dport, true),
    }
}

/// ICMPv4 request/reply pairs: echo, router solicitation/advertisement, timestamp, information,
/// address mask (Zeek's `ICMP4_counterpart`).
fn icmp_counterpart(t: u8) -> Option<u8> {
    Some(match t {
        8 => 0,
        0 => 8,
        10 => 9,
        9 => 10,
        13 => 14,
        14 => 13,
        15 => 16,
        16 => 15,
        17 => 18,
        18 => 17,
        _ => return None,
    })
}

/// ICMPv6 request/reply pairs: echo, multicast listener query/report, router and neighbour
/// discovery, who-are-you, home agent address discovery (Zeek's `ICMP6_counterpart`).
fn icmp6_counterpart(t: u8) -> Option<u8> {
    Some(match t {
        128 => 129,
        129 => 128,
        130 => 131,
        131 => 130,
        133 => 134,
        134 => 133,
        135 => 136,
        136 => 135,
        139 => 140,
        140 => 139,
        144 => 145,
        145 => 144,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    //! The expected strings are published ones, copied as data: the spec's baseline
    //! (corelight/community-id-spec `baseline/`: the README's "Default settings" and "A custom
    //! seed=1 value" tables, whose port columns hold ICMP type and code, and the JSON files) and
    //! the reference implementation's unit tests (corelight/pycommunityid
    //! `tests/communityid_test.py`).
    use super::*;

    const TCP: u8 = 6;
    const UDP: u8 = 17;
    const ICMP: u8 = 1;
    const ICMP6: u8 = 58;
    const RSVP: u8 = 46;
    const V6_A: &str = "fe80:0001:0203:0405:0607:0809:0A0B:0C0D";
    const V6_B: &str = "fe80:1011:1213:1415:1617:1819:1A1B:1C1D";

    /// (proto, src, dst, sport, dport, seed 0, seed 1)
    type Vector = (
        u8,
        &'static str,
        &'static str,
        u16,
        u16,
        &'static str,
        &'static str,
    );

    /// The baseline README's tables (portless rows with ports 0: they are ignored).
    #[rustfmt::skip]
    const BASELINE: &[Vector] = &[
        (TCP, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM=", "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="),
        (TCP, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM=", "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="),
        (UDP, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=", "1:OShq+iKDAMVouh/4bMxB9Sz4amw="),
        (UDP, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=", "1:OShq+iKDAMVouh/4bMxB9Sz4amw="),
        (SCTP, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=", "1:uitchpn5MMGAQKBJh7bIr/bAr7s="),
        (SCTP, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=", "1:uitchpn5MMGAQKBJh7bIr/bAr7s="),
        (ICMP, "1.2.3.4", "5.6.7.8", 8, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=", "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="),
        (ICMP, "5.6.7.8", "1.2.3.4", 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=", "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="),
        (ICMP, "1.2.3.4", "5.6.7.8", 11, 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=", "1:1DD7cWGC/Yg91YGsQeni8du3pIA="),
        (ICMP6, V6_A, V6_B, 128, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", "1:IO27GQzPuCtNnwFvjWALMHu5tJE="),
        (ICMP6, V6_B, V6_A, 129, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=", "1:IO27GQzPuCtNnwFvjWALMHu5tJE="),
        (ICMP6, V6_A, V6_B, 146, 0, "1:fYC8+pz24E+EhANP1EZhpX0Dw10=", "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s="),
        (RSVP, "1.2.3.4", "5.6.7.8", 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=", "1:/buhqeOmaRCopOZFy9HnoJd5XW8="),
        (RSVP, "5.6.7.8", "1.2.3.4", 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=", "1:/buhqeOmaRCopOZFy9HnoJd5XW8="),
        (RSVP, V6_A, V6_B, 0, 0, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=", "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM="),
        (RSVP, V6_B, V6_A, 0, 0, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=", "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM="),
    ];

    /// The reference implementation's cases the tables do not cover: an ICMP type without a reply
    /// (its code counts), a reply whose code is ignored, ICMPv6 neighbour discovery and a one-way
    /// type from either side, SCTP, TCP and UDP on real addresses, a low port (pycommunityid
    /// issue 3) and a portless protocol on IPv4.
    #[rustfmt::skip]
    const REFERENCE: &[Vector] = &[
        (ICMP, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="),
        (ICMP, "192.168.0.1", "192.168.0.89", 0, 8, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="),
        (ICMP, "192.168.0.89", "192.168.0.1", 20, 0, "1:3o2RFccXzUgjl7zDpqmY7yJi8rI=", "1:lCXHHxavE1Vq3oX9NH5ladQg02o="),
        (ICMP, "192.168.0.89", "192.168.0.1", 20, 1, "1:tz/fHIDUHs19NkixVVoOZywde+I=", "1:Ie3wmFyxiEyikbsbcO03d2nh+PM="),
        (ICMP, "192.168.0.1", "192.168.0.89", 0, 20, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="),
        (ICMP6, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="),
        (ICMP6, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 0, "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="),
        (ICMP6, "3ffe:507:0:1:260:97ff:fe07:69ea", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:NdobDX8PQNJbAyfkWxhtL2Pqp5w=", "1:OlOWx9psIbBFi7lOCw/4MhlKR9M="),
        (ICMP6, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:507:0:1:260:97ff:fe07:69ea", 3, 0, "1:/OGBt9BN1ofenrmSPWYicpij2Vc=", "1:Ij4ZxnC87/MXzhOjvH2vHu7LRmE="),
        (SCTP, "192.168.170.8", "192.168.170.56", 7, 80, "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=", "1:Y1/0jQg6e+I3ZwZZ9LP65DNbTXU="),
        (SCTP, "192.168.170.56", "192.168.170.8", 80, 7, "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=", "1:Y1/0jQg6e+I3ZwZZ9LP65DNbTXU="),
        (TCP, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="),
        (TCP, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="),
        (TCP, "10.0.0.1", "10.0.0.2", 10, 11569, "1:SXBGMX1lBOwhhoDrZynfROxnhnM=", "1:HmBRGR+fUyXF4t8WEtal7Y0gEAo="),
        (UDP, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="),
        (UDP, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="),
        (RSVP, "10.1.24.4", "10.1.12.1", 0, 0, "1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4=", "1:BK3BVW3U2eemuwVQVN3zd/GULno="),
        (RSVP, "10.1.12.1", "10.1.24.4", 0, 0, "1:/nQI4Rh/TtY3mf0R2gJFBkVlgS4=", "1:BK3BVW3U2eemuwVQVN3zd/GULno="),
    ];

    /// The baseline JSON files (`baseline_deflt.json`, `baseline_seed1.json`: the reference tool
    /// run over the spec's `pcaps/combined.pcap.gz`), rows the tables above do not already have.
    /// Their ICMP "ports" are the mapped ones; as type and code they give the same IDs (a request
    /// type's code is ignored, a one-way type's mapped ports are its type and code).
    #[rustfmt::skip]
    const PCAP_BASELINE: &[Vector] = &[
        (ICMP6, "fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 136, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="),
        (ICMP6, "fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 136, 135, "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="),
        (ICMP6, "3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0, "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4="),
        (ICMP6, "3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4, "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8="),
        (ICMP6, "3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 129, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="),
        (ICMP6, "3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 128, "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="),
        (ICMP6, "fe80::200:86ff:fe05:80da", "ff02::2", 133, 134, "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8="),
        (ICMP6, "fe80::260:97ff:fe07:69ea", "ff02::1", 134, 133, "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc="),
        (ICMP, "10.0.0.1", "10.0.0.2", 11, 0, "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20="),
        (TCP, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="),
        (TCP, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="),
        (SCTP, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="),
        (SCTP, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="),
        (RSVP, "10.1.12.1", "10.1.12.2", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="),
        (RSVP, "10.1.12.2", "10.1.12.1", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="),
    ];

    fn check(vectors: &[Vector]) {
        for &(p, s, d, sp, dp, seed0, seed1) in vectors {
            let (s, d) = (s.parse().unwrap(), d.parse().unwrap());
            let row = format!("proto {p} {s} {sp} -> {d} {dp}");
            assert_eq!(community_id(s, d, sp, dp, p, 0), seed0, "{row}, seed 0");
            assert_eq!(community_id(s, d, sp, dp, p, 1), seed1, "{row}, seed 1");
        }
    }

    #[test]
    fn the_spec_baseline_tables() {
        check(BASELINE);
    }

    #[test]
    fn the_reference_implementations_cases() {
        check(REFERENCE);
    }

    #[test]
    fn the_spec_baseline_capture() {
        check(PCAP_BASELINE);
    }

    #[test]
    fn portless_protocols_ignore_the_ports_they_are_given() {
        let (s, d) = ("1.2.3.4".parse().unwrap(), "5.6.7.8".parse().unwrap());
        assert_eq!(
            community_id(s, d, 1234, 80, RSVP, 0),
            community_id(s, d, 0, 0, RSVP, 0)
        );
    }
}
