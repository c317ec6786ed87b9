//! A blocking [`SecretClient`] (the `blocking` feature): the same methods
//! as the async [`crate::SecretClient`], returning values instead of
//! futures, listings as iterators and pollers you `wait()` on.
//!
//! The client owns a current-thread tokio runtime, shared by its clones;
//! each call runs on the calling thread. Calling it from async code panics
//! (see [`keyvault_core::blocking`]); call it from `spawn_blocking` there,
//! or use the async client.
//!
//! ```no_run
//! use std::sync::Arc;
//! use keyvault_secrets::{ListOptions, TokenCredential, blocking::SecretClient};
//!
//! fn demo(credential: Arc<dyn TokenCredential>) -> keyvault_secrets::Result<()> {
//!     let client = SecretClient::new("https://myvault.vault.azure.net", credential, None)?;
//!     client.set_secret("db-password", "hunter2", None)?;
//!     let secret = client.get_secret("db-password", None)?;
//!     assert_eq!(secret.value.expose_secret(), "hunter2");
//!
//!     for properties in client.list_properties_of_secrets(None) {
//!         println!("{}", properties?.name());
//!     }
//!     // Page by page, resuming after the first page.
//!     let options = ListOptions { max_page_size: Some(10), ..Default::default() };
//!     let first = client.list_properties_of_secrets(Some(options)).into_pages().next();
//!     if let Some(token) = first.transpose()?.and_then(|page| page.continuation_token) {
//!         let options = ListOptions { continuation_token: Some(token), ..Default::default() };
//!         let rest = client.list_properties_of_secrets(Some(options)).count();
//!         println!("{rest} more");
//!     }
//!
//!     let deleted = client.begin_delete_secret("db-password", None)?.wait()?;
//!     client.purge_deleted_secret(deleted.name(), None)?;
//!     Ok(())
//! }
//! ```

use std::sync::Arc;

pub use keyvault_core::blocking::{IN_ASYNC_CONTEXT, ItemIter, Iter, PageIter};

use crate::{
    DeletedSecret, GetSecretOptions, KeyVaultSecret, ListOptions, PollerOptions, RequestOptions,
    Result, SecretClientOptions, SecretProperties, SecretValue, SetSecretOptions, TokenCredential,
    UpdateSecretPropertiesOptions,
};

/// The blocking form of [`crate::SecretPoller`]: `wait()`,
/// `wait_for(timeout)`, `statuses()`, `status()` and `resume_token()`.
pub type SecretPoller<T> = keyvault_core::blocking::Poller<T>;

keyvault_core::blocking_client! {
    /// A blocking client of the secrets of one vault: [`crate::SecretClient`]
    /// with each call run to completion on the calling thread.
    ///
    /// Cheap to clone: clones share the async client and the runtime.
    pub struct SecretClient for SecretClient {
        new(
            vault_url: &str,
            credential: Arc<dyn TokenCredential>,
            options: Option<SecretClientOptions>,
        );
        call fn set_secret(
            name: &str,
            value: impl Into<SecretValue>,
            options: Option<SetSecretOptions>,
        ) -> Result<KeyVaultSecret>;
        call fn get_secret(name: &str, options: Option<GetSecretOptions>) -> Result<KeyVaultSecret>;
        call fn update_secret_properties(
            name: &str,
            options: Option<UpdateSecretPropertiesOptions>,
        ) -> Result<SecretProperties>;
        list fn list_properties_of_secrets(options: Option<ListOptions>) -> ItemIter<SecretProperties>;
        list fn list_properties_of_secret_versions(
            name: &str,
            options: Option<ListOptions>,
        ) -> ItemIter<SecretProperties>;
        list fn list_deleted_secrets(options: Option<ListOptions>) -> ItemIter<DeletedSecret>;
        call fn get_deleted_secret(name: &str, options: Option<RequestOptions>) -> Result<DeletedSecret>;
        start fn begin_delete_secret(
            name: &str,
            options: Option<PollerOptions>,
        ) -> Result<SecretPoller<DeletedSecret>>;
        start fn begin_recover_deleted_secret(
            name: &str,
            options: Option<PollerOptions>,
        ) -> Result<SecretPoller<SecretProperties>>;
        resume fn resume_delete_secret(
            token: &str,
            options: Option<PollerOptions>,
        ) -> Result<SecretPoller<DeletedSecret>>;
        resume fn resume_recover_deleted_secret(
            token: &str,
            options: Option<PollerOptions>,
        ) -> Result<SecretPoller<SecretProperties>>;
        call fn purge_deleted_secret(name: &str, options: Option<RequestOptions>) -> Result<()>;
        call fn backup_secret(name: &str, options: Option<RequestOptions>) -> Result<Vec<u8>>;
        call fn restore_secret_backup(
            backup: &[u8],
            options: Option<RequestOptions>,
        ) -> Result<SecretProperties>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_sync_clone() {
        fn assert<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}
        assert::<SecretClient>();
        fn send<T: Send + 'static>() {}
        send::<ItemIter<SecretProperties>>();
        send::<SecretPoller<DeletedSecret>>();
    }
}
