//! A small model trained in the test (cic2018 mode: attack = many forward packets) and a server on an
//! ephemeral loopback port.
#![allow(dead_code)]

use mlids_flow::features::CIC2018_FEATURES;
use mlids_flow::Mode;
use mlids_model::data::fixtures::{write_split, SplitRows};
use mlids_model::model::{FitControl, Task};
use mlids_model::train::{self, Splits, TrainConfig};
use mlids_model::{Bundle, Detector, GbdtParams};
use mlids_server::{AppState, ServerConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Train (once per test binary) a binary cic2018 model whose only signal is `tot_fwd_pkts`:
/// benign flows have 1–10 forward packets, attacks 20–60.
pub fn model_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("mlids-server-test-model-{}", std::process::id()));
        let data = dir.join("data");
        let features: Vec<String> = CIC2018_FEATURES
            .iter()
            .map(|f| f.snake_name(false).to_string())
            .collect();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let n = 3000;
        let (mut x, mut label, mut category) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let attack = i % 3 == 0;
            for f in &features {
                x.push(match f.as_str() {
                    "tot_fwd_pkts" => {
                        (if attack {
                            20 + next() % 41
                        } else {
                            1 + next() % 10
                        }) as f64
                    }
                    "flow_duration" => (next() % 1_000_000) as f64,
                    "fwd_seg_size_min" => [20.0, 32.0][(next() % 2) as usize],
                    _ => 0.0,
                });
            }
            label.push(if attack { "DoS attacks-Hulk" } else { "Benign" }.to_string());
            category.push(if attack { "DoS" } else { "Benign" }.to_string());
        }
        let nf = features.len();
        let cuts = [0, n * 70 / 100, n * 85 / 100, n];
        std::fs::create_dir_all(&data).unwrap();
        for (i, name) in ["train", "val", "test"].iter().enumerate() {
            let (a, b) = (cuts[i], cuts[i + 1]);
            let rows = SplitRows {
                features: &features,
                x: &x[a * nf..b * nf],
                label: &label[a..b],
                category: &category[a..b],
            };
            write_split(&data.join(format!("{name}.parquet")), Mode::Cic2018, &rows);
        }
        let cfg = TrainConfig {
            task: Task::Binary,
            params: GbdtParams {
                num_iterations: 30,
                num_leaves: 7,
                min_data_in_leaf: 5,
                num_threads: 1,
                train_metric: false,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut ctl = FitControl {
            stop: None,
            on_iteration: None,
        };
        let trained =
            train::train(&Splits::in_dir(&data).unwrap(), &cfg, &mut ctl, &mut |_| {}).unwrap();
        let bundle = dir.join("model");
        Bundle::save(&bundle, trained.manifest, &trained.model).unwrap();
        bundle
    })
    .clone()
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub base: String,
    _runtime_guard: tokio::task::JoinHandle<()>,
}

/// Start a server with `config` (its bind address is replaced by 127.0.0.1:0).
pub async fn start(mut config: ServerConfig) -> TestServer {
    config.bind = "127.0.0.1:0".parse().unwrap();
    let dir = model_dir();
    let state = AppState::new(config, || Detector::load(&dir)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = mlids_server::app(state);
    let handle = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    TestServer {
        addr,
        base: format!("http://{addr}"),
        _runtime_guard: handle,
    }
}

pub fn shared_data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: {} not found", dir.display());
        None
    }
}
