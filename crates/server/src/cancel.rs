//! Stopping work whose client is gone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Sets the flag when dropped unless disarmed: a handler future dropped because its client
/// disconnected (or timed out) tells the blocking side to stop at its next read or batch.
pub(crate) struct CancelOnDrop(pub(crate) Option<Arc<AtomicBool>>);

impl CancelOnDrop {
    pub(crate) fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(flag) = &self.0 {
            flag.store(true, Ordering::Relaxed);
        }
    }
}
