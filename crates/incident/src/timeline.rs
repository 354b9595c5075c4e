//! An incident's flows over time, small enough to send with every event.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Buckets at most: a chart's worth.
pub const MAX_BUCKETS: usize = 120;
/// Width of the first buckets: one second.
const FIRST_BUCKET_US: i64 = 1_000_000;

/// Attack flows per label in fixed-width buckets from the incident's first flow. The width starts
/// at one second and doubles (neighbouring buckets merge) whenever the incident outgrows
/// [`MAX_BUCKETS`], so a ten-second scan and a day-long campaign both fit one chart, and the
/// memory per incident is bounded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    pub start_us: i64,
    pub bucket_us: i64,
    /// Label → flows per bucket; every series has the same length.
    pub series: BTreeMap<String, Vec<u64>>,
}

impl Timeline {
    pub fn new(start_us: i64) -> Timeline {
        Timeline {
            start_us,
            bucket_us: FIRST_BUCKET_US,
            series: BTreeMap::new(),
        }
    }

    /// Count one flow of `label` starting at `t_us` (earlier than the start: the first bucket).
    pub fn add(&mut self, t_us: i64, label: &str) {
        let offset = t_us.saturating_sub(self.start_us).max(0);
        while offset / self.bucket_us >= MAX_BUCKETS as i64 {
            self.widen();
        }
        let i = (offset / self.bucket_us) as usize;
        let len = self.len().max(i + 1);
        self.series.entry(label.to_string()).or_default();
        for v in self.series.values_mut() {
            if v.len() < len {
                v.resize(len, 0);
            }
        }
        self.series.get_mut(label).expect("inserted above")[i] += 1;
    }

    /// Buckets in use.
    pub fn len(&self) -> usize {
        self.series.values().map(Vec::len).max().unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn widen(&mut self) {
        self.bucket_us *= 2;
        for v in self.series.values_mut() {
            *v = v.chunks(2).map(|c| c.iter().sum()).collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_then_doubling_widths_and_aligned_series() {
        let mut t = Timeline::new(0);
        t.add(0, "A");
        t.add(2_500_000, "B");
        assert_eq!(t.bucket_us, 1_000_000);
        assert_eq!(t.series["A"], [1, 0, 0]);
        assert_eq!(t.series["B"], [0, 0, 1]);
        // 200 s later: widths double until 200 s fits 120 buckets (2 s → 100 buckets).
        t.add(200_000_000, "A");
        assert_eq!(t.bucket_us, 2_000_000);
        assert_eq!(t.len(), 101);
        assert_eq!(t.series["A"][0], 1);
        assert_eq!(t.series["B"][1], 1);
        assert_eq!(t.series["A"][100], 1);
        assert_eq!(t.series["B"].len(), 101);
        let total: u64 = t.series.values().flatten().sum();
        assert_eq!(total, 3);
    }
}
