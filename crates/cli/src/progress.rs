//! Progress bars on stderr, only when stderr is a terminal (machine-readable output stays clean).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

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
