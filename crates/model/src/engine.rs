//! Engine ids written in manifests, known to every build so that a bundle whose engine this build
//! cannot run (a zoo engine without the `zoo` feature) is told apart from an unknown engine.

/// Gradient-boosted trees (LightGBM text model, flat predictor).
pub const GBDT: &str = "lightgbm-gbdt";
/// LightGBM random forests (`boosting=rf`, averaged trees), same model file format.
pub const RF: &str = "lightgbm-rf";
pub const KNN: &str = "knn-exact";
pub const LOGISTIC: &str = "logistic-regression";
pub const SVM: &str = "linear-svm";
pub const MLP: &str = "mlp";
pub const AUTOENCODER: &str = "autoencoder";

/// The tree engines, loadable by every build.
pub const TREES: &[&str] = &[GBDT, RF];
/// The zoo's engines, loadable only with the `zoo` feature (candle).
pub const ZOO: &[&str] = &[KNN, LOGISTIC, SVM, MLP, AUTOENCODER];

/// Engine ids this build loads, in `ModelKind` order.
pub fn available() -> Vec<&'static str> {
    let mut v = TREES.to_vec();
    if cfg!(feature = "zoo") {
        v.extend_from_slice(ZOO);
    }
    v
}
