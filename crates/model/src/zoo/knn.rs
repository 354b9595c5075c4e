//! k-nearest neighbours, exact, over a stratified subsample of the scaled training rows.
//!
//! Why exact on a subsample rather than an approximate index: at the sizes this project trains on
//! (tens of thousands of rows, ~75 features) one matrix product per block of queries
//! (`‖q‖² + ‖r‖² − 2·q·rᵀ`, candle's gemm) finds the true neighbours faster than building an index,
//! with no recall loss and no extra dependency; for the full CIC-IDS2018 (16M rows) the reference
//! set is capped (`max_reference`, stratified by class so that rare attacks keep their rows). The
//! speed and detection quality against the reference size are measured in docs/zoo.md.
//!
//! Probabilities are the neighbours' (distance-weighted or plain) class votes. Class weights are
//! not used: re-weighting votes by inverse class frequency would let one rare-class neighbour
//! outvote four common ones.

use super::nn::DEVICE;
use super::preprocess::{self, Preprocess};
use super::{read_json, write_json};
use crate::error::{ModelError, Result};
use crate::model::Classifier;
use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

pub const ENGINE: &str = crate::engine::KNN;
const JSON: &str = "knn.json";
const DATA: &str = "knn.safetensors";
/// Queries per distance block.
const BLOCK: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// Each neighbour votes 1.
    Uniform,
    /// Each neighbour votes 1 / (distance + 1e-6).
    Distance,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct KnnParams {
    pub k: usize,
    pub weighting: Weighting,
    /// At most this many reference rows (a stratified random subsample above it).
    pub max_reference: usize,
    pub seed: u64,
}

impl Default for KnnParams {
    fn default() -> Self {
        KnnParams {
            k: 5,
            weighting: Weighting::Distance,
            max_reference: 50_000,
            seed: 42,
        }
    }
}

/// The model's own file besides the reference rows and `preprocess.json` (public so that the
/// training crate can build it).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct KnnFile {
    pub n_classes: usize,
    pub n_features: usize,
    pub reference_rows: usize,
    /// Reference rows per class.
    pub class_rows: Vec<usize>,
    pub params: KnnParams,
}

/// A fitted kNN: the scaled reference rows and their classes.
#[derive(Clone, Debug)]
pub struct KnnModel {
    pre: Preprocess,
    /// `(n, d)` f32.
    refs: Tensor,
    /// `(1, n)` squared norms.
    ref_norms: Tensor,
    classes: Vec<u32>,
    file: KnnFile,
    names: Vec<String>,
}

impl KnnModel {
    /// A fitted kNN from the scaled reference rows (`x`, row-major) and their classes (the
    /// training crate's `Fit` builds it).
    pub fn from_parts(
        pre: Preprocess,
        x: Vec<f32>,
        classes: Vec<u32>,
        file: KnnFile,
    ) -> Result<KnnModel> {
        let n = classes.len();
        let d = pre.n_features();
        let refs = Tensor::from_vec(x, (n, d), &DEVICE)?;
        let ref_norms = refs.sqr()?.sum(1)?.reshape((1, n))?;
        Ok(KnnModel {
            names: pre.names(),
            pre,
            refs,
            ref_norms,
            classes,
            file,
        })
    }

    pub fn load(dir: &Path, n_classes: usize) -> Result<KnnModel> {
        let pre = Preprocess::load(dir)?;
        let path = dir.join(JSON);
        let file: KnnFile = read_json(&path)?;
        let data_path = dir.join(DATA);
        let bad = |p: &Path, m: String| ModelError::Manifest {
            path: p.to_path_buf(),
            message: m,
        };
        if file.n_classes != n_classes {
            return Err(bad(
                &path,
                format!(
                    "model has {} classes but the manifest lists {n_classes}",
                    file.n_classes
                ),
            ));
        }
        let mut m: HashMap<String, Tensor> = candle_core::safetensors::load(&data_path, &DEVICE)
            .map_err(|e| bad(&data_path, e.to_string()))?;
        let (Some(x), Some(y)) = (m.remove("x"), m.remove("y")) else {
            return Err(bad(&data_path, "needs tensors `x` and `y`".into()));
        };
        let d = pre.n_features();
        let n = file.reference_rows;
        if x.dims() != [n, d] || y.dims() != [n] || x.dtype() != DType::F32 || n < file.params.k {
            return Err(bad(
                &data_path,
                format!(
                    "reference shape {:?}/{:?} does not match {n} rows × {d} features (k = {})",
                    x.dims(),
                    y.dims(),
                    file.params.k
                ),
            ));
        }
        let classes = y.to_dtype(DType::U32)?.to_vec1::<u32>()?;
        if classes.iter().any(|&c| c as usize >= n_classes) {
            return Err(bad(&data_path, "class index out of range".into()));
        }
        let x = x.flatten_all()?.to_vec1::<f32>()?;
        KnnModel::from_parts(pre, x, classes, file)
    }

    /// Indices and squared distances of the `k` nearest reference rows of each scaled query row.
    pub fn neighbours(&self, q: &[f32]) -> Result<Vec<Vec<(u32, f32)>>> {
        let d = self.pre.n_features();
        let k = self.file.params.k;
        let n = self.classes.len();
        let mut out = Vec::with_capacity(q.len() / d);
        let rt = self.refs.t()?;
        for chunk in q.chunks(BLOCK * d) {
            let b = chunk.len() / d;
            let qt = Tensor::from_slice(chunk, (b, d), &DEVICE)?;
            let qn = qt.sqr()?.sum_keepdim(1)?;
            let dist = qt
                .matmul(&rt)?
                .affine(-2.0, 0.0)?
                .broadcast_add(&qn)?
                .broadcast_add(&self.ref_norms)?;
            let dist = dist.flatten_all()?.to_vec1::<f32>()?;
            let mut idx: Vec<u32> = Vec::with_capacity(n);
            for row in dist.chunks_exact(n) {
                idx.clear();
                idx.extend(0..n as u32);
                let key = |i: &u32| row[*i as usize].max(0.0);
                if k < n {
                    idx.select_nth_unstable_by(k - 1, |a, b| key(a).total_cmp(&key(b)));
                }
                let mut nb: Vec<(u32, f32)> = idx[..k].iter().map(|&i| (i, key(&i))).collect();
                nb.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
                out.push(nb);
            }
        }
        Ok(out)
    }

    pub fn reference_rows(&self) -> usize {
        self.classes.len()
    }
}

impl Classifier for KnnModel {
    fn engine(&self) -> &'static str {
        ENGINE
    }

    fn n_features(&self) -> usize {
        self.file.n_features
    }

    fn feature_names(&self) -> Option<&[String]> {
        Some(&self.names)
    }

    fn n_classes(&self) -> usize {
        self.file.n_classes
    }

    fn predict_proba(&self, x: &[f64], out: &mut [f64]) -> Result<()> {
        let q = self.pre.transform(x)?;
        let k = self.file.n_classes;
        let nb = self.neighbours(&q)?;
        for (o, nb) in out.chunks_exact_mut(k).zip(nb) {
            o.iter_mut().for_each(|v| *v = 0.0);
            for (i, d2) in nb {
                let w = match self.file.params.weighting {
                    Weighting::Uniform => 1.0,
                    Weighting::Distance => 1.0 / ((d2 as f64).sqrt() + 1e-6),
                };
                o[self.classes[i as usize] as usize] += w;
            }
            let s: f64 = o.iter().sum();
            o.iter_mut().for_each(|v| *v /= s);
        }
        Ok(())
    }

    fn save(&self, dir: &Path) -> Result<Vec<String>> {
        let pre = self.pre.save(dir)?;
        write_json(&dir.join(JSON), &self.file)?;
        let y = Tensor::from_slice(&self.classes, self.classes.len(), &DEVICE)?;
        let mut m = HashMap::new();
        m.insert("x".to_string(), self.refs.clone());
        m.insert("y".to_string(), y);
        candle_core::safetensors::save(&m, dir.join(DATA))?;
        Ok(vec![pre, JSON.into(), DATA.into()])
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({
            "model": "knn",
            "search": "exact (brute force, one matrix product per block of 256 queries)",
            "reference_rows": self.file.reference_rows,
            "class_rows": self.file.class_rows,
            "params": self.file.params,
            "preprocessing": preprocess::DESCRIPTION,
        })
    }
}
