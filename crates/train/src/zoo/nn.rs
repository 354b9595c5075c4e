//! Training the zoo's small networks (logistic regression, the linear SVM, the MLP and the
//! autoencoder): seeded initialisation, mini-batch Adam(W) with early stopping on a validation loss,
//! progress and Ctrl-C through [`FitControl`], Platt scaling. The networks themselves (forward pass,
//! safetensors files) are the detection crate's [`Layers`].
//!
//! Everything random (initial weights, batch order, dropout masks, denoising noise) comes from one
//! seeded `fastrand` generator, so a fit is reproducible for a given seed and thread count; candle's
//! own CPU random number generator cannot be seeded.

use crate::fit::{FitControl, IterationReport};
use candle_core::{DType, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
pub use mlids_model::zoo::nn::{sigmoid, softmax_rows, Layers, DEVICE, INFER_CHUNK};
use mlids_model::{FitSummary, ModelError, Result, StopReason};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Standard normal draw (Box–Muller).
pub fn normal(rng: &mut fastrand::Rng) -> f32 {
    let u1 = rng.f64().max(1e-300);
    let u2 = rng.f64();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// He-normal weights (ReLU layers; Glorot-scale for the output), zero biases.
pub fn init_layers(sizes: &[usize], rng: &mut fastrand::Rng) -> Result<Layers> {
    if sizes.len() < 2 || sizes.contains(&0) {
        return Err(ModelError::Params(format!("bad layer sizes {sizes:?}")));
    }
    let mut ws = Vec::new();
    let mut bs = Vec::new();
    for (i, pair) in sizes.windows(2).enumerate() {
        let (inp, out) = (pair[0], pair[1]);
        let last = i == sizes.len() - 2;
        let sd = if last {
            (2.0 / (inp + out) as f32).sqrt()
        } else {
            (2.0 / inp as f32).sqrt()
        };
        let w: Vec<f32> = (0..inp * out).map(|_| normal(rng) * sd).collect();
        ws.push(Tensor::from_vec(w, (out, inp), &DEVICE)?);
        bs.push(Tensor::zeros(out, DType::F32, &DEVICE)?);
    }
    Ok(Layers { ws, bs })
}

/// Squared Frobenius norm of all weight matrices (not biases), as a graph node.
fn weight_sq_norm(net: &Layers) -> Result<Tensor> {
    let mut s = Tensor::zeros((), DType::F32, &DEVICE)?;
    for w in &net.ws {
        s = (s + w.sqr()?.sum_all()?)?;
    }
    Ok(s)
}

/// Forward pass with dropout of probability `p` on the hidden activations (training only).
fn forward_dropout(net: &Layers, x: &Tensor, p: f32, rng: &mut fastrand::Rng) -> Result<Tensor> {
    net.forward_with(x, |h| {
        if p <= 0.0 {
            return Ok(h);
        }
        let keep = 1.0 / (1.0 - p);
        let (r, c) = h.dims2()?;
        let mask: Vec<f32> = (0..r * c)
            .map(|_| if rng.f32() < p { 0.0 } else { keep })
            .collect();
        Ok(h.mul(&Tensor::from_vec(mask, (r, c), &DEVICE)?)?)
    })
}

/// What the network is trained to do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// Class-weighted softmax cross-entropy (logistic regression, MLP).
    Softmax,
    /// Class-weighted squared hinge (L2-loss linear SVM, as liblinear's default); one output for two
    /// classes (+1 = class 1), otherwise one-vs-rest over every class; plus `l2/2 · ‖W‖²`.
    SquaredHinge { l2: f64 },
    /// Mean squared reconstruction error of the clean input from the input plus Gaussian noise
    /// (a denoising autoencoder).
    Reconstruction { noise: f32 },
}

/// Optimisation settings shared by every network.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Schedule {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Decoupled weight decay (AdamW); 0 is plain Adam.
    pub weight_decay: f64,
    /// Stop when the validation loss has not improved for this many epochs (0: never).
    pub patience: usize,
    pub seed: u64,
}

impl Schedule {
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(ModelError::Params(m));
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch_size must be at least 1".into());
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad(format!(
                "learning_rate must be positive, got {}",
                self.learning_rate
            ));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay < 1.0) {
            return bad(format!(
                "weight_decay must be in [0, 1), got {}",
                self.weight_decay
            ));
        }
        Ok(())
    }
}

/// Training data already transformed by the model's preprocessing.
pub struct Data<'a> {
    /// Row-major inputs.
    pub x: &'a [f32],
    pub nf: usize,
    /// Class per row (empty for reconstruction).
    pub y: &'a [u32],
    /// Weight per row (class weights), if any.
    pub w: Option<&'a [f32]>,
}

impl Data<'_> {
    pub fn n_rows(&self) -> usize {
        self.x.len() / self.nf.max(1)
    }
}

struct Batch {
    x: Tensor,
    y: Option<Tensor>,
    /// ±1 targets for the hinge loss.
    t: Option<Tensor>,
    w: Option<(Tensor, f64)>,
}

fn batch(d: &Data, rows: &[usize], loss: Loss, n_out: usize) -> Result<Batch> {
    let nf = d.nf;
    let mut xb = Vec::with_capacity(rows.len() * nf);
    for &r in rows {
        xb.extend_from_slice(&d.x[r * nf..(r + 1) * nf]);
    }
    let x = Tensor::from_vec(xb, (rows.len(), nf), &DEVICE)?;
    let (y, t) = match loss {
        Loss::Reconstruction { .. } => (None, None),
        Loss::Softmax => {
            let y: Vec<u32> = rows.iter().map(|&r| d.y[r]).collect();
            (Some(Tensor::from_vec(y, rows.len(), &DEVICE)?), None)
        }
        Loss::SquaredHinge { .. } => {
            let mut t = Vec::with_capacity(rows.len() * n_out);
            for &r in rows {
                let c = d.y[r] as usize;
                if n_out == 1 {
                    t.push(if c == 1 { 1.0f32 } else { -1.0 });
                } else {
                    t.extend((0..n_out).map(|k| if k == c { 1.0f32 } else { -1.0 }));
                }
            }
            (
                None,
                Some(Tensor::from_vec(t, (rows.len(), n_out), &DEVICE)?),
            )
        }
    };
    let w = match (d.w, loss) {
        (Some(w), Loss::Softmax | Loss::SquaredHinge { .. }) => {
            let wb: Vec<f32> = rows.iter().map(|&r| w[r]).collect();
            let sum: f64 = wb.iter().map(|&v| v as f64).sum();
            Some((Tensor::from_vec(wb, rows.len(), &DEVICE)?, sum.max(1e-12)))
        }
        _ => None,
    };
    Ok(Batch { x, y, t, w })
}

/// Per-row losses of a batch's network outputs `out`.
fn row_losses(out: &Tensor, b: &Batch, clean: &Tensor, loss: Loss) -> Result<Tensor> {
    Ok(match loss {
        Loss::Softmax => {
            let logp = candle_nn::ops::log_softmax(out, D::Minus1)?;
            let y = b.y.as_ref().expect("softmax batches carry classes");
            logp.gather(&y.unsqueeze(1)?, 1)?.squeeze(1)?.neg()?
        }
        Loss::SquaredHinge { .. } => {
            let t = b.t.as_ref().expect("hinge batches carry targets");
            (1.0 - t.mul(out)?)?.relu()?.sqr()?.sum(1)?
        }
        Loss::Reconstruction { .. } => out.sub(clean)?.sqr()?.mean(1)?,
    })
}

fn reduce(per_row: &Tensor, b: &Batch) -> Result<Tensor> {
    Ok(match &b.w {
        Some((w, sum)) => per_row.mul(w)?.sum_all()?.affine(1.0 / sum, 0.0)?,
        None => per_row.mean_all()?,
    })
}

/// Mean loss over `d` (no dropout, no noise).
pub fn mean_loss(net: &Layers, d: &Data, loss: Loss) -> Result<f64> {
    let n = d.n_rows();
    if n == 0 {
        return Ok(f64::NAN);
    }
    let mut total = 0.0f64;
    let mut weight = 0.0f64;
    let rows: Vec<usize> = (0..n).collect();
    for chunk in rows.chunks(INFER_CHUNK) {
        let b = batch(d, chunk, loss, net.n_outputs())?;
        let out = net.forward(&b.x)?;
        let per_row = row_losses(&out, &b, &b.x, loss)?;
        match &b.w {
            Some((w, sum)) => {
                total += per_row.mul(w)?.sum_all()?.to_scalar::<f32>()? as f64;
                weight += sum;
            }
            None => {
                total += per_row.sum_all()?.to_scalar::<f32>()? as f64;
                weight += chunk.len() as f64;
            }
        }
    }
    let mut l = total / weight.max(1e-12);
    if let Loss::SquaredHinge { l2 } = loss {
        l += 0.5 * l2 * weight_sq_norm(net)?.to_scalar::<f32>()? as f64;
    }
    Ok(l)
}

/// Train `init` on `train`; `valid` (if any) drives early stopping, otherwise the training loss
/// does. Returns the weights of the best epoch.
#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename the arguments
pub fn fit(
    init: Layers,
    train: &Data,
    valid: Option<&Data>,
    loss: Loss,
    dropout: f32,
    s: &Schedule,
    rng: &mut fastrand::Rng,
    ctl: &mut FitControl,
) -> Result<(Layers, FitSummary)> {
    s.check()?;
    let started = Instant::now();
    let n = train.n_rows();
    if n == 0 {
        return Err(ModelError::Data("no training rows for the network".into()));
    }
    let vars: Vec<Var> = init
        .ws
        .iter()
        .chain(&init.bs)
        .map(Var::from_tensor)
        .collect::<candle_core::Result<_>>()?;
    let nl = init.ws.len();
    let view = |vars: &[Var]| Layers {
        ws: vars[..nl].iter().map(|v| v.as_tensor().clone()).collect(),
        bs: vars[nl..].iter().map(|v| v.as_tensor().clone()).collect(),
    };
    let snapshot = |vars: &[Var]| -> Result<Layers> {
        Ok(Layers {
            ws: vars[..nl]
                .iter()
                .map(|v| v.as_tensor().copy())
                .collect::<candle_core::Result<_>>()?,
            bs: vars[nl..]
                .iter()
                .map(|v| v.as_tensor().copy())
                .collect::<candle_core::Result<_>>()?,
        })
    };
    let mut opt = AdamW::new(
        vars.clone(),
        ParamsAdamW {
            lr: s.learning_rate,
            weight_decay: s.weight_decay,
            ..Default::default()
        },
    )?;
    let mut order: Vec<usize> = (0..n).collect();
    let mut best: Option<(usize, f64)> = None;
    let mut best_layers = snapshot(&vars)?;
    let mut since_best = 0usize;
    let mut epochs_run = 0usize;
    let mut reason = StopReason::Completed;
    let n_out = init.n_outputs();
    for epoch in 1..=s.epochs {
        rng.shuffle(&mut order);
        let mut train_sum = 0.0f64;
        let mut batches = 0usize;
        for rows in order.chunks(s.batch_size) {
            let b = batch(train, rows, loss, n_out)?;
            let net = view(&vars);
            let input = match loss {
                Loss::Reconstruction { noise } if noise > 0.0 => {
                    let (r, c) = b.x.dims2()?;
                    let z: Vec<f32> = (0..r * c).map(|_| normal(rng) * noise).collect();
                    b.x.add(&Tensor::from_vec(z, (r, c), &DEVICE)?)?
                }
                _ => b.x.clone(),
            };
            let out = forward_dropout(&net, &input, dropout, rng)?;
            let mut l = reduce(&row_losses(&out, &b, &b.x, loss)?, &b)?;
            if let Loss::SquaredHinge { l2 } = loss {
                l = (l + weight_sq_norm(&net)?.affine(0.5 * l2, 0.0)?)?;
            }
            let v = l.to_scalar::<f32>()? as f64;
            if !v.is_finite() {
                return Err(ModelError::Engine(format!(
                    "training diverged (loss {v} in epoch {epoch}); lower the learning rate"
                )));
            }
            train_sum += v;
            batches += 1;
            opt.backward_step(&l)?;
        }
        epochs_run = epoch;
        let net = view(&vars);
        let train_loss = train_sum / batches.max(1) as f64;
        let monitored = match valid {
            Some(v) if v.n_rows() > 0 => mean_loss(&net, v, loss)?,
            _ => train_loss,
        };
        if best.is_none_or(|(_, b)| monitored < b) {
            best = Some((epoch, monitored));
            best_layers = snapshot(&vars)?;
            since_best = 0;
        } else {
            since_best += 1;
        }
        ctl.report(&IterationReport {
            iteration: epoch,
            max_iterations: s.epochs,
            train: vec![("loss".into(), train_loss)],
            valid: valid
                .filter(|v| v.n_rows() > 0)
                .map(|_| vec![("loss".into(), monitored)])
                .unwrap_or_default(),
            best,
            elapsed: started.elapsed(),
        });
        if s.patience > 0 && since_best >= s.patience {
            reason = StopReason::EarlyStopping;
            break;
        }
        if ctl.should_stop() {
            reason = StopReason::Interrupted;
            break;
        }
    }
    let metric = if valid.is_some_and(|v| v.n_rows() > 0) {
        "val_loss"
    } else {
        "train_loss"
    };
    Ok((
        best_layers,
        FitSummary {
            iterations_run: epochs_run,
            best_iteration: best.map_or(epochs_run, |(e, _)| e),
            best_valid_metric: best.map(|(_, v)| (metric.to_string(), v)),
            stop_reason: reason,
            seconds: started.elapsed().as_secs_f64(),
        },
    ))
}

/// Platt scaling: `P(positive | score) = 1 / (1 + exp(-(a·score + b)))`, fitted by Newton's method
/// with Platt's smoothed targets (Lin, Lin & Weng 2007).
pub fn platt(scores: &[f64], positive: &[bool]) -> (f64, f64) {
    let np = positive.iter().filter(|&&p| p).count() as f64;
    let nn = positive.len() as f64 - np;
    if np == 0.0 || nn == 0.0 {
        return (1.0, 0.0);
    }
    let hi = (np + 1.0) / (np + 2.0);
    let lo = 1.0 / (nn + 2.0);
    let t: Vec<f64> = positive.iter().map(|&p| if p { hi } else { lo }).collect();
    let (mut a, mut b) = (1.0f64, -((nn + 1.0) / (np + 1.0)).ln());
    let objective = |a: f64, b: f64| -> f64 {
        scores
            .iter()
            .zip(&t)
            .map(|(&s, &t)| {
                let f = a * s + b;
                // log(1 + exp(f)) - t·f, stably.
                let l = if f > 0.0 {
                    f + (-f).exp().ln_1p()
                } else {
                    f.exp().ln_1p()
                };
                l - t * f
            })
            .sum()
    };
    let mut fval = objective(a, b);
    for _ in 0..100 {
        let (mut g1, mut g2, mut h11, mut h22, mut h21) = (0.0, 0.0, 1e-12, 1e-12, 0.0);
        for (&s, &ti) in scores.iter().zip(&t) {
            let p = 1.0 / (1.0 + (-(a * s + b)).exp());
            let d1 = p - ti;
            let d2 = (p * (1.0 - p)).max(1e-12);
            g1 += s * d1;
            g2 += d1;
            h11 += s * s * d2;
            h22 += d2;
            h21 += s * d2;
        }
        if g1.abs() < 1e-7 && g2.abs() < 1e-7 {
            break;
        }
        let det = h11 * h22 - h21 * h21;
        if det.abs() < 1e-300 {
            break;
        }
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let mut step = 1.0;
        let mut improved = false;
        while step > 1e-10 {
            let (na, nb) = (a + step * da, b + step * db);
            let nf = objective(na, nb);
            if nf < fval + 1e-4 * step * (g1 * da + g2 * db) {
                a = na;
                b = nb;
                fval = nf;
                improved = true;
                break;
            }
            step /= 2.0;
        }
        if !improved {
            break;
        }
    }
    (a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platt_recovers_a_logistic_link() {
        // Scores s with P(pos) = sigmoid(2s - 1): the fit should land near (2, -1).
        let mut rng = fastrand::Rng::with_seed(3);
        let mut s = Vec::new();
        let mut p = Vec::new();
        for _ in 0..20_000 {
            let x = rng.f64() * 6.0 - 3.0;
            s.push(x);
            p.push(rng.f64() < sigmoid(2.0 * x - 1.0));
        }
        let (a, b) = platt(&s, &p);
        assert!((a - 2.0).abs() < 0.15 && (b + 1.0).abs() < 0.15, "{a} {b}");
    }

    #[test]
    fn layers_save_load_and_shape_checks() {
        let mut rng = fastrand::Rng::with_seed(1);
        let l = init_layers(&[3, 4, 2], &mut rng).unwrap();
        assert_eq!(l.sizes(), vec![3, 4, 2]);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.safetensors");
        l.save(&p).unwrap();
        let back = Layers::load(&p, &[3, 4, 2]).unwrap();
        let x = [0.5f32, -1.0, 2.0, 0.0, 0.1, 0.2];
        assert_eq!(l.forward_rows(&x).unwrap(), back.forward_rows(&x).unwrap());
        assert!(Layers::load(&p, &[3, 5, 2]).is_err());
        assert!(Layers::load(&p, &[3, 4]).is_err());
    }
}
