//! The emulator, started in-process on ephemeral ports.

use keyvault_emulator::{EmulatorBuilder, EmulatorHandle};

/// Starts an emulator from `builder` (`Emulator::builder()` for the library
/// defaults).
///
/// # Panics
/// When it does not start.
pub async fn start_with(builder: EmulatorBuilder) -> EmulatorHandle {
    builder.start().await.expect("emulator starts")
}

/// A runtime of one worker thread, to serve an emulator (started with
/// `runtime.block_on(..)`) while the test's own thread waits in blocking
/// calls.
///
/// # Panics
/// When the runtime cannot be built.
pub fn background_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime for the emulator")
}
