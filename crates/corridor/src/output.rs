//! Output helpers for people: progress bars on a terminal, nothing elsewhere.

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar over `total` bytes, drawn on stderr only when it is a terminal.
pub fn byte_progress(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {wide_bar} {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
