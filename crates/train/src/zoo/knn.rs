//! Fitting the exact kNN (the model itself: `mlids_model::zoo::knn`): a stratified subsample of
//! the training rows, capped at `max_reference` so that rare attacks keep their rows, scaled and
//! kept as the reference set.

use crate::fit::{Fit, FitControl, ParamGuard, TrainSet};
use mlids_model::zoo::knn::{KnnFile, KnnModel, KnnParams};
use mlids_model::zoo::preprocess::Preprocess;
use mlids_model::{FitSummary, ModelError, Result, StopReason};
use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct ValidKnnParams(KnnParams);

impl ParamGuard for KnnParams {
    type Checked = ValidKnnParams;
    fn check(self) -> Result<ValidKnnParams> {
        if self.k == 0 {
            return Err(ModelError::Params("k must be at least 1".into()));
        }
        if self.max_reference < self.k {
            return Err(ModelError::Params(format!(
                "max_reference ({}) must be at least k ({})",
                self.max_reference, self.k
            )));
        }
        Ok(ValidKnnParams(self))
    }
}

/// A stratified subsample of at most `max` row indices (every class keeps at least
/// `min(its rows, floor)` rows; the rest in proportion).
pub fn stratified_subsample(y: &[u32], max: usize, floor: usize, seed: u64) -> Vec<usize> {
    if y.len() <= max {
        return (0..y.len()).collect();
    }
    let mut by: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, &c) in y.iter().enumerate() {
        by.entry(c).or_default().push(i);
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let n = y.len() as f64;
    let mut out = Vec::with_capacity(max);
    for rows in by.values_mut() {
        rng.shuffle(rows);
        let share = (rows.len() as f64 * max as f64 / n).floor() as usize;
        let take = share.max(floor.min(rows.len())).min(rows.len());
        out.extend_from_slice(&rows[..take]);
    }
    out.sort_unstable();
    out
}

impl Fit for ValidKnnParams {
    type Model = KnnModel;

    fn fit(
        &self,
        train: &TrainSet,
        _valid: Option<&TrainSet>,
        _ctl: &mut FitControl,
    ) -> Result<(KnnModel, FitSummary)> {
        train.validate()?;
        let started = Instant::now();
        let p = &self.0;
        let rows = stratified_subsample(train.y, p.max_reference, 50, p.seed);
        if rows.len() < p.k {
            return Err(ModelError::Data(format!(
                "{} training rows for k = {}",
                rows.len(),
                p.k
            )));
        }
        let pre = Preprocess::fit(train.x, train.feature_names, Some(&rows));
        let x = pre.transform_rows(train.x, &rows);
        let classes: Vec<u32> = rows.iter().map(|&r| train.y[r]).collect();
        let mut class_rows = vec![0usize; train.n_classes];
        classes.iter().for_each(|&c| class_rows[c as usize] += 1);
        let file = KnnFile {
            n_classes: train.n_classes,
            n_features: train.n_features(),
            reference_rows: rows.len(),
            class_rows,
            params: p.clone(),
        };
        let model = KnnModel::from_parts(pre, x, classes, file)?;
        Ok((
            model,
            FitSummary {
                iterations_run: 1,
                best_iteration: 1,
                best_valid_metric: None,
                stop_reason: StopReason::Completed,
                seconds: started.elapsed().as_secs_f64(),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsample_is_stratified_and_keeps_rare_classes() {
        let mut y = vec![0u32; 9000];
        y.extend(vec![1u32; 990]);
        y.extend(vec![2u32; 10]);
        let s = stratified_subsample(&y, 1000, 50, 1);
        let count = |c: u32| s.iter().filter(|&&i| y[i] == c).count();
        assert_eq!(count(0), 900);
        assert_eq!(count(1), 99);
        assert_eq!(count(2), 10);
        assert_eq!(stratified_subsample(&y[..10], 100, 5, 1).len(), 10);
    }
}
