//! Cleaning policy: what happens to values no model should see as numbers.
//!
//! The CIC CSVs carry `Infinity`/`NaN` rates for zero-duration flows and negative durations and
//! inter-arrival times from out-of-order packets (spec §8). Both become null (missing) by default, so
//! the model's imputation — the same one applied to live flows — decides what they mean, instead of a
//! huge finite stand-in. The −1 "absent" markers are real information (no TCP window seen; not ICMP)
//! and stay a distinct value.

use mlids_flow::Feature;
use serde::{Deserialize, Serialize};

/// Columns where −1 means "absent" and is kept as −1; anything below −1 is impossible there.
pub const MINUS_ONE_MARKER: [Feature; 4] = [
    Feature::InitFwdWinByts,
    Feature::InitBwdWinByts,
    Feature::IcmpCode,
    Feature::IcmpType,
];

/// Whether a feature can never be negative. True for every CICFlowMeter feature: they are counts,
/// byte sizes, durations, rates, ports or flags. Negative values are tool bugs (out-of-order
/// timestamps, counter overflow); the marker columns only allow −1.
pub fn non_negative(f: Feature) -> bool {
    !MINUS_ONE_MARKER.contains(&f)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleaningPolicy {
    /// `Infinity`, `-Infinity` and `NaN` become null.
    pub nonfinite_to_null: bool,
    /// Negative values in columns that cannot be negative (all but the −1 marker columns, where
    /// values below −1) become null.
    pub negatives_to_null: bool,
}

impl Default for CleaningPolicy {
    fn default() -> Self {
        CleaningPolicy {
            nonfinite_to_null: true,
            negatives_to_null: true,
        }
    }
}

/// What cleaning saw in one column. Counts are of source values, whether or not the policy changed
/// them, so a card also documents data imported with cleaning turned off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnCounts {
    #[serde(default)]
    pub pos_infinity: u64,
    #[serde(default)]
    pub neg_infinity: u64,
    #[serde(default)]
    pub nan: u64,
    /// Negative values in a non-negative column (below −1 in a marker column).
    #[serde(default)]
    pub negative: u64,
    /// Empty cells (already missing in the source).
    #[serde(default)]
    pub empty: u64,
}

impl ColumnCounts {
    pub fn is_zero(&self) -> bool {
        *self == ColumnCounts::default()
    }
    pub fn sub(&mut self, o: &ColumnCounts) {
        self.pos_infinity -= o.pos_infinity;
        self.neg_infinity -= o.neg_infinity;
        self.nan -= o.nan;
        self.negative -= o.negative;
        self.empty -= o.empty;
    }
    pub fn add(&mut self, o: &ColumnCounts) {
        self.pos_infinity += o.pos_infinity;
        self.neg_infinity += o.neg_infinity;
        self.nan += o.nan;
        self.negative += o.negative;
        self.empty += o.empty;
    }
}

impl CleaningPolicy {
    /// Clean one value, counting what was seen. `None` is null.
    #[inline]
    pub fn apply(&self, f_non_negative: bool, v: f64, c: &mut ColumnCounts) -> Option<f64> {
        if v.is_finite() {
            let bad = if f_non_negative { v < 0.0 } else { v < -1.0 };
            if bad {
                c.negative += 1;
                if self.negatives_to_null {
                    return None;
                }
            }
            return Some(v);
        }
        if v.is_nan() {
            c.nan += 1;
        } else if v > 0.0 {
            c.pos_infinity += 1;
        } else {
            c.neg_infinity += 1;
        }
        if self.nonfinite_to_null {
            None
        } else {
            Some(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy() {
        let p = CleaningPolicy::default();
        let mut c = ColumnCounts::default();
        assert_eq!(p.apply(true, f64::INFINITY, &mut c), None);
        assert_eq!(p.apply(true, f64::NAN, &mut c), None);
        assert_eq!(p.apply(true, -3.0, &mut c), None);
        assert_eq!(p.apply(true, 0.0, &mut c), Some(0.0));
        assert_eq!(p.apply(false, -1.0, &mut c), Some(-1.0));
        assert_eq!(p.apply(false, -2.0, &mut c), None);
        assert_eq!(
            c,
            ColumnCounts {
                pos_infinity: 1,
                neg_infinity: 0,
                nan: 1,
                negative: 2,
                empty: 0
            }
        );
        let keep = CleaningPolicy {
            nonfinite_to_null: false,
            negatives_to_null: false,
        };
        assert_eq!(keep.apply(true, -3.0, &mut c), Some(-3.0));
        assert!(keep
            .apply(true, f64::NEG_INFINITY, &mut c)
            .unwrap()
            .is_infinite());
    }
}
