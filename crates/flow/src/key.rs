//! Flow keys: which packets share a flow record.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A bidirectional flow key: endpoints in a canonical order, so both directions hash alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub a: [u8; 16],
    pub b: [u8; 16],
    pub port_a: u16,
    pub port_b: u16,
    pub protocol: u8,
    pub v6: bool,
}

pub(crate) fn ip_bytes(ip: &IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v4.octets());
            b
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

pub(crate) fn ip_from_bytes(b: &[u8; 16], v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(*b))
    } else {
        IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    }
}

impl FlowKey {
    /// The CICFlowMeter 2018 key (its Flow ID): the addresses compared byte by byte as *signed* Java
    /// bytes; the packet's own order is kept when src < dst or when the addresses are equal (so
    /// host-to-self traffic with swapped ports gets two keys, as in the 2018 tool).
    pub fn cic2018(src: &IpAddr, dst: &IpAddr, sport: u16, dport: u16, protocol: u8) -> FlowKey {
        let (s, d) = (ip_bytes(src), ip_bytes(dst));
        let len = if src.is_ipv6() { 16 } else { 4 };
        let mut forward = true;
        for i in 0..len {
            let (x, y) = (s[i] as i8, d[i] as i8);
            if x != y {
                forward = x < y;
                break;
            }
        }
        let v6 = src.is_ipv6();
        if forward {
            FlowKey {
                a: s,
                b: d,
                port_a: sport,
                port_b: dport,
                protocol,
                v6,
            }
        } else {
            FlowKey {
                a: d,
                b: s,
                port_a: dport,
                port_b: sport,
                protocol,
                v6,
            }
        }
    }

    /// The corrected key: (address, port) pairs in unsigned order, so every conversation, host-to-self
    /// included, has exactly one key.
    pub fn corrected(src: &IpAddr, dst: &IpAddr, sport: u16, dport: u16, protocol: u8) -> FlowKey {
        let (s, d) = (ip_bytes(src), ip_bytes(dst));
        let v6 = src.is_ipv6();
        if (s, sport) <= (d, dport) {
            FlowKey {
                a: s,
                b: d,
                port_a: sport,
                port_b: dport,
                protocol,
                v6,
            }
        } else {
            FlowKey {
                a: d,
                b: s,
                port_a: dport,
                port_b: sport,
                protocol,
                v6,
            }
        }
    }

    pub fn ip_a(&self) -> IpAddr {
        ip_from_bytes(&self.a, self.v6)
    }
    pub fn ip_b(&self) -> IpAddr {
        ip_from_bytes(&self.b, self.v6)
    }

    /// `ipA-ipB-portA-portB-proto`, the CICFlowMeter Flow ID string.
    pub fn flow_id(&self) -> String {
        format!(
            "{}-{}-{}-{}-{}",
            self.ip_a(),
            self.ip_b(),
            self.port_a,
            self.port_b,
            self.protocol
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cic2018_order_uses_signed_bytes() {
        // 172.x (0xac, negative as a Java byte) sorts before 10.x.
        let s: IpAddr = "10.0.0.1".parse().unwrap();
        let d: IpAddr = "172.31.0.2".parse().unwrap();
        let k = FlowKey::cic2018(&s, &d, 1000, 80, 6);
        assert_eq!(k.flow_id(), "172.31.0.2-10.0.0.1-80-1000-6");
        // Both directions share the key.
        assert_eq!(k, FlowKey::cic2018(&d, &s, 80, 1000, 6));
    }

    #[test]
    fn cic2018_self_traffic_gets_two_keys() {
        let h: IpAddr = "127.0.0.1".parse().unwrap();
        assert_ne!(
            FlowKey::cic2018(&h, &h, 1000, 80, 6),
            FlowKey::cic2018(&h, &h, 80, 1000, 6)
        );
        assert_eq!(
            FlowKey::corrected(&h, &h, 1000, 80, 6),
            FlowKey::corrected(&h, &h, 80, 1000, 6)
        );
    }
}
