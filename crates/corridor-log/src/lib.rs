//! The transparency log on disk: tiles, integration, checkpoints, verification and witness state.
