//! Azure Key Vault Secrets client for Rust.
//!
//! [`SecretClient`] sets, gets, updates, lists, deletes (with a poller),
//! recovers (with a poller), purges, backs up and restores the secrets of
//! a vault. Secret values are [`SecretValue`]s: zeroized on drop and
//! printed as `<redacted>`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use keyvault_secrets::{SecretClient, TokenCredential};
//!
//! # async fn demo(credential: Arc<dyn TokenCredential>) -> keyvault_secrets::Result<()> {
//! let client = SecretClient::new("https://myvault.vault.azure.net", credential, None)?;
//! client.set_secret("db-password", "hunter2", None).await?;
//! let secret = client.get_secret("db-password", None).await?;
//! assert_eq!(secret.value.expose_secret(), "hunter2");
//! let deleted = client.begin_delete_secret("db-password", None).await?.await?;
//! println!("deleted, purged on {:?}", deleted.scheduled_purge_date);
//! # Ok(()) }
//! ```
//!
//! With the `blocking` feature, `blocking::SecretClient` is the same client
//! for code that does not use async: values instead of futures, listings as
//! iterators, pollers you `wait()` on.
//!
//! The `http2` feature (on by default) offers HTTP/2 beside HTTP/1.1, so
//! that many requests share one connection; with `default-features = false`
//! the client speaks HTTP/1.1 only, from a smaller binary.
//!
//! [`SecretCache`] serves secrets from memory over a client: refreshed
//! ahead of expiry, one request per miss however many callers, the last
//! good value kept through throttling and outages.
//!
//! The crate's modules: `client` (the client and its methods), `cache`, `models`
//! (what the methods return), `identifier` (secret ids), `options`,
//! `version` (API versions) and `poller`; listings are keyvault-core's
//! [`ItemPager`] and pollers its [`Poller`], re-exported; `generated` holds the
//! request builders and decoders written by `cargo xtask codegen`.

#[cfg(feature = "blocking")]
pub mod blocking;
mod cache;
mod client;
mod identifier;
mod models;
mod options;
mod poller;
mod version;

mod generated;
#[cfg(test)]
mod generated_tests;

pub use cache::{CacheStatistics, SecretCache, SecretCacheOptions, SecretWatch};
pub use client::SecretClient;
pub use generated::secrets::{ContentType, DeletionRecoveryLevel};
pub use identifier::KeyVaultSecretIdentifier;
/// The core types every client shares: options, errors, HTTP types of
/// [`SecretClient::send_request`], the lazy [`ItemPager`] of listings (with
/// [`ItemPager::into_pages`] and each [`Page`]'s continuation token) and the
/// [`Poller`] of long-running operations.
pub use keyvault_core::client::exports::*;
/// With the `serde` feature: serializes a [`KeyVaultSecret`] (or anything
/// holding [`SecretValue`]s) with its values in clear, and a
/// `#[serde(with)]` module for a `SecretValue` field of one's own type.
#[cfg(feature = "serde")]
pub use keyvault_core::{ExposeSecrets, serde_secret_value};
pub use models::{DeletedSecret, KeyVaultSecret, SecretProperties};
pub use options::{
    GetSecretOptions, ListOptions, PollerOptions, SecretClientOptions, SetSecretOptions,
    UpdateSecretPropertiesOptions,
};
pub use poller::SecretPoller;
pub use version::ApiVersion;

/// This crate's version (`CARGO_PKG_VERSION`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
