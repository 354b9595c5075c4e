//! A small model for tests and demos of `watch` that reliably flags a packet generator's SYN flood
//! (hping3 `-S`) and passes ordinary TCP conversations, trained in a second or two on synthetic
//! rows. Not a detector for real networks: it knows three kinds of cic2018-mode flows only.
//!
//! What separates them, as measured on real traffic between two network namespaces (`ml-ids
//! extract` of a capture with curl against `python3 -m http.server` and `hping3 -S -p 8000`):
//!
//! | flow | `totlen_fwd_pkts` | `fwd_seg_size_min` | `init_fwd_win_byts` |
//! |---|---|---|---|
//! | hping3 SYN (+SYN-ACK, RST) | 0 | 20 (no TCP options) | 512 |
//! | HTTP request/response | > 0 | 32 (Linux: timestamps) | 64240 |
//! | the 2018 tool's post-FIN tail flow (ACK/FIN) | 0 | 32 | 63–64 |
//!
//! So: payload-free flows whose forward segments carry no TCP options are the attack; window sizes,
//! durations and packet counts vary in every class so the model does not rely on them.

use mlids_flow::features::CIC2018_FEATURES;
use mlids_flow::Mode;
use mlids_model::data::fixtures::{train_small_gbdt, SplitRows};
use mlids_model::model::Task;
use std::path::{Path, PathBuf};

/// The attack label the fixture model predicts.
pub const SYN_FLOOD_LABEL: &str = "DoS SYN flood";

/// Train the fixture model into `dir/model` (splits go to `dir/data`) and return the bundle path.
/// Panics on I/O or training errors: for tests and demos only.
pub fn syn_flood_model(dir: &Path) -> PathBuf {
    let features: Vec<String> = CIC2018_FEATURES
        .iter()
        .map(|f| f.snake_name(false).to_string())
        .collect();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let n = 3000;
    let (mut x, mut label, mut category) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        // 0: SYN flood, 1: conversation, 2: tail flow.
        let kind = i % 3;
        let wins = [63.0, 64.0, 501.0, 512.0, 1024.0, 29200.0, 64240.0, 65535.0];
        let win = wins[next(wins.len() as u64) as usize];
        for f in &features {
            let v = match (f.as_str(), kind) {
                ("totlen_fwd_pkts", 1) => (1 + next(5000)) as f64,
                ("totlen_fwd_pkts", _) => 0.0,
                ("totlen_bwd_pkts", 1) => next(20_000) as f64,
                ("fwd_seg_size_min", 0) => 20.0,
                ("fwd_seg_size_min", 1) => [20.0, 32.0][next(2) as usize],
                ("fwd_seg_size_min", _) => 32.0,
                ("tot_fwd_pkts", 0) => (1 + next(12)) as f64,
                ("tot_fwd_pkts", 1) => (3 + next(20)) as f64,
                ("tot_fwd_pkts", _) => (1 + next(3)) as f64,
                ("tot_bwd_pkts", 1) => (2 + next(20)) as f64,
                ("tot_bwd_pkts", _) => next(4) as f64,
                // Short and long (up to the 120 s active timeout) in every class: a slow flood's
                // flows last long, a quick HTTP exchange does not, and neither may decide.
                ("flow_duration", 2) => next(5000) as f64,
                ("flow_duration", _) => [next(5000), next(120_000_000)][next(2) as usize] as f64,
                ("init_fwd_win_byts", _) => win,
                _ => 0.0,
            };
            x.push(v);
        }
        let attack = kind == 0;
        label.push(if attack { SYN_FLOOD_LABEL } else { "Benign" }.to_string());
        category.push(if attack { "DoS" } else { "Benign" }.to_string());
    }
    let rows = SplitRows {
        features: &features,
        x: &x,
        label: &label,
        category: &category,
    };
    train_small_gbdt(dir, Mode::Cic2018, Task::Multiclass, &rows)
}
