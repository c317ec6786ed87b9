//! Azure Managed HSM administration clients.
//!
//! This crate is being built: the access control, backup and settings
//! clients arrive with the administration client work. Today it only
//! re-exports the shared error type.

pub use keyvault_core::{Error, ErrorKind, Result};

mod generated;
#[cfg(test)]
mod generated_tests;
