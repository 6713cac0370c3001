//! Keeps the `postgres` crate's own runtime off async runtimes' threads.
//!
//! The synchronous `postgres::Client` drives each call (and its own close,
//! when dropped) with a private Tokio runtime, and Tokio refuses, with a
//! panic, to start one on a thread that is already running a runtime: an
//! async handler, or the body of `Runtime::block_on` where `corridor serve`
//! starts its server. Every use of a connection in this backend therefore
//! goes through [`off_runtime`], which runs it where it is when no runtime
//! is current and on a short-lived thread of its own when one is, so the
//! store is safe to call from anywhere.

use crate::StoreError;

/// Runs `work` on a thread without an async runtime: this one if none is
/// current here, otherwise a new scoped thread this one waits for. A panic
/// in `work` is carried back to the caller.
///
/// # Errors
/// The helper thread could not be started (no `work` was run), or `work`'s own error.
pub(crate) fn off_runtime<T: Send>(
    work: impl FnOnce() -> Result<T, StoreError> + Send,
) -> Result<T, StoreError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return work();
    }
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("corridor-postgres".into())
            .spawn_scoped(scope, work)
            .map_err(|error| StoreError::Backend {
                source: Box::new(ThreadError(error)),
            })?;
        match helper.join() {
            Ok(answer) => answer,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Drops `value` (connections) where no async runtime is current: at once
/// here if none is, else on a detached thread, so a dropped connection
/// closes without starting a runtime inside another.
pub(crate) fn drop_off_runtime<T: Send + 'static>(value: T) {
    if tokio::runtime::Handle::try_current().is_err() {
        drop(value);
        return;
    }
    // Not dropped here even if the thread cannot start: a connection left
    // unclosed is ended by the server when its socket closes with the process.
    let value = std::mem::ManuallyDrop::new(value);
    let spawned = std::thread::Builder::new()
        .name("corridor-postgres-close".into())
        .spawn(move || drop(std::mem::ManuallyDrop::into_inner(value)));
    if let Err(error) = spawned {
        tracing::warn!(%error, "cannot start a thread to close PostgreSQL connections");
    }
}

/// A helper thread that could not be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot start a thread for a PostgreSQL call: {0}")]
struct ThreadError(std::io::Error);
