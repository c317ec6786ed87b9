//! Options of the [`SecretClient`](crate::SecretClient) and of its methods.
//!
//! Every options type implements `Default`; set only the fields you need
//! and pass `None` for the defaults.

use std::{collections::HashMap, time::Duration};

use keyvault_core::client::ClientCoreOptions;
use time::OffsetDateTime;

use crate::{ApiVersion, ContentType, RequestOptions};

/// Options of [`SecretClient::new`](crate::SecretClient::new): the API
/// version (default: the newest stable version, [`ApiVersion::V2026_04_01`])
/// and the [`ClientOptions`](crate::ClientOptions) every client takes.
///
/// ```
/// use keyvault_secrets::{ApiVersion, ClientOptions, SecretClientOptions};
///
/// let options = SecretClientOptions {
///     api_version: ApiVersion::V7_6,
///     client_options: ClientOptions {
///         user_agent_prefix: Some("my-app/1.0".into()),
///         ..Default::default()
///     },
/// };
/// # let _ = options;
/// ```
pub type SecretClientOptions = ClientCoreOptions<ApiVersion>;

/// Options of [`SecretClient::set_secret`](crate::SecretClient::set_secret).
///
/// `attributes` are sent only when one of `enabled`, `not_before` or
/// `expires_on` is set; fields left `None` are not sent.
///
/// ```
/// use keyvault_secrets::SetSecretOptions;
/// use time::{Duration, OffsetDateTime};
///
/// let options = SetSecretOptions {
///     content_type: Some("password".into()),
///     expires_on: Some(OffsetDateTime::now_utc() + Duration::days(90)),
///     tags: Some([("owner".to_owned(), "billing".to_owned())].into()),
///     ..Default::default()
/// };
/// # let _ = options;
/// ```
#[derive(Clone, Debug, Default)]
pub struct SetSecretOptions {
    /// Whether the new version can be read.
    pub enabled: Option<bool>,
    /// User-defined name/value pairs (at most 15).
    pub tags: Option<HashMap<String, String>>,
    /// A hint about what the value is, for example `text/plain` or `password`.
    pub content_type: Option<String>,
    /// The version cannot be used before this time.
    pub not_before: Option<OffsetDateTime>,
    /// The version cannot be used after this time.
    pub expires_on: Option<OffsetDateTime>,
    /// Per-call headers, timeout, retries and parent span.
    pub request_options: RequestOptions,
}

/// Options of [`SecretClient::get_secret`](crate::SecretClient::get_secret).
#[derive(Clone, Debug, Default)]
pub struct GetSecretOptions {
    /// The version to read; `None` reads the latest version.
    pub version: Option<String>,
    /// For a secret that backs a certificate: the format to return the
    /// certificate in (sent as `outContentType`). Needs API version
    /// `2025-06-01-preview` or newer.
    pub out_content_type: Option<ContentType>,
    /// Per-call headers, timeout, retries and parent span.
    pub request_options: RequestOptions,
}

impl GetSecretOptions {
    /// Options that read `version`.
    ///
    /// ```
    /// let options = keyvault_secrets::GetSecretOptions::version("0123abcd");
    /// assert_eq!(options.version.as_deref(), Some("0123abcd"));
    /// ```
    pub fn version(version: impl Into<String>) -> Self {
        Self {
            version: Some(version.into()),
            ..Default::default()
        }
    }
}

/// Options of
/// [`SecretClient::update_secret_properties`](crate::SecretClient::update_secret_properties).
///
/// Fields left `None` keep their value in the vault.
///
/// ```
/// use keyvault_secrets::UpdateSecretPropertiesOptions;
///
/// // Disable one version; everything else stays as it is.
/// let options = UpdateSecretPropertiesOptions {
///     version: Some("0123456789abcdef0123456789abcdef".into()),
///     enabled: Some(false),
///     ..Default::default()
/// };
/// # let _ = options;
/// ```
#[derive(Clone, Debug, Default)]
pub struct UpdateSecretPropertiesOptions {
    /// The version to update; `None` updates the latest version.
    pub version: Option<String>,
    /// Whether the version can be read.
    pub enabled: Option<bool>,
    /// New tags, replacing the old ones.
    pub tags: Option<HashMap<String, String>>,
    /// A new content type.
    pub content_type: Option<String>,
    /// A new not-before time.
    pub not_before: Option<OffsetDateTime>,
    /// A new expiry time.
    pub expires_on: Option<OffsetDateTime>,
    /// Per-call headers, timeout, retries and parent span.
    pub request_options: RequestOptions,
}

/// Options of the list methods
/// ([`list_properties_of_secrets`](crate::SecretClient::list_properties_of_secrets),
/// [`list_properties_of_secret_versions`](crate::SecretClient::list_properties_of_secret_versions),
/// [`list_deleted_secrets`](crate::SecretClient::list_deleted_secrets)).
///
/// ```no_run
/// use futures::TryStreamExt;
/// use keyvault_secrets::ListOptions;
/// # async fn demo(client: keyvault_secrets::SecretClient, saved: String) -> keyvault_secrets::Result<()> {
/// // Continue a listing where an earlier one stopped, 10 items a page.
/// let options = ListOptions {
///     max_page_size: Some(10),
///     continuation_token: Some(saved),
///     ..Default::default()
/// };
/// let rest: Vec<_> = client.list_properties_of_secrets(Some(options)).try_collect().await?;
/// # let _ = rest; Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    /// The most items per page (sent as `maxresults`; the service accepts 1
    /// to 25 and uses 25 when it is absent).
    pub max_page_size: Option<u32>,
    /// Resume a listing at the page this token names: a
    /// [`Page::continuation_token`](crate::Page::continuation_token) of an
    /// earlier listing of the same kind.
    pub continuation_token: Option<String>,
    /// Per-call headers, timeout, retries and parent span.
    pub request_options: RequestOptions,
}

/// Options of
/// [`begin_delete_secret`](crate::SecretClient::begin_delete_secret),
/// [`begin_recover_deleted_secret`](crate::SecretClient::begin_recover_deleted_secret)
/// and their `resume_*` methods.
///
/// ```
/// use std::time::Duration;
/// let options = keyvault_secrets::PollerOptions {
///     frequency: Some(Duration::from_millis(500)),
///     ..Default::default()
/// };
/// # let _ = options;
/// ```
#[derive(Clone, Debug, Default)]
pub struct PollerOptions {
    /// The delay between two status requests. Default 2 seconds.
    pub frequency: Option<Duration>,
    /// Per-call headers, timeout, retries and parent span.
    pub request_options: RequestOptions,
}
