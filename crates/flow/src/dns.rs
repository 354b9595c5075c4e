//! What a DNS query says about itself: the first step of the DNS-tunnel check (docs/models.md,
//! "Not done yet").
//!
//! A DNS tunnel (iodine, dnscat2, a one-shot exfiltration script) carries its data in the names it
//! asks for and fetches the answers as record types a stub resolver rarely asks for. Both facts
//! sit in the question section of each query, so this module reads only that: the first question's
//! type and the longest run of name characters without a label break, a dash or an underscore.
//! Measured over every UDP query to port 53 or 5353 in `../shared/data/pcap` (430 sockets): the
//! longest such run in benign traffic is 32 characters (a hash label at Nintendo's service, a
//! NetBIOS wildcard name), while dnscat2's hex labels run 56–60 characters, iodine's case probe 56
//! and a base64 exfiltration label 57; an mDNS service UUID, 36 characters long, runs 12.
//!
//! Written here rather than taken from a DNS crate: a question section is a dozen lines to read,
//! and the crates that parse DNS build the whole message (allocating each name), per packet.

/// The record types a stub resolver rarely asks for but tunnels fetch their downstream data in:
/// NULL (iodine's default), TXT, MX and CNAME (dnscat2 cycles through them), and the private-use
/// range (RFC 6895 §3.1).
pub fn is_tunnel_type(qtype: u16) -> bool {
    matches!(qtype, 5 | 10 | 15 | 16) || qtype >= 65280
}

/// The first question of a DNS query message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsQuery {
    /// QTYPE of the first question (RFC 1035 §4.1.2).
    pub qtype: u16,
    /// The longest run of name characters without a label break, `-` or `_`: encoded data comes in
    /// long unbroken runs, host and service names in words.
    pub longest_run: u8,
}

/// Read `message` (a DNS message as UDP carries it, without TCP's length prefix) as a query.
/// `None` when it is a response, carries no question, or its first name is cut off, compressed
/// (a query's first name never is) or longer than RFC 1035 allows.
pub fn read_query(message: &[u8]) -> Option<DnsQuery> {
    let header = message.get(..12)?;
    let is_response = header[2] & 0x80 != 0;
    let questions = u16::from_be_bytes([header[4], header[5]]);
    if is_response || questions == 0 {
        return None;
    }
    let mut at = 12;
    let (mut longest_run, mut name_len) = (0usize, 0usize);
    loop {
        let len = usize::from(*message.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None; // a compression pointer or a reserved label type
        }
        name_len += len + 1;
        if name_len > 255 {
            return None;
        }
        let mut run = 0;
        for &c in message.get(at..at + len)? {
            run = if c == b'-' || c == b'_' { 0 } else { run + 1 };
            longest_run = longest_run.max(run);
        }
        at += len;
    }
    let qtype = message.get(at..at + 2)?;
    Some(DnsQuery {
        qtype: u16::from_be_bytes([qtype[0], qtype[1]]),
        longest_run: longest_run as u8,
    })
}

/// The DNS server port: the tunnel check reads queries sent to it only (mDNS on 5353 is service
/// discovery, whose PTR and ANY bursts are benign, and a tunnel on another port needs a resolver
/// path it would not have).
pub const DNS_PORT: u16 = 53;

/// The query a segment carries, when it is sent to [`DNS_PORT`]: the whole datagram for UDP, the
/// message after the 2-byte length prefix for TCP (RFC 1035 §4.2.2; only a message that starts a
/// segment is read, which is how clients send them).
pub fn query_in(tcp: bool, dst_port: u16, data: &[u8]) -> Option<DnsQuery> {
    if dst_port != DNS_PORT {
        return None;
    }
    read_query(if tcp { data.get(2..)? } else { data })
}

/// The queries one side of a flow sent, as the tunnel check counts them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsQueries {
    pub queries: u16,
    /// Those of them asking for a type [`is_tunnel_type`] names.
    pub tunnel_types: u16,
    /// The longest run of any of their names: one run of [`DnsQueries::DATA_RUN`] or more is
    /// enough to call the socket's queries data, so no count of such names is kept (the flow
    /// state has a size budget, `flow::tests::flow_state_stays_small`).
    pub longest_run: u8,
}

impl DnsQueries {
    /// A run this long is encoded data, not a name: benign names in the shared captures run at
    /// most 32 characters (a hash label, a NetBIOS wildcard), tunnels 56–60.
    pub const DATA_RUN: u8 = 40;
    /// Queries a client socket sends before its record types count: no benign socket in the
    /// shared captures sent more than 8 to port 53, iodine sent 181 on one.
    pub const MANY_QUERIES: u16 = 16;

    pub fn add(&mut self, q: DnsQuery) {
        self.queries = self.queries.saturating_add(1);
        self.tunnel_types = self
            .tunnel_types
            .saturating_add(u16::from(is_tunnel_type(q.qtype)));
        self.longest_run = self.longest_run.max(q.longest_run);
    }

    /// The socket's queries carry data: a name that is encoded data, or many queries of which at
    /// least half fetch a type tunnels use for their downstream (iodine's NULL queries name only
    /// short labels; its data is in the answers).
    pub fn look_like_a_tunnel(&self) -> bool {
        self.longest_run >= Self::DATA_RUN
            || (self.queries >= Self::MANY_QUERIES && 2 * self.tunnel_types >= self.queries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A query message for `labels` with QTYPE `qtype`, built from RFC 1035 §4.1.
    fn query(labels: &[&str], qtype: u16) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in labels {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.push(0);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m
    }

    #[test]
    fn reads_the_type_and_the_longest_unbroken_run() {
        let q = read_query(&query(&["www", "example", "com"], 1)).unwrap();
        assert_eq!(
            q,
            DnsQuery {
                qtype: 1,
                longest_run: 7
            }
        );
        // dnscat2's first query in nDPI's bad-dns-traffic.pcap: a 56-character hex label, MX.
        let hex = "05e100a621c3620001636f6e736f6c65202873697276696d65732900";
        let q = read_query(&query(&[hex, "skullseclabs", "org"], 15)).unwrap();
        assert_eq!((q.qtype, q.longest_run), (15, 56));
        assert!(is_tunnel_type(q.qtype));
        // Dashes and underscores break a run: an mDNS service UUID is words, not data.
        let uuid = "79d88e83-725c-b71b-bad0-5862d5b22386";
        let q = read_query(&query(&[uuid, "_googlezone", "_tcp", "local"], 33)).unwrap();
        assert_eq!(q.longest_run, 12);
        assert!(!is_tunnel_type(1) && !is_tunnel_type(28) && is_tunnel_type(10));
    }

    #[test]
    fn responses_and_damaged_names_are_not_queries() {
        let mut response = query(&["example", "com"], 1);
        response[2] |= 0x80;
        assert_eq!(read_query(&response), None);
        let mut no_question = query(&["example", "com"], 1);
        no_question[5] = 0;
        assert_eq!(read_query(&no_question), None);
        let mut pointer = query(&["example", "com"], 1);
        pointer[12] = 0xc0;
        assert_eq!(read_query(&pointer), None);
        let whole = query(&["example", "com"], 1);
        for cut in 0..whole.len() - 3 {
            assert_eq!(read_query(&whole[..cut]), None, "cut at {cut}");
        }
        let too_long = query(&["a".repeat(63).as_str(); 5], 1);
        assert_eq!(read_query(&too_long), None);
    }

    #[test]
    fn a_socket_looks_like_a_tunnel_by_its_names_or_its_record_types() {
        let (name, data, null) = (
            DnsQuery {
                qtype: 1,
                longest_run: 32,
            },
            DnsQuery {
                qtype: 1,
                longest_run: 40,
            },
            DnsQuery {
                qtype: 10,
                longest_run: 8,
            },
        );
        let mut resolver = DnsQueries::default();
        (0..100).for_each(|_| resolver.add(name));
        assert!(!resolver.look_like_a_tunnel(), "{resolver:?}");
        let mut exfiltration = DnsQueries::default();
        exfiltration.add(data);
        assert!(exfiltration.look_like_a_tunnel());
        assert_eq!((exfiltration.queries, exfiltration.longest_run), (1, 40));
        // Fifteen NULL queries are not yet many; the sixteenth is, and half of 16 is enough.
        let mut iodine = DnsQueries::default();
        (0..15).for_each(|_| iodine.add(null));
        assert!(!iodine.look_like_a_tunnel());
        iodine.add(name);
        assert!(iodine.look_like_a_tunnel());
        let mut mixed = DnsQueries::default();
        (0..8).for_each(|_| mixed.add(null));
        (0..9).for_each(|_| mixed.add(name));
        assert!(!mixed.look_like_a_tunnel(), "8 of 17 is less than half");
    }

    #[test]
    fn tcp_queries_are_read_after_their_length_prefix() {
        let q = query(&["example", "com"], 16);
        let mut framed = (q.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&q);
        assert_eq!(query_in(true, 53, &framed).map(|q| q.qtype), Some(16));
        assert_eq!(query_in(false, 53, &q).map(|q| q.qtype), Some(16));
        assert_eq!(query_in(false, 5353, &q), None);
        assert_eq!(query_in(true, 53, &q[..1]), None);
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for n in 0..20_000usize {
            let bytes: Vec<u8> = (0..n % 300)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let _ = read_query(&bytes);
        }
    }
}
