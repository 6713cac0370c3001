//! How the binary shows things: progress bars on a terminal (nothing
//! elsewhere), and hashes as standard base64, as checkpoints print them.

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

/// A hash in standard base64 with padding, the encoding checkpoints and
/// proofs use, so printed roots can be compared with a checkpoint by eye.
pub fn base64(hash: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(hash)
}

/// A progress bar over `total` records, drawn on stderr only when it is a terminal.
pub fn record_progress(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} records {wide_bar} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// A progress bar over objects (tiles, bundles), drawn on stderr only when it is a terminal.
pub fn object_progress() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} objects {wide_bar} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
