//! `dataset split`: train/val/test files, stratified by label or by whole capture days.
//!
//! Two streaming passes and O(labels) memory: pass one counts rows per key (label or day) reading
//! only that column; pass two gives the i-th row of each label the rank `perm(i)` under a seeded
//! bijection of `0..n` (a Feistel network with cycle walking) and sends ranks below the train quota
//! to train, the next ones to val, the rest to test. So each label's split sizes are exact quotas,
//! nothing is held in memory per row, and the same seed on the same data gives the same split.

use crate::card::{Card, SplitCard};
use crate::error::{DatasetError, Result};
use crate::import::DATA_FILE;
use crate::read::{open_dataset, read_batches};
use crate::schema::{dataset_schema, COL_DAY, COL_LABEL};
use crate::writer::AtomicParquet;
use arrow_array::{Array, BooleanArray, RecordBatch, StringArray};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

pub const SPLIT_NAMES: [&str; 3] = ["train", "val", "test"];
pub const SPLIT_FILES: [&str; 3] = ["train.parquet", "val.parquet", "test.parquet"];
/// The group rows without a day (unparseable or missing timestamp) form under `--by day`.
pub const NO_DAY: &str = "(no day)";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SplitBy {
    /// Stratified random split: every label split by the ratios.
    #[default]
    Label,
    /// Whole capture days per split, so near-duplicate flows of one day cannot leak across splits.
    Day,
}

impl FromStr for SplitBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "label" => Ok(SplitBy::Label),
            "day" => Ok(SplitBy::Day),
            o => Err(format!("unknown split key '{o}' (expected label or day)")),
        }
    }
}

impl fmt::Display for SplitBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SplitBy::Label => "label",
            SplitBy::Day => "day",
        })
    }
}

#[derive(Clone, Debug)]
pub struct SplitOptions {
    pub ratios: [f64; 3],
    pub seed: u64,
    pub by: SplitBy,
    pub batch_rows: usize,
}

impl Default for SplitOptions {
    fn default() -> Self {
        SplitOptions {
            ratios: [0.8, 0.1, 0.1],
            seed: 42,
            by: SplitBy::Label,
            batch_rows: 64 * 1024,
        }
    }
}

/// Parse `0.8,0.1,0.1` (must be three non-negative numbers summing to 1 ± 1e-6, train > 0).
pub fn parse_ratios(s: &str) -> Result<[f64; 3]> {
    let parts: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| {
            DatasetError::Usage(format!(
                "ratios '{s}': expected three numbers like 0.8,0.1,0.1"
            ))
        })?;
    let [a, b, c] = parts[..] else {
        return Err(DatasetError::Usage(format!(
            "ratios '{s}': expected three numbers (train,val,test)"
        )));
    };
    let r = [a, b, c];
    if r.iter().any(|x| !x.is_finite() || *x < 0.0) || (a + b + c - 1.0).abs() > 1e-6 || a <= 0.0 {
        return Err(DatasetError::Usage(format!(
            "ratios '{s}': must be non-negative, sum to 1, and train > 0"
        )));
    }
    Ok(r)
}

/// Rows of a label (or day) per split: largest-remainder quotas, then every split with a non-zero
/// ratio gets at least one row while another split can spare one (test first, then val), so tiny
/// classes still appear in evaluation.
pub fn allocate(n: u64, ratios: [f64; 3]) -> [u64; 3] {
    let exact = ratios.map(|r| n as f64 * r);
    let mut c = exact.map(|e| e.floor() as u64);
    let mut rem = n.saturating_sub(c.iter().sum());
    let mut order = [0usize, 1, 2];
    order.sort_by(|&i, &j| {
        (exact[j] - exact[j].floor())
            .total_cmp(&(exact[i] - exact[i].floor()))
            .then(i.cmp(&j))
    });
    for &i in order.iter().cycle() {
        if rem == 0 {
            break;
        }
        if ratios[i] > 0.0 {
            c[i] += 1;
            rem -= 1;
        }
    }
    for k in [2usize, 1] {
        if ratios[k] > 0.0 && c[k] == 0 {
            let donor = (0..3)
                .max_by_key(|&i| (c[i], std::cmp::Reverse(i)))
                .expect("three splits");
            if c[donor] > 1 {
                c[donor] -= 1;
                c[k] += 1;
            }
        }
    }
    c
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn key_hash(seed: u64, key: &str) -> u64 {
    // FNV-1a, then mixed with the seed: stable across platforms and Rust versions (unlike std's
    // hasher), which is what "same seed → same split" needs.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    splitmix(seed ^ splitmix(h))
}

/// A seeded bijection of `0..n`.
#[derive(Clone, Debug)]
pub struct Permutation {
    n: u64,
    half: u32,
    mask: u64,
    keys: [u64; 4],
}

impl Permutation {
    pub fn new(n: u64, seed: u64) -> Permutation {
        let bits = (64 - n.saturating_sub(1).leading_zeros()).max(2);
        let bits = bits + (bits & 1);
        let half = bits / 2;
        let mut s = seed;
        let keys = [0; 4].map(|_| {
            s = splitmix(s);
            s
        });
        Permutation {
            n,
            half,
            mask: (1u64 << half) - 1,
            keys,
        }
    }

    fn round(&self, x: u64) -> u64 {
        let (mut l, mut r) = (x >> self.half, x & self.mask);
        for k in self.keys {
            let f = splitmix(r ^ k) & self.mask;
            (l, r) = (r, l ^ f);
        }
        (l << self.half) | r
    }

    /// The image of `i` (< n). Cycle walking stays in `0..n`; the domain is < 4n, so the expected
    /// number of rounds is below 4.
    pub fn apply(&self, i: u64) -> u64 {
        debug_assert!(i < self.n);
        let mut x = self.round(i);
        while x >= self.n {
            x = self.round(x);
        }
        x
    }
}

/// Assign whole days (keys) to splits: in seeded order, each day goes to the split furthest below
/// its row target, except that splits still empty get the last days when only as many remain.
fn assign_days(
    days: &BTreeMap<String, u64>,
    ratios: [f64; 3],
    seed: u64,
) -> Result<HashMap<String, usize>> {
    let wanted: Vec<usize> = (0..3).filter(|&k| ratios[k] > 0.0).collect();
    if days.len() < wanted.len() {
        return Err(DatasetError::Usage(format!(
            "--by day needs at least {} distinct days for ratios {:?}, the dataset has {} ({})",
            wanted.len(),
            ratios,
            days.len(),
            days.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let total: u64 = days.values().sum();
    let mut order: Vec<(&String, u64)> = days.iter().map(|(d, &n)| (d, n)).collect();
    order.sort_by_key(|(d, _)| key_hash(seed, d));
    let mut rows = [0u64; 3];
    let mut count = [0usize; 3];
    let mut out = HashMap::new();
    for (i, (d, n)) in order.iter().enumerate() {
        let remaining = order.len() - i;
        let empty: Vec<usize> = wanted.iter().copied().filter(|&k| count[k] == 0).collect();
        let k = if !empty.is_empty() && remaining <= empty.len() {
            empty[0]
        } else {
            *wanted
                .iter()
                .max_by(|&&a, &&b| {
                    let da = ratios[a] * total as f64 - rows[a] as f64;
                    let db = ratios[b] * total as f64 - rows[b] as f64;
                    da.total_cmp(&db).then(b.cmp(&a))
                })
                .expect("at least one split")
        };
        rows[k] += n;
        count[k] += 1;
        out.insert((*d).clone(), k);
    }
    Ok(out)
}

fn string_column<'a>(b: &'a RecordBatch, name: &str, path: &Path) -> Result<&'a StringArray> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .ok_or_else(|| DatasetError::invalid(path, format!("no Utf8 column '{name}'")))
}

/// Split `dir/data.parquet` into `out_dir/{train,val,test}.parquet` and update the card there.
pub fn split(dir: &Path, out_dir: Option<&Path>, opts: &SplitOptions) -> Result<Card> {
    let out_dir = out_dir.unwrap_or(dir);
    let input = dir.join(DATA_FILE);
    let info = open_dataset(&input)?;
    let key_col = match opts.by {
        SplitBy::Label => COL_LABEL,
        SplitBy::Day => COL_DAY,
    };
    // Pass 1: counts per key.
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for b in read_batches(&input, Some(&[key_col]), opts.batch_rows)? {
        let b = b?;
        let col = string_column(&b, key_col, &input)?;
        for i in 0..col.len() {
            let k = if col.is_null(i) { NO_DAY } else { col.value(i) };
            match counts.get_mut(k) {
                Some(n) => *n += 1,
                None => {
                    counts.insert(k.to_string(), 1);
                }
            }
        }
    }
    // Per-key plan.
    struct Plan {
        quota: [u64; 3],
        perm: Permutation,
        next: u64,
        fixed: Option<usize>,
    }
    let day_split = match opts.by {
        SplitBy::Day => Some(assign_days(&counts, opts.ratios, opts.seed)?),
        SplitBy::Label => None,
    };
    let index: HashMap<&str, usize> = counts
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut plans: Vec<Plan> = counts
        .iter()
        .map(|(k, &n)| Plan {
            quota: allocate(n, opts.ratios),
            perm: Permutation::new(n, key_hash(opts.seed, k)),
            next: 0,
            fixed: day_split.as_ref().map(|m| m[k]),
        })
        .collect();

    // Pass 2: route rows.
    std::fs::create_dir_all(out_dir).map_err(|e| DatasetError::io(out_dir, e))?;
    let schema = dataset_schema(info.mode);
    let mut writers = SPLIT_FILES
        .iter()
        .map(|f| AtomicParquet::create(&out_dir.join(f), schema.clone(), info.mode))
        .collect::<Result<Vec<_>>>()?;
    let mut per_label: BTreeMap<String, [u64; 3]> = BTreeMap::new();
    let mut assign: Vec<u8> = Vec::with_capacity(opts.batch_rows);
    for b in read_batches(&input, None, opts.batch_rows)? {
        let b = b?;
        let keys = string_column(&b, key_col, &input)?;
        let labels = string_column(&b, COL_LABEL, &input)?;
        assign.clear();
        let mut last: Option<(&str, usize)> = None;
        for i in 0..b.num_rows() {
            let k = if keys.is_null(i) {
                NO_DAY
            } else {
                keys.value(i)
            };
            let pi = match last {
                // Rows of one label come in runs; skip the map lookup within a run.
                Some((lk, p)) if lk == k => p,
                _ => {
                    let p = *index.get(k).ok_or_else(|| {
                        DatasetError::invalid(&input, "data changed between passes")
                    })?;
                    last = Some((k, p));
                    p
                }
            };
            let plan = &mut plans[pi];
            let s = match plan.fixed {
                Some(s) => s,
                None => {
                    let r = plan.perm.apply(plan.next);
                    plan.next += 1;
                    if r < plan.quota[0] {
                        0
                    } else if r < plan.quota[0] + plan.quota[1] {
                        1
                    } else {
                        2
                    }
                }
            };
            assign.push(s as u8);
            let l = if labels.is_null(i) {
                ""
            } else {
                labels.value(i)
            };
            match per_label.get_mut(l) {
                Some(c) => c[s] += 1,
                None => {
                    let mut c = [0; 3];
                    c[s] = 1;
                    per_label.insert(l.to_string(), c);
                }
            }
        }
        for (s, w) in writers.iter_mut().enumerate() {
            let mask = BooleanArray::from_iter(assign.iter().map(|&a| Some(a as usize == s)));
            let part = arrow_select::filter::filter_record_batch(&b, &mask)
                .map_err(|e| DatasetError::parquet(&input, e))?;
            if part.num_rows() > 0 {
                w.write(&part)?;
            }
        }
    }
    let finished = writers
        .into_iter()
        .map(|w| w.finish())
        .collect::<Result<Vec<_>>>()?;
    let mut card = Card::load(dir).unwrap_or_else(|_| Card {
        schema_version: crate::schema::SCHEMA_VERSION,
        mode: info.mode.as_str().into(),
        rows: info.rows,
        ..Default::default()
    });
    let mut days: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(m) = &day_split {
        for (d, &s) in m {
            days.entry(SPLIT_NAMES[s].to_string())
                .or_default()
                .push(d.clone());
        }
        days.values_mut().for_each(|v| v.sort());
    }
    card.split = Some(SplitCard {
        by: opts.by.to_string(),
        seed: opts.seed,
        ratios: opts.ratios,
        rows: SPLIT_NAMES
            .iter()
            .zip(&finished)
            .map(|(n, f)| (n.to_string(), f.rows))
            .collect(),
        labels: per_label,
        days,
    });
    for f in finished {
        f.commit()?;
    }
    card.save(out_dir)?;
    Ok(card)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_bijection() {
        for n in [1u64, 2, 3, 5, 17, 1000, 4097] {
            let p = Permutation::new(n, 7);
            let mut seen = vec![false; n as usize];
            for i in 0..n {
                let r = p.apply(i);
                assert!(!seen[r as usize]);
                seen[r as usize] = true;
            }
        }
    }

    #[test]
    fn allocation_is_exact_and_covers_tiny_classes() {
        let r = [0.8, 0.1, 0.1];
        assert_eq!(allocate(1, r), [1, 0, 0]);
        assert_eq!(allocate(2, r), [1, 0, 1]);
        assert_eq!(allocate(3, r), [1, 1, 1]);
        assert_eq!(allocate(10, r), [8, 1, 1]);
        for n in 0..500 {
            let c = allocate(n, r);
            assert_eq!(c.iter().sum::<u64>(), n);
            if n >= 10 {
                for k in 0..3 {
                    assert!((c[k] as f64 - n as f64 * r[k]).abs() < 1.0, "n={n} {c:?}");
                }
            }
        }
        assert_eq!(allocate(5, [1.0, 0.0, 0.0]), [5, 0, 0]);
    }

    #[test]
    fn days_cover_every_split() {
        let days: BTreeMap<String, u64> = (1..=5)
            .map(|d| (format!("2018-02-{d:02}"), 100 * d))
            .collect();
        let m = assign_days(&days, [0.8, 0.1, 0.1], 1).unwrap();
        let used: std::collections::HashSet<usize> = m.values().copied().collect();
        assert_eq!(used.len(), 3);
        let two: BTreeMap<String, u64> = days.into_iter().take(2).collect();
        assert!(assign_days(&two, [0.8, 0.1, 0.1], 1).is_err());
    }
}
