//! Azure Managed HSM administration clients for Rust.
//!
//! - [`KeyVaultAccessControlClient`]: role definitions and role assignments
//!   (the HSM's local role-based access control);
//! - [`KeyVaultBackupClient`]: full backups to Azure Blob Storage, full and
//!   selective key restores, and the checks that they can run, as
//!   resumable [`KeyVaultBackupPoller`]s;
//! - [`KeyVaultSettingsClient`]: the HSM's account settings.
//!
//! Each client is built like the other keyvault-rs clients:
//! `new(hsm_url, credential, Option<AdministrationClientOptions>)`. They
//! authenticate with the HSM's challenge (resource
//! `https://managedhsm.azure.net`) and refuse Key Vault vault URLs.
//!
//! ```no_run
//! use std::sync::Arc;
//! use futures::TryStreamExt;
//! use keyvault_administration::{
//!     KeyVaultAccessControlClient, KeyVaultRoleScope, KeyVaultSettingsClient, TokenCredential,
//! };
//!
//! # async fn demo(credential: Arc<dyn TokenCredential>) -> keyvault_administration::Result<()> {
//! let hsm = "https://myhsm.managedhsm.azure.net";
//! let access = KeyVaultAccessControlClient::new(hsm, credential.clone(), None)?;
//! let roles: Vec<_> = access.list_role_definitions(KeyVaultRoleScope::Global, None).try_collect().await?;
//! println!("{} role definitions", roles.len());
//!
//! let settings = KeyVaultSettingsClient::new(hsm, credential, None)?;
//! for s in settings.list_settings(None).await? {
//!     println!("{} = {}", s.name, s.value);
//! }
//! # Ok(()) }
//! ```
//!
//! With the `blocking` feature, the `blocking` module has the same three
//! clients for code that does not use async: values instead of futures,
//! listings as iterators, backup pollers you `wait()` on.
//!
//! The `http2` feature (on by default) offers HTTP/2 beside HTTP/1.1; with
//! `default-features = false` the clients speak HTTP/1.1 only, from a
//! smaller binary.
//!
//! The crate's modules: `access_control`, `backup` and `settings` (one per
//! client, with their models), `options` and `version` (API versions);
//! listings are keyvault-core's [`ItemPager`] and pollers its [`Poller`],
//! re-exported; `generated`
//! holds the request builders and decoders written by `cargo xtask codegen`.

mod access_control;
mod backup;
#[cfg(feature = "blocking")]
pub mod blocking;
mod endpoint;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod options;
mod settings;
mod version;

mod generated;
#[cfg(test)]
mod generated_tests;

pub use access_control::KeyVaultAccessControlClient;
pub use access_control::models::{
    KeyVaultPermission, KeyVaultRoleAssignment, KeyVaultRoleAssignmentId,
    KeyVaultRoleAssignmentProperties, KeyVaultRoleDefinition, KeyVaultRoleDefinitionId,
    KeyVaultRoleScope,
};
pub use backup::KeyVaultBackupClient;
pub use backup::models::{BackupAuth, KeyVaultBackupResult};
pub use backup::poller::KeyVaultBackupPoller;
/// A data-plane action of a Managed HSM role (every value the service
/// defines; values this version does not know are kept in `Unknown`).
pub use generated::rbac::DataAction as KeyVaultDataAction;
/// Whether a role definition ships with the service (`BuiltInRole`) or was
/// defined by a user (`CustomRole`).
pub use generated::rbac::RoleType as KeyVaultRoleType;
/// How a setting's text value is read (`Boolean`; other values are kept in
/// `Unknown`).
pub use generated::settings::SettingTypeEnum as KeyVaultSettingType;
/// The core types every client shares: options, errors, HTTP types of the
/// clients' `send_request`, the lazy [`ItemPager`] of listings (with
/// [`ItemPager::into_pages`] and each [`Page`]'s continuation token) and the
/// [`Poller`] of long-running operations.
pub use keyvault_core::client::exports::*;
pub use options::{
    AdministrationClientOptions, CreateRoleAssignmentOptions, ListOptions, PollerOptions,
    RestoreOptions, SetRoleDefinitionOptions,
};
pub use settings::KeyVaultSettingsClient;
pub use settings::models::KeyVaultSetting;
pub use version::ApiVersion;

/// This crate's version (`CARGO_PKG_VERSION`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
