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
