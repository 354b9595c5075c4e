//! Where frames come from. Every front end (extract, detect, upload, stream, watch, the bus sensor,
//! the testbed) reads packets through one trait, [`PacketSource`], and [`crate::Pipeline::run`] is the
//! one loop that drives it.
//!
//! Three kinds of source implement it: a capture file or byte stream ([`CaptureReader`]), a capture
//! replayed at its recorded pace ([`ReplaySource`]), and live capture through libpcap
//! (`crate::live::LiveSource`, behind the `live` feature so the flow crate builds without libpcap).
//! A live source can report [`Next::Idle`] — nothing arrived within a short wait — so the run loop
//! can advance the flow clock and notice a stop request on a silent link.

use crate::capture::{CaptureError, CaptureReader, Frame};
use std::path::Path;
use std::time::{Duration, Instant};

/// What a source produced.
pub enum Next<'a> {
    /// One frame, borrowed from the source's buffer until the next call.
    Frame(Frame<'a>),
    /// Nothing arrived within the source's wait (a fraction of a second).
    Idle,
    /// The source is exhausted (end of a file or stream).
    End,
}

/// Why a source stopped delivering frames. The message names the file (and byte offset) or the
/// interface.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// Live capture failed (the message names the interface and libpcap's reason).
    #[error("{0}")]
    Live(String),
}

/// Packet counters of a live capture, cumulative since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Packets the kernel's filter accepted (libpcap `ps_recv`).
    pub received: u64,
    /// Dropped because libpcap's buffer was full: this process did not read fast enough.
    pub dropped: u64,
    /// Dropped by the interface or its driver before reaching the kernel's filter.
    pub if_dropped: u64,
}

pub trait PacketSource {
    /// The next frame, `Idle` after a short wait without one (live and paced sources), or `End`.
    fn next(&mut self) -> Result<Next<'_>, SourceError>;
    /// The capture clock when no packet arrives: wall time for live capture, the replayed file's
    /// time for a paced replay. `None` when only packets move the clock (files read at full speed).
    fn clock_us(&self) -> Option<i64> {
        None
    }
    /// Drop counters, where the source has them (libpcap).
    fn stats(&mut self) -> Option<CaptureStats> {
        None
    }
    /// Bytes of capture data consumed so far (progress bars); 0 where unknown.
    fn bytes_read(&self) -> u64 {
        0
    }
    /// `eth0`, `replay:capture.pcap`, a file name: goes into alerts and error messages.
    fn name(&self) -> &str;
}

impl PacketSource for CaptureReader {
    #[inline]
    fn next(&mut self) -> Result<Next<'_>, SourceError> {
        Ok(match self.next_frame()? {
            Some(f) => Next::Frame(f),
            None => Next::End,
        })
    }

    fn bytes_read(&self) -> u64 {
        CaptureReader::bytes_read(self)
    }

    fn name(&self) -> &str {
        CaptureReader::name(self)
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

/// A frame read from the file but not yet due.
struct Pending {
    linktype: u32,
    ts_us: i64,
    orig_len: u32,
    offset: u64,
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
    pending: Option<Pending>,
    buf: Vec<u8>,
    ended: bool,
}

/// A replay speed that is not 0 (as fast as possible) or a positive factor.
#[derive(Debug, thiserror::Error)]
#[error("--speed must be 0 (as fast as possible) or a positive factor, got {0}")]
pub struct BadSpeed(pub f64);

impl ReplaySource<SystemClock> {
    pub fn open(path: &Path, speed: f64) -> Result<Self, ReplayOpenError> {
        Self::with_clock(path, speed, SystemClock::default())
    }
}

/// Why a replay could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReplayOpenError {
    #[error(transparent)]
    Speed(#[from] BadSpeed),
    #[error(transparent)]
    Capture(#[from] CaptureError),
}

impl<C: Clock> ReplaySource<C> {
    pub fn with_clock(path: &Path, speed: f64, clock: C) -> Result<Self, ReplayOpenError> {
        if !(speed.is_finite() && speed >= 0.0) {
            return Err(BadSpeed(speed).into());
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

    fn frame(&self, p: &Pending) -> Frame<'_> {
        Frame {
            ts_us: p.ts_us,
            linktype: p.linktype,
            data: &self.buf,
            orig_len: p.orig_len,
            offset: p.offset,
        }
    }
}

impl<C: Clock> PacketSource for ReplaySource<C> {
    fn next(&mut self) -> Result<Next<'_>, SourceError> {
        if self.ended {
            return Ok(Next::End);
        }
        if self.speed == 0.0 {
            return Ok(match self.reader.next_frame()? {
                Some(f) => Next::Frame(f),
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
                    self.pending = Some(Pending {
                        linktype: f.linktype,
                        ts_us: f.ts_us,
                        orig_len: f.orig_len,
                        offset: f.offset,
                    });
                }
                None => {
                    self.ended = true;
                    return Ok(Next::End);
                }
            }
        }
        let ts_us = self.pending.as_ref().expect("a pending frame").ts_us;
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
        let p = self.pending.take().expect("a pending frame");
        Ok(Next::Frame(self.frame(&p)))
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
        Some(match &self.pending {
            Some(p) => now.min(p.ts_us),
            None => now,
        })
    }

    fn bytes_read(&self) -> u64 {
        self.reader.bytes_read()
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{pcap_bytes, tcp, Link, CLIENT, SERVER, T0};
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

    /// A capture file in the system's temp directory, removed on drop.
    struct TempCapture(std::path::PathBuf);

    impl Drop for TempCapture {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn capture(offsets_ms: &[i64]) -> TempCapture {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
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
        let path = std::env::temp_dir().join(format!(
            "mlids-replay-{}-{}.pcap",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, pcap_bytes(&frames, 1, false, false)).unwrap();
        TempCapture(path)
    }

    /// Drain a source, noting the fake-clock time at which each frame came out.
    fn drain(src: &mut ReplaySource<&FakeClock>, clock: &FakeClock) -> (Vec<(i64, Duration)>, u32) {
        let mut out = Vec::new();
        let mut idles = 0;
        loop {
            match src.next().unwrap() {
                Next::Frame(f) => out.push((f.ts_us, clock.now())),
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
            let mut src = ReplaySource::with_clock(&f.0, speed, &clock).unwrap();
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
        let mut src = ReplaySource::with_clock(&f.0, 2.0, &clock).unwrap();
        assert!(matches!(src.next().unwrap(), Next::Frame(_)));
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
        let mut src = ReplaySource::with_clock(&f.0, 0.0, &clock).unwrap();
        let (frames, idles) = drain(&mut src, &clock);
        assert_eq!(frames.len(), 3);
        assert_eq!((idles, clock.sleeps.get()), (0, 0));
        assert_eq!(src.clock_us(), None);
    }

    #[test]
    fn replay_with_the_real_clock_takes_the_scaled_time() {
        let f = capture(&[0, 400]);
        let started = Instant::now();
        let mut src = ReplaySource::open(&f.0, 2.0).unwrap();
        let mut n = 0;
        loop {
            match src.next().unwrap() {
                Next::Frame(_) => n += 1,
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
        let err = ReplaySource::open(&f.0, -1.0).err().expect("refused");
        assert!(err.to_string().contains("--speed"), "{err}");
    }
}
