//! Fitting the multilayer perceptron (the model itself: `mlids_model::zoo::mlp`): class-weighted
//! cross-entropy, dropout, AdamW and early stopping on the val loss.

use super::nn::{self, init_layers, Data, Loss, Schedule};
use crate::fit::{Fit, FitControl, ParamGuard, TrainSet};
use mlids_model::zoo::mlp::{MlpFile, MlpModel, MlpParams};
use mlids_model::zoo::preprocess::Preprocess;
use mlids_model::{FitSummary, ModelError, Result};

#[derive(Clone, Debug)]
pub struct ValidMlpParams(MlpParams);

impl ValidMlpParams {
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

impl ParamGuard for MlpParams {
    type Checked = ValidMlpParams;
    fn check(self) -> Result<ValidMlpParams> {
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(ModelError::Params(format!(
                "hidden must list at least one non-zero layer width, got {:?}",
                self.hidden
            )));
        }
        if !(0.0..0.95).contains(&self.dropout) {
            return Err(ModelError::Params(format!(
                "dropout must be in [0, 0.95), got {}",
                self.dropout
            )));
        }
        let v = ValidMlpParams(self);
        v.schedule().check()?;
        Ok(v)
    }
}

impl Fit for ValidMlpParams {
    type Model = MlpModel;

    fn fit(
        &self,
        train: &TrainSet,
        valid: Option<&TrainSet>,
        ctl: &mut FitControl,
    ) -> Result<(MlpModel, FitSummary)> {
        train.validate()?;
        let pre = Preprocess::fit(train.x, train.feature_names, None);
        let xt = pre.transform(train.x)?;
        let xv = valid.map(|v| pre.transform(v.x)).transpose()?;
        let nf = train.n_features();
        let mut sizes = vec![nf];
        sizes.extend(&self.0.hidden);
        sizes.push(train.n_classes);
        let mut rng = fastrand::Rng::with_seed(self.0.seed);
        let init = init_layers(&sizes, &mut rng)?;
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
            Loss::Softmax,
            self.0.dropout,
            &self.schedule(),
            &mut rng,
            ctl,
        )?;
        Ok((
            MlpModel::new(
                pre,
                layers,
                MlpFile {
                    sizes,
                    params: self.0.clone(),
                },
            ),
            summary,
        ))
    }
}
