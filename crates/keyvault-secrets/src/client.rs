//! [`SecretClient`]: every secrets operation of a vault.

use std::sync::Arc;

use keyvault_core::{
    ClientInfo, Context, Error, ErrorKind, Pipeline, Result, TokenCredential,
    http::{Method, Request, Response},
    paging::Pager,
    poller::Poller,
};
use url::Url;
use zeroize::Zeroize;

use crate::{
    ApiVersion, DeletedSecret, GetSecretOptions, ItemPager, KeyVaultSecret, ListOptions,
    PollerOptions, RequestOptions, SecretClientOptions, SecretProperties, SecretValue,
    SendRequestOptions, SetSecretOptions, UpdateSecretPropertiesOptions,
    generated::secrets as wire, poller::DEFAULT_FREQUENCY, poller::SecretPoller,
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
    inner: Arc<Inner>,
}

struct Inner {
    pipeline: Pipeline,
    vault_url: String,
    endpoint: Url,
    api_version: ApiVersion,
}

impl std::fmt::Debug for SecretClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretClient")
            .field("vault_url", &self.inner.vault_url)
            .field("api_version", &self.inner.api_version)
            .finish_non_exhaustive()
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(invalid("the secret name must not be empty"));
    }
    Ok(())
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

fn client_info(api_version: &'static str) -> ClientInfo {
    ClientInfo {
        name: "secrets",
        version: env!("CARGO_PKG_VERSION"),
        default_api_version: api_version,
    }
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
        let vault_url = vault_url.trim_matches(|c| c == ' ' || c == '/');
        if vault_url.is_empty() {
            return Err(invalid("vault_url must be the URL of an Azure Key Vault"));
        }
        let options = options.unwrap_or_default();
        let mut client_options = options.client_options;
        client_options.api_version = Some(options.api_version.as_str().to_owned());
        let pipeline = Pipeline::new(
            client_info(crate::version::DEFAULT),
            credential,
            client_options,
        )?;
        let endpoint = pipeline.parse_endpoint(vault_url)?;
        Ok(Self {
            inner: Arc::new(Inner {
                pipeline,
                vault_url: vault_url.to_owned(),
                endpoint,
                api_version: options.api_version,
            }),
        })
    }

    /// The vault URL, without a trailing slash.
    pub fn vault_url(&self) -> &str {
        &self.inner.vault_url
    }

    /// The API version this client sends.
    pub fn api_version(&self) -> &ApiVersion {
        &self.inner.api_version
    }

    async fn send(&self, operation: &'static str, request: Request) -> Result<Response> {
        self.inner
            .pipeline
            .send(&Context::new(operation), request)
            .await
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
        check_name(name)?;
        let value = value.into();
        let o = options.unwrap_or_default();
        let mut body = wire::SecretSetParameters {
            secret_attributes: attributes(o.enabled, o.not_before, o.expires_on),
            content_type: o.content_type,
            tags: o.tags,
            value: value.expose_secret().to_owned(),
        };
        let request = wire::set_secret_request(&self.inner.endpoint, name, &body);
        body.value.zeroize();
        let response = self.send(wire::SET_SECRET, request?).await?;
        wire::set_secret_response(&response).map(KeyVaultSecret::from)
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
        check_name(name)?;
        let o = options.unwrap_or_default();
        if o.out_content_type.is_some() && !self.inner.api_version.at_least(OUT_CONTENT_TYPE_SINCE)
        {
            return Err(invalid(format!(
                "out_content_type is not available in API version {}; use {OUT_CONTENT_TYPE_SINCE} or newer",
                self.inner.api_version
            )));
        }
        let request = wire::get_secret_request(
            &self.inner.endpoint,
            name,
            o.version.as_deref().unwrap_or(""),
            o.out_content_type.as_ref(),
        )?;
        let response = self.send(wire::GET_SECRET, request).await?;
        wire::get_secret_response(&response).map(KeyVaultSecret::from)
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
        check_name(name)?;
        let o = options.unwrap_or_default();
        let body = wire::SecretUpdateParameters {
            secret_attributes: attributes(o.enabled, o.not_before, o.expires_on),
            content_type: o.content_type,
            tags: o.tags,
        };
        let request = wire::update_secret_request(
            &self.inner.endpoint,
            name,
            o.version.as_deref().unwrap_or(""),
            &body,
        )?;
        let response = self.send(wire::UPDATE_SECRET, request).await?;
        wire::update_secret_response(&response).map(SecretProperties::from)
    }

    fn pager<P: keyvault_core::paging::Paged>(
        &self,
        operation: &'static str,
        first: Result<Request>,
        options: ListOptions,
    ) -> Result<Pager<P>> {
        Pager::start_at(
            self.inner.pipeline.clone(),
            Context::new(operation),
            first?,
            options.continuation_token.as_deref(),
        )
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
        let o = options.unwrap_or_default();
        let pager = Self::max_results(&o).and_then(|max| {
            self.pager::<wire::SecretListResult>(
                wire::GET_SECRETS,
                wire::get_secrets_request(&self.inner.endpoint, max),
                o,
            )
        });
        ItemPager::new(pager, SecretProperties::from)
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
        let o = options.unwrap_or_default();
        let pager = check_name(name)
            .and_then(|()| Self::max_results(&o))
            .and_then(|max| {
                self.pager::<wire::SecretListResult>(
                    wire::GET_SECRET_VERSIONS,
                    wire::get_secret_versions_request(&self.inner.endpoint, name, max),
                    o,
                )
            });
        ItemPager::new(pager, SecretProperties::from)
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
        let o = options.unwrap_or_default();
        let pager = Self::max_results(&o).and_then(|max| {
            self.pager::<wire::DeletedSecretListResult>(
                wire::GET_DELETED_SECRETS,
                wire::get_deleted_secrets_request(&self.inner.endpoint, max),
                o,
            )
        });
        ItemPager::new(pager, DeletedSecret::from)
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
        let _ = options;
        check_name(name)?;
        let request = wire::get_deleted_secret_request(&self.inner.endpoint, name)?;
        let response = self.send(wire::GET_DELETED_SECRET, request).await?;
        wire::get_deleted_secret_response(&response).map(DeletedSecret::from)
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
        check_name(name)?;
        let frequency = options
            .and_then(|o| o.frequency)
            .unwrap_or(DEFAULT_FREQUENCY);
        let request = wire::delete_secret_request(&self.inner.endpoint, name)?;
        let response = self.send(wire::DELETE_SECRET, request).await?;
        let deleted = DeletedSecret::from(wire::delete_secret_response(&response)?);
        if deleted.recovery_id.is_none() {
            // No soft-delete: nothing to wait for.
            return Ok(SecretPoller::finished(deleted));
        }
        let url = wire::get_deleted_secret_request(&self.inner.endpoint, name)?
            .url()
            .clone();
        let inner = Poller::until_found(
            self.inner.pipeline.clone(),
            Context::new(wire::GET_DELETED_SECRET),
            url,
        )
        .with_frequency(frequency);
        Ok(SecretPoller::new(inner, deleted))
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
        check_name(name)?;
        let frequency = options
            .and_then(|o| o.frequency)
            .unwrap_or(DEFAULT_FREQUENCY);
        let request = wire::recover_deleted_secret_request(&self.inner.endpoint, name)?;
        let response = self.send(wire::RECOVER_DELETED_SECRET, request).await?;
        let recovered = SecretProperties::from(wire::recover_deleted_secret_response(&response)?);
        let url = wire::get_secret_request(&self.inner.endpoint, name, "", None)?
            .url()
            .clone();
        let inner = Poller::until_found(
            self.inner.pipeline.clone(),
            Context::new(wire::GET_SECRET),
            url,
        )
        .with_frequency(frequency);
        Ok(SecretPoller::new(inner, recovered))
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
        let _ = options;
        check_name(name)?;
        let request = wire::purge_deleted_secret_request(&self.inner.endpoint, name)?;
        self.send(wire::PURGE_DELETED_SECRET, request).await?;
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
        let _ = options;
        check_name(name)?;
        let request = wire::backup_secret_request(&self.inner.endpoint, name)?;
        let response = self.send(wire::BACKUP_SECRET, request).await?;
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
        let _ = options;
        let body = wire::SecretRestoreParameters {
            secret_bundle_backup: backup.to_vec(),
        };
        let request = wire::restore_secret_request(&self.inner.endpoint, &body)?;
        let response = self.send(wire::RESTORE_SECRET, request).await?;
        wire::restore_secret_response(&response).map(SecretProperties::from)
    }

    /// Sends a raw request through the client's pipeline (authentication,
    /// retries, tracing) and returns the response whatever its status.
    ///
    /// `url` may be relative (`secrets/name/?maxresults=1`, resolved
    /// against the vault URL) or absolute. `api-version` is added unless
    /// the URL has one.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a URL that cannot be resolved or is
    /// not on an allowed scheme; transport, credential and authentication
    /// errors. A failure status is not an error.
    ///
    /// # Examples
    /// ```no_run
    /// use keyvault_secrets::Method;
    /// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
    /// let response = client.send_request(Method::GET, "secrets?maxresults=1", None).await?;
    /// println!("{} ({} bytes)", response.status(), response.body().len());
    /// # Ok(()) }
    /// ```
    pub async fn send_request(
        &self,
        method: Method,
        url: &str,
        options: Option<SendRequestOptions>,
    ) -> Result<Response> {
        self.inner
            .pipeline
            .send_request(&self.inner.endpoint, method, url, options)
            .await
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
