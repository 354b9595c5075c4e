//! A sink on its own thread behind a bounded queue.
//!
//! The capture loop only ever calls [`Queue::send`], which never blocks: when the queue is full the
//! item is dropped and counted, so a slow disk, a down webhook or a stalled server costs alerts
//! (reported) but never packets. The worker takes items in batches, hands them to a [`Consumer`]
//! and flushes it whenever the queue runs empty.

use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Writes batches of items somewhere (a file, an HTTP endpoint).
pub trait Consumer<T>: Send {
    /// Deliver a batch. `Err` means the whole batch is lost (after the consumer's own retries);
    /// the message is kept as the queue's last error.
    fn consume(&mut self, batch: &[T], ctl: &Control) -> Result<(), String>;
    /// Make delivered items visible (flush file buffers). Called when the queue runs empty.
    fn flush(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// Counters shared between the queue's handle and its worker.
#[derive(Default)]
pub struct Counters {
    accepted: AtomicU64,
    dropped_full: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    retries: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// What a consumer may look at while delivering: whether to give up (shutdown grace period over)
/// and where to count retries.
pub struct Control {
    abort: Arc<AtomicBool>,
    counters: Arc<Counters>,
}

impl Control {
    /// Stop retrying: the run is over and its grace period has passed.
    pub fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }

    pub fn count_retry(&self) {
        self.counters.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Sleep up to `d`, waking early when aborted. Returns `false` if aborted.
    pub fn sleep(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        while Instant::now() < until {
            if self.aborted() {
                return false;
            }
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(20)));
        }
        !self.aborted()
    }

    /// A control of no queue (consumers tested on their own).
    #[cfg(test)]
    pub(crate) fn detached() -> Control {
        Control {
            abort: Arc::new(AtomicBool::new(false)),
            counters: Arc::new(Counters::default()),
        }
    }

    fn note_error(&self, e: String) {
        *self
            .counters
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(e);
    }
}

/// A sink's accounting. Every item offered is exactly one of: dropped because the queue was full,
/// delivered, failed, or still queued when the run ended (`abandoned`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueReport {
    pub name: String,
    pub delivered: u64,
    pub dropped_queue_full: u64,
    pub failed: u64,
    pub abandoned: u64,
    pub retries: u64,
    pub last_error: Option<String>,
}

impl std::fmt::Display for QueueReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} delivered, {} dropped (queue full), {} failed",
            self.name, self.delivered, self.dropped_queue_full, self.failed
        )?;
        if self.abandoned > 0 {
            write!(f, ", {} abandoned at exit", self.abandoned)?;
        }
        if self.retries > 0 {
            write!(f, ", {} retries", self.retries)?;
        }
        if let Some(e) = &self.last_error {
            write!(f, " (last error: {e})")?;
        }
        Ok(())
    }
}

/// The capture side's handle on one sink thread.
pub struct Queue<T: Send + 'static> {
    name: String,
    tx: Option<SyncSender<T>>,
    counters: Arc<Counters>,
    abort: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl<T: Send + 'static> Queue<T> {
    /// Start a worker thread for `consumer` with room for `capacity` items, taking up to
    /// `max_batch` at a time.
    pub fn spawn(
        name: impl Into<String>,
        capacity: usize,
        max_batch: usize,
        mut consumer: Box<dyn Consumer<T>>,
    ) -> Queue<T> {
        let name = name.into();
        let (tx, rx) = mpsc::sync_channel::<T>(capacity.max(1));
        let counters = Arc::new(Counters::default());
        let abort = Arc::new(AtomicBool::new(false));
        let ctl = Control {
            abort: abort.clone(),
            counters: counters.clone(),
        };
        let max_batch = max_batch.max(1);
        let thread = std::thread::Builder::new()
            .name(format!("sink-{name}"))
            .spawn(move || {
                let mut batch: Vec<T> = Vec::with_capacity(max_batch);
                let mut dirty = false;
                loop {
                    let first = match rx.try_recv() {
                        Ok(x) => x,
                        Err(TryRecvError::Empty) => {
                            if dirty {
                                dirty = false;
                                if let Err(e) = consumer.flush() {
                                    ctl.note_error(e);
                                }
                            }
                            match rx.recv_timeout(Duration::from_secs(1)) {
                                Ok(x) => x,
                                Err(RecvTimeoutError::Timeout) => continue,
                                Err(RecvTimeoutError::Disconnected) => break,
                            }
                        }
                        Err(TryRecvError::Disconnected) => break,
                    };
                    batch.push(first);
                    while batch.len() < max_batch {
                        match rx.try_recv() {
                            Ok(x) => batch.push(x),
                            Err(_) => break,
                        }
                    }
                    let n = batch.len() as u64;
                    if ctl.aborted() {
                        ctl.counters.failed.fetch_add(n, Ordering::Relaxed);
                    } else {
                        match consumer.consume(&batch, &ctl) {
                            Ok(()) => {
                                ctl.counters.delivered.fetch_add(n, Ordering::Relaxed);
                            }
                            Err(e) => {
                                ctl.counters.failed.fetch_add(n, Ordering::Relaxed);
                                ctl.note_error(e);
                            }
                        }
                    }
                    batch.clear();
                    dirty = true;
                }
                if let Err(e) = consumer.flush() {
                    ctl.note_error(e);
                }
            })
            .expect("spawn a sink thread");
        Queue {
            name,
            tx: Some(tx),
            counters,
            abort,
            thread: Some(thread),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Offer an item without blocking. `false`: the queue was full (or its worker is gone) and the
    /// item was dropped and counted.
    pub fn send(&self, item: T) -> bool {
        let Some(tx) = &self.tx else {
            return false;
        };
        match tx.try_send(item) {
            Ok(()) => {
                self.counters.accepted.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.counters.dropped_full.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// The accounting so far.
    pub fn report(&self) -> QueueReport {
        let c = &self.counters;
        let delivered = c.delivered.load(Ordering::Relaxed);
        let failed = c.failed.load(Ordering::Relaxed);
        QueueReport {
            name: self.name.clone(),
            delivered,
            dropped_queue_full: c.dropped_full.load(Ordering::Relaxed),
            failed,
            abandoned: c
                .accepted
                .load(Ordering::Relaxed)
                .saturating_sub(delivered + failed),
            retries: c.retries.load(Ordering::Relaxed),
            last_error: c
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    /// No more items: let the worker deliver what is queued, for at most `grace`; then tell it to
    /// stop retrying and wait a little more for an in-flight request to time out. A worker still
    /// busy after that is left behind (the process is about to exit) and its items are reported as
    /// abandoned.
    pub fn close(mut self, grace: Duration) -> QueueReport {
        drop(self.tx.take());
        let deadline = Instant::now() + grace;
        if let Some(t) = self.thread.take() {
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            self.abort.store(true, Ordering::Relaxed);
            let hard = Instant::now() + Duration::from_secs(10);
            while !t.is_finished() && Instant::now() < hard {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
        self.report()
    }
}

impl<T: Send + 'static> Drop for Queue<T> {
    fn drop(&mut self) {
        // Dropped without close (an error path): stop retries so the thread ends soon.
        self.abort.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::{channel, Receiver, Sender};

    /// Records batches; blocks on the first item until released, so the test controls when the
    /// queue fills.
    struct Gate {
        started: Sender<()>,
        release: Receiver<()>,
        seen: Arc<Mutex<Vec<u32>>>,
        gated: bool,
        fail_on: Option<u32>,
    }

    impl Consumer<u32> for Gate {
        fn consume(&mut self, batch: &[u32], _ctl: &Control) -> Result<(), String> {
            if self.gated {
                self.gated = false;
                let _ = self.started.send(());
                let _ = self.release.recv();
            }
            if self.fail_on.is_some_and(|f| batch.contains(&f)) {
                return Err(format!("cannot deliver {batch:?}"));
            }
            self.seen.lock().unwrap().extend_from_slice(batch);
            Ok(())
        }
    }

    #[allow(clippy::type_complexity)] // a test helper returning its handles
    fn gate(fail_on: Option<u32>) -> (Box<Gate>, Receiver<()>, Sender<()>, Arc<Mutex<Vec<u32>>>) {
        let (started_tx, started_rx) = channel();
        let (release_tx, release_rx) = channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let g = Gate {
            started: started_tx,
            release: release_rx,
            seen: seen.clone(),
            gated: true,
            fail_on,
        };
        (Box::new(g), started_rx, release_tx, seen)
    }

    #[test]
    fn a_full_queue_drops_and_counts_without_blocking() {
        let (g, started, release, seen) = gate(None);
        let q = Queue::spawn("test", 4, 1, g);
        assert!(q.send(0));
        started.recv().unwrap(); // the worker holds item 0 and is blocked
        let t = Instant::now();
        let accepted = (1..=100).filter(|&i| q.send(i)).count();
        assert!(
            t.elapsed() < Duration::from_millis(100),
            "send never blocks"
        );
        assert_eq!(accepted, 4, "capacity 4");
        let r = q.report();
        assert_eq!(r.dropped_queue_full, 96);
        release.send(()).unwrap();
        let r = q.close(Duration::from_secs(5));
        assert_eq!(*seen.lock().unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(
            (r.delivered, r.dropped_queue_full, r.failed, r.abandoned),
            (5, 96, 0, 0)
        );
        assert!(r.to_string().contains("96 dropped (queue full)"), "{r}");
    }

    #[test]
    fn failed_batches_are_counted_with_the_last_error() {
        let (g, _started, release, _seen) = gate(Some(2));
        release.send(()).unwrap();
        let q = Queue::spawn("failing", 16, 1, g);
        for i in 0..4 {
            assert!(q.send(i));
        }
        let r = q.close(Duration::from_secs(5));
        assert_eq!((r.delivered, r.failed), (3, 1));
        assert_eq!(r.last_error.as_deref(), Some("cannot deliver [2]"));
    }

    /// A consumer that retries forever (a webhook that never answers) is stopped by the grace
    /// period, and what it had not delivered is reported, not lost silently.
    #[test]
    fn close_gives_up_on_a_stuck_consumer_after_the_grace_period() {
        struct Stuck;
        impl Consumer<u32> for Stuck {
            fn consume(&mut self, _b: &[u32], ctl: &Control) -> Result<(), String> {
                while ctl.sleep(Duration::from_millis(50)) {
                    ctl.count_retry();
                }
                Err("gave up".into())
            }
        }
        let q = Queue::spawn("stuck", 8, 1, Box::new(Stuck));
        for i in 0..3 {
            q.send(i);
        }
        let t = Instant::now();
        let r = q.close(Duration::from_millis(300));
        assert!(t.elapsed() < Duration::from_secs(3));
        assert_eq!(r.delivered, 0);
        assert_eq!(r.failed + r.abandoned, 3, "{r:?}");
        assert!(r.retries >= 3);
    }
}
