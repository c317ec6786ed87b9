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
