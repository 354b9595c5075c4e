//! Fitting the linear models (the models themselves: `mlids_model::zoo::linear`): one dense layer
//! trained with mini-batch Adam by [`nn::fit`]. The SVM's margins become probabilities by Platt
//! scaling fitted on the validation rows (the training rows when there is no val split): one
//! sigmoid for two classes; for more, one per class (one-vs-rest), normalised to sum to 1.

use super::nn::{self, init_layers, Data, Loss, Schedule};
use crate::fit::{Fit, FitControl, ParamGuard, TrainSet};
use mlids_model::zoo::linear::{LinearFile, LinearKind, LinearModel, LinearParams};
use mlids_model::zoo::preprocess::Preprocess;
use mlids_model::{FitSummary, ModelError, Result};

/// Checked parameters and which model they fit.
#[derive(Clone, Debug)]
pub struct ValidLinearParams {
    pub kind: LinearKind,
    pub params: LinearParams,
}

impl ValidLinearParams {
    /// Check `params` for the given kind (the SVM and logistic regression share the parameter
    /// struct but not every rule).
    pub fn new(kind: LinearKind, params: LinearParams) -> Result<ValidLinearParams> {
        if !(params.l2 >= 0.0 && params.l2.is_finite()) {
            return Err(ModelError::Params(format!(
                "l2 must be a non-negative number, got {}",
                params.l2
            )));
        }
        let v = ValidLinearParams { kind, params };
        v.schedule().check()?;
        Ok(v)
    }
}

impl ParamGuard for LinearParams {
    type Checked = ValidLinearParams;
    /// Checks as logistic regression; use [`ValidLinearParams::new`] for the SVM.
    fn check(self) -> Result<ValidLinearParams> {
        ValidLinearParams::new(LinearKind::Logistic, self)
    }
}

impl ValidLinearParams {
    fn schedule(&self) -> Schedule {
        let p = &self.params;
        Schedule {
            epochs: p.epochs,
            batch_size: p.batch_size,
            learning_rate: p.learning_rate,
            weight_decay: match self.kind {
                LinearKind::Logistic => p.l2,
                LinearKind::Svm => 0.0,
            },
            patience: p.patience,
            seed: p.seed,
        }
    }
}

impl Fit for ValidLinearParams {
    type Model = LinearModel;

    fn fit(
        &self,
        train: &TrainSet,
        valid: Option<&TrainSet>,
        ctl: &mut FitControl,
    ) -> Result<(LinearModel, FitSummary)> {
        train.validate()?;
        let k = train.n_classes;
        let pre = Preprocess::fit(train.x, train.feature_names, None);
        let xt = pre.transform(train.x)?;
        let xv = valid.map(|v| pre.transform(v.x)).transpose()?;
        let nf = train.n_features();
        let n_out = match self.kind {
            LinearKind::Svm if k == 2 => 1,
            _ => k,
        };
        let mut rng = fastrand::Rng::with_seed(self.params.seed);
        let init = init_layers(&[nf, n_out], &mut rng)?;
        let loss = match self.kind {
            LinearKind::Logistic => Loss::Softmax,
            LinearKind::Svm => Loss::SquaredHinge { l2: self.params.l2 },
        };
        let td = Data {
            x: &xt,
            nf,
            y: train.y,
            w: train.weights,
        };
        let vd = valid.zip(xv.as_ref()).map(|(v, x)| Data {
            x,
            nf,
            y: v.y,
            w: None,
        });
        let (layers, summary) = nn::fit(
            init,
            &td,
            vd.as_ref(),
            loss,
            0.0,
            &self.schedule(),
            &mut rng,
            ctl,
        )?;
        // Platt scaling of the SVM margins, on val when there is one.
        let platt = match self.kind {
            LinearKind::Logistic => Vec::new(),
            LinearKind::Svm => {
                let (x, y) = match (&vd, valid) {
                    (Some(d), Some(v)) if v.n_rows() > 0 => (d.x, v.y),
                    _ => (td.x, train.y),
                };
                let m = layers.forward_rows(x)?;
                (0..n_out)
                    .map(|o| {
                        let s: Vec<f64> = m.chunks_exact(n_out).map(|r| r[o] as f64).collect();
                        let pos: Vec<bool> = y
                            .iter()
                            .map(|&c| if n_out == 1 { c == 1 } else { c as usize == o })
                            .collect();
                        nn::platt(&s, &pos)
                    })
                    .collect()
            }
        };
        let model = LinearModel::new(
            pre,
            layers,
            LinearFile {
                kind: self.kind,
                n_classes: k,
                n_features: nf,
                platt,
                params: self.params.clone(),
            },
        );
        Ok((model, summary))
    }
}
