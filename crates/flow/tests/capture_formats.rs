//! The capture reader: every container variant gives the same flows, and bad input gives a clear
//! error with the byte offset after the readable part has been processed.

use flate2::write::GzEncoder;
use mlids_flow::capture::CaptureErrorKind;
use mlids_flow::{CaptureReader, MeterConfig, Mode, Pipeline, VecSink};
use mlids_test_support::capture::*;
use std::io::{Cursor, Write};

fn session() -> Vec<RawFrame> {
    let l = Link::default();
    vec![
        tcp(T0 + 1, CLIENT, SERVER, "S", 0, 8192, l),
        tcp(T0 + 100, SERVER, CLIENT, "SA", 0, 29200, l),
        tcp(T0 + 300, CLIENT, SERVER, "PA", 120, 8192, l),
        tcp(T0 + 900, SERVER, CLIENT, "PA", 1400, 29200, l),
        udp(T0 + 950, Ep("10.0.0.5", 5353), Ep("10.0.0.6", 53), 40),
        udp(T0 + 990_123, Ep("10.0.0.6", 53), Ep("10.0.0.5", 5353), 80),
        tcp(T0 + 2_000_001, CLIENT, SERVER, "FA", 0, 8192, l),
    ]
}

fn flows_of(bytes: Vec<u8>) -> Vec<mlids_flow::FlowRecord> {
    run_bytes(MeterConfig::new(Mode::Cic2018), bytes).0
}

#[test]
fn pcap_variants_and_pcapng_give_identical_flows() {
    let frames = session();
    let reference = flows_of(pcap_bytes(&frames, 1, false, false));
    assert_eq!(reference.len(), 2);
    assert_eq!(
        flows_of(pcap_bytes(&frames, 1, true, false)),
        reference,
        "nanosecond pcap"
    );
    assert_eq!(
        flows_of(pcap_bytes(&frames, 1, false, true)),
        reference,
        "big-endian pcap"
    );
    assert_eq!(
        flows_of(pcap_bytes(&frames, 1, true, true)),
        reference,
        "big-endian nanosecond pcap"
    );
    assert_eq!(flows_of(pcapng_bytes(&frames)), reference, "pcapng");
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&pcapng_bytes(&frames)).unwrap();
    assert_eq!(flows_of(gz.finish().unwrap()), reference, "gzip pcapng");
}

#[test]
fn a_pipe_delivering_one_byte_at_a_time_is_read_fully() {
    let frames = session();
    let reference = flows_of(pcap_bytes(&frames, 1, false, false));
    for bytes in [pcap_bytes(&frames, 1, false, false), pcapng_bytes(&frames)] {
        let mut reader = CaptureReader::from_reader("pipe", Trickle(Cursor::new(bytes))).unwrap();
        let mut p = Pipeline::new(MeterConfig::new(Mode::Cic2018));
        let mut sink = VecSink::default();
        p.feed(&mut reader, &mut sink, &mut ())
            .unwrap()
            .result()
            .unwrap();
        p.finish(&mut sink).unwrap();
        assert_eq!(sink.0, reference);
    }
}

#[test]
fn raw_ip_linux_cooked_and_null_link_types_decode() {
    let frames = session();
    let reference = flows_of(pcap_bytes(&frames, 1, false, false));
    // Strip Ethernet (14 bytes) and the padding beyond the IP length, then prepend each link header.
    let reframe = |header: &dyn Fn(&[u8]) -> Vec<u8>| -> Vec<RawFrame> {
        frames
            .iter()
            .map(|f| {
                let ip = &f.data[14..];
                let total = u16::from_be_bytes([ip[2], ip[3]]) as usize;
                let mut d = header(&ip[..total]);
                d.extend_from_slice(&ip[..total]);
                RawFrame {
                    ts_us: f.ts_us,
                    data: d,
                }
            })
            .collect()
    };
    let raw = reframe(&|_| vec![]);
    assert_eq!(
        flows_of(pcap_bytes(&raw, 101, false, false)),
        reference,
        "raw IP"
    );
    assert_eq!(
        flows_of(pcap_bytes(&raw, 228, false, false)),
        reference,
        "IPv4 link type"
    );
    let sll = reframe(&|_| {
        let mut h = vec![0u8; 14];
        h.extend_from_slice(&[0x08, 0x00]);
        h
    });
    assert_eq!(
        flows_of(pcap_bytes(&sll, 113, false, false)),
        reference,
        "Linux SLL"
    );
    let sll2 = reframe(&|_| {
        let mut h = vec![0x08, 0x00];
        h.extend_from_slice(&[0u8; 18]);
        h
    });
    assert_eq!(
        flows_of(pcap_bytes(&sll2, 276, false, false)),
        reference,
        "Linux SLL2"
    );
    let null = reframe(&|_| 2u32.to_le_bytes().to_vec());
    assert_eq!(
        flows_of(pcap_bytes(&null, 0, false, false)),
        reference,
        "BSD null"
    );
    let lo = reframe(&|_| 2u32.to_be_bytes().to_vec());
    assert_eq!(
        flows_of(pcap_bytes(&lo, 108, false, false)),
        reference,
        "OpenBSD loop"
    );
    // An undecodable link type is skipped and counted under its name.
    let (flows, summary) = run_bytes(
        MeterConfig::new(Mode::Cic2018),
        pcap_bytes(&raw, 105, false, false),
    );
    assert!(flows.is_empty());
    assert_eq!(
        summary.skipped.get("link type IEEE802_11"),
        Some(&(frames.len() as u64))
    );
}

/// Run a possibly damaged cic2018 capture to the end: flows, summary, the first capture error.
fn run_partial(
    bytes: Vec<u8>,
) -> (
    Vec<mlids_flow::FlowRecord>,
    mlids_flow::Summary,
    Option<mlids_flow::CaptureError>,
) {
    run_bytes_partial(MeterConfig::new(Mode::Cic2018), bytes)
}

#[test]
fn truncated_capture_keeps_the_readable_part_and_names_the_offset() {
    let frames = session();
    let full = pcap_bytes(&frames, 1, false, false);
    // Cut inside the last record.
    let cut = full.len() - 10;
    let (flows, summary, err) = run_partial(full[..cut].to_vec());
    let err = err.expect("truncation is an error");
    assert!(matches!(err.kind, CaptureErrorKind::Truncated), "{err}");
    let last_record_offset = full.len() - 16 - frames.last().unwrap().data.len();
    assert_eq!(err.offset as usize, last_record_offset);
    assert!(
        err.to_string().contains(CAPTURE_NAME)
            && err
                .to_string()
                .contains(&format!("offset {last_record_offset}")),
        "{err}"
    );
    // The TCP flow (without its FIN) and the UDP flow still come out.
    assert_eq!(flows.len(), 2);
    assert_eq!(summary.packets_read, frames.len() as u64 - 1);
    assert_eq!(summary.errors.len(), 1);
}

#[test]
fn absurd_record_length_is_an_error_not_an_allocation() {
    let frames = session();
    let mut bytes = pcap_bytes(&frames[..2], 1, false, false);
    let second = 24 + 16 + frames[0].data.len();
    bytes[second + 8..second + 12].copy_from_slice(&0x0100_0000u32.to_le_bytes());
    let (_, summary, err) = run_partial(bytes);
    let err = err.unwrap();
    assert!(
        matches!(err.kind, CaptureErrorKind::AbsurdLength(0x0100_0000)),
        "{err}"
    );
    assert_eq!(err.offset as usize, second);
    assert_eq!(summary.packets_read, 1);
}

#[test]
fn bad_magic_and_empty_input_are_named() {
    let (_, _, err) = run_partial(b"GET / HTTP/1.1\r\n\r\n".to_vec());
    assert!(matches!(err.unwrap().kind, CaptureErrorKind::BadMagic(_)));
    let (_, _, err) = run_partial(vec![]);
    assert!(matches!(err.unwrap().kind, CaptureErrorKind::Empty));
    let (_, _, err) = run_partial(vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0]);
    assert!(matches!(err.unwrap().kind, CaptureErrorKind::Truncated));
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap deterministic fuzz pass (the cargo-fuzz target in fuzz/ goes much further).
    let base = pcap_bytes(&session(), 1, false, false);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..300 {
        let mut b = base.clone();
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = 24 + (state as usize) % (b.len() - 24);
            b[i] = (state >> 32) as u8;
        }
        let (_, summary, _) = run_partial(b);
        assert_eq!(
            summary.packets_read,
            summary.packets_decoded + summary.packets_skipped(),
            "every packet read is decoded or skipped: {summary:?}"
        );
    }
}

#[test]
fn threaded_sink_writes_the_same_bytes_and_reports_inner_errors() {
    use mlids_flow::sink::ThreadedSink;
    use mlids_flow::{CsvSink, FlowSink, Layout, NameStyle};
    use std::sync::{Arc, Mutex};
    let frames: Vec<RawFrame> = (0..2000u16)
        .flat_map(|i| {
            [
                udp(T0 + i64::from(i), Ep("10.0.0.1", 1000 + i), SERVER, 3),
                udp(T0 + i64::from(i) + 1, SERVER, Ep("10.0.0.1", 1000 + i), 4),
            ]
        })
        .collect();
    let (flows, summary) = run(Mode::Cic2018, &frames);
    assert_eq!(flows.len(), 2000);
    let layout = Layout::new(Mode::Cic2018, NameStyle::Cic2018, false);
    let mut direct = CsvSink::new(Vec::new(), layout.clone(), None);
    for f in &flows {
        direct.flow(f).unwrap();
    }
    direct.finish(&summary).unwrap();
    /// A Write that shares its buffer so the test can read it after the thread is done.
    #[derive(Clone)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Shared(Arc::new(Mutex::new(Vec::new())));
    let mut threaded = ThreadedSink::new(CsvSink::new(buf.clone(), layout, None));
    for f in &flows {
        threaded.flow(f).unwrap();
    }
    threaded.finish(&summary).unwrap();
    assert_eq!(*buf.0.lock().unwrap(), direct.into_inner());
    // A failing writer: the error comes back, no hang.
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut threaded = ThreadedSink::new(CsvSink::new(
        Broken,
        Layout::new(Mode::Cic2018, NameStyle::Cic2018, false),
        None,
    ));
    let mut err = None;
    for f in &flows {
        if let Err(e) = threaded.flow(f) {
            err = Some(e);
            break;
        }
    }
    let err = err
        .or_else(|| threaded.finish(&summary).err())
        .expect("the write error surfaces");
    assert!(err.to_string().contains("disk full"), "{err}");
}

#[test]
fn a_damaged_gzip_stream_names_its_cause() {
    // A gzip whose CRC trailer is wrong: the error is the decompressor's reason, not the parser's
    // bare "ReadError".
    let frames: Vec<RawFrame> = (0..2000).flat_map(|_| session()).collect();
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&pcap_bytes(&frames, 1, false, false)).unwrap();
    let mut bytes = gz.finish().unwrap();
    let n = bytes.len();
    bytes[n - 8..n - 4].iter_mut().for_each(|b| *b ^= 0xff);
    let mut reader = CaptureReader::from_reader("damaged.pcap.gz", Cursor::new(bytes)).unwrap();
    let mut p = Pipeline::new(MeterConfig::new(Mode::Cic2018));
    let mut sink = VecSink::default();
    let err = p
        .feed(&mut reader, &mut sink, &mut ())
        .unwrap()
        .result()
        .unwrap_err()
        .to_string();
    assert!(!err.contains("ReadError"), "{err}");
    assert!(err.contains("checksum"), "{err}");
}
