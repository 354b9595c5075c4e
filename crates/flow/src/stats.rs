//! Running summary statistics, computed the way Apache Commons Math `SummaryStatistics` does (the
//! library CICFlowMeter used): incremental mean, bias-corrected (n−1) variance, 0 for a single value.
//! Matching its update order keeps our doubles within rounding of the published CSVs.

#[derive(Clone, Copy, Debug)]
pub struct RunningStats {
    n: u32,
    sum: f64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Default for RunningStats {
    fn default() -> Self {
        RunningStats {
            n: 0,
            sum: 0.0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl RunningStats {
    #[inline]
    pub fn add(&mut self, x: f64) {
        // Commons Math FirstMoment/SecondMoment: dev and nDev use the count before the update.
        self.n = self.n.saturating_add(1);
        let n = f64::from(self.n);
        let dev = x - self.mean;
        let n_dev = dev / n;
        self.m2 += (n - 1.0) * dev * n_dev;
        self.mean += n_dev;
        self.sum += x;
        if x < self.min {
            self.min = x;
        }
        if x > self.max {
            self.max = x;
        }
    }

    /// Statistics of the union of two samples (Chan et al.'s pairwise update), as if every value of
    /// `other` had been added to `self`; equal to sequential adds up to rounding.
    pub fn merged(&self, other: &RunningStats) -> RunningStats {
        if other.n == 0 {
            return *self;
        }
        if self.n == 0 {
            return *other;
        }
        let (n1, n2) = (f64::from(self.n), f64::from(other.n));
        let n = n1 + n2;
        let delta = other.mean - self.mean;
        RunningStats {
            n: self.n.saturating_add(other.n),
            sum: self.sum + other.sum,
            mean: self.mean + delta * n2 / n,
            m2: self.m2 + other.m2 + delta * delta * n1 * n2 / n,
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        }
    }

    pub fn count(&self) -> u32 {
        self.n
    }
    pub fn sum(&self) -> f64 {
        self.sum
    }
    /// Mean, or 0 when empty (the CSV convention: an empty block prints zeros).
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.mean
        }
    }
    /// Sample variance (n−1), 0 for fewer than two values.
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.m2 / (f64::from(self.n) - 1.0)
        }
    }
    pub fn std(&self) -> f64 {
        self.variance().sqrt()
    }
    pub fn min(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.min
        }
    }
    pub fn max(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.max
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_statistics() {
        let mut s = RunningStats::default();
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            s.add(x);
        }
        assert_eq!(s.count(), 8);
        assert_eq!(s.mean(), 5.0);
        assert!((s.variance() - 32.0 / 7.0).abs() < 1e-12);
        assert_eq!((s.min(), s.max(), s.sum()), (2.0, 9.0, 40.0));
    }

    #[test]
    fn merging_equals_sequential_adds() {
        let xs = [3.0, 1500.0, 0.0, 40.0, 40.0, 7.5, 1e6];
        let mut all = RunningStats::default();
        let (mut a, mut b) = (RunningStats::default(), RunningStats::default());
        for (i, &x) in xs.iter().enumerate() {
            all.add(x);
            if i % 3 == 0 {
                a.add(x)
            } else {
                b.add(x)
            }
        }
        let m = a.merged(&b);
        assert_eq!(
            (m.count(), m.sum(), m.min(), m.max()),
            (all.count(), all.sum(), all.min(), all.max())
        );
        assert!((m.mean() - all.mean()).abs() < 1e-9 * all.mean().abs());
        assert!((m.variance() - all.variance()).abs() < 1e-9 * all.variance());
    }

    #[test]
    fn empty_and_single() {
        let mut s = RunningStats::default();
        assert_eq!((s.mean(), s.std(), s.min(), s.max()), (0.0, 0.0, 0.0, 0.0));
        s.add(3.0);
        assert_eq!((s.mean(), s.std(), s.min(), s.max()), (3.0, 0.0, 3.0, 3.0));
    }
}
