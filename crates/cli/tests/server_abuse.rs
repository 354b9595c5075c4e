//! Issue #17's probes against a real `ml-ids serve` process on loopback: memory per request stays
//! bounded, slow streams cannot starve predictions, slow headers are cut off, an oversized
//! Content-Length is refused at once, and a client that disconnects stops its work. Raw HTTP over
//! `std::net` so each probe sends exactly the bytes an attacker would. Bounded in count and time.

use mlids_flow::synth::{pcap_bytes, udp, Ep, T0};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    start_with(&[])
}

fn start_with(extra: &[&str]) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_ml-ids"))
        .current_dir(mlids_test_support::workspace_root())
        .args(["serve", "--model", "models/default", "--bind"])
        .arg(addr.to_string())
        .args(["--max-captures", "64"])
        .args(extra)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, addr };
    for _ in 0..200 {
        if request(addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", b"").is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("server did not start");
}

/// Send a request and read the whole answer (the server closes or says Content-Length).
fn request(addr: SocketAddr, head: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if len.is_some_and(|l| buf.len() >= end + 4 + l) {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, text))
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn post(addr: SocketAddr, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    request(addr, &head, body).unwrap()
}

fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

/// CPU seconds (user + system) the process has used.
fn cpu_seconds(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &s[s.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn model_features() -> Vec<String> {
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            mlids_test_support::workspace_root().join("models/default/manifest.json"),
        )
        .unwrap(),
    )
    .unwrap();
    manifest["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

/// A small valid prediction request: one row of the model's features, zeros.
fn one_row() -> Vec<u8> {
    let cols = model_features();
    let row = vec![0; cols.len()];
    serde_json::json!({ "columns": cols, "data": [row] })
        .to_string()
        .into_bytes()
}

#[test]
fn memory_per_request_is_bounded_by_its_body() {
    let s = start();
    let pid = s.child.id();
    let before = rss_kib(pid);
    // 193 KB of empty records: once ~190 MB of reservations.
    let mut body = String::from("{\"dataframe_records\":[");
    body.push_str(&vec!["{}"; 64_000].join(","));
    body.push_str("]}");
    let (status, text) = post(
        s.addr,
        "/api/predictions",
        "application/json",
        body.as_bytes(),
    );
    assert!(
        (400..500).contains(&status),
        "{status} {}",
        &text[..text.len().min(300)]
    );
    // A record with 300 columns, then 60,000 empty ones: would expand to 18 M cells.
    let cols: Vec<String> = (0..300).map(|i| format!("\"c{i}\":0")).collect();
    let mut body = format!("[{{{}}},", cols.join(","));
    body.push_str(&vec!["{}"; 60_000].join(","));
    body.push(']');
    let (status, text) = post(
        s.addr,
        "/api/predictions",
        "application/json",
        body.as_bytes(),
    );
    assert_eq!(status, 413, "{}", &text[..text.len().min(300)]);
    assert!(text.contains("omit most columns"), "{text}");
    // 4.2 MB of empty rows under the model's feature columns: refused on the first row's width,
    // before a feature matrix is allocated for 1.4 M rows.
    let cols: Vec<String> = model_features()
        .iter()
        .map(|f| format!("\"{f}\""))
        .collect();
    let mut body = format!("{{\"columns\":[{}],\"data\":[", cols.join(","));
    body.push_str(&vec!["[]"; 1_400_000].join(","));
    body.push_str("]}");
    let (status, _) = post(
        s.addr,
        "/api/predictions",
        "application/json",
        body.as_bytes(),
    );
    assert_eq!(status, 400);
    let grown_mib = rss_kib(pid).saturating_sub(before) / 1024;
    // The 4.2 MB body itself and its parsed rows (16 B per empty row header) are all it may cost.
    assert!(grown_mib < 120, "RSS grew {grown_mib} MiB");
    eprintln!(
        "amplification bodies: RSS {} → {} MiB",
        before / 1024,
        rss_kib(pid) / 1024
    );
    // Still answering.
    let (status, _) = post(s.addr, "/api/predictions", "application/json", &one_row());
    assert_eq!(status, 200);
}

#[test]
fn an_oversized_content_length_is_refused_before_the_body() {
    let s = start();
    let mut c = TcpStream::connect(s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = Instant::now();
    c.write_all(b"POST /api/predictions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n").unwrap();
    let mut buf = [0u8; 4096];
    let n = c.read(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn slow_streams_cannot_starve_predictions_and_slow_headers_are_cut_off() {
    let s = start();
    // 600 streams that send a pcap header and then nothing.
    let header = pcap_bytes(&[], 1, false, false);
    let mut streams = Vec::new();
    for _ in 0..600 {
        let mut c = TcpStream::connect(s.addr).unwrap();
        let head =
            "POST /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        c.write_all(head.as_bytes()).unwrap();
        // The server may already have answered 503 and closed: the body is best-effort.
        let mut chunk = format!("{:x}\r\n", header.len()).into_bytes();
        chunk.extend_from_slice(&header);
        chunk.extend_from_slice(b"\r\n");
        let _ = c.write_all(&chunk);
        streams.push(c);
    }
    std::thread::sleep(Duration::from_millis(500));
    // Beyond the 64 capture slots the streams were refused at once: a 503, or (when the close
    // raced our body) a closed connection; the admitted ones are still open and silent.
    let (mut refused, mut open) = (0, 0);
    for c in &mut streams {
        c.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        let mut buf = [0u8; 64];
        match c.read(&mut buf) {
            Ok(n) if String::from_utf8_lossy(&buf[..n]).contains(" 503 ") => refused += 1,
            Ok(0) => refused += 1,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                open += 1
            }
            Err(_) => refused += 1,
        }
    }
    assert!(open <= 64, "{open} streams admitted beyond the 64 slots");
    assert!(refused >= 500, "only {refused} of 600 streams refused");
    // Predictions answer promptly while the 64 admitted streams wait.
    for _ in 0..5 {
        let started = Instant::now();
        let (status, _) = post(s.addr, "/api/predictions", "application/json", &one_row());
        assert_eq!(status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "prediction took {:?}",
            started.elapsed()
        );
    }
    let (status, text) = request(
        s.addr,
        "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        b"",
    )
    .unwrap();
    assert_eq!(status, 503, "all capture slots are taken: {text}");
    drop(streams);
    // A client that sends its headers a byte at a time is cut off after the header timeout.
    let mut c = TcpStream::connect(s.addr).unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHo").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 256];
    let n = c.read(&mut buf).unwrap_or(0);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(15),
        "still open after {waited:?}: {}",
        String::from_utf8_lossy(&buf[..n])
    );
    let (status, _) = request(
        s.addr,
        "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        b"",
    )
    .unwrap();
    assert_eq!(status, 200, "slots are free again");
}

#[test]
fn a_client_that_disconnects_stops_its_upload() {
    let s = start();
    let pid = s.child.id();
    // 200,000 one-packet UDP flows (~17 MB): classifying them all takes seconds.
    let frames: Vec<_> = (0..200_000u32)
        .map(|i| {
            let port = 1024 + (i % 60_000) as u16;
            let host: &'static str =
                ["10.9.0.1", "10.9.0.2", "10.9.0.3", "10.9.0.4"][(i / 60_000) as usize];
            udp(
                T0 + i64::from(i) * 10,
                Ep(host, port),
                Ep("10.9.9.9", 53),
                20,
            )
        })
        .collect();
    let pcap = pcap_bytes(&frames, 1, false, false);
    let mut c = TcpStream::connect(s.addr).unwrap();
    let head = format!(
        "POST /api/pcap HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/vnd.tcpdump.pcap\r\nContent-Length: {}\r\n\r\n",
        pcap.len()
    );
    c.write_all(head.as_bytes()).unwrap();
    c.write_all(&pcap).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(c);
    // Within 2 s the server stops spending CPU on it.
    std::thread::sleep(Duration::from_secs(2));
    let a = cpu_seconds(pid);
    std::thread::sleep(Duration::from_secs(1));
    let b = cpu_seconds(pid);
    assert!(
        b - a < 0.3,
        "still busy: {:.2} CPU-s in the last second",
        b - a
    );
}

#[test]
fn silent_and_idle_connections_close_and_body_errors_name_their_cause() {
    let s = start_with(&["--idle-timeout", "3"]);
    // A connection that never sends a byte: closed by the header timeout (10 s).
    let mut silent = TcpStream::connect(s.addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 512];
    let _ = silent.read(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "silent connection open {:?}",
        started.elapsed()
    );
    // A keep-alive connection left idle after one answer: closed by the idle timeout (3 s here).
    let mut idle = TcpStream::connect(s.addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let n = idle.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    while idle.read(&mut buf).map(|n| n > 0).unwrap_or(false) {}
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "idle keep-alive open {:?}",
        started.elapsed()
    );

    // `curl -T -` streams with PUT: accepted like POST.
    let frames: Vec<_> = (0..50u16)
        .map(|i| {
            udp(
                T0 + i64::from(i) * 1000,
                Ep("10.9.0.1", 1000 + i),
                Ep("10.9.9.9", 53),
                20,
            )
        })
        .collect();
    let pcap = pcap_bytes(&frames, 1, false, false);
    let head = format!(
        "PUT /api/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        pcap.len()
    );
    let (status, text) = request(s.addr, &head, &pcap).unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"flows\":50"), "{text}");

    // An upload whose gzip trailer is damaged: the answer names the checksum, not "ReadError".
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&pcap).unwrap();
    let mut bytes = gz.finish().unwrap();
    let n = bytes.len();
    bytes[n - 8..n - 4].iter_mut().for_each(|b| *b ^= 0xff);
    let (status, text) = post(s.addr, "/api/pcap", "application/vnd.tcpdump.pcap", &bytes);
    assert!((400..500).contains(&status), "{status} {text}");
    assert!(
        text.contains("checksum") && !text.contains("ReadError"),
        "{text}"
    );

    // A multipart body that ends before its closing boundary: the cause, not "ReadError".
    let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.pcap\"\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
    body.extend_from_slice(&pcap[..200]);
    let (status, text) = post(
        s.addr,
        "/api/pcap",
        "multipart/form-data; boundary=XyZ",
        &body,
    );
    assert!((400..500).contains(&status), "{status} {text}");
    assert!(!text.contains("ReadError"), "{text}");
    assert!(
        text.to_lowercase().contains("multipart") || text.contains("request body"),
        "{text}"
    );
}
