//! The wire format of flow records on the bus (version 3; version 2 is still read).
//!
//! One NATS message carries a *batch* of finished flows from one sensor. Batching is what makes the
//! bus fast: JetStream's cost is per message (a replicated append and an ack), so 256 flows per
//! message cost one append instead of 256.
//!
//! ```text
//! batch   := "MLFB" version:u8=3 mode:u8 reserved:u16=0
//!            sensor_len:varint sensor:bytes run:varint first_seq:varint sent_us:varint
//!            count:varint record*count
//! record  := flags:u8 key [endpoints] [protocol:u8] start_us:zigzag-varint duration_us:zigzag-varint
//!            value*83 (every `Feature`, in `Feature::ALL` order) exchange
//! exchange:= ip_protocol:u8 fwd_packets:varint bwd_packets:varint fwd_payload:varint
//!            bwd_payload:varint first_flags:u8 fwd_flags:u8 bwd_flags:u8
//!            icmp:u8 (0 none; 1: icmp_type:u8 icmp_code:u8; 2: the same, then the source's ICMP
//!            message types as a varint bitmask; +0x80: openings:u8 follows after the ICMP
//!            fields, bits 0-2 the forward Opening code, bits 3-5 the backward one, bit 6 a TLS
//!            heartbeat seen, bit 7: injection:u8 follows, the Injection code of the source's
//!            requests; +0x40: requests:varint follows, the source's HTTP request
//!            segments; +0x20: posts:varint follows, those of them that are POSTs; +0x10: the
//!            SSH login inference follows; +0x08: the FTP 530 reply count follows last; +0x04,
//!            nothing follows: the source sent data and the payload stage read all of it in full)
//!            (version 2: the host stage and the carrier check need it)
//!            ext:u8 (version 3; absent in version 2, read as 0): bit 0: the source's DNS
//!            queries follow as queries:varint tunnel_types:varint
//!            longest_run:u8; other bits reserved (0)
//! flags   := bit0 IPv6 key, bit1 the source is the key's B side, bit2 explicit endpoints follow,
//!            bit3 the record's protocol differs from the key's, bits4-6 termination
//! key     := a:(4|16) b:(4|16) port_a:u16le port_b:u16le protocol:u8
//! value   := varint u, where u even: the whole number u/2 (0 ≤ n < 2^53);
//!            1: 8 bytes f64 LE follow; 3: the canonical NaN; 5: 4 bytes f32 LE follow (exact)
//! ```
//!
//! Record `i` of a batch has the stable id `(sensor, run, first_seq + i)`. Decoding gives back a
//! [`FlowRecord`] equal bit for bit to the one encoded (NaN payloads and signed zeros included).
//! Most features are small whole numbers (counts, ports, flag counts, bulk features that are 0),
//! which take one or two bytes instead of eight; see `docs/scale-out.md` for the measured sizes.

use crate::BusError;
use mlids_flow::dns::DnsQueries;
use mlids_flow::key::FlowKey;
use mlids_flow::{
    Exchange, FlowRecord, Injection, Mode, Opening, SshAuth, SshPhase, TcpFlags, Termination,
    NUM_FEATURES,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const MAGIC: &[u8; 4] = b"MLFB";
pub const VERSION: u8 = 3;
/// The oldest version this build still reads: version 2 batches lack only the extension byte, so
/// sensors not yet upgraded keep working against upgraded workers (docs/scale-out.md).
pub const OLDEST_READ_VERSION: u8 = 2;

/// The identity and metadata of a decoded batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    /// The format version the batch was written in ([`OLDEST_READ_VERSION`]..=[`VERSION`]).
    pub version: u8,
    pub mode: Mode,
    pub sensor: String,
    /// The sensor run (its start time in µs unless set): with the sequence, makes ids unique
    /// across sensor restarts.
    pub run: u64,
    pub first_seq: u64,
    /// Sensor wall clock (µs since the epoch) when the batch was sealed.
    pub sent_us: u64,
    pub count: u32,
}

impl BatchHeader {
    /// The JetStream message id of the batch (`Nats-Msg-Id`).
    pub fn msg_id(&self) -> String {
        batch_msg_id(&self.sensor, self.run, self.first_seq)
    }
}

/// `SENSOR.RUN.FIRST_SEQ`: the de-duplication id of a flow batch.
pub fn batch_msg_id(sensor: &str, run: u64, first_seq: u64) -> String {
    format!("{sensor}.{run}.{first_seq}")
}

/// The stable id of one flow: `SENSOR.RUN.SEQ`.
pub fn flow_id(sensor: &str, run: u64, seq: u64) -> String {
    format!("{sensor}.{run}.{seq}")
}

/// Builds one batch message incrementally.
pub struct BatchEncoder {
    buf: Vec<u8>,
    count: u32,
    /// Offset where the records start (the header is rewritten when the batch is sealed).
    mode: Mode,
    sensor: String,
    run: u64,
}

const F_V6: u8 = 1;
const F_SWAPPED: u8 = 2;
const F_EXPLICIT: u8 = 4;
const F_PROTO: u8 = 8;

fn termination_code(t: Termination) -> u8 {
    Termination::ALL
        .iter()
        .position(|x| *x == t)
        .expect("every termination is listed") as u8
}

impl BatchEncoder {
    pub fn new(mode: Mode, sensor: &str, run: u64) -> Self {
        BatchEncoder {
            buf: Vec::with_capacity(64 * 1024),
            count: 0,
            mode,
            sensor: sensor.to_string(),
            run,
        }
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of records so far.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Append one record. Its mode must be the batch's.
    pub fn push(&mut self, r: &FlowRecord) -> Result<(), BusError> {
        if r.mode != self.mode {
            return Err(BusError::Codec(format!(
                "a {} flow in a {} batch",
                r.mode, self.mode
            )));
        }
        encode_record(&mut self.buf, r);
        self.count += 1;
        Ok(())
    }

    /// Finish the batch: header + records. The encoder is empty afterwards.
    pub fn seal(&mut self, first_seq: u64, sent_us: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buf.len() + 40 + self.sensor.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(match self.mode {
            Mode::Cic2018 => 0,
            Mode::Corrected => 1,
        });
        out.extend_from_slice(&[0, 0]);
        put_varint(&mut out, self.sensor.len() as u64);
        out.extend_from_slice(self.sensor.as_bytes());
        put_varint(&mut out, self.run);
        put_varint(&mut out, first_seq);
        put_varint(&mut out, sent_us);
        put_varint(&mut out, u64::from(self.count));
        out.extend_from_slice(&self.buf);
        self.buf.clear();
        self.count = 0;
        out
    }
}

fn put_ip(out: &mut Vec<u8>, b: &[u8; 16], v6: bool) {
    out.extend_from_slice(if v6 { &b[..] } else { &b[..4] });
}

fn ip_bytes(ip: &IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v4.octets());
            b
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn encode_record(out: &mut Vec<u8>, r: &FlowRecord) {
    let k = &r.key;
    let (a, b) = (k.ip_a(), k.ip_b());
    let mut flags = termination_code(r.termination) << 4;
    if k.v6 {
        flags |= F_V6;
    }
    let forward = (r.src, r.src_port, r.dst, r.dst_port) == (a, k.port_a, b, k.port_b);
    let backward = (r.src, r.src_port, r.dst, r.dst_port) == (b, k.port_b, a, k.port_a);
    if !forward {
        flags |= if backward { F_SWAPPED } else { F_EXPLICIT };
    }
    if r.protocol != k.protocol {
        flags |= F_PROTO;
    }
    out.push(flags);
    put_ip(out, &k.a, k.v6);
    put_ip(out, &k.b, k.v6);
    out.extend_from_slice(&k.port_a.to_le_bytes());
    out.extend_from_slice(&k.port_b.to_le_bytes());
    out.push(k.protocol);
    if flags & F_EXPLICIT != 0 {
        out.push(u8::from(r.src.is_ipv6()) | (u8::from(r.dst.is_ipv6()) << 1));
        out.extend_from_slice(&ip_bytes(&r.src));
        out.extend_from_slice(&ip_bytes(&r.dst));
        out.extend_from_slice(&r.src_port.to_le_bytes());
        out.extend_from_slice(&r.dst_port.to_le_bytes());
    }
    if flags & F_PROTO != 0 {
        out.push(r.protocol);
    }
    put_varint(out, zigzag(r.start_us));
    put_varint(out, zigzag(r.end_us.wrapping_sub(r.start_us)));
    for &v in &r.values {
        put_value(out, v);
    }
    put_exchange(out, &r.exchange);
}

fn put_exchange(out: &mut Vec<u8>, e: &Exchange) {
    out.push(e.ip_protocol);
    put_varint(out, u64::from(e.fwd_packets));
    put_varint(out, u64::from(e.bwd_packets));
    put_varint(out, e.fwd_payload);
    put_varint(out, e.bwd_payload);
    out.extend_from_slice(&[e.first_flags.0, e.fwd_flags.0, e.bwd_flags.0]);
    let injection = Injection::code(e.fwd_injection);
    let openings = e.fwd_opening.code()
        | (e.bwd_opening.code() << 3)
        | (u8::from(e.fwd_tls_heartbeat) << 6)
        | (u8::from(injection != 0) << 7);
    let with_openings = if openings != 0 { OPENINGS } else { 0 };
    let with = with_openings
        | if e.fwd_requests != 0 { REQUESTS } else { 0 }
        | if e.fwd_posts != 0 { POSTS } else { 0 }
        | if e.ssh_auth != SshAuth::default() {
            SSH_AUTH
        } else {
            0
        }
        | if e.ftp_rejected_logins != 0 {
            FTP_REJECTS
        } else {
            0
        }
        | if e.fwd_payload > 0 && !e.fwd_unread_data {
            ALL_DATA_READ
        } else {
            0
        };
    match e.icmp {
        Some((t, c)) if e.fwd_icmp_types != 0 => {
            out.extend_from_slice(&[2 | with, t, c]);
            put_varint(out, u64::from(e.fwd_icmp_types));
        }
        Some((t, c)) => out.extend_from_slice(&[1 | with, t, c]),
        None => out.push(with),
    }
    if openings != 0 {
        out.push(openings);
    }
    if injection != 0 {
        out.push(injection);
    }
    if e.fwd_requests != 0 {
        put_varint(out, u64::from(e.fwd_requests));
    }
    if e.fwd_posts != 0 {
        put_varint(out, u64::from(e.fwd_posts));
    }
    let ssh = &e.ssh_auth;
    if *ssh != SshAuth::default() {
        out.push(
            ssh.phase.code() | (u8::from(ssh.banner_skipped) << 3) | (u8::from(ssh.succeeded) << 4),
        );
        put_varint(out, u64::from(ssh.service_accept_len));
        put_varint(out, u64::from(ssh.failure_len));
        put_varint(out, u64::from(ssh.failures));
    }
    if e.ftp_rejected_logins != 0 {
        put_varint(out, u64::from(e.ftp_rejected_logins));
    }
    let dns = &e.fwd_dns;
    if *dns == DnsQueries::default() {
        out.push(0);
    } else {
        out.push(EXT_DNS);
        put_varint(out, u64::from(dns.queries));
        put_varint(out, u64::from(dns.tunnel_types));
        out.push(dns.longest_run);
    }
}

/// Bit of the version 3 extension byte: the source's DNS query counts follow.
const EXT_DNS: u8 = 0x01;

/// Bit of the ICMP marker byte: the openings byte follows the ICMP fields (messages written before
/// openings existed never set it, so they still decode).
const OPENINGS: u8 = 0x80;
/// Bit of the ICMP marker byte: the source's HTTP request count follows last (absent when 0, so
/// messages written before it existed still decode).
const REQUESTS: u8 = 0x40;
/// Bit of the ICMP marker byte: the source's HTTP POST count follows the request count (absent
/// when 0).
const POSTS: u8 = 0x20;
/// Bit of the ICMP marker byte: the SSH login inference follows the POST count (absent when
/// nothing was inferred).
const SSH_AUTH: u8 = 0x10;
/// Bit of the ICMP marker byte: the FTP server's 530 reply count follows the SSH inference
/// (absent when 0).
const FTP_REJECTS: u8 = 0x08;
/// Bit of the ICMP marker byte, with nothing following: the source sent data and the payload
/// stage read all of it (`Exchange::fwd_unread_data` is false while `fwd_payload` is not 0; the
/// meter sets the flag only on data). Sent as "all read", not "some unread", so that a message of
/// a sensor that predates it decodes as unread: its requests' text is not known to have been
/// read, and no label is ruled out for it.
const ALL_DATA_READ: u8 = 0x04;

fn read_exchange(r: &mut Reader<'_>, version: u8) -> Result<Exchange, BusError> {
    let ip_protocol = r.u8()?;
    let count = |r: &mut Reader<'_>| -> Result<u32, BusError> {
        u32::try_from(r.varint()?).map_err(|_| r.err("packet count out of range"))
    };
    let fwd_packets = count(r)?;
    let bwd_packets = count(r)?;
    let fwd_payload = r.varint()?;
    let bwd_payload = r.varint()?;
    let first_flags = TcpFlags(r.u8()?);
    let fwd_flags = TcpFlags(r.u8()?);
    let bwd_flags = TcpFlags(r.u8()?);
    let marker = r.u8()?;
    let (icmp, fwd_icmp_types) = match marker
        & !(OPENINGS | REQUESTS | POSTS | SSH_AUTH | FTP_REJECTS | ALL_DATA_READ)
    {
        0 => (None, 0),
        1 => (Some((r.u8()?, r.u8()?)), 0),
        2 => {
            let icmp = Some((r.u8()?, r.u8()?));
            let types = u32::try_from(r.varint()?).map_err(|_| r.err("ICMP types out of range"))?;
            (icmp, types)
        }
        _ => return Err(r.err("bad ICMP marker")),
    };
    let (mut fwd_opening, mut bwd_opening, mut fwd_tls_heartbeat, mut fwd_injection) =
        (Opening::Unknown, Opening::Unknown, false, None);
    if marker & OPENINGS != 0 {
        let b = r.u8()?;
        let code = |c: u8| Opening::from_code(c).ok_or_else(|| r.err("bad opening code"));
        fwd_opening = code(b & 7)?;
        bwd_opening = code((b >> 3) & 7)?;
        fwd_tls_heartbeat = b & 0x40 != 0;
        if b & 0x80 != 0 {
            let c = r.u8()?;
            fwd_injection =
                Some(Injection::from_code(c).ok_or_else(|| r.err("bad injection code"))?);
        }
    }
    let fwd_requests = if marker & REQUESTS != 0 {
        u32::try_from(r.varint()?).map_err(|_| r.err("request count out of range"))?
    } else {
        0
    };
    let fwd_posts = if marker & POSTS != 0 {
        // Saturated as the meter saturates it (a version 2 sensor kept 32 bits).
        u16::try_from(r.varint()?).unwrap_or(u16::MAX)
    } else {
        0
    };
    let ssh_auth = if marker & SSH_AUTH != 0 {
        read_ssh_auth(r)?
    } else {
        SshAuth::default()
    };
    let ftp_rejected_logins = if marker & FTP_REJECTS != 0 {
        u16::try_from(r.varint()?).map_err(|_| r.err("FTP 530 reply count out of range"))?
    } else {
        0
    };
    let ext = if version >= 3 { r.u8()? } else { 0 };
    if ext & !EXT_DNS != 0 {
        return Err(r.err("unknown exchange extension bits"));
    }
    let fwd_dns = if ext & EXT_DNS != 0 {
        read_dns(r)?
    } else {
        DnsQueries::default()
    };
    Ok(Exchange {
        ip_protocol,
        fwd_packets,
        bwd_packets,
        fwd_payload,
        bwd_payload,
        first_flags,
        fwd_flags,
        bwd_flags,
        icmp,
        fwd_icmp_types,
        fwd_opening,
        bwd_opening,
        fwd_tls_heartbeat,
        fwd_injection,
        fwd_requests,
        fwd_posts,
        ssh_auth,
        ftp_rejected_logins,
        fwd_unread_data: fwd_payload > 0 && marker & ALL_DATA_READ == 0,
        fwd_dns,
    })
}

fn read_dns(r: &mut Reader<'_>) -> Result<DnsQueries, BusError> {
    let mut count = || -> Result<u16, BusError> {
        u16::try_from(r.varint()?).map_err(|_| r.err("DNS query count out of range"))
    };
    let (queries, tunnel_types) = (count()?, count()?);
    if tunnel_types > queries {
        return Err(r.err("DNS query counts larger than the queries"));
    }
    Ok(DnsQueries {
        queries,
        tunnel_types,
        longest_run: r.u8()?,
    })
}

fn read_ssh_auth(r: &mut Reader<'_>) -> Result<SshAuth, BusError> {
    let bits = r.u8()?;
    let phase = SshPhase::from_code(bits & 7).ok_or_else(|| r.err("bad SSH phase"))?;
    if bits >> 5 != 0 {
        return Err(r.err("bad SSH flags"));
    }
    let mut small = || -> Result<u16, BusError> {
        u16::try_from(r.varint()?).map_err(|_| r.err("SSH segment size out of range"))
    };
    Ok(SshAuth {
        phase,
        service_accept_len: small()?,
        failure_len: small()?,
        failures: small()?,
        banner_skipped: bits & 8 != 0,
        succeeded: bits & 16 != 0,
    })
}

/// Largest whole number stored as a varint (2^53: every integer below is exact in f64).
const MAX_WHOLE: f64 = 9_007_199_254_740_992.0;

#[inline]
fn put_value(out: &mut Vec<u8>, v: f64) {
    if (0.0..MAX_WHOLE).contains(&v)
        && v.fract() == 0.0
        && v.to_bits() == (v as u64 as f64).to_bits()
    {
        put_varint(out, (v as u64) << 1);
    } else if v.to_bits() == f64::NAN.to_bits() {
        out.push(3);
    } else if (v as f32) as f64 == v && ((v as f32) as f64).to_bits() == v.to_bits() {
        out.push(5);
        out.extend_from_slice(&(v as f32).to_le_bytes());
    } else {
        out.push(1);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

#[inline]
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// A cursor over a message.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: &str) -> BusError {
        BusError::Codec(format!("{what} at byte {}", self.pos))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], BusError> {
        if self.buf.len() - self.pos < n {
            return Err(self.err("truncated batch"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, BusError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, BusError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, BusError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("varint longer than 10 bytes"))
    }

    fn ip(&mut self, v6: bool) -> Result<[u8; 16], BusError> {
        let mut b = [0u8; 16];
        let n = if v6 { 16 } else { 4 };
        b[..n].copy_from_slice(self.take(n)?);
        Ok(b)
    }

    #[inline]
    fn value(&mut self) -> Result<f64, BusError> {
        let u = self.varint()?;
        Ok(match u {
            u if u & 1 == 0 => (u >> 1) as f64,
            1 => f64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")),
            3 => f64::NAN,
            5 => f64::from(f32::from_le_bytes(
                self.take(4)?.try_into().expect("4 bytes"),
            )),
            _ => return Err(self.err("unknown value tag")),
        })
    }
}

fn ip_from(b: &[u8; 16], v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(*b))
    } else {
        IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
    }
}

/// Read a batch's header without decoding its records.
pub fn decode_header(msg: &[u8]) -> Result<BatchHeader, BusError> {
    header(&mut Reader { buf: msg, pos: 0 })
}

fn header(r: &mut Reader<'_>) -> Result<BatchHeader, BusError> {
    if r.take(4)? != MAGIC {
        return Err(BusError::Codec(
            "not an ml-ids flow batch (bad magic)".into(),
        ));
    }
    let version = r.u8()?;
    if !(OLDEST_READ_VERSION..=VERSION).contains(&version) {
        return Err(BusError::Codec(format!(
            "flow batch version {version} is not supported (this build reads versions \
             {OLDEST_READ_VERSION} to {VERSION}; upgrade the workers before the sensors)"
        )));
    }
    let mode = match r.u8()? {
        0 => Mode::Cic2018,
        1 => Mode::Corrected,
        m => return Err(BusError::Codec(format!("unknown extractor mode code {m}"))),
    };
    r.take(2)?;
    let n = r.varint()? as usize;
    if n > 256 {
        return Err(r.err("sensor id longer than 256 bytes"));
    }
    let sensor = std::str::from_utf8(r.take(n)?)
        .map_err(|_| r.err("sensor id is not UTF-8"))?
        .to_string();
    let run = r.varint()?;
    let first_seq = r.varint()?;
    let sent_us = r.varint()?;
    let count = r.varint()?;
    // Every record takes at least 1 + 13 + 2 + 83 bytes: reject counts the message cannot hold.
    if count > (r.buf.len() / 99) as u64 + 1 {
        return Err(r.err("record count larger than the message"));
    }
    Ok(BatchHeader {
        version,
        mode,
        sensor,
        run,
        first_seq,
        sent_us,
        count: count as u32,
    })
}

/// Decode a whole batch.
pub fn decode_batch(msg: &[u8]) -> Result<(BatchHeader, Vec<FlowRecord>), BusError> {
    let mut r = Reader { buf: msg, pos: 0 };
    let h = header(&mut r)?;
    let mut out = Vec::with_capacity(h.count as usize);
    for _ in 0..h.count {
        out.push(decode_record(&mut r, &h)?);
    }
    if r.pos != msg.len() {
        return Err(r.err("trailing bytes after the last record"));
    }
    Ok((h, out))
}

fn decode_record(r: &mut Reader<'_>, batch: &BatchHeader) -> Result<FlowRecord, BusError> {
    let flags = r.u8()?;
    let termination = *Termination::ALL
        .get(usize::from(flags >> 4))
        .ok_or_else(|| r.err("unknown termination code"))?;
    let v6 = flags & F_V6 != 0;
    let a = r.ip(v6)?;
    let b = r.ip(v6)?;
    let port_a = r.u16()?;
    let port_b = r.u16()?;
    let kproto = r.u8()?;
    let key = FlowKey {
        a,
        b,
        port_a,
        port_b,
        protocol: kproto,
        v6,
    };
    let (src, src_port, dst, dst_port) = if flags & F_EXPLICIT != 0 {
        let fam = r.u8()?;
        let s = r.ip(true)?;
        let d = r.ip(true)?;
        (
            ip_from(&s, fam & 1 != 0),
            r.u16()?,
            ip_from(&d, fam & 2 != 0),
            r.u16()?,
        )
    } else if flags & F_SWAPPED != 0 {
        (key.ip_b(), port_b, key.ip_a(), port_a)
    } else {
        (key.ip_a(), port_a, key.ip_b(), port_b)
    };
    let protocol = if flags & F_PROTO != 0 {
        r.u8()?
    } else {
        kproto
    };
    let start_us = unzigzag(r.varint()?);
    let end_us = start_us.wrapping_add(unzigzag(r.varint()?));
    let mut values = [0.0; NUM_FEATURES];
    for v in values.iter_mut() {
        *v = r.value()?;
    }
    let exchange = read_exchange(r, batch.version)?;
    Ok(FlowRecord {
        mode: batch.mode,
        key,
        src,
        src_port,
        dst,
        dst_port,
        protocol,
        start_us,
        end_us,
        termination,
        values,
        exchange,
    })
}

/// Size of the simplest fixed layout (the same header, 16-byte addresses, every value as 8 bytes):
/// the baseline the measured sizes in `docs/scale-out.md` are compared with.
pub fn fixed_record_size() -> usize {
    1 + 16 + 16 + 2 + 2 + 1 + 8 + 8 + NUM_FEATURES * 8
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlids_flow::synth::{pcap_bytes, tcp, udp, Ep, Link, CLIENT, SERVER, T0};
    use mlids_flow::{CaptureReader, MeterConfig, Pipeline, VecSink};

    fn flows(mode: Mode) -> Vec<FlowRecord> {
        let mut frames = Vec::new();
        let mut t = T0;
        for i in 0..50u16 {
            let c = Ep(CLIENT.0, 40000 + i);
            frames.push(tcp(t, c, SERVER, "S", 0, 8192, Link::default()));
            frames.push(tcp(t + 10, SERVER, c, "SA", 0, 512, Link::default()));
            frames.push(tcp(
                t + 20,
                c,
                SERVER,
                "PA",
                100 + usize::from(i),
                8192,
                Link::default(),
            ));
            frames.push(tcp(t + 1234, SERVER, c, "PA", 1400, 512, Link::default()));
            if i % 2 == 0 {
                frames.push(tcp(t + 2000, c, SERVER, "FA", 0, 8192, Link::default()));
            }
            frames.push(udp(t + 5, Ep("10.0.0.9", 53), Ep("10.0.0.1", 5000 + i), 40));
            frames.push(udp(t + 9, Ep("10.0.0.1", 5000 + i), Ep("10.0.0.9", 53), 70));
            t += 777;
        }
        let bytes = pcap_bytes(&frames, 1, false, false);
        let mut reader = CaptureReader::from_reader("t", std::io::Cursor::new(bytes)).unwrap();
        let mut p = Pipeline::new(MeterConfig::new(mode));
        let mut sink = VecSink::default();
        p.feed(&mut reader, &mut sink, &mut ())
            .unwrap()
            .result()
            .unwrap();
        p.finish(&mut sink).unwrap();
        assert!(sink.0.len() >= 50);
        sink.0
    }

    #[test]
    fn round_trip_is_bit_exact_in_both_modes() {
        for mode in [Mode::Cic2018, Mode::Corrected] {
            let fl = flows(mode);
            let mut enc = BatchEncoder::new(mode, "edge-1", 42);
            for f in &fl {
                enc.push(f).unwrap();
            }
            let msg = enc.seal(1000, 7);
            assert!(enc.is_empty());
            let (h, back) = decode_batch(&msg).unwrap();
            assert_eq!(
                h,
                BatchHeader {
                    version: VERSION,
                    mode,
                    sensor: "edge-1".into(),
                    run: 42,
                    first_seq: 1000,
                    sent_us: 7,
                    count: fl.len() as u32
                }
            );
            assert_eq!(back, fl);
            assert_eq!(decode_header(&msg).unwrap(), h);
            // Compact: well under the fixed 8-bytes-per-value layout.
            let per = msg.len() / fl.len();
            assert!(per * 2 < fixed_record_size(), "{per} bytes per record");
        }
    }

    #[test]
    fn odd_values_and_endpoints_survive() {
        let mut f = flows(Mode::Corrected).remove(0);
        let odd = [
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -3.5,
            1e300,
            0.1,
            MAX_WHOLE,
            f64::from_bits(0xfff8_0000_0000_0001),
            f64::from_bits(0xfff8_0000_0000_0000),
        ];
        for (i, v) in odd.iter().enumerate() {
            f.values[i] = *v;
        }
        f.src = "::1".parse().unwrap();
        f.protocol = 0;
        // An ICMP exchange with the source's message types (what the scan detector's
        // fingerprinting check reads).
        f.exchange.icmp = Some((8, 0));
        f.exchange.fwd_icmp_types = 1 << 8 | 1 << 13 | 1 << 17;
        f.end_us = f.start_us - 5;
        let mut enc = BatchEncoder::new(Mode::Corrected, "s", 0);
        enc.push(&f).unwrap();
        let (_, back) = decode_batch(&enc.seal(0, 0)).unwrap();
        assert_eq!(back[0], f);
        // Each direction's opening and the heartbeat bit (the carrier check reads them), with and
        // without ICMP fields before them.
        f.exchange.fwd_opening = Opening::Other;
        f.exchange.bwd_opening = Opening::NumericReply;
        f.exchange.fwd_tls_heartbeat = true;
        // And the injection found in the source's requests (the payload stage reads it).
        // And the HTTP request and POST counts (the web-flood and brute-force detectors read
        // them), with and without openings.
        // And the SSH login inference (the brute-force detector reads it).
        let hydra = SshAuth {
            phase: SshPhase::ClientEncrypted,
            service_accept_len: 44,
            failure_len: 52,
            banner_skipped: true,
            failures: 5,
            succeeded: false,
        };
        let logged_in = SshAuth {
            phase: SshPhase::Decided,
            service_accept_len: u16::MAX,
            succeeded: true,
            ..SshAuth::default()
        };
        for (injection, requests, posts, ssh_auth, ftp_rejects, unread) in [
            (None, 0, 0, SshAuth::default(), 0, false),
            (Some(Injection::Sql), 0, 0, hydra, 0, true),
            (Some(Injection::Script), 1, 1, SshAuth::default(), 0, false),
            (Some(Injection::Command), 2, 0, SshAuth::default(), 0, false),
            (Some(Injection::Code), 1, 1, SshAuth::default(), 0, true),
            (
                Some(Injection::Traversal),
                1,
                0,
                SshAuth::default(),
                0,
                false,
            ),
            (None, 70_000, 0, logged_in, 0, true),
            (None, 3, 2, hydra, 7, false),
            (None, 0, 0, hydra, 0, false),
            (None, 0, 0, SshAuth::default(), u16::MAX, true),
        ] {
            // `unread` with data is also what every message of a sensor older than the flag
            // decodes to (it never sets the all-read bit).
            assert!(f.exchange.fwd_payload > 0);
            f.exchange.fwd_unread_data = unread;
            f.exchange.fwd_injection = injection;
            f.exchange.fwd_requests = requests;
            f.exchange.fwd_posts = posts;
            f.exchange.ssh_auth = ssh_auth;
            f.exchange.ftp_rejected_logins = ftp_rejects;
            for (icmp, opening) in [(Some((8, 0)), Opening::Other), (None, Opening::Unknown)] {
                f.exchange.icmp = icmp;
                f.exchange.fwd_icmp_types = 0;
                f.exchange.fwd_opening = opening;
                f.exchange.bwd_opening = opening;
                f.exchange.fwd_tls_heartbeat = opening != Opening::Unknown;
                let mut enc = BatchEncoder::new(Mode::Corrected, "s", 0);
                enc.push(&f).unwrap();
                let (_, back) = decode_batch(&enc.seal(0, 0)).unwrap();
                assert_eq!(back[0], f);
            }
        }
        // And the DNS query counts (the tunnel check reads them), the largest values included.
        for dns in [
            DnsQueries {
                queries: 181,
                tunnel_types: 181,
                longest_run: 56,
            },
            DnsQueries {
                queries: u16::MAX,
                tunnel_types: 0,
                longest_run: u8::MAX,
            },
        ] {
            f.exchange.fwd_dns = dns;
            let mut enc = BatchEncoder::new(Mode::Corrected, "s", 0);
            enc.push(&f).unwrap();
            let (_, back) = decode_batch(&enc.seal(0, 0)).unwrap();
            assert_eq!(back[0], f);
        }
    }

    #[test]
    fn version_2_batches_of_sensors_not_yet_upgraded_still_decode() {
        // A version 2 record is a version 3 one without the extension byte, which ends it.
        let f = flows(Mode::Corrected).remove(0);
        assert_eq!(f.exchange.fwd_dns, DnsQueries::default());
        let mut enc = BatchEncoder::new(Mode::Corrected, "old-sensor", 3);
        enc.push(&f).unwrap();
        let mut msg = enc.seal(10, 0);
        assert_eq!(
            msg.pop(),
            Some(0),
            "the extension byte of a flow without DNS"
        );
        msg[4] = 2;
        let (h, back) = decode_batch(&msg).unwrap();
        assert_eq!((h.version, back), (2, vec![f]));
        // Counts a query total cannot hold are damage, not data.
        let mut f = flows(Mode::Corrected).remove(0);
        f.exchange.fwd_dns.tunnel_types = 2;
        f.exchange.fwd_dns.queries = 1;
        let mut enc = BatchEncoder::new(Mode::Corrected, "s", 0);
        enc.push(&f).unwrap();
        let err = decode_batch(&enc.seal(0, 0)).unwrap_err().to_string();
        assert!(err.contains("DNS query counts"), "{err}");
    }

    #[test]
    fn damaged_messages_are_errors_not_panics() {
        let fl = flows(Mode::Cic2018);
        let mut enc = BatchEncoder::new(Mode::Cic2018, "s", 1);
        for f in &fl[..5] {
            enc.push(f).unwrap();
        }
        let msg = enc.seal(0, 0);
        for cut in 0..msg.len() {
            assert!(decode_batch(&msg[..cut]).is_err());
        }
        let mut bad = msg.clone();
        bad[4] = 9;
        assert!(decode_batch(&bad)
            .unwrap_err()
            .to_string()
            .contains("version 9"));
        // Flipping bytes never panics.
        for i in 0..msg.len() {
            let mut m = msg.clone();
            m[i] ^= 0xa5;
            let _ = decode_batch(&m);
        }
        let mut enc = BatchEncoder::new(Mode::Corrected, "s", 1);
        assert!(enc.push(&fl[0]).is_err());
    }
}
