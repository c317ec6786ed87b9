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
//! The crate's modules: `access_control`, `backup` and `settings` (one per
//! client, with their models), `options` and `version` (API versions);
//! listings are keyvault-core's [`ItemPager`], re-exported; `generated`
//! holds the request builders and decoders written by `cargo xtask codegen`.

mod access_control;
mod backup;
mod endpoint;
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
/// Options of the clients' `send_request`
/// ([`KeyVaultAccessControlClient::send_request`] and the same method of
/// the other two clients): extra headers and a body.
///
/// ```no_run
/// use keyvault_administration::{HeaderMap, HeaderValue, Method, SendRequestOptions};
/// # async fn demo(client: keyvault_administration::KeyVaultSettingsClient) -> keyvault_administration::Result<()> {
/// let mut headers = HeaderMap::new();
/// headers.insert("x-ms-client-request-id", HeaderValue::from_static("my-id"));
/// let options = SendRequestOptions { headers, body: Some(br#"{"value":"true"}"#.to_vec()) };
/// let url = "settings/AllowKeyManagementOperationsThroughARM";
/// let response = client.send_request(Method::PATCH, url, Some(options)).await?;
/// println!("{}", response.status());
/// # Ok(()) }
/// ```
pub use keyvault_core::SendRequestOptions;
/// A lazy listing of role definitions or role assignments: a
/// [`Stream`](futures::Stream) of items; nothing is sent until it is polled,
/// and each page is fetched when the previous one is used up.
/// [`ItemPager::into_pages`] gives whole [`Page`]s, each with the token that
/// resumes the listing after it (pass it as [`ListOptions::continuation_token`]).
///
/// ```no_run
/// use futures::TryStreamExt;
/// use keyvault_administration::{KeyVaultRoleScope, ListOptions};
/// # async fn demo(client: keyvault_administration::KeyVaultAccessControlClient, saved: String) -> keyvault_administration::Result<()> {
/// let mut roles = client.list_role_definitions(KeyVaultRoleScope::Global, None);
/// while let Some(role) = roles.try_next().await? {
///     println!("{:?}", role.role_name);
/// }
/// // Continue an earlier listing, page by page.
/// let options = ListOptions { continuation_token: Some(saved), ..Default::default() };
/// let mut pages = client.list_role_assignments(KeyVaultRoleScope::Global, Some(options)).into_pages();
/// while let Some(page) = pages.try_next().await? {
///     println!("{} items; resume with {:?}", page.items.len(), page.continuation_token);
/// }
/// # Ok(()) }
/// ```
pub use keyvault_core::paging::ItemPager;
pub use keyvault_core::paging::{Page, PageStream};
pub use keyvault_core::{
    ClientOptions, Error, ErrorKind, Result, RetryOptions, SecretValue, ServiceError,
    TokenCredential,
    http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode},
    poller::PollStatus,
};
pub use options::{
    AdministrationClientOptions, CreateRoleAssignmentOptions, ListOptions, PollerOptions,
    RequestOptions, RestoreOptions, SetRoleDefinitionOptions,
};
pub use settings::KeyVaultSettingsClient;
pub use settings::models::KeyVaultSetting;
pub use version::ApiVersion;
