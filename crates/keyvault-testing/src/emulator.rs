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

/// Runs `scenario` with the environment `start` makes (an emulator and
/// what the test needs of it), served by a runtime of its own (see
/// [`background_runtime`]) so that the test's thread may make blocking
/// calls; then `stop`s it. Drop the clients `scenario` makes inside it: a
/// blocking client's idle connections would hold the emulator's shutdown.
pub fn served<E, S, T>(
    start: impl FnOnce() -> S,
    scenario: impl FnOnce(&tokio::runtime::Runtime, &E),
    stop: impl FnOnce(E) -> T,
) where
    S: Future<Output = E>,
    T: Future<Output = ()>,
{
    let runtime = background_runtime();
    let env = runtime.block_on(start());
    scenario(&runtime, &env);
    runtime.block_on(stop(env));
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
