//! Streaming capture reader: pcap (both byte orders, µs and ns), pcapng (several interfaces and
//! link types; unknown blocks skipped) and gzip-compressed files, from a path, stdin or any `Read`.
//!
//! Memory is one fixed buffer per reader (pcap-parser's circular buffer), whatever the file size.
//! Every error names the source and the byte offset where reading stopped; frames before that point
//! have already been handed out, so callers keep the work done on the readable part.

use flate2::read::MultiGzDecoder;
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The largest frame we accept. libpcap's own limit is 256 KiB; a record claiming more is corrupt.
pub const MAX_FRAME_LEN: u32 = 256 * 1024;
/// Reader buffer: room for the largest legal frame plus its block header.
const BUFFER_CAPACITY: usize = MAX_FRAME_LEN as usize + 64 * 1024;

/// One captured frame, borrowed from the reader's buffer.
#[derive(Debug)]
pub struct Frame<'a> {
    /// Capture time in microseconds since the Unix epoch.
    pub ts_us: i64,
    /// libpcap link type of the interface the frame was captured on.
    pub linktype: u32,
    pub data: &'a [u8],
    /// Length on the wire (may exceed `data.len()` when the snap length cut the frame).
    pub orig_len: u32,
    /// Byte offset of the frame's record in the (decompressed) capture stream.
    pub offset: u64,
}

/// Container format, detected from the magic number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcap,
    PcapNg,
}

/// What went wrong while reading a capture, and where.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {kind} at byte offset {offset}{}", if *.compressed { " (of the decompressed stream)" } else { "" })]
pub struct CaptureError {
    pub source_name: String,
    pub offset: u64,
    pub compressed: bool,
    pub kind: CaptureErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureErrorKind {
    #[error("cannot open: {0}")]
    Open(io::Error),
    #[error("read error: {0}")]
    Io(io::Error),
    #[error("empty input (no capture header)")]
    Empty,
    #[error("not a pcap or pcapng file (magic number {0:02x?})")]
    BadMagic([u8; 4]),
    #[error("truncated: the file ends inside a record")]
    Truncated,
    #[error("record claims {0} bytes, more than the {MAX_FRAME_LEN}-byte maximum (corrupt length field)")]
    AbsurdLength(u64),
    #[error("corrupt record ({0})")]
    Corrupt(String),
    #[error("packet on undeclared pcapng interface {0}")]
    UnknownInterface(u32),
}

#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: u32,
    /// Timestamp units per second.
    resolution: u64,
    /// Seconds added to every timestamp.
    offset_secs: i64,
}

/// A streaming reader over one capture.
pub struct CaptureReader {
    inner: Box<dyn PcapReaderIterator + Send>,
    name: String,
    format: CaptureFormat,
    compressed: bool,
    /// Link type and ns flag of a legacy pcap file.
    legacy: Interface,
    /// Interfaces of the current pcapng section.
    interfaces: Vec<Interface>,
    /// Byte order of the current file (pcap) or section (pcapng).
    big_endian: bool,
    /// Bytes handed out before the frame currently borrowed, still to be released.
    pending_consume: usize,
    /// Bytes consumed from the (decompressed) stream.
    offset: u64,
    done: bool,
    /// The last I/O error of the byte stream under the parser: pcap-parser reports a failed read
    /// only as `ReadError`, and the cause (a damaged gzip stream, a broken request body) is what
    /// the user needs to read.
    stream_error: Arc<Mutex<Option<String>>>,
}

/// A `Read` that remembers its last error's message for [`CaptureReader`].
struct KeepError<R> {
    inner: R,
    last: Arc<Mutex<Option<String>>>,
}

impl<R: Read> Read for KeepError<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if let Ok(mut last) = self.last.lock() {
                *last = Some(e.to_string());
            }
        })
    }
}

impl CaptureReader {
    /// Open a capture file; `-` reads standard input. Gzip is detected from the content.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let name = path.display().to_string();
        if path.as_os_str() == "-" {
            return Self::from_reader("<stdin>", io::stdin());
        }
        let file = File::open(path).map_err(|e| CaptureError {
            source_name: name.clone(),
            offset: 0,
            compressed: false,
            kind: CaptureErrorKind::Open(e),
        })?;
        Self::from_reader(name, file)
    }

    /// Read a capture from any byte stream (a file, a pipe, an HTTP body).
    pub fn from_reader(
        name: impl Into<String>,
        reader: impl Read + Send + 'static,
    ) -> Result<Self, CaptureError> {
        let name = name.into();
        let err = |kind, compressed| CaptureError {
            source_name: name.clone(),
            offset: 0,
            compressed,
            kind,
        };
        let mut buffered = BufReader::with_capacity(64 * 1024, reader);
        let mut magic = [0u8; 4];
        let got = read_up_to(&mut buffered, &mut magic)
            .map_err(|e| err(CaptureErrorKind::Io(e), false))?;
        let compressed = got >= 2 && magic[..2] == [0x1f, 0x8b];
        let mut stream: Box<dyn Read + Send> =
            Box::new(Prefixed::new(magic[..got].to_vec(), buffered));
        if compressed {
            stream = Box::new(MultiGzDecoder::new(stream));
            let got = read_up_to(&mut stream, &mut magic)
                .map_err(|e| err(CaptureErrorKind::Io(e), true))?;
            if got < 4 {
                return Err(err(
                    if got == 0 {
                        CaptureErrorKind::Empty
                    } else {
                        CaptureErrorKind::Truncated
                    },
                    true,
                ));
            }
            stream = Box::new(Prefixed::new(magic.to_vec(), stream));
        } else if got == 0 {
            return Err(err(CaptureErrorKind::Empty, false));
        } else if got < 4 {
            return Err(err(CaptureErrorKind::Truncated, false));
        }
        // Read the whole file header up front so the parser's single first `read` sees all of it,
        // even on a pipe that delivers a few bytes at a time. `stream` still starts at the magic.
        let format = match u32::from_le_bytes(magic) {
            0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0xa1b2_cd34 | 0x34cd_b2a1 => {
                CaptureFormat::Pcap
            }
            0x0a0d_0d0a => CaptureFormat::PcapNg,
            _ => return Err(err(CaptureErrorKind::BadMagic(magic), compressed)),
        };
        let io_err = |e| err(CaptureErrorKind::Io(e), compressed);
        // pcap: a fixed 24-byte header. pcapng: block type, total length and byte-order magic first.
        let mut header = vec![
            0u8;
            if format == CaptureFormat::Pcap {
                24
            } else {
                12
            }
        ];
        if read_up_to(&mut stream, &mut header).map_err(io_err)? < header.len() {
            return Err(err(CaptureErrorKind::Truncated, compressed));
        }
        if format == CaptureFormat::PcapNg {
            let len_le = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            let len = if header[8..12] == [0x4d, 0x3c, 0x2b, 0x1a] {
                len_le
            } else {
                len_le.swap_bytes()
            };
            if len > MAX_FRAME_LEN {
                return Err(err(CaptureErrorKind::AbsurdLength(len.into()), compressed));
            }
            let have = header.len();
            header.resize((len as usize).max(have), 0);
            if read_up_to(&mut stream, &mut header[have..]).map_err(io_err)? < header.len() - have {
                return Err(err(CaptureErrorKind::Truncated, compressed));
            }
        }
        let stream_error = Arc::new(Mutex::new(None));
        let stream = KeepError {
            inner: Prefixed::new(header, stream),
            last: stream_error.clone(),
        };
        let parse_err =
            |e: PcapError<&[u8]>| err(CaptureErrorKind::Corrupt(format!("{e:?}")), compressed);
        let (inner, legacy): (Box<dyn PcapReaderIterator + Send>, Interface) = match format {
            CaptureFormat::Pcap => {
                let r = LegacyPcapReader::new(BUFFER_CAPACITY, stream).map_err(parse_err)?;
                (
                    Box::new(r),
                    Interface {
                        linktype: 1,
                        resolution: 1_000_000,
                        offset_secs: 0,
                    },
                )
            }
            CaptureFormat::PcapNg => {
                let r = PcapNGReader::new(BUFFER_CAPACITY, stream).map_err(parse_err)?;
                (
                    Box::new(r),
                    Interface {
                        linktype: 1,
                        resolution: 1_000_000,
                        offset_secs: 0,
                    },
                )
            }
        };
        Ok(CaptureReader {
            inner,
            stream_error,
            name,
            format,
            compressed,
            legacy,
            big_endian: false,
            interfaces: Vec::new(),
            pending_consume: 0,
            offset: 0,
            done: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Bytes of the (decompressed) stream consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.offset + self.pending_consume as u64
    }

    fn error(&self, kind: CaptureErrorKind) -> CaptureError {
        CaptureError {
            source_name: self.name.clone(),
            offset: self.offset,
            compressed: self.compressed,
            kind,
        }
    }

    /// The next frame, `Ok(None)` at a clean end of file.
    ///
    /// Non-packet blocks (headers, interface descriptions, statistics, unknown block types) are
    /// handled or skipped here. After an error the reader stays at the error: further calls return
    /// `Ok(None)`.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        if self.pending_consume > 0 {
            // No shift on consume: pcap-parser's `consume` moves the rest of the buffer to its start
            // whenever half of it is consumed (15% of extract time); `refill` shifts only what is left.
            self.inner.consume_noshift(self.pending_consume);
            self.offset += self.pending_consume as u64;
            self.pending_consume = 0;
        }
        if self.done {
            return Ok(None);
        }
        // Phase 1: skip non-packet blocks until a packet block is at the front of the buffer. The
        // packet itself is parsed again in phase 2; returning a borrow from inside this loop would
        // keep the buffer borrowed across `consume` (a borrow-checker limitation), and re-parsing a
        // record header costs nanoseconds.
        loop {
            let step = match self.inner.next() {
                Ok((len, block)) => match block {
                    PcapBlockOwned::Legacy(_)
                    | PcapBlockOwned::NG(Block::EnhancedPacket(_))
                    | PcapBlockOwned::NG(Block::SimplePacket(_)) => Step::Packet,
                    PcapBlockOwned::LegacyHeader(h) => {
                        self.big_endian = h.is_bigendian();
                        self.legacy = Interface {
                            linktype: h.network.0 as u32,
                            resolution: if h.is_nanosecond_precision() {
                                1_000_000_000
                            } else {
                                1_000_000
                            },
                            offset_secs: i64::from(h.thiszone),
                        };
                        Step::Skip(len)
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(shb)) => {
                        self.big_endian = shb.big_endian();
                        self.interfaces.clear();
                        Step::Skip(len)
                    }
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        self.interfaces.push(Interface {
                            linktype: idb.linktype.0 as u32,
                            resolution: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                            offset_secs: idb.ts_offset(),
                        });
                        Step::Skip(len)
                    }
                    PcapBlockOwned::NG(_) => Step::Skip(len),
                },
                Err(PcapError::Eof) => Step::End,
                Err(PcapError::Incomplete(_)) => Step::Refill,
                Err(PcapError::UnexpectedEof) => Step::Fail(CaptureErrorKind::Truncated),
                Err(PcapError::BufferTooSmall) => {
                    Step::Fail(CaptureErrorKind::AbsurdLength(self.claimed_len()))
                }
                Err(PcapError::ReadError) => Step::Fail(self.read_failure("read failed")),
                Err(e) => Step::Fail(CaptureErrorKind::Corrupt(describe(&e))),
            };
            match step {
                Step::Packet => break,
                Step::Skip(len) => {
                    self.inner.consume_noshift(len);
                    self.offset += len as u64;
                }
                Step::Refill => {
                    if let Err(e) = self.inner.refill() {
                        let kind = match e {
                            PcapError::ReadError => self.read_failure("read failed"),
                            e => CaptureErrorKind::Corrupt(describe(&e)),
                        };
                        self.done = true;
                        return Err(self.error(kind));
                    }
                }
                Step::End => {
                    self.done = true;
                    return Ok(None);
                }
                Step::Fail(kind) => {
                    self.done = true;
                    return Err(self.error(kind));
                }
            }
        }
        // Phase 2: the front block is a packet.
        let offset = self.offset;
        let (len, block) = self.inner.next().map_err(|_| CaptureError {
            source_name: self.name.clone(),
            offset,
            compressed: self.compressed,
            kind: CaptureErrorKind::Corrupt("packet block vanished on re-parse".into()),
        })?;
        self.pending_consume = len;
        let (iface, ts_units, data, orig_len, caplen) = match block {
            PcapBlockOwned::Legacy(b) => {
                let units = u128::from(b.ts_sec) * u128::from(self.legacy.resolution)
                    + u128::from(b.ts_usec);
                (self.legacy, units, b.data, b.origlen, b.caplen)
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                let Some(iface) = self.interfaces.get(epb.if_id as usize).copied() else {
                    self.done = true;
                    return Err(CaptureError {
                        source_name: self.name.clone(),
                        offset,
                        compressed: self.compressed,
                        kind: CaptureErrorKind::UnknownInterface(epb.if_id),
                    });
                };
                let units = (u128::from(epb.ts_high) << 32) | u128::from(epb.ts_low);
                let data = &epb.data[..(epb.caplen as usize).min(epb.data.len())];
                (iface, units, data, epb.origlen, epb.caplen)
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                // Simple packets belong to interface 0 and carry no timestamp.
                let iface = self.interfaces.first().copied().unwrap_or(self.legacy);
                let data = &spb.data[..(spb.origlen as usize).min(spb.data.len())];
                (iface, 0, data, spb.origlen, spb.origlen)
            }
            _ => unreachable!("phase 1 stopped on a packet block"),
        };
        if caplen > MAX_FRAME_LEN {
            self.done = true;
            return Err(CaptureError {
                source_name: self.name.clone(),
                offset,
                compressed: self.compressed,
                kind: CaptureErrorKind::AbsurdLength(caplen.into()),
            });
        }
        let micros = match iface.resolution {
            // The two common resolutions without 128-bit division (a measurable cost per packet).
            1_000_000 => ts_units.min(i64::MAX as u128) as i64,
            1_000_000_000 => (ts_units / 1000).min(i64::MAX as u128) as i64,
            r => (ts_units * 1_000_000 / u128::from(r)).min(i64::MAX as u128) as i64,
        };
        let ts_us = micros.saturating_add(iface.offset_secs.saturating_mul(1_000_000));
        Ok(Some(Frame {
            ts_us,
            linktype: iface.linktype,
            data,
            orig_len,
            offset,
        }))
    }

    /// The length a record at the front of the buffer claims (for the error message when it cannot
    /// fit in the buffer).
    fn claimed_len(&self) -> u64 {
        let d = self.inner.data();
        let (at, big) = match self.format {
            CaptureFormat::Pcap => (8, self.big_endian),
            CaptureFormat::PcapNg => (4, self.big_endian),
        };
        match d.get(at..at + 4) {
            Some(b) if big => u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            Some(b) => u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            None => 0,
        }
    }
}

enum Step {
    Packet,
    Skip(usize),
    Refill,
    End,
    Fail(CaptureErrorKind),
}

impl CaptureReader {
    /// A failed read, with the byte stream's own reason when it gave one.
    fn read_failure(&self, fallback: &str) -> CaptureErrorKind {
        let cause = self.stream_error.lock().ok().and_then(|mut e| e.take());
        CaptureErrorKind::Io(io::Error::other(cause.unwrap_or_else(|| fallback.into())))
    }
}

fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) => format!("parse error: {kind:?}"),
        PcapError::OwnedNomError(_, kind) => format!("parse error: {kind:?}"),
        other => format!("{other:?}"),
    }
}

/// Fill `buf` as far as the stream allows; returns the bytes read (short only at end of stream).
fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// A reader that first yields a prefix already taken from the stream, then the stream.
struct Prefixed<R> {
    prefix: Vec<u8>,
    pos: usize,
    inner: R,
}

impl<R> Prefixed<R> {
    fn new(prefix: Vec<u8>, inner: R) -> Self {
        Prefixed {
            prefix,
            pos: 0,
            inner,
        }
    }
}

impl<R: Read> Read for Prefixed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.prefix.len() {
            let n = buf.len().min(self.prefix.len() - self.pos);
            buf[..n].copy_from_slice(&self.prefix[self.pos..self.pos + n]);
            self.pos += n;
            return Ok(n);
        }
        self.inner.read(buf)
    }
}
