//! A local emulator of Azure Key Vault (secrets) and Managed HSM
//! (role-based access control, settings, keys, full backup and restore).
//!
//! It speaks the secrets REST API over HTTPS closely enough that official
//! SDKs work against it unchanged: they trust its CA, reach it under Azure
//! host names through its HTTPS proxy (so their default challenge checks
//! pass), and can take their tokens from its managed-identity endpoint. It
//! has its own wire types and never depends on the client crates of this
//! workspace.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> Result<(), keyvault_emulator::Error> {
//! let emulator = keyvault_emulator::Emulator::builder().start().await?;
//! println!("vault at {}", emulator.vault_url());
//! // Trust `emulator.ca_cert_pem()` in your HTTP client, then call the vault.
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod admin;
mod api_version;
mod auth;
mod clock;
mod emulator;
mod error;
mod faults;
mod files;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod hsm;
mod identity;
mod objects;
mod proxy;
mod seal;
mod seed;
mod server;
mod service;
mod store;
mod tls;
mod vault;

pub use api_version::supported_versions;
pub use auth::AuthMode;
pub use clock::Clock;
pub use emulator::{
    DEFAULT_NAME, Emulator, EmulatorBuilder, EmulatorHandle, HSM_RESOURCE, VAULT_RESOURCE,
};
pub use error::{Error, ErrorKind};
pub use faults::{FaultCounts, FaultKind, FaultPlan};
pub use hsm::RbacMode;
pub use identity::{DEFAULT_TENANT_ID, SYSTEM_CLIENT_ID, SYSTEM_OBJECT_ID, parse_identity};
pub use tls::TlsSource;

/// The README's examples, compiled as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// This crate's version, as reported in the binary's first line.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
