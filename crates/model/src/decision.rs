//! The verdict rule: how class probabilities become "attack or not" and a label.
//!
//! It lives in the detection crate because the [`crate::Detector`] applies it to every flow; the
//! training crate's evaluation imports it from here so that offline metrics and live verdicts can
//! never disagree about what counts as an attack.

use crate::model::Task;

/// The verdict rule shared by evaluation and the Detector.
///
/// Attack score: P(attack) for binary models, 1 − P(benign classes) for multiclass. A row is an
/// attack when its score ≥ the threshold; its label is then the most probable attack class, else
/// the most probable benign class.
#[derive(Clone, Debug)]
pub struct DecisionRule {
    pub task: Task,
    /// Per class: whether it is an attack.
    pub is_attack: Vec<bool>,
    pub threshold: f64,
}

impl DecisionRule {
    /// Attack score from one row of class probabilities.
    #[inline]
    pub fn attack_score(&self, probs: &[f64]) -> f64 {
        probs
            .iter()
            .zip(&self.is_attack)
            .filter(|(_, a)| **a)
            .map(|(p, _)| *p)
            .sum::<f64>()
            .clamp(0.0, 1.0)
    }

    /// (predicted class, attack score, is_attack) for one row of probabilities.
    #[inline]
    pub fn decide(&self, probs: &[f64]) -> (usize, f64, bool) {
        let score = self.attack_score(probs);
        let attack = score >= self.threshold;
        let mut best: Option<(usize, f64)> = None;
        for (c, (&p, &a)) in probs.iter().zip(&self.is_attack).enumerate() {
            if a == attack && best.is_none_or(|(_, bp)| p > bp) {
                best = Some((c, p));
            }
        }
        // A model without any class on one side (cannot happen for trained bundles) falls back to argmax.
        let class = best.map(|(c, _)| c).unwrap_or_else(|| argmax(probs));
        (class, score, attack)
    }
}

fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv {
                (i, x)
            } else {
                (bi, bv)
            }
        })
        .0
}
