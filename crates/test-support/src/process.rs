//! Servers started by a test on a port the kernel chose, read back from the server's own log line.
//!
//! Picking a "free" port in the test (bind to 0, read it, close it) and handing it to the server is
//! a race when tests run in parallel: another test's server can take the port between the two, and
//! the test then talks to a stranger's server (a NATS node of the cluster test restarted on the
//! same port, say). Binding port 0 in the server itself and reading the port it reports cannot
//! collide.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Spawn `cmd` with its stderr piped, wait (at most `patience`) for the first stderr line holding
/// `marker`, and return the child with the port of the `host:port` that follows the marker on that
/// line. Every stderr line (the marker's too) is copied to `log`, before and after.
pub fn spawn_reporting_port(
    mut cmd: Command,
    marker: &str,
    log: &Path,
    patience: Duration,
) -> (Child, u16) {
    let mut child = cmd
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the server");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut file = std::fs::File::create(log).expect("create the server's log");
    let (tx, rx) = mpsc::channel();
    let wanted = marker.to_string();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(file, "{line}");
            if !sent {
                if let Some(port) = port_after(&line, &wanted) {
                    let _ = tx.send(port);
                    sent = true;
                }
            }
        }
    });
    match rx.recv_timeout(patience) {
        Ok(port) => (child, port),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the server did not report '{marker}' within {patience:?}; its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
    }
}

/// The port of the first `host:port` after `marker` in `line` (`127.0.0.1:4222`, `[::1]:80/`).
fn port_after(line: &str, marker: &str) -> Option<u16> {
    let rest = &line[line.find(marker)? + marker.len()..];
    let addr = rest.split_whitespace().next()?;
    let addr = addr.trim_start_matches("http://").trim_end_matches('/');
    addr.rsplit_once(':')?.1.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::port_after;

    #[test]
    fn ports_are_read_from_nats_and_ml_ids_log_lines() {
        assert_eq!(
            port_after(
                "[1] 2026/12/02 10:00:00.1 [INF] Listening for client connections on 127.0.0.1:41234",
                "Listening for client connections on"
            ),
            Some(41234)
        );
        assert_eq!(
            port_after(
                "ml-ids serve: listening on http://127.0.0.1:39001/  (UI at …)",
                "listening on"
            ),
            Some(39001)
        );
        assert_eq!(port_after("listening on nothing", "listening on"), None);
        assert_eq!(port_after("no marker here", "listening on"), None);
    }
}
