//! What the first bytes of each direction's data say about the application protocol.
//!
//! Several attack labels name the protocol they are made of: an HTTP flood is HTTP requests, an SSH
//! brute force is SSH sessions, Heartbleed is TLS heartbeats. A flow whose data is plainly
//! something else (a Zabbix agent's `ZBXD` frames, a UDP DNS answer) cannot be one of them,
//! whatever its sizes and timings resemble. The meter keeps only this much of the payload — one
//! small code per direction, from the direction's first data — so that the detector can rule such
//! labels out (`mlids_model`'s carrier check) without any payload inspection beyond the opening
//! bytes.

/// How many payload bytes of a packet the decoder keeps for [`Opening::of`] and
/// [`starts_tls_heartbeat`]: enough for `OPTIONS ` and `SSH-2.0-`.
pub const HEAD_LEN: usize = 8;

/// The start of a packet's L4 payload, as far as it was captured (at most [`HEAD_LEN`] bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PayloadHead {
    bytes: [u8; HEAD_LEN],
    len: u8,
}

impl PayloadHead {
    /// The first bytes of `payload` (a captured payload shorter than [`HEAD_LEN`] keeps what it has).
    pub fn of(payload: &[u8]) -> PayloadHead {
        let n = payload.len().min(HEAD_LEN);
        let mut bytes = [0u8; HEAD_LEN];
        bytes[..n].copy_from_slice(&payload[..n]);
        PayloadHead {
            bytes,
            len: n as u8,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// What a direction's first data looks like. `Unknown` means nothing can be said: no data in that
/// direction, too few bytes captured (snaplen), or a record that did not come from packets (a CSV
/// row).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opening {
    #[default]
    Unknown = 0,
    /// An HTTP/1.x request line (`GET `, `POST `, …) or the HTTP/2 preface (`PRI * HTTP/2.0`).
    HttpRequest = 1,
    /// An HTTP/1.x status line (`HTTP/`).
    HttpResponse = 2,
    /// A TLS (or SSL 3) record header: content type 20–24, version 3.x.
    Tls = 3,
    /// An SSH identification string (`SSH-`, RFC 4253 §4.2).
    Ssh = 4,
    /// A four-letter upper-case command followed by a space or CR (`USER `, `AUTH `, `FEAT`): FTP,
    /// also SMTP, POP3 and IMAP-like line protocols.
    LineCommand = 5,
    /// A three-digit reply (`220 `, `220-`): the greeting of FTP and SMTP servers.
    NumericReply = 6,
    /// Data that is none of the above.
    Other = 7,
}

/// HTTP methods (RFC 9110 §9, RFC 5789) and the HTTP/2 connection preface, with their separator.
const HTTP_REQUEST_STARTS: [&[u8]; 10] = [
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"PATCH ",
    b"CONNECT ",
    b"TRACE ",
    b"PRI * ",
];

impl Opening {
    /// Classify a direction's first data: `head` as captured, `payload_len` as the IP header
    /// declares it (a capture cut short by its snaplen keeps fewer bytes than were sent).
    pub fn of(head: &[u8], payload_len: u32) -> Opening {
        if payload_len == 0 {
            return Opening::Unknown;
        }
        // Fewer than four captured bytes of a longer payload: too little to tell.
        if head.len() < 4 && (head.len() as u32) < payload_len {
            return Opening::Unknown;
        }
        if HTTP_REQUEST_STARTS
            .iter()
            .any(|m| head.starts_with(m) || (head.len() >= 4 && m.starts_with(head)))
        {
            return Opening::HttpRequest;
        }
        if head.starts_with(b"HTTP/") {
            return Opening::HttpResponse;
        }
        if let [20..=24, 3, 0..=4, ..] = head {
            return Opening::Tls;
        }
        if head.starts_with(b"SSH-") {
            return Opening::Ssh;
        }
        match head {
            [a, b, c, d, sep, ..]
                if [a, b, c, d].iter().all(|x| x.is_ascii_uppercase())
                    && matches!(sep, b' ' | b'\r') =>
            {
                Opening::LineCommand
            }
            [a, b, c, sep, ..]
                if [a, b, c].iter().all(|x| x.is_ascii_digit()) && matches!(sep, b' ' | b'-') =>
            {
                Opening::NumericReply
            }
            _ => Opening::Other,
        }
    }

    /// The code carried on the bus (the enum's discriminant).
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Opening> {
        Some(match code {
            0 => Opening::Unknown,
            1 => Opening::HttpRequest,
            2 => Opening::HttpResponse,
            3 => Opening::Tls,
            4 => Opening::Ssh,
            5 => Opening::LineCommand,
            6 => Opening::NumericReply,
            7 => Opening::Other,
            _ => return None,
        })
    }

    /// Whether anything was seen (the opening is not [`Opening::Unknown`]).
    pub fn is_known(self) -> bool {
        self != Opening::Unknown
    }
}

/// Whether a segment's data begins with a TLS heartbeat record (content type 24, version 3.x):
/// what a Heartbleed client sends. In an encrypted stream a segment begins at an arbitrary byte of
/// a record, so a chance match of these three bytes is about one segment in 4 million.
pub fn starts_tls_heartbeat(head: &[u8]) -> bool {
    matches!(head, [24, 3, 0..=4, ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(bytes: &[u8]) -> Opening {
        Opening::of(bytes, bytes.len() as u32)
    }

    #[test]
    fn recognises_each_opening_from_its_first_bytes() {
        assert_eq!(of(b"GET / HT"), Opening::HttpRequest);
        assert_eq!(of(b"POST /lo"), Opening::HttpRequest);
        assert_eq!(of(b"OPTIONS "), Opening::HttpRequest);
        assert_eq!(of(b"PRI * HT"), Opening::HttpRequest);
        assert_eq!(of(b"HTTP/1.1"), Opening::HttpResponse);
        // ClientHello record: handshake (22), TLS 1.0 record version.
        assert_eq!(of(&[22, 3, 1, 0, 0xc8, 1, 0, 0]), Opening::Tls);
        assert_eq!(of(b"SSH-2.0-"), Opening::Ssh);
        assert_eq!(of(b"USER ftp"), Opening::LineCommand);
        assert_eq!(of(b"FEAT\r\n"), Opening::LineCommand);
        assert_eq!(of(b"220 (vsF"), Opening::NumericReply);
        assert_eq!(of(b"220-Welc"), Opening::NumericReply);
        // Zabbix agent protocol header, a DNS query's ID and flags.
        assert_eq!(of(b"ZBXD\x01\x1f\0\0"), Opening::Other);
        assert_eq!(of(&[0x12, 0x34, 1, 0, 0, 1, 0, 0]), Opening::Other);
        // "GETX/" is neither a method nor a command; a lower-case method is not HTTP.
        assert_eq!(of(b"GETX/"), Opening::Other);
        assert_eq!(of(b"get / HT"), Opening::Other);
    }

    #[test]
    fn too_little_captured_is_unknown_but_a_short_payload_is_classified() {
        // Snaplen kept 2 bytes of a 500-byte payload.
        assert_eq!(Opening::of(b"GE", 500), Opening::Unknown);
        assert_eq!(Opening::of(b"", 500), Opening::Unknown);
        assert_eq!(Opening::of(b"", 0), Opening::Unknown);
        // A 2-byte payload, all captured: it is data of some kind.
        assert_eq!(Opening::of(b"\r\n", 2), Opening::Other);
        assert_eq!(Opening::of(b"GE", 2), Opening::Other);
        // Cut inside a method: still an HTTP request as far as it goes.
        assert_eq!(Opening::of(b"POST", 4), Opening::HttpRequest);
    }

    #[test]
    fn heartbeat_records_are_recognised_and_other_records_are_not() {
        assert!(starts_tls_heartbeat(&[24, 3, 2, 0, 3, 1, 0x40, 0]));
        assert!(!starts_tls_heartbeat(&[23, 3, 3, 0, 0x20]));
        assert!(!starts_tls_heartbeat(&[24, 2, 0]));
        assert!(!starts_tls_heartbeat(&[24]));
    }

    #[test]
    fn codes_round_trip() {
        for c in 0..=7 {
            assert_eq!(Opening::from_code(c).unwrap().code(), c);
        }
        assert_eq!(Opening::from_code(8), None);
    }

    #[test]
    fn head_keeps_at_most_head_len_bytes() {
        assert_eq!(PayloadHead::of(b"GET /index.html").as_bytes(), b"GET /ind");
        assert_eq!(PayloadHead::of(b"ab").as_bytes(), b"ab");
    }
}
