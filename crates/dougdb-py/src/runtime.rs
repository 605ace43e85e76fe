//! The one tokio runtime of the process, and the blocking bridge every native call uses.
//!
//! The runtime is created on first use and keyed by process id: after `fork()` the child
//! inherits the parent's runtime *object* but none of its worker threads, so the child
//! makes its own (and leaks the inherited one, whose drop would join threads that do not
//! exist in the child).
//!
//! [`wait`] spawns the future on the runtime, then waits for its result with the GIL
//! released, in slices of [`SLICE`]; between slices it reacquires the GIL and runs
//! `check_signals`, so Ctrl-C (KeyboardInterrupt) stops even a hung call: the task is
//! aborted and the exception propagates.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;

use crate::errors;

/// How long the GIL stays released before signals are checked again.
const SLICE: Duration = Duration::from_millis(50);

/// The runtime and the process it was made in.
static RUNTIME: Mutex<Option<(u32, Arc<tokio::runtime::Runtime>)>> = Mutex::new(None);

/// This process's runtime, made on first use (and again in a forked child).
pub(crate) fn runtime() -> PyResult<Arc<tokio::runtime::Runtime>> {
    let pid = std::process::id();
    // A panic while holding the lock cannot leave the Option half-written.
    let mut slot = RUNTIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((owner, rt)) = slot.as_ref()
        && *owner == pid
    {
        return Ok(rt.clone());
    }
    if let Some((_, inherited)) = slot.take() {
        // Inherited across fork: its threads are gone; dropping it would wait for them.
        std::mem::forget(inherited);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("dougdb-rt")
        .enable_all()
        .build()
        .map_err(|err| {
            errors::dougdb_error(format!(
                "cannot start the tokio runtime: {err}; the process may be out of threads \
                 or memory"
            ))
        })?;
    let rt = Arc::new(rt);
    *slot = Some((pid, rt.clone()));
    Ok(rt)
}

/// Runs `fut` on the runtime and returns its output, with the GIL released while waiting
/// and Ctrl-C checked every [`SLICE`].
pub(crate) fn wait<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let rt = runtime()?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let task = rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    let mut rx = rx;
    loop {
        // The receiver moves into the GIL-free closure and back (it is `Send`, not `Sync`).
        let (back, answer) = py.detach(move || {
            let answer = rx.recv_timeout(SLICE);
            (rx, answer)
        });
        rx = back;
        match answer {
            Ok(value) => return Ok(value),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Err(interrupt) = py.check_signals() {
                    task.abort();
                    return Err(interrupt);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(errors::dougdb_error(
                    "internal error: the native task ended without an answer (it panicked); \
                     please report this with the call that caused it"
                        .to_string(),
                ));
            }
        }
    }
}
