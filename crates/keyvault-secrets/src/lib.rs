//! Azure Key Vault Secrets client.
//!
//! This crate is being built: the `SecretClient` arrives with the secrets
//! client work. Today it only re-exports the shared error type.

pub use keyvault_core::{Error, ErrorKind, Result};

mod generated;
#[cfg(test)]
mod generated_tests;
