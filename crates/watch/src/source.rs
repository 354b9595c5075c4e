//! Where frames come from: a live interface through libpcap, or a capture file replayed at its
//! recorded pace (or N× faster) so demos and tests see the same loop as live capture.
//!
//! A source returns [`Next::Idle`] when nothing arrived within a short wait, so the run loop can
//! advance the flow clock, classify what is pending and notice Ctrl-C even on a silent link.

use crate::error::WatchError;
use mlids_flow::CaptureReader;
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What a source produced.
pub enum Next<'a> {
    /// One frame: libpcap link type, capture time (µs since the epoch), bytes.
    Frame {
        linktype: u32,
        ts_us: i64,
        data: &'a [u8],
    },
    /// Nothing arrived within the source's wait (a fraction of a second).
    Idle,
    /// The source is exhausted (end of a replayed file).
    End,
}

/// Packet counters of a capture, cumulative since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CaptureStats {
    /// Packets the kernel's filter accepted (libpcap `ps_recv`).
    pub received: u64,
    /// Dropped because libpcap's buffer was full: this process did not read fast enough.
    pub dropped: u64,
    /// Dropped by the interface or its driver before reaching the kernel's filter.
    pub if_dropped: u64,
}

pub trait PacketSource {
    /// The next frame, or `Idle` after a short wait without one.
    fn next(&mut self) -> Result<Next<'_>, WatchError>;
    /// The capture clock when no packet arrives: wall time for live capture, the replayed file's
    /// time for a paced replay. `None` when only packets move the clock (replay at full speed).
    fn clock_us(&self) -> Option<i64>;
    /// Drop counters, where the source has them (libpcap).
    fn stats(&mut self) -> Option<CaptureStats>;
    /// `eth0`, `replay:capture.pcap`: goes into each alert's `source` and EVE's `in_iface`.
    fn name(&self) -> &str;
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
    pub fn open(opts: &LiveOptions) -> Result<LiveSource, WatchError> {
        let open_err = |source| WatchError::Open {
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
            cap.filter(f, true).map_err(|source| WatchError::Filter {
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
    fn next(&mut self) -> Result<Next<'_>, WatchError> {
        match self.cap.next_packet() {
            Ok(p) => {
                let ts = p.header.ts;
                // time_t and suseconds_t are i32 on some targets: the conversion is not useless there.
                #[allow(clippy::useless_conversion)]
                let ts_us = i64::from(ts.tv_sec)
                    .saturating_mul(1_000_000)
                    .saturating_add(i64::from(ts.tv_usec));
                Ok(Next::Frame {
                    linktype: self.linktype,
                    ts_us,
                    data: p.data,
                })
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
            Err(source) => Err(WatchError::Capture {
                iface: self.iface.clone(),
                source,
            }),
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

/// Time for a paced replay: real time in production, a fake one in tests.
pub trait Clock {
    /// Monotonic time since an arbitrary origin.
    fn now(&self) -> Duration;
    fn sleep(&self, d: Duration);
}

/// The real monotonic clock.
pub struct SystemClock(Instant);

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock(Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d)
    }
}

/// A capture file read through the same loop as live capture. With `speed > 0` frames are released
/// when their recorded time (scaled by `1/speed`) has come, and [`PacketSource::clock_us`] runs the
/// file's clock between them, so idle timeouts and periodic classification behave as they would
/// live. `speed == 0` reads as fast as possible.
pub struct ReplaySource<C: Clock = SystemClock> {
    reader: CaptureReader,
    name: String,
    speed: f64,
    clock: C,
    /// Longest single wait before returning `Idle`.
    max_wait: Duration,
    /// (first frame's capture time, clock reading when it was released).
    origin: Option<(i64, Duration)>,
    /// A frame read from the file but not yet due.
    pending: Option<(u32, i64)>,
    buf: Vec<u8>,
    ended: bool,
}

impl ReplaySource<SystemClock> {
    pub fn open(path: &Path, speed: f64) -> Result<Self, WatchError> {
        Self::with_clock(path, speed, SystemClock::default())
    }
}

impl<C: Clock> ReplaySource<C> {
    pub fn with_clock(path: &Path, speed: f64, clock: C) -> Result<Self, WatchError> {
        if !(speed.is_finite() && speed >= 0.0) {
            return Err(WatchError::Config(format!(
                "--speed must be 0 (as fast as possible) or a positive factor, got {speed}"
            )));
        }
        let reader = CaptureReader::open(path)?;
        Ok(ReplaySource {
            name: format!(
                "replay:{}",
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| path.display().to_string())
            ),
            reader,
            speed,
            clock,
            max_wait: Duration::from_millis(100),
            origin: None,
            pending: None,
            buf: Vec::new(),
            ended: false,
        })
    }

    /// Clock reading at which a frame recorded at `ts_us` is due.
    fn due(&self, ts_us: i64) -> Duration {
        let Some((t0, c0)) = self.origin else {
            return Duration::ZERO;
        };
        let offset_us = (ts_us - t0).max(0) as f64 / self.speed;
        c0 + Duration::from_micros(offset_us as u64)
    }

    /// Bytes of the capture read so far.
    pub fn bytes_read(&self) -> u64 {
        self.reader.bytes_read()
    }
}

impl<C: Clock> PacketSource for ReplaySource<C> {
    fn next(&mut self) -> Result<Next<'_>, WatchError> {
        if self.ended {
            return Ok(Next::End);
        }
        if self.speed == 0.0 {
            return Ok(match self.reader.next_frame()? {
                Some(f) => {
                    self.buf.clear();
                    self.buf.extend_from_slice(f.data);
                    Next::Frame {
                        linktype: f.linktype,
                        ts_us: f.ts_us,
                        data: &self.buf,
                    }
                }
                None => {
                    self.ended = true;
                    Next::End
                }
            });
        }
        if self.pending.is_none() {
            match self.reader.next_frame()? {
                Some(f) => {
                    self.buf.clear();
                    self.buf.extend_from_slice(f.data);
                    self.pending = Some((f.linktype, f.ts_us));
                }
                None => {
                    self.ended = true;
                    return Ok(Next::End);
                }
            }
        }
        let (linktype, ts_us) = self.pending.expect("a pending frame");
        if self.origin.is_none() {
            self.origin = Some((ts_us, self.clock.now()));
        }
        let due = self.due(ts_us);
        let now = self.clock.now();
        if due > now {
            let wait = due - now;
            if wait > self.max_wait {
                self.clock.sleep(self.max_wait);
                return Ok(Next::Idle);
            }
            self.clock.sleep(wait);
        }
        self.pending = None;
        Ok(Next::Frame {
            linktype,
            ts_us,
            data: &self.buf,
        })
    }

    fn clock_us(&self) -> Option<i64> {
        let (t0, c0) = self.origin?;
        if self.speed == 0.0 {
            return None;
        }
        let elapsed = self.clock.now().saturating_sub(c0);
        let now = t0 + (elapsed.as_micros() as f64 * self.speed) as i64;
        // Never run the flow clock past a frame that has not been delivered yet: flows would expire
        // before a packet that, in the recording, arrived in time.
        Some(match self.pending {
            Some((_, ts)) => now.min(ts),
            None => now,
        })
    }

    fn stats(&mut self) -> Option<CaptureStats> {
        None
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlids_flow::synth::{pcap_bytes, tcp, Link, CLIENT, SERVER, T0};
    use std::cell::Cell;

    /// A clock that only moves when slept on, and records each sleep.
    #[derive(Default)]
    struct FakeClock {
        now: Cell<Duration>,
        sleeps: Cell<u32>,
    }

    impl Clock for &FakeClock {
        fn now(&self) -> Duration {
            self.now.get()
        }
        fn sleep(&self, d: Duration) {
            self.sleeps.set(self.sleeps.get() + 1);
            self.now.set(self.now.get() + d);
        }
    }

    fn capture(offsets_ms: &[i64]) -> tempfile::NamedTempFile {
        let frames: Vec<_> = offsets_ms
            .iter()
            .map(|ms| {
                tcp(
                    T0 + ms * 1000,
                    CLIENT,
                    SERVER,
                    "A",
                    10,
                    1000,
                    Link::default(),
                )
            })
            .collect();
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), pcap_bytes(&frames, 1, false, false)).unwrap();
        f
    }

    /// Drain a source, noting the fake-clock time at which each frame came out.
    fn drain(src: &mut ReplaySource<&FakeClock>, clock: &FakeClock) -> (Vec<(i64, Duration)>, u32) {
        let mut out = Vec::new();
        let mut idles = 0;
        loop {
            match src.next().unwrap() {
                Next::Frame { ts_us, .. } => out.push((ts_us, clock.now())),
                Next::Idle => idles += 1,
                Next::End => return (out, idles),
            }
        }
    }

    #[test]
    fn replay_releases_frames_at_recorded_pace_scaled_by_speed() {
        let f = capture(&[0, 50, 1000, 1030]);
        for (speed, expect_ms) in [(1.0, [0, 50, 1000, 1030]), (4.0, [0, 12, 250, 257])] {
            let clock = FakeClock::default();
            let mut src = ReplaySource::with_clock(f.path(), speed, &clock).unwrap();
            let (frames, idles) = drain(&mut src, &clock);
            let got: Vec<i64> = frames.iter().map(|(_, t)| t.as_millis() as i64).collect();
            assert_eq!(got, expect_ms, "speed {speed}");
            assert_eq!(frames[2].0, T0 + 1_000_000, "recorded timestamps are kept");
            // The one-second gap is waited out in ≤100 ms steps that report Idle, so the loop can
            // run its timers and notice Ctrl-C.
            assert!(
                idles >= (900.0 / speed / 100.0) as u32,
                "speed {speed}: {idles} idles"
            );
        }
    }

    #[test]
    fn replay_clock_runs_between_frames_but_not_past_the_next_one() {
        let f = capture(&[0, 10_000]);
        let clock = FakeClock::default();
        let mut src = ReplaySource::with_clock(f.path(), 2.0, &clock).unwrap();
        assert!(matches!(src.next().unwrap(), Next::Frame { .. }));
        assert_eq!(src.clock_us(), Some(T0));
        for _ in 0..10 {
            assert!(matches!(src.next().unwrap(), Next::Idle));
        }
        // 10 waits of 100 ms at 2× speed: one second of capture time has passed.
        assert_eq!(src.clock_us(), Some(T0 + 2_000_000));
        clock.now.set(Duration::from_secs(60));
        assert_eq!(
            src.clock_us(),
            Some(T0 + 10_000_000),
            "capped at the pending frame"
        );
    }

    #[test]
    fn replay_at_speed_zero_never_sleeps() {
        let f = capture(&[0, 5_000, 60_000]);
        let clock = FakeClock::default();
        let mut src = ReplaySource::with_clock(f.path(), 0.0, &clock).unwrap();
        let (frames, idles) = drain(&mut src, &clock);
        assert_eq!(frames.len(), 3);
        assert_eq!((idles, clock.sleeps.get()), (0, 0));
        assert_eq!(src.clock_us(), None);
    }

    #[test]
    fn replay_with_the_real_clock_takes_the_scaled_time() {
        let f = capture(&[0, 400]);
        let started = Instant::now();
        let mut src = ReplaySource::open(f.path(), 2.0).unwrap();
        let mut n = 0;
        loop {
            match src.next().unwrap() {
                Next::Frame { .. } => n += 1,
                Next::Idle => {}
                Next::End => break,
            }
        }
        let took = started.elapsed();
        assert_eq!(n, 2);
        assert!(
            took >= Duration::from_millis(195) && took < Duration::from_secs(2),
            "{took:?}"
        );
    }

    #[test]
    fn negative_speed_is_refused() {
        let f = capture(&[0]);
        assert!(ReplaySource::open(f.path(), -1.0).is_err());
    }

    #[test]
    fn pcap_counters_survive_32_bit_wraparound() {
        let mut c = StatCounter::default();
        c.update(u32::MAX - 5, 1, 0);
        let s = c.update(10, 2, 0);
        assert_eq!(s.received, u64::from(u32::MAX - 5) + 16);
        assert_eq!(s.dropped, 2);
    }
}
