//! Evaluation: per-class and macro precision/recall/F1, binary (attack vs benign) precision, recall,
//! benign false-positive rate, ROC-AUC and PR-AUC, the confusion matrix, miss rates per original
//! label, the threshold that reaches a target recall, and all binary metrics without Infiltration.

pub use mlids_model::DecisionRule;
use mlids_model::Task;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Ground truth for evaluation rows.
pub struct Truth<'a> {
    /// True class index per row in the model's label list, or `None` for a label the model does not
    /// know (it still counts in the binary metrics and the per-original-label table).
    pub class: &'a [Option<usize>],
    pub is_attack: &'a [bool],
    pub label: &'a [&'a str],
    pub label_original: &'a [&'a str],
    pub category: &'a [&'a str],
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ClassMetrics {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// True rows of this class.
    pub support: u64,
    /// Rows predicted as this class.
    pub predicted: u64,
}

/// Attack-vs-benign metrics at one threshold, plus the threshold-free AUCs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BinaryMetrics {
    pub rows: u64,
    pub attacks: u64,
    pub threshold: f64,
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Benign rows flagged as attacks / benign rows.
    pub benign_fpr: f64,
    /// `None` when only one class is present.
    pub roc_auc: Option<f64>,
    /// Average precision (step-wise area under the PR curve, as scikit-learn computes it).
    pub pr_auc: Option<f64>,
}

/// The threshold reaching a target recall on these rows, and what it costs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TargetRecall {
    pub target: f64,
    /// Largest threshold whose recall is ≥ target (`None` without attack rows).
    pub threshold: Option<f64>,
    pub precision: f64,
    pub recall: f64,
    pub benign_fpr: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OriginalLabelRow {
    pub label_original: String,
    pub label: String,
    pub category: String,
    pub is_attack: bool,
    pub rows: u64,
    /// Rows whose attack/benign verdict is wrong (missed attacks, or false alarms for benign rows).
    pub wrong_verdict: u64,
    /// `wrong_verdict / rows`: the miss rate for attacks, the false-positive rate for benign labels.
    pub miss_rate: f64,
    /// Rows whose predicted label differs from the true label (multiclass only).
    pub wrong_label: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Confusion {
    /// Row labels (true): the model's labels, then unknown labels seen in the data.
    pub true_labels: Vec<String>,
    /// Column labels (predicted): the model's labels.
    pub predicted_labels: Vec<String>,
    pub counts: Vec<Vec<u64>>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Evaluation {
    pub name: String,
    pub task: Task,
    pub rows: u64,
    pub threshold: f64,
    pub accuracy: f64,
    pub classes: Vec<ClassMetrics>,
    pub macro_precision: f64,
    pub macro_recall: f64,
    pub macro_f1: f64,
    pub binary: BinaryMetrics,
    /// The same, leaving out rows whose category is Infiltration (`None` if there are none).
    pub binary_without_infiltration: Option<BinaryMetrics>,
    pub target_recall: TargetRecall,
    pub confusion: Confusion,
    pub by_original_label: Vec<OriginalLabelRow>,
    /// (recall, precision) points of the attack PR curve, at most ~400.
    pub pr_curve: Vec<(f64, f64)>,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// Binary metrics of `scores` against `positive` at `threshold`.
pub fn binary_metrics(scores: &[f64], positive: &[bool], threshold: f64) -> BinaryMetrics {
    let (mut tp, mut fp, mut tn, mut fn_) = (0u64, 0u64, 0u64, 0u64);
    for (&s, &p) in scores.iter().zip(positive) {
        match (s >= threshold, p) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let (roc_auc, pr_auc) = aucs(scores, positive);
    BinaryMetrics {
        rows: scores.len() as u64,
        attacks: tp + fn_,
        threshold,
        tp,
        fp,
        tn,
        fn_,
        precision,
        recall,
        f1: f1(precision, recall),
        benign_fpr: ratio(fp, fp + tn),
        roc_auc,
        pr_auc,
    }
}

/// Indices sorted by descending score (NaN last).
fn order_desc(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    idx
}

/// (ROC-AUC, average precision); ties are handled as one threshold step.
pub fn aucs(scores: &[f64], positive: &[bool]) -> (Option<f64>, Option<f64>) {
    let pos = positive.iter().filter(|&&p| p).count() as f64;
    let neg = positive.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return (None, if pos == 0.0 { None } else { Some(1.0) });
    }
    let idx = order_desc(scores);
    let (mut tp, mut fp) = (0.0f64, 0.0f64);
    let (mut roc, mut ap) = (0.0f64, 0.0f64);
    let (mut prev_tpr, mut prev_fpr, mut prev_recall) = (0.0f64, 0.0f64, 0.0f64);
    let mut i = 0;
    while i < idx.len() {
        let s = scores[idx[i]];
        while i < idx.len() && scores[idx[i]].total_cmp(&s).is_eq() {
            if positive[idx[i]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        let (tpr, fpr) = (tp / pos, fp / neg);
        roc += (fpr - prev_fpr) * (tpr + prev_tpr) / 2.0;
        let recall = tp / pos;
        let precision = tp / (tp + fp);
        ap += (recall - prev_recall) * precision;
        prev_tpr = tpr;
        prev_fpr = fpr;
        prev_recall = recall;
    }
    (Some(roc), Some(ap))
}

/// The largest threshold whose recall on `positive` rows is at least `target`.
pub fn threshold_for_recall(scores: &[f64], positive: &[bool], target: f64) -> Option<f64> {
    let mut pos: Vec<f64> = scores
        .iter()
        .zip(positive)
        .filter(|(_, &p)| p)
        .map(|(&s, _)| s)
        .collect();
    if pos.is_empty() {
        return None;
    }
    pos.sort_unstable_by(|a, b| b.total_cmp(a));
    let k = ((target.clamp(0.0, 1.0) * pos.len() as f64).ceil() as usize).clamp(1, pos.len());
    Some(pos[k - 1])
}

/// (recall, precision) points, thinned to about `max_points`.
pub fn pr_curve(scores: &[f64], positive: &[bool], max_points: usize) -> Vec<(f64, f64)> {
    let pos = positive.iter().filter(|&&p| p).count() as f64;
    if pos == 0.0 {
        return Vec::new();
    }
    let idx = order_desc(scores);
    let mut pts = Vec::new();
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let s = scores[idx[i]];
        while i < idx.len() && scores[idx[i]].total_cmp(&s).is_eq() {
            if positive[idx[i]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        pts.push((tp / pos, tp / (tp + fp)));
    }
    if pts.len() > max_points {
        let step = pts.len() as f64 / max_points as f64;
        let last = *pts.last().expect("non-empty");
        pts = (0..max_points)
            .map(|i| pts[(i as f64 * step) as usize])
            .collect();
        pts.push(last);
    }
    pts
}

/// Evaluate predictions. `probs` holds `labels.len()` probabilities per row.
pub fn evaluate(
    name: &str,
    rule: &DecisionRule,
    labels: &[String],
    probs: &[f64],
    truth: &Truth,
    target_recall: f64,
) -> Evaluation {
    let k = labels.len();
    let n = truth.is_attack.len();
    let mut scores = Vec::with_capacity(n);
    let mut pred = Vec::with_capacity(n);
    for row in probs.chunks_exact(k) {
        let (c, s, _) = rule.decide(row);
        scores.push(s);
        pred.push(c);
    }
    let binary = binary_metrics(&scores, truth.is_attack, rule.threshold);
    let binary_without_infiltration = {
        let keep: Vec<usize> = (0..n)
            .filter(|&i| truth.category[i] != "Infiltration")
            .collect();
        (keep.len() < n).then(|| {
            let s: Vec<f64> = keep.iter().map(|&i| scores[i]).collect();
            let p: Vec<bool> = keep.iter().map(|&i| truth.is_attack[i]).collect();
            binary_metrics(&s, &p, rule.threshold)
        })
    };
    let target = {
        let t = threshold_for_recall(&scores, truth.is_attack, target_recall);
        let m = t.map(|t| binary_metrics(&scores, truth.is_attack, t));
        TargetRecall {
            target: target_recall,
            threshold: t,
            precision: m.as_ref().map_or(0.0, |m| m.precision),
            recall: m.as_ref().map_or(0.0, |m| m.recall),
            benign_fpr: m.as_ref().map_or(0.0, |m| m.benign_fpr),
        }
    };

    // Confusion matrix: true class (known labels, then unknown ones) × predicted class. For the
    // binary task the true class is the attack flag.
    let mut true_labels: Vec<String> = labels.to_vec();
    let mut unknown: BTreeMap<&str, usize> = BTreeMap::new();
    let true_class: Vec<usize> = (0..n)
        .map(|i| match (rule.task, truth.class[i]) {
            (Task::Binary, _) => truth.is_attack[i] as usize,
            (Task::Multiclass, Some(c)) => c,
            (Task::Multiclass, None) => {
                let next = k + unknown.len();
                *unknown.entry(truth.label[i]).or_insert(next)
            }
        })
        .collect();
    let mut unknown_sorted: Vec<(&str, usize)> = unknown.into_iter().collect();
    unknown_sorted.sort_by_key(|&(_, i)| i);
    true_labels.extend(unknown_sorted.iter().map(|(l, _)| l.to_string()));
    let mut counts = vec![vec![0u64; k]; true_labels.len()];
    for i in 0..n {
        counts[true_class[i]][pred[i]] += 1;
    }
    let classes: Vec<ClassMetrics> = (0..k)
        .map(|c| {
            let tp = counts[c][c];
            let support: u64 = counts[c].iter().sum();
            let predicted: u64 = counts.iter().map(|r| r[c]).sum();
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support);
            ClassMetrics {
                label: labels[c].clone(),
                precision,
                recall,
                f1: f1(precision, recall),
                support,
                predicted,
            }
        })
        .collect();
    let present: Vec<&ClassMetrics> = classes
        .iter()
        .filter(|c| c.support > 0 || c.predicted > 0)
        .collect();
    let mean = |f: &dyn Fn(&ClassMetrics) -> f64| {
        if present.is_empty() {
            0.0
        } else {
            present.iter().map(|c| f(c)).sum::<f64>() / present.len() as f64
        }
    };
    let correct: u64 = (0..k).map(|c| counts[c][c]).sum();

    // Per original label.
    let mut by: BTreeMap<&str, (usize, u64, u64, u64)> = BTreeMap::new(); // first row, rows, wrong verdict, wrong label
    for i in 0..n {
        let e = by.entry(truth.label_original[i]).or_insert((i, 0, 0, 0));
        e.1 += 1;
        if (scores[i] >= rule.threshold) != truth.is_attack[i] {
            e.2 += 1;
        }
        if true_class[i] != pred[i] {
            e.3 += 1;
        }
    }
    let mut by_original_label: Vec<OriginalLabelRow> = by
        .into_iter()
        .map(|(lo, (first, rows, wv, wl))| OriginalLabelRow {
            label_original: lo.to_string(),
            label: truth.label[first].to_string(),
            category: truth.category[first].to_string(),
            is_attack: truth.is_attack[first],
            rows,
            wrong_verdict: wv,
            miss_rate: ratio(wv, rows),
            wrong_label: (rule.task == Task::Multiclass).then_some(wl),
        })
        .collect();
    by_original_label.sort_by(|a, b| {
        a.is_attack
            .cmp(&b.is_attack)
            .then(b.miss_rate.total_cmp(&a.miss_rate))
            .then(a.label_original.cmp(&b.label_original))
    });

    Evaluation {
        name: name.to_string(),
        task: rule.task,
        rows: n as u64,
        threshold: rule.threshold,
        accuracy: ratio(correct, n as u64),
        macro_precision: mean(&|c| c.precision),
        macro_recall: mean(&|c| c.recall),
        macro_f1: mean(&|c| c.f1),
        classes,
        binary,
        binary_without_infiltration,
        target_recall: target,
        confusion: Confusion {
            true_labels,
            predicted_labels: labels.to_vec(),
            counts,
        },
        by_original_label,
        pr_curve: pr_curve(&scores, truth.is_attack, 400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_matches_hand_computation() {
        // Perfect ranking.
        let (roc, ap) = aucs(&[0.9, 0.8, 0.2, 0.1], &[true, true, false, false]);
        assert_eq!(roc, Some(1.0));
        assert_eq!(ap, Some(1.0));
        // One inversion among 2×2 pairs: AUC 3/4. AP: ranks P N P N → (0.5·1 + 0.5·2/3).
        let (roc, ap) = aucs(&[0.9, 0.8, 0.7, 0.1], &[true, false, true, false]);
        assert!((roc.unwrap() - 0.75).abs() < 1e-12);
        assert!((ap.unwrap() - (0.5 + 0.5 * 2.0 / 3.0)).abs() < 1e-12);
        // All tied: 0.5.
        let (roc, _) = aucs(&[0.5; 4], &[true, false, true, false]);
        assert!((roc.unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(aucs(&[0.1], &[false]), (None, None));
    }

    #[test]
    fn threshold_reaches_target_recall() {
        let s = [0.95, 0.9, 0.6, 0.3, 0.2];
        let p = [true, true, true, true, false];
        assert_eq!(threshold_for_recall(&s, &p, 0.75), Some(0.6));
        assert_eq!(threshold_for_recall(&s, &p, 0.99), Some(0.3));
        assert_eq!(threshold_for_recall(&s, &p, 0.5), Some(0.9));
        assert_eq!(threshold_for_recall(&s, &[false; 5], 0.9), None);
    }

    #[test]
    fn multiclass_evaluation_counts() {
        let labels = vec!["Benign".to_string(), "DoS".to_string(), "Bot".to_string()];
        let rule = DecisionRule {
            task: Task::Multiclass,
            is_attack: vec![false, true, true],
            threshold: 0.5,
        };
        // rows: benign ok, dos ok, bot predicted as dos, benign flagged (bot), unknown label missed.
        let probs = [
            0.9, 0.05, 0.05, //
            0.1, 0.8, 0.1, //
            0.2, 0.5, 0.3, //
            0.3, 0.3, 0.4, //
            0.7, 0.2, 0.1,
        ];
        let class = [Some(0), Some(1), Some(2), Some(0), None];
        let is_attack = [false, true, true, false, true];
        let label = ["Benign", "DoS", "Bot", "Benign", "Heartbleed"];
        let category = ["Benign", "DoS", "Bot", "Benign", "Infiltration"];
        let truth = Truth {
            class: &class,
            is_attack: &is_attack,
            label: &label,
            label_original: &label,
            category: &category,
        };
        let e = evaluate("t", &rule, &labels, &probs, &truth, 0.99);
        assert_eq!(e.confusion.true_labels.len(), 4);
        assert_eq!(e.confusion.counts[2], vec![0, 1, 0]);
        assert_eq!(e.confusion.counts[3], vec![1, 0, 0]);
        assert_eq!(
            (e.binary.tp, e.binary.fp, e.binary.tn, e.binary.fn_),
            (2, 1, 1, 1)
        );
        assert!((e.binary.benign_fpr - 0.5).abs() < 1e-12);
        let wo = e.binary_without_infiltration.unwrap();
        assert_eq!(wo.rows, 4);
        assert_eq!(wo.fn_, 0);
        let hb = e
            .by_original_label
            .iter()
            .find(|r| r.label_original == "Heartbleed")
            .unwrap();
        assert_eq!((hb.rows, hb.wrong_verdict), (1, 1));
        assert_eq!(e.classes[1].support, 1);
        assert_eq!(e.classes[1].predicted, 2);
    }
}
