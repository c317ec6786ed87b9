//! [`SecretClient`]: every secrets operation of a vault.

use std::sync::Arc;

use keyvault_core::{
    ClientInfo, Error, ErrorKind, Result, TokenCredential,
    client::{ClientCore, check_name, invalid},
    http::StatusCode,
};
use serde::de::IgnoredAny;
use zeroize::Zeroize;

use crate::{
    ApiVersion, DeletedSecret, GetSecretOptions, ItemPager, KeyVaultSecret, ListOptions,
    PollerOptions, RequestOptions, SecretClientOptions, SecretProperties, SecretValue,
    SetSecretOptions, UpdateSecretPropertiesOptions, generated::secrets as wire,
    poller::DEFAULT_FREQUENCY, poller::SecretPoller,
};

/// The API version from which `out_content_type` may be sent.
const OUT_CONTENT_TYPE_SINCE: &str = "2025-06-01-preview";

/// A client for the secrets of one Azure Key Vault.
///
/// Cheap to clone (an `Arc` inside) and `Send + Sync`: share one client
/// between tasks.
#[doc = include_str!("docs/client.md")]
#[derive(Clone)]
pub struct SecretClient {
    core: ClientCore<ApiVersion>,
}

impl std::fmt::Debug for SecretClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretClient")
            .field("vault_url", &self.core.url())
            .field("api_version", self.core.api_version())
            .finish_non_exhaustive()
    }
}

const CLIENT_INFO: ClientInfo = ClientInfo {
    name: "secrets",
    version: env!("CARGO_PKG_VERSION"),
};

/// The per-call part of poller options, and the delay between two status
/// requests they ask for.
fn poller_options(options: Option<PollerOptions>) -> (RequestOptions, std::time::Duration) {
    let o = options.unwrap_or_default();
    (o.request_options, o.frequency.unwrap_or(DEFAULT_FREQUENCY))
}

fn attributes(
    enabled: Option<bool>,
    not_before: Option<time::OffsetDateTime>,
    expires_on: Option<time::OffsetDateTime>,
) -> Option<wire::SecretAttributes> {
    (enabled.is_some() || not_before.is_some() || expires_on.is_some()).then(|| {
        wire::SecretAttributes {
            enabled,
            not_before,
            expires: expires_on,
            ..Default::default()
        }
    })
}

impl SecretClient {
    /// Creates a client for the vault at `vault_url` (for example
    /// `https://myvault.vault.azure.net`), authenticating with `credential`.
    ///
    /// Spaces and slashes around the URL are ignored. Nothing is sent until
    /// the first operation.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when `vault_url` is empty or not an
    /// `https` URL (plain `http` only to loopback with
    /// `allow_loopback_http`), or a root certificate in the options is not
    /// valid PEM.
    ///
    /// # Examples
    /// ```no_run
    /// use std::sync::Arc;
    /// use keyvault_secrets::{SecretClient, TokenCredential};
    /// # fn demo(credential: Arc<dyn TokenCredential>) -> keyvault_secrets::Result<()> {
    /// let client = SecretClient::new("https://myvault.vault.azure.net", credential, None)?;
    /// assert_eq!(client.vault_url(), "https://myvault.vault.azure.net");
    /// # Ok(()) }
    /// ```
    pub fn new(
        vault_url: &str,
        credential: Arc<dyn TokenCredential>,
        options: Option<SecretClientOptions>,
    ) -> Result<Self> {
        let service = "an Azure Key Vault";
        let core = ClientCore::new(CLIENT_INFO, vault_url, service, credential, options)?;
        Ok(Self { core })
    }

    keyvault_core::client_methods!(
        keyvault_secrets::SecretClient,
        ApiVersion,
        "secrets?maxresults=1"
    );

    /// A poller of the secret delete or recover that answered `started`,
    /// polling the request `status` until found, then giving `started`.
    fn until_found<T: Send + 'static>(
        core: &ClientCore<ApiVersion>,
        operation: &'static str,
        status: Result<keyvault_core::http::Request>,
        frequency: std::time::Duration,
        started: T,
    ) -> Result<SecretPoller<T>> {
        Ok(core
            .until_found::<IgnoredAny>(operation, status, frequency)?
            .done_on_status(StatusCode::FORBIDDEN)
            .with_result(started))
    }

    /// Sets a secret: creates it, or adds a new version when the name is
    /// taken. Returns the new version, value included.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for an empty name; the service's errors,
    /// for example `400 BadParameter` for a name that is not letters,
    /// digits and dashes, `409 Conflict` for the name of a deleted secret
    /// that is not purged yet.
    ///
    /// # Examples
    /// ```no_run
    /// use keyvault_secrets::SetSecretOptions;
    /// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
    /// let options = SetSecretOptions { content_type: Some("password".into()), ..Default::default() };
    /// let secret = client.set_secret("db-password", "hunter2", Some(options)).await?;
    /// println!("version {:?}", secret.properties.version());
    /// # Ok(()) }
    /// ```
    pub async fn set_secret(
        &self,
        name: &str,
        value: impl Into<SecretValue>,
        options: Option<SetSecretOptions>,
    ) -> Result<KeyVaultSecret> {
        check_name("secret", name)?;
        let value = value.into();
        let mut o = options.unwrap_or_default();
        let core = self
            .core
            .with_request_options(std::mem::take(&mut o.request_options));
        let mut body = wire::SecretSetParameters {
            secret_attributes: attributes(o.enabled, o.not_before, o.expires_on),
            content_type: o.content_type,
            tags: o.tags,
            value: value.expose_secret().to_owned(),
        };
        let request = wire::set_secret_request(core.endpoint(), name, &body);
        body.value.zeroize();
        let response = core.send(wire::SET_SECRET, request).await?;
        wire::set_secret_response(&response).and_then(KeyVaultSecret::try_from)
    }

    /// Gets a secret, value included: its latest version, or the version
    /// given in the options.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for an empty name, or `out_content_type`
    /// with an API version older than `2025-06-01-preview`; the service's
    /// errors, for example `404 SecretNotFound`, `403 Forbidden` for a
    /// disabled version.
    ///
    /// # Examples
    /// ```no_run
    /// use keyvault_secrets::GetSecretOptions;
    /// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
    /// let latest = client.get_secret("db-password", None).await?;
    /// let version = latest.properties.version().unwrap_or_default().to_owned();
    /// let same = client.get_secret("db-password", Some(GetSecretOptions::version(version))).await?;
    /// assert_eq!(latest.value.expose_secret(), same.value.expose_secret());
    /// # Ok(()) }
    /// ```
    pub async fn get_secret(
        &self,
        name: &str,
        options: Option<GetSecretOptions>,
    ) -> Result<KeyVaultSecret> {
        check_name("secret", name)?;
        let mut o = options.unwrap_or_default();
        let core = self
            .core
            .with_request_options(std::mem::take(&mut o.request_options));
        if o.out_content_type.is_some() {
            core.require("out_content_type", OUT_CONTENT_TYPE_SINCE)?;
        }
        let request = wire::get_secret_request(
            core.endpoint(),
            name,
            o.version.as_deref().unwrap_or(""),
            o.out_content_type.as_ref(),
        );
        let response = core.send(wire::GET_SECRET, request).await?;
        wire::get_secret_response(&response).and_then(KeyVaultSecret::try_from)
    }

    /// Updates the properties of a secret version (the latest unless the
    /// options name one); fields left `None` keep their value. The value
    /// itself cannot change: set a new version instead.
    ///
    /// # Errors
    /// As [`get_secret`](Self::get_secret).
    ///
    /// # Examples
    /// ```no_run
    /// use keyvault_secrets::UpdateSecretPropertiesOptions;
    /// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
    /// let options = UpdateSecretPropertiesOptions { enabled: Some(false), ..Default::default() };
    /// let props = client.update_secret_properties("db-password", Some(options)).await?;
    /// assert_eq!(props.enabled, Some(false));
    /// # Ok(()) }
    /// ```
    pub async fn update_secret_properties(
        &self,
        name: &str,
        options: Option<UpdateSecretPropertiesOptions>,
    ) -> Result<SecretProperties> {
        check_name("secret", name)?;
        let mut o = options.unwrap_or_default();
        let core = self
            .core
            .with_request_options(std::mem::take(&mut o.request_options));
        let body = wire::SecretUpdateParameters {
            secret_attributes: attributes(o.enabled, o.not_before, o.expires_on),
            content_type: o.content_type,
            tags: o.tags,
        };
        let request = wire::update_secret_request(
            core.endpoint(),
            name,
            o.version.as_deref().unwrap_or(""),
            &body,
        );
        let response = core.send(wire::UPDATE_SECRET, request).await?;
        wire::update_secret_response(&response).and_then(SecretProperties::try_from)
    }

    fn max_results(options: &ListOptions) -> Result<Option<i32>> {
        options
            .max_page_size
            .map(|m| i32::try_from(m).map_err(|_| invalid("max_page_size is too large")))
            .transpose()
    }

    /// Lists the properties of every secret in the vault (no values, no
    /// versions), lazily, page by page.
    ///
    /// Errors (for example a `403`) come out of the stream.
    ///
    /// # Examples
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
    /// let names: Vec<String> = client
    ///     .list_properties_of_secrets(None)
    ///     .map_ok(|p| p.name().to_owned())
    ///     .try_collect()
    ///     .await?;
    /// # let _ = names; Ok(()) }
    /// ```
    pub fn list_properties_of_secrets(
        &self,
        options: Option<ListOptions>,
    ) -> ItemPager<SecretProperties> {
        let mut o = options.unwrap_or_default();
        let core = self
            .core
            .with_request_options(std::mem::take(&mut o.request_options));
        let request =
            Self::max_results(&o).and_then(|max| wire::get_secrets_request(core.endpoint(), max));
        let token = o.continuation_token.as_deref();
        core.pager::<wire::SecretListResult, _>(
            wire::GET_SECRETS,
            request,
            token,
            TryInto::try_into,
        )
    }

    /// Lists the properties of every version of a secret (no values),
    /// lazily, page by page.
    ///
    /// # Examples
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
    /// let mut versions = client.list_properties_of_secret_versions("db-password", None);
    /// while let Some(v) = versions.try_next().await? {
    ///     println!("{:?} created {:?}", v.version(), v.created_on);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_properties_of_secret_versions(
        &self,
        name: &str,
        options: Option<ListOptions>,
    ) -> ItemPager<SecretProperties> {
        let mut o = options.unwrap_or_default();
        let core = self
            .core
            .with_request_options(std::mem::take(&mut o.request_options));
        let request = check_name("secret", name)
            .and_then(|()| Self::max_results(&o))
            .and_then(|max| wire::get_secret_versions_request(core.endpoint(), name, max));
        let token = o.continuation_token.as_deref();
        let operation = wire::GET_SECRET_VERSIONS;
        core.pager::<wire::SecretListResult, _>(operation, request, token, TryInto::try_into)
    }

    /// Lists the deleted secrets of the vault (those still recoverable),
    /// lazily, page by page.
    ///
    /// # Examples
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
    /// let mut deleted = client.list_deleted_secrets(None);
    /// while let Some(d) = deleted.try_next().await? {
    ///     println!("{} purged on {:?}", d.name(), d.scheduled_purge_date);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_deleted_secrets(&self, options: Option<ListOptions>) -> ItemPager<DeletedSecret> {
        let mut o = options.unwrap_or_default();
        let core = self
            .core
            .with_request_options(std::mem::take(&mut o.request_options));
        let request = Self::max_results(&o)
            .and_then(|max| wire::get_deleted_secrets_request(core.endpoint(), max));
        let token = o.continuation_token.as_deref();
        let operation = wire::GET_DELETED_SECRETS;
        core.pager::<wire::DeletedSecretListResult, _>(operation, request, token, TryInto::try_into)
    }

    /// Gets a deleted secret: its properties and its deletion and purge dates.
    ///
    /// # Errors
    /// The service's errors, for example `404` when no deleted secret has
    /// this name.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
    /// let deleted = client.get_deleted_secret("db-password", None).await?;
    /// println!("deleted on {:?}", deleted.deleted_on);
    /// # Ok(()) }
    /// ```
    pub async fn get_deleted_secret(
        &self,
        name: &str,
        options: Option<RequestOptions>,
    ) -> Result<DeletedSecret> {
        let core = self.core.with_request_options(options);
        check_name("secret", name)?;
        let request = wire::get_deleted_secret_request(core.endpoint(), name);
        let response = core.send(wire::GET_DELETED_SECRET, request).await?;
        wire::get_deleted_secret_response(&response).and_then(DeletedSecret::try_from)
    }

    /// Deletes a secret, all its versions at once, and returns a poller
    /// that finishes when the deleted secret is readable (at once in a
    /// vault without soft-delete). `.await` the poller for the
    /// [`DeletedSecret`].
    ///
    /// # Errors
    /// The service's errors for the delete request, for example `404`.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
    /// let poller = client.begin_delete_secret("db-password", None).await?;
    /// let deleted = poller.await?;
    /// client.purge_deleted_secret(deleted.name(), None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn begin_delete_secret(
        &self,
        name: &str,
        options: Option<PollerOptions>,
    ) -> Result<SecretPoller<DeletedSecret>> {
        check_name("secret", name)?;
        let (per_call, frequency) = poller_options(options);
        let core = self.core.with_request_options(per_call);
        let request = wire::delete_secret_request(core.endpoint(), name);
        let response = core.send(wire::DELETE_SECRET, request).await?;
        let deleted = DeletedSecret::try_from(wire::delete_secret_response(&response)?)?;
        if deleted.recovery_id.is_none() {
            // No soft-delete: nothing to wait for.
            return Ok(SecretPoller::finished(deleted));
        }
        let status = wire::get_deleted_secret_request(core.endpoint(), name);
        Self::until_found(&core, wire::GET_DELETED_SECRET, status, frequency, deleted)
    }

    /// Recovers a deleted secret, with all its versions, and returns a
    /// poller that finishes when the secret is readable again. `.await` the
    /// poller for its [`SecretProperties`].
    ///
    /// # Errors
    /// The service's errors for the recover request, for example `404`
    /// when no deleted secret has this name.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
    /// let recovered = client.begin_recover_deleted_secret("db-password", None).await?.await?;
    /// println!("{} is back", recovered.name());
    /// # Ok(()) }
    /// ```
    pub async fn begin_recover_deleted_secret(
        &self,
        name: &str,
        options: Option<PollerOptions>,
    ) -> Result<SecretPoller<SecretProperties>> {
        check_name("secret", name)?;
        let (per_call, frequency) = poller_options(options);
        let core = self.core.with_request_options(per_call);
        let request = wire::recover_deleted_secret_request(core.endpoint(), name);
        let response = core.send(wire::RECOVER_DELETED_SECRET, request).await?;
        let recovered =
            SecretProperties::try_from(wire::recover_deleted_secret_response(&response)?)?;
        let status = wire::get_secret_request(core.endpoint(), name, "", None);
        Self::until_found(&core, wire::GET_SECRET, status, frequency, recovered)
    }

    /// Continues waiting for a secret delete from the
    /// [`resume_token`](keyvault_core::poller::Poller::resume_token) of a
    /// [`begin_delete_secret`](Self::begin_delete_secret) poller, in this or
    /// another process. Nothing is sent until the poller is polled; its
    /// result is the deleted secret as the service then shows it, so it has
    /// none before it finishes, and a `403` (no permission to read deleted
    /// secrets) is an error.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a token no secret poller made, or
    /// one for an operation of another vault.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(client: keyvault_secrets::SecretClient, token: String) -> keyvault_secrets::Result<()> {
    /// let deleted = client.resume_delete_secret(&token, None)?.await?;
    /// println!("purged on {:?}", deleted.scheduled_purge_date);
    /// # Ok(()) }
    /// ```
    pub fn resume_delete_secret(
        &self,
        token: &str,
        options: Option<PollerOptions>,
    ) -> Result<SecretPoller<DeletedSecret>> {
        let (per_call, frequency) = poller_options(options);
        let core = self.core.with_request_options(per_call);
        let poller =
            core.resume::<wire::DeletedSecretBundle>(wire::GET_DELETED_SECRET, token, frequency)?;
        Ok(poller.map(TryInto::try_into))
    }

    /// Continues waiting for a secret recover from the
    /// [`resume_token`](keyvault_core::poller::Poller::resume_token) of a
    /// [`begin_recover_deleted_secret`](Self::begin_recover_deleted_secret)
    /// poller, as [`resume_delete_secret`](Self::resume_delete_secret) does
    /// for a delete.
    ///
    /// # Errors
    /// As [`resume_delete_secret`](Self::resume_delete_secret).
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(client: keyvault_secrets::SecretClient, token: String) -> keyvault_secrets::Result<()> {
    /// let recovered = client.resume_recover_deleted_secret(&token, None)?.await?;
    /// println!("{} is back", recovered.name());
    /// # Ok(()) }
    /// ```
    pub fn resume_recover_deleted_secret(
        &self,
        token: &str,
        options: Option<PollerOptions>,
    ) -> Result<SecretPoller<SecretProperties>> {
        let (per_call, frequency) = poller_options(options);
        let core = self.core.with_request_options(per_call);
        let poller = core.resume::<wire::SecretBundle>(wire::GET_SECRET, token, frequency)?;
        Ok(poller.map(TryInto::try_into))
    }

    /// Purges a deleted secret for good. Only vaults with soft-delete have
    /// deleted secrets to purge.
    ///
    /// # Errors
    /// The service's errors, for example `404` when no deleted secret has
    /// this name, `403` when the vault has purge protection.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
    /// client.purge_deleted_secret("db-password", None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn purge_deleted_secret(
        &self,
        name: &str,
        options: Option<RequestOptions>,
    ) -> Result<()> {
        let core = self.core.with_request_options(options);
        check_name("secret", name)?;
        let request = wire::purge_deleted_secret_request(core.endpoint(), name);
        core.send(wire::PURGE_DELETED_SECRET, request).await?;
        Ok(())
    }

    /// Backs up a secret, all its versions, as an opaque protected blob
    /// that [`restore_secret_backup`](Self::restore_secret_backup) takes
    /// back (in a vault of the same geography).
    ///
    /// # Errors
    /// The service's errors, for example `404`.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
    /// let backup: Vec<u8> = client.backup_secret("db-password", None).await?;
    /// std::fs::write("db-password.backup", &backup).ok();
    /// # Ok(()) }
    /// ```
    pub async fn backup_secret(
        &self,
        name: &str,
        options: Option<RequestOptions>,
    ) -> Result<Vec<u8>> {
        let core = self.core.with_request_options(options);
        check_name("secret", name)?;
        let request = wire::backup_secret_request(core.endpoint(), name);
        let response = core.send(wire::BACKUP_SECRET, request).await?;
        let result = wire::backup_secret_response(&response)?;
        result.value.ok_or_else(|| {
            Error::new(
                ErrorKind::Deserialize,
                "the backup response holds no backup blob",
            )
        })
    }

    /// Restores a secret, all its versions, from a blob made by
    /// [`backup_secret`](Self::backup_secret).
    ///
    /// # Errors
    /// The service's errors, for example `409` when a secret with this name
    /// exists, `400` for a blob that is not a backup.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(client: keyvault_secrets::SecretClient, backup: Vec<u8>) -> keyvault_secrets::Result<()> {
    /// let restored = client.restore_secret_backup(&backup, None).await?;
    /// println!("{} restored", restored.name());
    /// # Ok(()) }
    /// ```
    pub async fn restore_secret_backup(
        &self,
        backup: &[u8],
        options: Option<RequestOptions>,
    ) -> Result<SecretProperties> {
        let core = self.core.with_request_options(options);
        let body = wire::SecretRestoreParameters {
            secret_bundle_backup: backup.to_vec(),
        };
        let request = wire::restore_secret_request(core.endpoint(), &body);
        let response = core.send(wire::RESTORE_SECRET, request).await?;
        wire::restore_secret_response(&response).and_then(SecretProperties::try_from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_sync_clone() {
        fn assert<T: Send + Sync + Clone + 'static>() {}
        assert::<SecretClient>();
        fn send<T: Send + 'static>() {}
        send::<ItemPager<SecretProperties>>();
        send::<ItemPager<DeletedSecret>>();
        send::<SecretPoller<DeletedSecret>>();
        send::<SecretPoller<SecretProperties>>();
        send::<crate::PageStream<SecretProperties>>();
    }

    #[test]
    fn attributes_only_when_one_is_given() {
        assert!(attributes(None, None, None).is_none());
        let a = attributes(Some(false), None, None).unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"{"enabled":false}"#);
    }
}
