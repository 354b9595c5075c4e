//! Small fully connected networks on candle's CPU backend, shared by logistic regression, the linear
//! SVM, the MLP and the autoencoder: the forward pass and safetensors files. Initialisation and the
//! training loop (mini-batch Adam(W), early stopping) are in `mlids-train`'s `zoo::nn`.

use crate::error::{ModelError, Result};
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

pub const DEVICE: Device = Device::Cpu;
/// Rows per forward pass at inference.
pub const INFER_CHUNK: usize = 8192;

/// Dense layers `sizes[0] → sizes[1] → … → sizes[n]`, ReLU between layers, none after the last.
#[derive(Clone, Debug)]
pub struct Layers {
    /// `(out, in)` weight matrices.
    pub ws: Vec<Tensor>,
    /// `(out)` biases.
    pub bs: Vec<Tensor>,
}

impl Layers {
    /// `[in, hidden…, out]`.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s: Vec<usize> = self.ws.iter().map(|w| w.dims()[1]).collect();
        if let Some(w) = self.ws.last() {
            s.push(w.dims()[0]);
        }
        s
    }

    pub fn n_inputs(&self) -> usize {
        self.ws.first().map_or(0, |w| w.dims()[1])
    }

    pub fn n_outputs(&self) -> usize {
        self.ws.last().map_or(0, |w| w.dims()[0])
    }

    /// Forward pass of a `(rows, in)` batch.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(x, Ok)
    }

    /// Forward pass with `hidden` applied to each hidden layer's activations after the ReLU: the
    /// hook through which training applies dropout, so that inference and training share one pass.
    pub fn forward_with(
        &self,
        x: &Tensor,
        mut hidden: impl FnMut(Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        let mut h = x.clone();
        let n = self.ws.len();
        for (i, (w, b)) in self.ws.iter().zip(&self.bs).enumerate() {
            h = h.matmul(&w.t()?)?.broadcast_add(b)?;
            if i + 1 < n {
                h = hidden(h.relu()?)?;
            }
        }
        Ok(h)
    }

    /// Outputs of row-major inputs (`n_inputs()` per row), row-major, in chunks.
    pub fn forward_rows(&self, x: &[f32]) -> Result<Vec<f32>> {
        let nf = self.n_inputs();
        if nf == 0 || x.len() % nf != 0 {
            return Err(ModelError::Width {
                expected: nf,
                got: x.len() % nf.max(1),
            });
        }
        let mut out = Vec::with_capacity(x.len() / nf * self.n_outputs());
        for chunk in x.chunks(INFER_CHUNK * nf) {
            let t = Tensor::from_slice(chunk, (chunk.len() / nf, nf), &DEVICE)?;
            out.extend(self.forward(&t)?.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(out)
    }

    fn tensors(&self) -> HashMap<String, Tensor> {
        let mut m = HashMap::new();
        for (i, (w, b)) in self.ws.iter().zip(&self.bs).enumerate() {
            m.insert(format!("layer{i}.weight"), w.clone());
            m.insert(format!("layer{i}.bias"), b.clone());
        }
        m
    }

    /// Write the weights as safetensors.
    pub fn save(&self, path: &Path) -> Result<()> {
        candle_core::safetensors::save(&self.tensors(), path)?;
        Ok(())
    }

    /// Read weights written by [`Layers::save`] and check them against the expected `sizes`.
    pub fn load(path: &Path, sizes: &[usize]) -> Result<Layers> {
        let bad = |m: String| ModelError::Manifest {
            path: path.to_path_buf(),
            message: m,
        };
        let mut m =
            candle_core::safetensors::load(path, &DEVICE).map_err(|e| bad(e.to_string()))?;
        let mut ws = Vec::new();
        let mut bs = Vec::new();
        for (i, pair) in sizes.windows(2).enumerate() {
            let w = m
                .remove(&format!("layer{i}.weight"))
                .ok_or_else(|| bad(format!("no layer{i}.weight")))?;
            let b = m
                .remove(&format!("layer{i}.bias"))
                .ok_or_else(|| bad(format!("no layer{i}.bias")))?;
            if w.dims() != [pair[1], pair[0]] || b.dims() != [pair[1]] || w.dtype() != DType::F32 {
                return Err(bad(format!(
                    "layer {i} has shape {:?}/{:?}, expected ({}, {})",
                    w.dims(),
                    b.dims(),
                    pair[1],
                    pair[0]
                )));
            }
            ws.push(w);
            bs.push(b);
        }
        if !m.is_empty() || ws.is_empty() {
            return Err(bad(format!(
                "weights do not match the layer sizes {sizes:?}"
            )));
        }
        Ok(Layers { ws, bs })
    }
}

/// Numerically safe logistic function.
#[inline]
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Softmax of each row of `k` logits into `out` (f64).
pub fn softmax_rows(logits: &[f32], k: usize, out: &mut [f64]) {
    for (l, o) in logits.chunks_exact(k).zip(out.chunks_exact_mut(k)) {
        let m = l.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
        let mut s = 0.0;
        for (o, &v) in o.iter_mut().zip(l) {
            *o = (v as f64 - m).exp();
            s += *o;
        }
        o.iter_mut().for_each(|v| *v /= s);
    }
}
