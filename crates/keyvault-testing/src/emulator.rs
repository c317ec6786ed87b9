//! The emulator, started in-process on ephemeral ports.

use keyvault_emulator::{Emulator, EmulatorBuilder, EmulatorHandle};

pub use crate::tls::client_trusting;

/// Starts an emulator with the library defaults.
///
/// # Panics
/// When it does not start.
pub async fn start() -> EmulatorHandle {
    start_with(Emulator::builder()).await
}

/// Starts an emulator from `builder`.
///
/// # Panics
/// When it does not start.
pub async fn start_with(builder: EmulatorBuilder) -> EmulatorHandle {
    builder.start().await.expect("emulator starts")
}

/// A plain HTTP client that trusts `emulator`'s CA.
pub fn client_of(emulator: &EmulatorHandle) -> reqwest::Client {
    client_trusting(emulator.ca_cert_pem())
}
