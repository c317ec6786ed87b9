//! Every tracing event of a scenario, at TRACE, in one buffer: from the
//! test's thread and from every thread of a runtime of its own (workers
//! and blocking threads alike), so that an in-process emulator's events are
//! caught with the client's.

use std::sync::{Arc, Mutex};

/// The events written so far.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// What was written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (self.0.lock().unwrap_or_else(|e| e.into_inner())).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A multi-thread runtime whose threads write every event, at TRACE, with
/// span opens and closes, to the returned buffer; the guard does the same
/// for the calling thread (where `block_on` runs its future) until dropped.
///
/// Call [`tracing::callsite::rebuild_interest_cache`] after a first
/// request: other tests' threads may have registered the same callsites
/// before this subscriber existed.
///
/// # Panics
/// When the runtime cannot be built.
pub fn capturing_runtime() -> (
    tokio::runtime::Runtime,
    Captured,
    tracing::dispatcher::DefaultGuard,
) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .finish();
    let dispatch = tracing::Dispatch::new(subscriber);
    let for_threads = dispatch.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || {
            // For the thread's life.
            std::mem::forget(tracing::dispatcher::set_default(&for_threads));
        })
        .build()
        .expect("a runtime");
    let guard = tracing::dispatcher::set_default(&dispatch);
    (runtime, captured, guard)
}
