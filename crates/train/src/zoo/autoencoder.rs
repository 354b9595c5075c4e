//! Fitting the denoising autoencoder (the model itself: `mlids_model::zoo::autoencoder`): scaling
//! is fitted on the benign training rows, the network learns to reconstruct clean scaled rows from
//! copies with Gaussian noise added, and early stopping watches the reconstruction loss of the
//! benign val rows. The error scale is the median reconstruction error of the benign training rows.

use super::nn::{self, init_layers, Data, Loss, Schedule};
use crate::fit::{Fit, FitControl, ParamGuard, TrainSet};
use mlids_model::zoo::autoencoder::{row_errors, AeFile, AeModel, AeParams};
use mlids_model::zoo::preprocess::Preprocess;
use mlids_model::{FitSummary, ModelError, Result};

#[derive(Clone, Debug)]
pub struct ValidAeParams(AeParams);

impl ValidAeParams {
    pub fn params(&self) -> &AeParams {
        &self.0
    }

    fn schedule(&self) -> Schedule {
        let p = &self.0;
        Schedule {
            epochs: p.epochs,
            batch_size: p.batch_size,
            learning_rate: p.learning_rate,
            weight_decay: p.weight_decay,
            patience: p.patience,
            seed: p.seed,
        }
    }
}

impl ParamGuard for AeParams {
    type Checked = ValidAeParams;
    fn check(self) -> Result<ValidAeParams> {
        let bad = |m: String| Err(ModelError::Params(m));
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return bad(format!(
                "hidden must list at least one non-zero layer width, got {:?}",
                self.hidden
            ));
        }
        if !(self.noise >= 0.0 && self.noise.is_finite()) {
            return bad(format!("noise must be ≥ 0, got {}", self.noise));
        }
        if !(self.target_recall > 0.0 && self.target_recall <= 1.0) {
            return bad(format!(
                "target_recall must be in (0, 1], got {}",
                self.target_recall
            ));
        }
        let v = ValidAeParams(self);
        v.schedule().check()?;
        Ok(v)
    }
}

impl Fit for ValidAeParams {
    type Model = AeModel;

    fn fit(
        &self,
        train: &TrainSet,
        valid: Option<&TrainSet>,
        ctl: &mut FitControl,
    ) -> Result<(AeModel, FitSummary)> {
        train.validate()?;
        if train.n_classes != 2 {
            return Err(ModelError::Params(
                "the autoencoder is a benign-vs-attack anomaly detector: train it with the binary task".into(),
            ));
        }
        let benign: Vec<usize> = (0..train.n_rows()).filter(|&r| train.y[r] == 0).collect();
        if benign.len() < 2 {
            return Err(ModelError::Data(
                "the autoencoder needs benign training rows".into(),
            ));
        }
        let pre = Preprocess::fit(train.x, train.feature_names, Some(&benign));
        let xt = pre.transform_rows(train.x, &benign);
        let xv = valid.map(|v| {
            let rows: Vec<usize> = (0..v.n_rows()).filter(|&r| v.y[r] == 0).collect();
            pre.transform_rows(v.x, &rows)
        });
        let nf = train.n_features();
        let mut sizes = vec![nf];
        sizes.extend(&self.0.hidden);
        sizes.push(nf);
        let mut rng = fastrand::Rng::with_seed(self.0.seed);
        let init = init_layers(&sizes, &mut rng)?;
        let td = Data {
            x: &xt,
            nf,
            y: &[],
            w: None,
        };
        let vd = xv.as_ref().map(|x| Data {
            x,
            nf,
            y: &[],
            w: None,
        });
        let (layers, summary) = nn::fit(
            init,
            &td,
            vd.as_ref(),
            Loss::Reconstruction {
                noise: self.0.noise,
            },
            0.0,
            &self.schedule(),
            &mut rng,
            ctl,
        )?;
        let mut errors = row_errors(&layers, &xt)?;
        errors.sort_unstable_by(f64::total_cmp);
        let error_scale = errors[errors.len() / 2].max(1e-12);
        Ok((
            AeModel::new(
                pre,
                layers,
                AeFile {
                    sizes,
                    error_scale,
                    benign_train_rows: benign.len(),
                    params: self.0.clone(),
                },
            ),
            summary,
        ))
    }
}
