//! Live capture to a running `ml-ids serve`: the capture bytes go to `POST /api/stream` as a chunked
//! request while a WebSocket on `GET /api/alerts` collects the alerts the server publishes.

use crate::routing::Routing;
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// `http://host:port[/prefix]` → (host:port, prefix without trailing slash).
pub fn parse_base(url: &str) -> Result<(String, String)> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("{url}: only http:// server addresses are supported"))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if hostport.is_empty() {
        bail!("{url}: no host");
    }
    let hostport = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    Ok((hostport, path.to_string()))
}

/// The capture uploader: chunks are queued (never blocking the capture) and sent by a thread.
pub struct Uploader {
    tx: Option<Sender<Vec<u8>>>,
    worker: Option<JoinHandle<Result<(u16, String)>>>,
}

impl Uploader {
    pub fn start(base: &str, name: &str, token: Option<&str>) -> Result<Uploader> {
        let (hostport, prefix) = parse_base(base)?;
        let mut conn = TcpStream::connect(&hostport)
            .with_context(|| format!("cannot connect to {hostport}"))?;
        conn.set_nodelay(true).ok();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        write!(
            conn,
            "POST {prefix}/api/stream?name={name} HTTP/1.1\r\nHost: {hostport}\r\n{auth}Content-Type: application/vnd.tcpdump.pcap\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )?;
        let (tx, rx) = channel::<Vec<u8>>();
        let worker = std::thread::spawn(move || -> Result<(u16, String)> {
            for chunk in rx {
                write!(conn, "{:x}\r\n", chunk.len())?;
                conn.write_all(&chunk)?;
                conn.write_all(b"\r\n")?;
            }
            conn.write_all(b"0\r\n\r\n")?;
            conn.flush()?;
            // The server answers when its pipeline has finished the whole capture.
            conn.set_read_timeout(Some(Duration::from_secs(600)))?;
            read_response(conn)
        });
        Ok(Uploader {
            tx: Some(tx),
            worker: Some(worker),
        })
    }

    pub fn send(&self, bytes: &[u8]) {
        if let Some(tx) = &self.tx {
            // A failed upload shows up in finish(); the capture to disk goes on regardless.
            let _ = tx.send(bytes.to_vec());
        }
    }

    /// End the request and wait for the server's answer: (HTTP status, body).
    pub fn finish(mut self) -> Result<(u16, String)> {
        drop(self.tx.take());
        self.worker
            .take()
            .expect("finish once")
            .join()
            .map_err(|_| anyhow::anyhow!("stream thread panicked"))?
    }
}

fn read_response(conn: TcpStream) -> Result<(u16, String)> {
    let mut r = BufReader::new(conn);
    let mut status_line = String::new();
    r.read_line(&mut status_line)?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("bad HTTP status line {status_line:?}"))?;
    let mut chunked = false;
    let mut length: Option<usize> = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        } else if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().ok();
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .context("bad chunk size")?;
            if n == 0 {
                break;
            }
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else {
        r.read_to_end(&mut body)?;
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// What the alert listener saw.
#[derive(Debug, Default)]
pub struct AlertTally {
    pub total: u64,
    pub missed: u64,
}

/// Collects alerts from the server's WebSocket into a JSON Lines file, counting them (their
/// scenarios are known once the run is over: [`alerts_by_scenario`]).
pub struct AlertListener {
    stop: Arc<AtomicBool>,
    worker: JoinHandle<Result<AlertTally>>,
}

impl AlertListener {
    /// Connect now (before any traffic), so no alert is missed.
    pub fn start(base: &str, token: Option<&str>, out: &Path) -> Result<AlertListener> {
        let (hostport, prefix) = parse_base(base)?;
        let tcp = TcpStream::connect(&hostport)
            .with_context(|| format!("cannot connect to {hostport}"))?;
        // Per-flow alerts are opt-in on the WebSocket; the testbed scores every one.
        let q = token.map(|t| format!("&token={t}")).unwrap_or_default();
        let url = format!("ws://{hostport}{prefix}/api/alerts?events=alerts{q}");
        let (mut ws, _) = tungstenite::client(url.as_str(), tcp)
            .map_err(|e| anyhow::anyhow!("WebSocket {hostport}{prefix}/api/alerts: {e}"))?;
        ws.get_mut()
            .set_read_timeout(Some(Duration::from_millis(200)))?;
        let mut file = std::io::BufWriter::new(
            std::fs::File::create(out)
                .with_context(|| format!("cannot create {}", out.display()))?,
        );
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let worker = std::thread::spawn(move || -> Result<AlertTally> {
            let mut tally = AlertTally::default();
            let mut quiet_since = Instant::now();
            loop {
                match ws.read() {
                    Ok(tungstenite::Message::Text(t)) => {
                        quiet_since = Instant::now();
                        let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                        match v.get("type").and_then(Value::as_str) {
                            Some("lagged") => {
                                tally.missed += v.get("missed").and_then(Value::as_u64).unwrap_or(0)
                            }
                            Some(_) => {}
                            None => {
                                tally.total += 1;
                                writeln!(file, "{}", t.as_str())?;
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e))
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(
                        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed,
                    ) => break,
                    Err(e) => return Err(anyhow::anyhow!("alert WebSocket: {e}")),
                }
                // After stop: keep reading until the server has been quiet for 2 s.
                if stop2.load(Ordering::SeqCst) && quiet_since.elapsed() > Duration::from_secs(2) {
                    let _ = ws.close(None);
                    break;
                }
            }
            file.flush()?;
            Ok(tally)
        });
        Ok(AlertListener { stop, worker })
    }

    pub fn finish(self) -> Result<AlertTally> {
        self.stop.store(true, Ordering::SeqCst);
        self.worker
            .join()
            .map_err(|_| anyhow::anyhow!("alert thread panicked"))?
    }
}

/// Alerts of the JSON Lines file `alerts` per scenario, attributed as the run labels flows (by
/// address and flow start; forged sources by victim and time). Lines that are no alert of a flow
/// (or name no scenario) are not counted.
pub fn alerts_by_scenario(
    alerts: &Path,
    routing: &Routing,
    names: &[&str],
) -> Result<BTreeMap<String, u64>> {
    let file =
        std::fs::File::open(alerts).with_context(|| format!("cannot read {}", alerts.display()))?;
    let mut by = BTreeMap::new();
    for line in BufReader::new(file).lines() {
        let line = line.with_context(|| format!("cannot read {}", alerts.display()))?;
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let field = |k: &str| v.get(k).and_then(Value::as_str);
        let ip = |k: &str| field(k).and_then(|a| a.parse::<std::net::IpAddr>().ok());
        let (Some(src), Some(dst), Some(start)) = (
            ip("src_ip"),
            ip("dst_ip"),
            field("time").and_then(mlids_flow::time::parse_rfc3339_micros),
        ) else {
            continue;
        };
        if let Some(i) = routing
            .scenario(src, dst, start)
            .filter(|&i| routing.in_window(i, start))
        {
            *by.entry(names[i].to_string()).or_default() += 1;
        }
    }
    Ok(by)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            parse_base("http://127.0.0.1:8080").unwrap(),
            ("127.0.0.1:8080".into(), "".into())
        );
        assert_eq!(
            parse_base("http://localhost/ids/").unwrap(),
            ("localhost:80".into(), "/ids".into())
        );
        assert!(parse_base("https://x").is_err());
    }
}
