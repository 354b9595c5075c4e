//! Scaling and imputation for the models that need them (kNN, linear, SVM, MLP, autoencoder),
//! fitted on the training rows and stored in the bundle as `preprocess.json`.
//!
//! Per feature, in model input order:
//! 1. missing (NaN) stays missing;
//! 2. `log`: signed `ln(1 + |v|)` when the feature's largest magnitude on train exceeds
//!    [`LOG_ABOVE`] (byte and packet counts, rates, durations and inter-arrival times span many
//!    orders of magnitude; flags and small ratios are left linear);
//! 3. standardised with the mean and standard deviation of the (transformed) training values;
//! 4. missing values become 0, the training mean; values are clipped to ±[`CLIP`] so that one
//!    absurd flow cannot saturate a network or dominate a distance.

use crate::error::{ModelError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// File name inside a bundle.
pub const FILE: &str = "preprocess.json";
/// Features whose largest |value| on train exceeds this are log-scaled.
pub const LOG_ABOVE: f64 = 100.0;
/// Standardised values are clipped to ±CLIP.
pub const CLIP: f32 = 20.0;

/// One feature's transform.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Column {
    pub name: String,
    /// Signed log1p before standardising.
    pub log: bool,
    /// Mean of the (transformed) training values.
    pub center: f64,
    /// Standard deviation of the (transformed) training values (1 when constant).
    pub scale: f64,
    /// Share of training rows where the value was missing (informational).
    pub missing_share: f64,
}

/// The fitted transform of every model input.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Preprocess {
    pub version: u32,
    /// How it was fitted, for people reading the bundle.
    pub description: String,
    pub clip: f32,
    pub columns: Vec<Column>,
}

/// Human-readable summary for the manifest.
pub const DESCRIPTION: &str = "preprocess.json: signed ln(1+|v|) for features with max |v| > 100 on train, then standardised (train mean and sd); missing → 0 (the train mean); clipped to ±20";

#[inline]
fn slog(v: f64) -> f64 {
    v.signum() * v.abs().ln_1p()
}

impl Preprocess {
    /// Fit on the rows `rows` (all rows when `None`) of the row-major matrix `x`.
    pub fn fit(x: &[f64], names: &[String], rows: Option<&[usize]>) -> Preprocess {
        let nf = names.len();
        let n = x.len() / nf.max(1);
        let all: Vec<usize>;
        let rows = match rows {
            Some(r) => r,
            None => {
                all = (0..n).collect();
                &all
            }
        };
        let columns = (0..nf)
            .map(|c| {
                let vals = rows
                    .iter()
                    .map(|&r| x[r * nf + c])
                    .filter(|v| v.is_finite());
                let max_abs = vals.clone().fold(0.0f64, |m, v| m.max(v.abs()));
                let log = max_abs > LOG_ABOVE;
                let t = |v: f64| if log { slog(v) } else { v };
                let (mut cnt, mut sum) = (0usize, 0.0f64);
                for v in vals.clone() {
                    cnt += 1;
                    sum += t(v);
                }
                let center = if cnt > 0 { sum / cnt as f64 } else { 0.0 };
                let var = if cnt > 1 {
                    vals.map(|v| (t(v) - center).powi(2)).sum::<f64>() / (cnt - 1) as f64
                } else {
                    0.0
                };
                let sd = var.sqrt();
                Column {
                    name: names[c].clone(),
                    log,
                    center,
                    scale: if sd > 1e-9 { sd } else { 1.0 },
                    missing_share: if rows.is_empty() {
                        0.0
                    } else {
                        1.0 - cnt as f64 / rows.len() as f64
                    },
                }
            })
            .collect();
        Preprocess {
            version: 1,
            description: DESCRIPTION.to_string(),
            clip: CLIP,
            columns,
        }
    }

    pub fn n_features(&self) -> usize {
        self.columns.len()
    }

    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// Transform one value of column `c`.
    #[inline]
    pub fn value(&self, c: usize, v: f64) -> f32 {
        if !v.is_finite() {
            return 0.0;
        }
        let col = &self.columns[c];
        let t = if col.log { slog(v) } else { v };
        (((t - col.center) / col.scale) as f32).clamp(-self.clip, self.clip)
    }

    /// Transform row-major raw rows into row-major model inputs.
    pub fn transform(&self, x: &[f64]) -> Result<Vec<f32>> {
        let nf = self.n_features();
        if nf == 0 || x.len() % nf != 0 {
            return Err(ModelError::Width {
                expected: nf,
                got: if nf == 0 { x.len() } else { x.len() % nf },
            });
        }
        let mut out = Vec::with_capacity(x.len());
        for row in x.chunks_exact(nf) {
            out.extend(row.iter().enumerate().map(|(c, &v)| self.value(c, v)));
        }
        Ok(out)
    }

    /// Transform only the rows `rows`.
    pub fn transform_rows(&self, x: &[f64], rows: &[usize]) -> Vec<f32> {
        let nf = self.n_features();
        let mut out = Vec::with_capacity(rows.len() * nf);
        for &r in rows {
            let row = &x[r * nf..(r + 1) * nf];
            out.extend(row.iter().enumerate().map(|(c, &v)| self.value(c, v)));
        }
        out
    }

    pub fn save(&self, dir: &Path) -> Result<String> {
        let path = dir.join(FILE);
        let json =
            serde_json::to_string_pretty(self).map_err(|e| ModelError::Data(e.to_string()))?;
        std::fs::write(&path, json + "\n").map_err(|e| ModelError::io(&path, e))?;
        Ok(FILE.to_string())
    }

    pub fn load(dir: &Path) -> Result<Preprocess> {
        let path = dir.join(FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
        let p: Preprocess = serde_json::from_str(&text).map_err(|e| ModelError::Manifest {
            path: path.clone(),
            message: format!("malformed: {e}"),
        })?;
        if p.version != 1 {
            return Err(ModelError::Manifest {
                path,
                message: format!("preprocess version {} is not supported", p.version),
            });
        }
        if p.columns.is_empty()
            || p.columns
                .iter()
                .any(|c| !(c.center.is_finite() && c.scale.is_finite() && c.scale > 0.0))
            || p.clip.is_nan()
            || p.clip <= 0.0
        {
            return Err(ModelError::Manifest {
                path,
                message: "no columns, or a non-finite or non-positive scale".into(),
            });
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_logs_heavy_columns_and_imputes_missing() {
        let names = vec!["bytes".to_string(), "flag".to_string()];
        // bytes spans 1..1e6 (log-scaled), flag is 0/1 (linear); one missing value each.
        let x = [
            1.0,
            0.0,
            1e6,
            1.0,
            f64::NAN,
            1.0,
            1000.0,
            f64::NAN,
            10.0,
            0.0,
        ];
        let p = Preprocess::fit(&x, &names, None);
        assert!(p.columns[0].log);
        assert!(!p.columns[1].log);
        assert!((p.columns[0].missing_share - 0.2).abs() < 1e-12);
        let t = p.transform(&x).unwrap();
        // Missing → 0 (the mean); the standardised non-missing values have mean 0.
        assert_eq!(t[4], 0.0);
        assert_eq!(t[7], 0.0);
        let m: f32 = [t[0], t[2], t[6], t[8]].iter().sum::<f32>() / 4.0;
        assert!(m.abs() < 1e-5, "{m}");
        // Only some rows.
        let p2 = Preprocess::fit(&x, &names, Some(&[0, 1]));
        assert_eq!(p2.transform_rows(&x, &[1]).len(), 2);
        // Clipping.
        assert_eq!(p.value(1, 1e12), CLIP);
        // Round trip.
        let dir = tempfile::tempdir().unwrap();
        p.save(dir.path()).unwrap();
        assert_eq!(Preprocess::load(dir.path()).unwrap(), p);
    }
}
