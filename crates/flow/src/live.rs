//! Live capture through libpcap (behind the `live` feature, so the flow crate builds without
//! libpcap where only files are read).

use crate::capture::Frame;
use crate::source::{CaptureStats, Next, PacketSource, SourceError};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why live capture could not start. Each names the interface or filter so the CLI can print it
/// as is.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("cannot capture on interface '{iface}': {source} (capturing needs root or the capabilities cap_net_raw,cap_net_admin; see docs/watch.md)")]
    Open { iface: String, source: pcap::Error },
    #[error("invalid capture filter '{filter}': {source}")]
    Filter { filter: String, source: pcap::Error },
}

/// libpcap settings for [`LiveSource`].
#[derive(Clone, Debug)]
pub struct LiveOptions {
    pub iface: String,
    /// BPF filter expression (`tcp or udp`, `not port 22`).
    pub filter: Option<String>,
    pub promisc: bool,
    /// Bytes kept of each packet. Features need only headers plus payload lengths, which come from
    /// the IP header, so a short snap length loses nothing but costs less copying.
    pub snaplen: i32,
    /// Kernel ring buffer, bytes: the headroom before libpcap starts dropping during a burst.
    pub buffer_bytes: i32,
    /// How long one read waits before reporting `Idle`.
    pub read_timeout: Duration,
}

impl LiveOptions {
    pub fn new(iface: impl Into<String>) -> Self {
        LiveOptions {
            iface: iface.into(),
            filter: None,
            promisc: true,
            snaplen: 65_535,
            buffer_bytes: 32 << 20,
            read_timeout: Duration::from_millis(100),
        }
    }
}

/// Live capture through libpcap (immediate mode, so packets are delivered as they arrive instead
/// of when a kernel block fills up).
pub struct LiveSource {
    cap: pcap::Capture<pcap::Active>,
    /// Milliseconds one `next` waits for the socket before reporting `Idle`.
    wait_ms: i32,
    /// The capture socket (owned by `cap`).
    fd: RawFd,
    iface: String,
    linktype: u32,
    stats: StatCounter,
}

impl LiveSource {
    pub fn open(opts: &LiveOptions) -> Result<LiveSource, LiveError> {
        let open_err = |source| LiveError::Open {
            iface: opts.iface.clone(),
            source,
        };
        let timeout_ms = opts.read_timeout.as_millis().clamp(1, 10_000) as i32;
        // Linux's `any` pseudo-device cannot be promiscuous; libpcap says so with a warning, which
        // the pcap crate reports as an error.
        let promisc = opts.promisc && opts.iface != "any";
        let mut cap = pcap::Capture::from_device(opts.iface.as_str())
            .map_err(open_err)?
            .promisc(promisc)
            .snaplen(opts.snaplen)
            .buffer_size(opts.buffer_bytes)
            .timeout(timeout_ms)
            .immediate_mode(true)
            .open()
            .map_err(open_err)?
            // libpcap's own read timeout is not reliable here: on Linux in immediate mode (TPACKET_V2)
            // it re-polls internally and never returns when no packet comes, so the run loop's timers
            // (status, snapshots, idle expiry, Ctrl-C) would stall on a quiet link. Non-blocking
            // reads plus our own poll(2) on the capture socket bound every wait.
            .setnonblock()
            .map_err(open_err)?;
        if let Some(f) = opts.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            cap.filter(f, true).map_err(|source| LiveError::Filter {
                filter: f.to_string(),
                source,
            })?;
        }
        let linktype = cap.get_datalink().0 as u32;
        Ok(LiveSource {
            fd: cap.as_raw_fd(),
            cap,
            wait_ms: timeout_ms,
            iface: opts.iface.clone(),
            linktype,
            stats: StatCounter::default(),
        })
    }

    pub fn linktype(&self) -> u32 {
        self.linktype
    }
}

impl PacketSource for LiveSource {
    fn next(&mut self) -> Result<Next<'_>, SourceError> {
        match self.cap.next_packet() {
            Ok(p) => {
                let ts = p.header.ts;
                // time_t and suseconds_t are i32 on some targets: the conversion is not useless there.
                #[allow(clippy::useless_conversion)]
                let ts_us = i64::from(ts.tv_sec)
                    .saturating_mul(1_000_000)
                    .saturating_add(i64::from(ts.tv_usec));
                Ok(Next::Frame(Frame {
                    ts_us,
                    linktype: self.linktype,
                    data: p.data,
                    orig_len: p.header.len,
                    offset: 0,
                }))
            }
            Err(pcap::Error::TimeoutExpired) => {
                // Nothing buffered: sleep until the socket is readable or the wait is over; the
                // caller runs its timers and asks again.
                let mut fd = libc::pollfd {
                    fd: self.fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd, and the descriptor lives as long as `self.cap`.
                unsafe { libc::poll(&mut fd, 1, self.wait_ms) };
                Ok(Next::Idle)
            }
            Err(pcap::Error::NoMorePackets) => Ok(Next::End),
            Err(source) => Err(SourceError::Live(format!(
                "capture on '{}' failed: {source}",
                self.iface
            ))),
        }
    }

    fn clock_us(&self) -> Option<i64> {
        Some(wall_clock_us())
    }

    fn stats(&mut self) -> Option<CaptureStats> {
        let s = self.cap.stats().ok()?;
        Some(self.stats.update(s.received, s.dropped, s.if_dropped))
    }

    fn name(&self) -> &str {
        &self.iface
    }
}

/// Wall-clock time in µs since the epoch (the clock packet timestamps use).
pub fn wall_clock_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// libpcap's counters are 32-bit and wrap after 4 G packets; accumulate deltas in 64 bits.
#[derive(Default)]
struct StatCounter {
    last: Option<[u32; 3]>,
    total: [u64; 3],
}

impl StatCounter {
    fn update(&mut self, received: u32, dropped: u32, if_dropped: u32) -> CaptureStats {
        let now = [received, dropped, if_dropped];
        let prev = self.last.unwrap_or([0; 3]);
        for i in 0..3 {
            self.total[i] += u64::from(now[i].wrapping_sub(prev[i]));
        }
        self.last = Some(now);
        CaptureStats {
            received: self.total[0],
            dropped: self.total[1],
            if_dropped: self.total[2],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcap_counters_survive_32_bit_wraparound() {
        let mut c = StatCounter::default();
        c.update(u32::MAX - 5, 1, 0);
        let s = c.update(10, 2, 0);
        assert_eq!(s.received, u64::from(u32::MAX - 5) + 16);
        assert_eq!(s.dropped, 2);
    }
}
