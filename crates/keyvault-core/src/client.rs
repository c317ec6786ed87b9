//! [`ClientCore`]: what every client holds (the pipeline, the checked vault
//! or HSM URL, the API version), and the steps every client method takes
//! through it: send a generated request, list, poll, gate on the version.
//!
//! A client crate's client is `struct Client { core: ClientCore<ApiVersion> }`
//! with its shared public methods declared by [`client_methods!`](crate::client_methods),
//! and a method body is: build the request with the generated builder, send
//! it through the core, decode the model.

use std::{sync::Arc, time::Duration};

use serde::de::DeserializeOwned;
use url::Url;

use crate::{
    ClientInfo, ClientOptions, Context, Error, ErrorKind, ItemPager, Pipeline, RequestOptions,
    Result, SendRequestOptions, TokenCredential,
    api_version::ServiceVersion,
    http::{Method, Request, Response},
    paging::{Paged, Pager},
    poller::Poller,
};

/// Options of a client's constructor: the API version and the options
/// every client takes. Client crates name it for their version enum
/// (`SecretClientOptions` is `ClientCoreOptions<keyvault_secrets::ApiVersion>`).
///
/// ```
/// use keyvault_core::{ClientOptions, client::ClientCoreOptions};
///
/// let options = ClientCoreOptions {
///     api_version: "7.6".to_owned(),
///     client_options: ClientOptions {
///         user_agent_prefix: Some("my-app/1.0".into()),
///         ..Default::default()
///     },
/// };
/// # let _ = options;
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClientCoreOptions<V> {
    /// The service API version, sent as `api-version` on every request.
    /// Default: the crate's newest stable version.
    pub api_version: V,
    /// Retries, transport, extra trusted root certificates, user agent,
    /// `verify_challenge_resource` and `allow_loopback_http`.
    pub client_options: ClientOptions,
}

/// The shared state of a client: cheap to clone (an `Arc` inside),
/// `Send + Sync`.
///
/// ```no_run
/// use std::sync::Arc;
/// use keyvault_core::{ClientInfo, client::ClientCore, TokenCredential};
///
/// keyvault_core::api_version_enum! {
///     /// A service API version.
///     pub enum ApiVersion {
///         /// `7.6`.
///         V7_6 => "7.6",
///     }
///     default = V7_6;
///     ordered = ["7.6"];
/// }
///
/// # async fn demo(credential: Arc<dyn TokenCredential>) -> keyvault_core::Result<()> {
/// let info = ClientInfo { name: "secrets", version: "0.1.0" };
/// let core = ClientCore::<ApiVersion>::new(
///     info,
///     "https://myvault.vault.azure.net",
///     "an Azure Key Vault",
///     credential,
///     None,
/// )?;
/// assert_eq!(core.url(), "https://myvault.vault.azure.net");
/// let request = keyvault_core::http::expand_path(core.endpoint(), "/secrets", &[])
///     .map(|url| keyvault_core::http::Request::new(keyvault_core::http::Method::GET, url));
/// let response = core.send("GetSecrets", request).await?;
/// # let _ = response; Ok(()) }
/// ```
pub struct ClientCore<V> {
    inner: Arc<Inner<V>>,
    call: Option<Arc<RequestOptions>>,
}

struct Inner<V> {
    pipeline: Pipeline,
    endpoint: Url,
    api_version: V,
}

impl<V> Clone for ClientCore<V> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            call: self.call.clone(),
        }
    }
}

impl<V: ServiceVersion> std::fmt::Debug for ClientCore<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCore")
            .field("url", &self.url())
            .field("api_version", &self.inner.api_version)
            .finish_non_exhaustive()
    }
}

impl<V: ServiceVersion> ClientCore<V> {
    /// Builds the pipeline and checks `url`, the vault or HSM URL a user
    /// gave: spaces and slashes around it are ignored, and it must be
    /// `https` (plain `http` only to loopback with `allow_loopback_http`).
    /// `service` says what the URL should be, for the error of an empty one
    /// (for example `an Azure Key Vault`). `None` options are the defaults.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for an empty or invalid URL, and the
    /// errors of [`Pipeline::new`].
    pub fn new(
        info: ClientInfo,
        url: &str,
        service: &str,
        credential: Arc<dyn TokenCredential>,
        options: Option<ClientCoreOptions<V>>,
    ) -> Result<Self>
    where
        V: Default,
    {
        let ClientCoreOptions {
            api_version,
            client_options,
        } = options.unwrap_or_default();
        let url = url.trim_matches(|c| c == ' ' || c == '/');
        if url.is_empty() {
            return Err(invalid(format!("vault_url must be the URL of {service}")));
        }
        let pipeline = Pipeline::new(info, credential, api_version.as_str(), client_options)?;
        let endpoint = pipeline.parse_endpoint(url)?;
        Ok(Self {
            inner: Arc::new(Inner {
                pipeline,
                endpoint,
                api_version,
            }),
            call: None,
        })
    }

    /// The same client for one call: every request sent through the
    /// returned core (pages and status requests included) carries
    /// `options`' headers, timeout, retries and parent span. What a client
    /// method does with the per-call part of its options:
    /// `self.core.with_request_options(options.request_options).send(...)`.
    /// `None` keeps the core as it is.
    #[must_use]
    pub fn with_request_options(&self, options: impl Into<Option<RequestOptions>>) -> Self {
        let call = match options.into() {
            // Options that change nothing (what a method given no options
            // passes) cost no allocation.
            Some(o) if is_default(&o) => None,
            Some(o) => Some(Arc::new(o)),
            None => self.call.clone(),
        };
        Self {
            inner: self.inner.clone(),
            call,
        }
    }

    /// The context of `operation`, with this core's per-call options.
    fn context(&self, operation: &'static str) -> Context {
        let ctx = Context::new(operation);
        match &self.call {
            Some(call) => ctx.with_request_options(call.clone()),
            None => ctx,
        }
    }

    /// The pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// The vault or HSM URL, parsed: what generated request builders take.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// The vault or HSM URL, without a trailing slash.
    pub fn url(&self) -> &str {
        self.inner.endpoint.as_str().trim_end_matches('/')
    }

    /// The API version the client sends.
    pub fn api_version(&self) -> &V {
        &self.inner.api_version
    }

    /// Fails unless the client's API version is `minimum` or newer: a
    /// version gate for `feature` (an option or a method).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] naming `feature`, the client's version
    /// and `minimum`.
    pub fn require(&self, feature: &str, minimum: &str) -> Result<()> {
        let version = &self.inner.api_version;
        if version.at_least(minimum) {
            return Ok(());
        }
        Err(invalid(format!(
            "{feature} is not available in API version {version}; use {minimum} or newer"
        )))
    }

    /// Sends `request` (as a generated builder returns it) for the
    /// operation `operation`; a failure status is an error.
    ///
    /// # Errors
    /// The builder's error, and those of [`Pipeline::send`].
    pub async fn send(
        &self,
        operation: &'static str,
        request: Result<Request>,
    ) -> Result<Response> {
        self.inner
            .pipeline
            .send(&self.context(operation), request?)
            .await
    }

    /// Sends a request written by hand; see [`Pipeline::send_request`].
    ///
    /// # Errors
    /// As [`Pipeline::send_request`].
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

    /// A lazy listing: the pages of `P` from `first` (or from the page
    /// `continuation` names), each item converted by `map`. An error of
    /// `first` or of the token comes out of the listing at its first poll,
    /// an error of `map` in place of the page holding the item.
    pub fn pager<P: Paged, T: Send + 'static>(
        &self,
        operation: &'static str,
        first: Result<Request>,
        continuation: Option<&str>,
        map: impl FnMut(P::Item) -> Result<T> + Send + 'static,
    ) -> ItemPager<T> {
        let pager = first.and_then(|first| {
            Pager::<P>::start_at(
                self.inner.pipeline.clone(),
                self.context(operation),
                first,
                continuation,
            )
        });
        ItemPager::try_new(pager, map)
    }

    /// A poller that GETs the URL of `status` (a generated request of the
    /// operation `operation`) until it stops answering `404`.
    ///
    /// # Errors
    /// The builder's error.
    pub fn until_found<T: DeserializeOwned + Send + 'static>(
        &self,
        operation: &'static str,
        status: Result<Request>,
        frequency: Duration,
    ) -> Result<Poller<T>> {
        Ok(Poller::until_found(
            self.inner.pipeline.clone(),
            self.context(operation),
            status?.url().clone(),
        )
        .with_frequency(frequency))
    }

    /// A poller of the `Azure-AsyncOperation` status of `initial`, the
    /// answer that started an operation; `operation` names the status
    /// requests. The status URL must be on this client's vault or HSM (the
    /// same scheme, host and port): a token is never sent where the service
    /// points but the user did not.
    ///
    /// # Errors
    /// As [`Poller::from_async_operation`]; [`ErrorKind::Deserialize`] for
    /// a status URL of another origin.
    pub fn async_operation<T: DeserializeOwned + Send + 'static>(
        &self,
        operation: &'static str,
        initial: &Response,
        frequency: Duration,
    ) -> Result<Poller<T>> {
        let poller = Poller::from_async_operation(
            self.inner.pipeline.clone(),
            self.context(operation),
            initial,
        )?;
        if let Some(url) = poller.status_url()
            && url.origin() != self.inner.endpoint.origin()
        {
            return Err(Error::new(
                ErrorKind::Deserialize,
                format!(
                    "the status URL of the operation {operation} points at {}, not at {}; \
                     it is not followed",
                    url.origin().ascii_serialization(),
                    self.inner.endpoint.origin().ascii_serialization()
                ),
            ));
        }
        Ok(poller.with_frequency(frequency))
    }

    /// Continues polling from a [`Poller::resume_token`] of an operation on
    /// this client's vault or HSM; `operation` names the status requests.
    ///
    /// # Errors
    /// As [`Poller::resume`]: a token that is not valid, or one for an
    /// operation of another vault or HSM.
    pub fn resume<T: DeserializeOwned + Send + 'static>(
        &self,
        operation: &'static str,
        token: &str,
        frequency: Duration,
    ) -> Result<Poller<T>> {
        Poller::resume(
            self.inner.pipeline.clone(),
            self.context(operation),
            token,
            &self.inner.endpoint,
        )
        .map(|p| p.with_frequency(frequency))
    }
}

/// Whether per-call options are the defaults, which change nothing.
fn is_default(o: &RequestOptions) -> bool {
    let RequestOptions {
        headers,
        timeout,
        retry,
        parent,
    } = o;
    headers.is_empty() && timeout.is_none() && retry.is_none() && parent.is_none()
}

/// An [`ErrorKind::InvalidInput`] error: an argument a client refuses
/// before sending anything.
pub fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, message)
}

/// Refuses an empty `name` of a `what`.
///
/// # Errors
/// [`ErrorKind::InvalidInput`]: `the {what} name must not be empty`.
///
/// ```
/// let e = keyvault_core::client::check_name("secret", "").unwrap_err();
/// assert_eq!(e.to_string(), "the secret name must not be empty");
/// assert!(keyvault_core::client::check_name("secret", "s").is_ok());
/// ```
pub fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(invalid(format!("the {what} name must not be empty")));
    }
    Ok(())
}

/// Declares the public methods every client shares, over its `core:
/// ClientCore<ApiVersion>` field: `vault_url`, `api_version` and
/// `send_request`. Use it inside the client's `impl` block, with the
/// client's path and a relative URL for the `send_request` example.
///
/// ```ignore
/// impl SecretClient {
///     keyvault_core::client_methods!(keyvault_secrets::SecretClient, ApiVersion, "secrets?maxresults=1");
/// }
/// ```
#[macro_export]
macro_rules! client_methods {
    ($krate:ident :: $client:ident, $version:ty, $example:literal) => {
        /// The vault or Managed HSM URL this client was made for, without a
        /// trailing slash.
        pub fn vault_url(&self) -> &str {
            self.core.url()
        }

        /// The API version this client sends.
        pub fn api_version(&self) -> &$version {
            self.core.api_version()
        }

        /// Sends a raw request through the client's pipeline (authentication,
        /// retries, tracing) and returns the response whatever its status.
        ///
        /// `url` may be relative (resolved against the vault or HSM URL,
        /// taken as a folder) or absolute. The options' headers are added
        /// and their body sent as given, as JSON unless the headers name
        /// another content type. `api-version` is added unless the URL has
        /// one.
        ///
        /// # Errors
        /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) for a
        /// URL that cannot be resolved or is not on an allowed scheme;
        /// transport, credential and authentication errors. A failure status
        /// is not an error.
        ///
        /// # Examples
        /// ```no_run
        #[doc = concat!("use ", stringify!($krate), "::Method;")]
        #[doc = concat!("# async fn demo(client: ", stringify!($krate), "::", stringify!($client), ") -> ", stringify!($krate), "::Result<()> {")]
        #[doc = concat!("let response = client.send_request(Method::GET, \"", $example, "\", None).await?;")]
        /// println!("{} ({} bytes)", response.status(), response.body().len());
        /// # Ok(()) }
        /// ```
        pub async fn send_request(
            &self,
            method: $crate::http::Method,
            url: &str,
            options: ::std::option::Option<$crate::SendRequestOptions>,
        ) -> $crate::Result<$crate::http::Response> {
            self.core.send_request(method, url, options).await
        }
    };
}

/// The core types every client crate re-exports, so that its users need
/// not name keyvault-core: `pub use keyvault_core::client::exports::*;`.
pub mod exports {
    pub use crate::{
        ClientOptions, CredentialKind, DefaultAzureCredential, DefaultAzureCredentialOptions,
        Error, ErrorKind, ManagedIdentityId, ProxyOptions, RequestOptions, Result, RetryMode,
        RetryOptions, SecretValue, SendRequestOptions, ServiceError, TokenCredential,
        credential_transport,
        http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode},
        paging::{ItemPager, Page, PageStream},
        poller::{PollStatus, Poller},
    };
}
