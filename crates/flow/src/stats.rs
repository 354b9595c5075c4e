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
    fn empty_and_single() {
        let mut s = RunningStats::default();
        assert_eq!((s.mean(), s.std(), s.min(), s.max()), (0.0, 0.0, 0.0, 0.0));
        s.add(3.0);
        assert_eq!((s.mean(), s.std(), s.min(), s.max()), (3.0, 0.0, 3.0, 3.0));
    }
}
