//! Progress bars on stderr, only when stderr is a terminal (machine-readable output stays clean).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

/// A byte-based bar for reading one input of known (or unknown) size.
pub fn bytes_bar(total: Option<u64>, enabled: bool) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(total, ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
    let style = match total {
        Some(_) => "{spinner} {prefix} [{bar:30}] {bytes}/{total_bytes} {msg} ({eta})",
        None => "{spinner} {prefix} {bytes} {msg}",
    };
    bar.set_style(
        ProgressStyle::with_template(style)
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

/// One bar per capture of a multi-capture run: bytes read of the file, packets and packet rate.
pub struct CaptureBars {
    enabled: bool,
    bar: Option<ProgressBar>,
    started: Instant,
}

impl CaptureBars {
    pub fn new(enabled: bool) -> Self {
        CaptureBars {
            enabled,
            bar: None,
            started: Instant::now(),
        }
    }
}

impl mlids_flow::CaptureProgress for CaptureBars {
    fn start(&mut self, path: &Path, total_bytes: Option<u64>) {
        let bar = bytes_bar(total_bytes, self.enabled);
        bar.set_prefix(path.display().to_string());
        self.bar = Some(bar);
        self.started = Instant::now();
    }

    fn progress(&mut self, bytes: u64, packets: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
            let rate = packets as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!("{packets} packets, {rate:.0} pkt/s"));
        }
    }

    fn done(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
