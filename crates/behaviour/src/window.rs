//! Small building blocks of the aggregates: a bounded set of distinct values and a tumbling
//! window over flow time.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// Forget the entries of a host table idle for longer than `idle_us` at `now_us`, then, if more
/// than `max` remain, the longest-idle ones (ties at the cut are kept). `last_us` reads an entry's
/// last flow time. Keeps every detector's memory bounded whatever the traffic.
pub(crate) fn sweep_idle<K, V>(
    table: &mut HashMap<K, V>,
    now_us: i64,
    idle_us: i64,
    max: usize,
    last_us: impl Fn(&V) -> i64,
) {
    table.retain(|_, v| now_us - last_us(v) <= idle_us);
    if table.len() > max {
        let mut last: Vec<i64> = table.values().map(&last_us).collect();
        let cut = last.len() - max;
        last.select_nth_unstable(cut);
        let cutoff = last[cut];
        table.retain(|_, v| last_us(v) >= cutoff);
    }
}

/// Distinct values, counted exactly up to `cap` and saturating there (a detector only needs to
/// know "at least N").
#[derive(Clone, Debug)]
pub(crate) struct Distinct<T: Eq + Hash> {
    seen: HashSet<T>,
    cap: usize,
}

impl<T: Eq + Hash> Distinct<T> {
    pub(crate) fn new(cap: usize) -> Self {
        Distinct {
            seen: HashSet::new(),
            cap,
        }
    }

    pub(crate) fn insert(&mut self, v: T) {
        if self.seen.len() < self.cap {
            self.seen.insert(v);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }

    pub(crate) fn clear(&mut self) {
        self.seen.clear();
    }

    pub(crate) fn contains(&self, v: &T) -> bool {
        self.seen.contains(v)
    }

    /// The set holds exactly one value, `v`.
    pub(crate) fn seen_one(&self, v: T) -> bool {
        self.seen.len() == 1 && self.seen.contains(&v)
    }
}

/// The start of the current window of length `len_us`; a flow at `t_us` past its end starts a new
/// one. Flows arrive in end order, so a flow that started before the window is counted in it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tumbling {
    start_us: Option<i64>,
    len_us: i64,
}

impl Tumbling {
    pub(crate) fn new(len_us: i64) -> Self {
        Tumbling {
            start_us: None,
            len_us,
        }
    }

    /// Advance to `t_us`; true when a new window began (the caller resets its counts).
    pub(crate) fn advance(&mut self, t_us: i64) -> bool {
        match self.start_us {
            Some(s) if t_us < s + self.len_us => false,
            _ => {
                self.start_us = Some(t_us);
                true
            }
        }
    }
}

/// The connections of one (client, server, port) in a tumbling window, and when the pair is
/// flagged: what the brute-force and web-flood detectors count, each with its own test of what
/// makes a flag.
#[derive(Clone, Debug)]
pub(crate) struct PairWindow {
    window: Tumbling,
    /// Connections in the current window.
    pub(crate) in_window: u64,
    /// Connections since the pair was first seen.
    pub(crate) total: u64,
    /// (from, until) flow time: the flows of the pair that started then are the attack's.
    flagged: Option<(i64, i64)>,
    last_us: i64,
}

impl PairWindow {
    pub(crate) fn new(window_us: i64, first_end_us: i64) -> PairWindow {
        PairWindow {
            window: Tumbling::new(window_us),
            in_window: 0,
            total: 0,
            flagged: None,
            last_us: first_end_us,
        }
    }

    /// Count a connection; true when it began a new window (the caller resets its own counts).
    pub(crate) fn count(&mut self, start_us: i64, end_us: i64) -> bool {
        self.last_us = self.last_us.max(end_us);
        let new_window = self.window.advance(start_us);
        if new_window {
            self.in_window = 0;
        }
        self.in_window += 1;
        self.total += 1;
        new_window
    }

    /// After counting a connection that started at `start_us`: extend a flag that still holds
    /// to `hold_us` past it, or, when `raise`, flag the pair from the window before it.
    pub(crate) fn flag(&mut self, start_us: i64, window_us: i64, hold_us: i64, raise: bool) {
        let until = start_us + hold_us;
        self.flagged = match self.flagged {
            Some((from, end)) if start_us <= end => Some((from, end.max(until))),
            _ if raise => Some((start_us - window_us, until)),
            other => other,
        };
    }

    /// Whether a connection that started at `start_us` falls in the flagged time.
    pub(crate) fn flagged_at(&self, start_us: i64) -> bool {
        self.flagged
            .is_some_and(|(from, until)| from <= start_us && start_us <= until)
    }

    pub(crate) fn last_us(&self) -> i64 {
        self.last_us
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_saturates_at_its_cap() {
        let mut d = Distinct::new(3);
        for v in [1, 2, 2, 3, 4, 5] {
            d.insert(v);
        }
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn tumbling_starts_a_window_after_its_length() {
        let mut w = Tumbling::new(10);
        assert!(w.advance(100));
        assert!(!w.advance(105));
        assert!(!w.advance(95), "late flows count in the current window");
        assert!(!w.advance(109));
        assert!(w.advance(110));
    }
}
