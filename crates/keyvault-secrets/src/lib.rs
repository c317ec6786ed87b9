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
//! The crate's modules: `client` (the client and its methods), `models`
//! (what the methods return), `identifier` (secret ids), `options`,
//! `version` (API versions) and `poller`; listings are keyvault-core's
//! [`ItemPager`], re-exported; `generated` holds the
//! request builders and decoders written by `cargo xtask codegen`.

mod client;
mod identifier;
mod models;
mod options;
mod poller;
mod version;

mod generated;
#[cfg(test)]
mod generated_tests;

pub use client::SecretClient;
pub use generated::secrets::{ContentType, DeletionRecoveryLevel};
pub use identifier::KeyVaultSecretIdentifier;
/// Options of [`SecretClient::send_request`]: extra headers and a body.
///
/// ```no_run
/// use keyvault_secrets::{Method, SendRequestOptions};
/// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
/// let options = SendRequestOptions {
///     body: Some(br#"{"value":"v"}"#.to_vec()),
///     ..Default::default()
/// };
/// let response = client.send_request(Method::PUT, "secrets/raw", Some(options)).await?;
/// assert!(response.status().is_success());
/// # Ok(()) }
/// ```
pub use keyvault_core::SendRequestOptions;
/// A lazy listing of secrets: a [`Stream`](futures::Stream) of items; nothing
/// is sent until it is polled, and each page is fetched when the previous one
/// is used up. [`ItemPager::into_pages`] gives whole [`Page`]s, each with the
/// token that resumes the listing after it (pass it as
/// [`ListOptions::continuation_token`]).
///
/// ```no_run
/// use futures::TryStreamExt;
/// use keyvault_secrets::ListOptions;
/// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
/// let mut secrets = client.list_properties_of_secrets(None);
/// while let Some(props) = secrets.try_next().await? {
///     println!("{}", props.name());
/// }
/// let options = ListOptions { max_page_size: Some(10), ..Default::default() };
/// let mut pages = client.list_properties_of_secrets(Some(options)).into_pages();
/// if let Some(page) = pages.try_next().await? {
///     println!("{} items; resume with {:?}", page.items.len(), page.continuation_token);
/// }
/// # Ok(()) }
/// ```
pub use keyvault_core::paging::ItemPager;
pub use keyvault_core::paging::{Page, PageStream};
pub use keyvault_core::{
    ClientOptions, Error, ErrorKind, Result, RetryOptions, ServiceError, TokenCredential,
    http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode},
    poller::PollStatus,
};
pub use models::{DeletedSecret, KeyVaultSecret, SecretProperties, SecretValue};
pub use options::{
    GetSecretOptions, ListOptions, PollerOptions, RequestOptions, SecretClientOptions,
    SetSecretOptions, UpdateSecretPropertiesOptions,
};
pub use poller::SecretPoller;
pub use version::ApiVersion;
