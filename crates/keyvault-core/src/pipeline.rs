//! The request pipeline: URL policy, common headers, challenge
//! authentication, retries and tracing, directly on `reqwest`.
//!
//! A client method builds a [`Request`] and calls [`Pipeline::send`]; the
//! pipeline checks the URL, sets `api-version`, `User-Agent`,
//! `x-ms-client-request-id` and the content type, authenticates with the
//! vault's challenge, retries what may be retried, and turns a failure status
//! into an [`Error`]. One tracing span covers the whole operation.
//!
//! # The challenge flow
//! Each try looks up the vault's authority (`scheme://host:port`) in the
//! process-wide challenge cache:
//!
//! 1. unknown: the request goes without token and without body; a `401` with
//!    a bearer challenge is verified (its resource host must be the vault's
//!    host or a parent domain of it), cached, and the request is sent again
//!    with its body and a token. Any other answer that is not retried means
//!    the service does not authenticate (an emulator) and is cached as such.
//! 2. known: the token for the cached scope comes from the token cache; a
//!    `401` with a new challenge updates the cache and is answered once with
//!    a fresh token; a `401` without a challenge clears the entry.
//!
//! # Tracing
//! `tracing` span names are static, so the operation span is
//! `keyvault.operation`, with `otel.name = "KeyVault.<operation id>"` (the
//! name OpenTelemetry exporters use) and Azure's semantic-convention fields
//! (`az.namespace`, `server.address`, `http.request.method`,
//! `http.response.status_code`, `az.service_request_id`,
//! `http.request.resend_count`, `error.type`, ...). Each try logs a TRACE
//! event with the allow-listed headers; retries log DEBUG events with the
//! cause and the delay. The crate never installs a subscriber.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use azure_core::credentials::TokenCredential;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use tracing::Instrument;
use url::Url;

use crate::{
    ClientOptions, Error, ErrorKind, RequestOptions, Result, RetryOptions, SendRequestOptions,
    challenge::{self, Challenge, Known, Parsed},
    credential::TokenCache,
    http::{Request, Response},
    random, retry, transport,
};

/// Who is calling: the client crate's name and version.
///
/// ```
/// let info = keyvault_core::ClientInfo {
///     name: "secrets",
///     version: "0.1.0",
/// };
/// # let _ = info;
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ClientInfo {
    /// The crate's short name for the `User-Agent` (`secrets` gives
    /// `keyvault-rs-secrets/<version>`); a leading `keyvault-` is dropped.
    pub name: &'static str,
    /// The crate's version, usually `env!("CARGO_PKG_VERSION")`.
    pub version: &'static str,
}

/// Per-operation context: the operation id that names the tracing span
/// (`KeyVault.<operation id>`), when the method alone does not tell, whether
/// the operation is idempotent, whether an `api-version` already in the
/// URL is kept, and the caller's [`RequestOptions`].
#[derive(Clone, Debug)]
pub struct Context {
    operation_id: &'static str,
    idempotent: Option<bool>,
    keep_api_version: bool,
    call: Option<Arc<RequestOptions>>,
}

impl Context {
    /// A context for the operation `operation_id`, for example `GetSecret`.
    pub const fn new(operation_id: &'static str) -> Self {
        Self {
            operation_id,
            idempotent: None,
            keep_api_version: false,
            call: None,
        }
    }

    /// Applies the caller's per-call options (headers, timeout, retries,
    /// parent span) to every request sent with this context.
    ///
    /// ```
    /// use std::time::Duration;
    /// use keyvault_core::{Context, RequestOptions};
    ///
    /// let ctx = Context::new("GetSecret")
    ///     .with_request_options(RequestOptions::default().timeout(Duration::from_secs(2)));
    /// assert_eq!(ctx.request_options().and_then(|o| o.timeout), Some(Duration::from_secs(2)));
    /// ```
    #[must_use]
    pub fn with_request_options(mut self, options: impl Into<Arc<RequestOptions>>) -> Self {
        self.call = Some(options.into());
        self
    }

    /// The caller's per-call options, if any.
    pub fn request_options(&self) -> Option<&RequestOptions> {
        self.call.as_deref()
    }

    /// Keeps an `api-version` the request's URL already has, instead of
    /// replacing it with the pipeline's; a URL without one still gets the
    /// pipeline's. For raw requests where the caller pins a version.
    ///
    /// Honoured by [`Pipeline::send`] and [`Pipeline::send_raw`]. A
    /// [`Pager`](crate::Pager) and a [`Poller`](crate::Poller) ignore it:
    /// the links the service hands back carry whatever version it chose, and
    /// the next requests must speak the pipeline's.
    ///
    /// ```
    /// let ctx = keyvault_core::Context::new("SendRequest").keep_api_version();
    /// assert!(ctx.keeps_api_version());
    /// assert!(!keyvault_core::Context::new("GetSecret").keeps_api_version());
    /// ```
    #[must_use]
    pub fn keep_api_version(mut self) -> Self {
        self.keep_api_version = true;
        self
    }

    /// Whether an `api-version` already in the URL is kept; see
    /// [`keep_api_version`](Self::keep_api_version).
    pub const fn keeps_api_version(&self) -> bool {
        self.keep_api_version
    }

    /// The same context, replacing any `api-version` in the URL.
    pub(crate) fn replacing_api_version(mut self) -> Self {
        self.keep_api_version = false;
        self
    }

    /// Declares whether the operation may be repeated safely. By default GET,
    /// HEAD, PUT, DELETE and OPTIONS are idempotent and POST and PATCH are not.
    #[must_use]
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = Some(idempotent);
        self
    }

    /// The operation id.
    pub fn operation_id(&self) -> &'static str {
        self.operation_id
    }

    fn is_idempotent(&self, method: &Method) -> bool {
        self.idempotent.unwrap_or(matches!(
            *method,
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        ))
    }
}

/// The HTTP pipeline every client holds. Cheap to clone (an `Arc` inside),
/// `Send + Sync`.
///
/// ```no_run
/// use std::sync::Arc;
/// use keyvault_core::{ClientInfo, ClientOptions, Context, Pipeline, http::{Method, Request}};
/// # async fn demo(credential: Arc<dyn azure_core::credentials::TokenCredential>) -> keyvault_core::Result<()> {
/// let info = ClientInfo { name: "secrets", version: "0.1.0" };
/// let pipeline = Pipeline::new(info, credential, "7.6", ClientOptions::default())?;
/// let vault = pipeline.parse_endpoint("https://myvault.vault.azure.net")?;
/// let url = keyvault_core::http::expand_path(&vault, "/secrets", &[])?;
/// let response = pipeline.send(&Context::new("GetSecrets"), Request::new(Method::GET, url)).await?;
/// println!("{}", response.status());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    tokens: TokenCache,
    /// The challenge cache's entry of the vault last sent to.
    challenge: challenge::Recent,
    api_version: String,
    /// `api-version=<api_version>`, encoded: the query of a request whose
    /// URL has none.
    api_version_query: String,
    user_agent: HeaderValue,
    retry: RetryOptions,
    verify_challenge_resource: bool,
    allow_loopback_http: bool,
    transport_timeout: Duration,
    /// The limits of [`ClientOptions`] on what a response may make us do.
    max_response_body_size: usize,
    max_pages: Option<u32>,
    max_poll_wait: Option<Duration>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("api_version", &self.inner.api_version)
            .field("user_agent", &self.inner.user_agent)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// One failed try: the error (its message is the cause only) and whether
/// trying again is allowed.
struct Failure {
    error: Error,
    retriable: bool,
    /// Whether the connection could not be opened (nothing was sent).
    connect: bool,
}

impl Failure {
    fn fatal(error: Error) -> Self {
        Self {
            error,
            retriable: false,
            connect: false,
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Self::fatal(error)
    }
}

/// `x-ms-client-request-id`, named once: a header name given as a string is
/// parsed and checked at every use.
const CLIENT_REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-client-request-id");

/// `x-ms-request-id`, the service's id of a request.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-ms-request-id");

/// Header names whose values may be logged; every other value is redacted.
const LOGGABLE_HEADERS: &[&str] = &[
    "accept",
    "content-length",
    "content-type",
    "date",
    "retry-after",
    "user-agent",
    "x-ms-client-request-id",
    "x-ms-request-id",
    "x-ms-retry-after-ms",
    "retry-after-ms",
    "x-ms-keyvault-service-version",
    "x-ms-keyvault-region",
    "x-ms-keyvault-network-info",
    "x-ms-server-latency",
    "www-authenticate",
    "azure-asyncoperation",
];

/// Debug-prints a header map with the values of non-allow-listed headers
/// replaced by `REDACTED`.
pub(crate) struct SafeHeaders<'a>(pub(crate) &'a HeaderMap);

impl std::fmt::Debug for SafeHeaders<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (name, value) in self.0 {
            let shown = if LOGGABLE_HEADERS.contains(&name.as_str()) {
                value.to_str().unwrap_or("<binary>")
            } else {
                "REDACTED"
            };
            m.entry(&name.as_str(), &shown);
        }
        m.finish()
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `METHOD scheme://host[:port]/path`, without the query string.
/// Whether waiting `delay` from `now` ends after `deadline` (a delay too
/// large to add to `now`, from a `Retry-After` of centuries, does).
fn past(now: Instant, delay: Duration, deadline: Instant) -> bool {
    now.checked_add(delay).is_none_or(|at| at > deadline)
}

/// A URL as given, up to its query or fragment (which may hold a SAS
/// token): what an error may quote.
fn before_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

fn describe(method: &Method, url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    format!("{method} {u}")
}

impl Pipeline {
    /// Builds a pipeline for the client described by `info`, authenticating
    /// with `credential` and sending `api_version` as `api-version`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when a custom root certificate is not
    /// valid PEM, or the HTTP client cannot be built.
    pub fn new(
        info: ClientInfo,
        credential: Arc<dyn TokenCredential>,
        api_version: &str,
        options: ClientOptions,
    ) -> Result<Self> {
        let client = transport::build_client(&options)?;
        let short = info.name.strip_prefix("keyvault-").unwrap_or(info.name);
        let mut ua = format!(
            "keyvault-rs-{short}/{} rust/{} ({})",
            info.version,
            env!("KEYVAULT_RUSTC_VERSION"),
            std::env::consts::OS
        );
        if let Some(prefix) = options.user_agent_prefix.as_deref().map(str::trim)
            && !prefix.is_empty()
        {
            ua = format!("{prefix} {ua}");
        }
        let user_agent = HeaderValue::from_str(&ua).map_err(|_| {
            Error::new(
                ErrorKind::InvalidInput,
                "the user agent prefix holds characters not allowed in an HTTP header",
            )
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                tokens: TokenCache::new(credential),
                challenge: challenge::Recent::default(),
                api_version: api_version.to_owned(),
                api_version_query: url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("api-version", api_version)
                    .finish(),
                user_agent,
                retry: options.retry,
                verify_challenge_resource: options.verify_challenge_resource,
                allow_loopback_http: options.allow_loopback_http,
                transport_timeout: options.transport_timeout,
                max_response_body_size: options.max_response_body_size,
                max_pages: options.max_pages,
                max_poll_wait: options.max_poll_wait,
            }),
        })
    }

    /// [`ClientOptions::max_pages`], for the pagers.
    pub(crate) fn max_pages(&self) -> Option<u32> {
        self.inner.max_pages
    }

    /// [`ClientOptions::max_poll_wait`], for the pollers.
    pub(crate) fn max_poll_wait(&self) -> Option<Duration> {
        self.inner.max_poll_wait
    }

    /// The `api-version` sent with every request.
    pub fn api_version(&self) -> &str {
        &self.inner.api_version
    }

    /// The `User-Agent` sent with every request.
    pub fn user_agent(&self) -> &str {
        self.inner.user_agent.to_str().unwrap_or("")
    }

    /// Parses and checks a vault or HSM URL given by a user, as clients do
    /// in their constructors.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when `endpoint` is not an absolute URL
    /// with a host, has a query or fragment, or fails [`check_url`](Self::check_url).
    pub fn parse_endpoint(&self, endpoint: &str) -> Result<Url> {
        let url = Url::parse(endpoint).map_err(|e| {
            Error::with_source(
                ErrorKind::InvalidInput,
                format!("`{}` is not a valid vault URL", before_query(endpoint)),
                e,
            )
        })?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "the vault URL `{}` must not have a query or fragment",
                    before_query(endpoint)
                ),
            ));
        }
        self.check_url(&url)?;
        Ok(url)
    }

    /// Checks that a request may go to `url`: `https://` with a host, or
    /// `http://` to a loopback host when
    /// [`ClientOptions::allow_loopback_http`] is set.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] naming the URL (without its query) and
    /// the rule it breaks.
    pub fn check_url(&self, url: &Url) -> Result<()> {
        // Quoted without its query, which may hold a SAS token; only when
        // the URL is refused.
        let shown = || before_query(url.as_str());
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("the URL `{}` has no host", shown()),
            ));
        }
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.inner.allow_loopback_http && is_loopback(url) => Ok(()),
            "http" if is_loopback(url) => Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "`{}` uses plain http; set allow_loopback_http in the client options \
                     to use a local emulator over http",
                    shown()
                ),
            )),
            other => Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "`{}` uses the scheme `{other}`; only https is allowed",
                    shown()
                ),
            )),
        }
    }

    /// Sends `request` and returns the response when its status is a success:
    /// one of the request's [success statuses](Request::success_statuses),
    /// or any 2xx when it names none.
    ///
    /// # Errors
    /// - [`ErrorKind::Http`] when the service answers with a failure status,
    ///   with the status, service error code, message and request id, or
    ///   with a 2xx the request does not expect (saying which it expects);
    /// - [`ErrorKind::Io`] or [`ErrorKind::Timeout`] when the request could
    ///   not be completed within the retry budget, naming the root cause and
    ///   the number of tries;
    /// - [`ErrorKind::InvalidInput`], [`ErrorKind::Credential`],
    ///   [`ErrorKind::Authentication`] as the URL check, the credential and
    ///   the challenge fail.
    pub async fn send(&self, ctx: &Context, mut request: Request) -> Result<Response> {
        let expected = request.success_statuses();
        let (response, attempts, elapsed) = self.execute(ctx, &mut request).await?;
        let status = response.status();
        if status.is_success() && (expected.is_empty() || expected.contains(&status.as_u16())) {
            return Ok(response);
        }
        let mut what = describe(request.method(), request.url());
        if status.is_success() {
            let names: Vec<String> = expected
                .iter()
                .map(|&c| StatusCode::from_u16(c).map_or(c.to_string(), |s| s.to_string()))
                .collect();
            what.push_str(&format!(" (it expects {})", names.join(" or ")));
        }
        let context = if attempts > 1 {
            format!(
                "{what} (gave up after {attempts} tries in {:.1}s)",
                elapsed.as_secs_f64()
            )
        } else {
            what
        };
        Err(Error::from_response(&context, &response).set_attempts(attempts))
    }

    /// Sends `request` and returns the response whatever its status, after
    /// authentication and retries. For callers that interpret statuses
    /// themselves (a poller waiting for a 404 to go away, an escape hatch;
    /// with [`Context::keep_api_version`], an escape hatch may pin its own
    /// `api-version`).
    ///
    /// # Errors
    /// As [`send`](Self::send), except that no failure status is an error.
    pub async fn send_raw(&self, ctx: &Context, mut request: Request) -> Result<Response> {
        self.execute(ctx, &mut request).await.map(|(r, _, _)| r)
    }

    /// Sends a request written by hand, as the clients' `send_request` do:
    /// `url` is a path relative to `endpoint` (the vault or HSM URL, taken
    /// as a folder: `secrets` under `https://v.vault.azure.net` is
    /// `https://v.vault.azure.net/secrets`) or an absolute URL; the options'
    /// headers are added and their body sent as given, as JSON unless the
    /// headers name another content type. An `api-version` in `url` is
    /// kept; a URL without one gets the pipeline's. The operation is named
    /// `SendRequest`, and the response is returned whatever its status.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a `url` that cannot be resolved, and
    /// the errors of [`send_raw`](Self::send_raw) (a URL on a scheme the
    /// pipeline may not use, transport, credential and authentication
    /// errors). A failure status is not an error.
    ///
    /// ```no_run
    /// use keyvault_core::{Pipeline, SendRequestOptions, http::Method};
    /// # async fn demo(pipeline: Pipeline) -> keyvault_core::Result<()> {
    /// let vault = pipeline.parse_endpoint("https://myvault.vault.azure.net")?;
    /// let options = SendRequestOptions { body: Some(br#"{"value":"v"}"#.to_vec()), ..Default::default() };
    /// let response = pipeline
    ///     .send_request(&vault, Method::PUT, "secrets/raw?api-version=7.5", Some(options))
    ///     .await?;
    /// println!("{}", response.status());
    /// # Ok(()) }
    /// ```
    pub async fn send_request(
        &self,
        endpoint: &Url,
        method: Method,
        url: &str,
        options: Option<SendRequestOptions>,
    ) -> Result<Response> {
        let o = options.unwrap_or_default();
        let mut base = endpoint.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let resolved = base.join(url).map_err(|e| {
            Error::with_source(
                ErrorKind::InvalidInput,
                format!(
                    "`{}` is neither a URL nor a path relative to {endpoint}",
                    before_query(url)
                ),
                e,
            )
        })?;
        let mut request = Request::new(method, resolved);
        for (name, value) in &o.headers {
            request.insert_header(name.clone(), value.clone());
        }
        if let Some(body) = o.body {
            if !request.headers().contains_key(header::CONTENT_TYPE) {
                request.insert_header(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            request.set_body(body);
        }
        let ctx = Context::new("SendRequest").keep_api_version();
        self.send_raw(&ctx, request).await
    }

    async fn execute(
        &self,
        ctx: &Context,
        request: &mut Request,
    ) -> Result<(Response, u32, Duration)> {
        self.check_url(request.url())?;
        self.prepare(ctx, request);
        let parent = ctx
            .request_options()
            .and_then(|o| o.parent.clone())
            .unwrap_or_else(tracing::Span::current);
        let span = tracing::info_span!(
            parent: &parent,
            "keyvault.operation",
            otel.name = %format_args!("KeyVault.{}", ctx.operation_id),
            otel.kind = "client",
            az.namespace = "Microsoft.KeyVault",
            server.address = request.url().host_str().unwrap_or(""),
            server.port = request.url().port_or_known_default(),
            http.request.method = %request.method(),
            http.response.status_code = tracing::field::Empty,
            az.service_request_id = tracing::field::Empty,
            az.client_request_id = tracing::field::Empty,
            http.request.resend_count = tracing::field::Empty,
            error.type = tracing::field::Empty,
        );
        // What only a span that is recorded needs is not looked up for one
        // that is not.
        if !span.is_disabled()
            && let Some(id) =
                (request.request_id.as_ref()).or_else(|| request.headers().get(&CLIENT_REQUEST_ID))
        {
            span.record("az.client_request_id", id.to_str().unwrap_or(""));
        }
        let result = self.retry_loop(ctx, request).instrument(span.clone()).await;
        if span.is_disabled() {
            return result;
        }
        match &result {
            Ok((resp, attempts, _)) => {
                span.record("http.response.status_code", resp.status().as_u16());
                span.record("http.request.resend_count", attempts.saturating_sub(1));
                if let Some(id) = resp
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                {
                    span.record("az.service_request_id", id);
                }
                if !resp.status().is_success() {
                    span.record("error.type", resp.status().as_str());
                }
            }
            Err(e) => {
                span.record("http.request.resend_count", e.attempts().saturating_sub(1));
                span.record("error.type", tracing::field::display(e.kind()));
            }
        }
        result
    }

    /// Sets `api-version` (replacing one a `nextLink` may carry, unless the
    /// context keeps it), the request's own headers (the call's, the
    /// content type) and its request id, unless the headers name one.
    /// `User-Agent`, `Accept` and the request id are added at each try
    /// ([`try_headers`](Self::try_headers)).
    fn prepare(&self, ctx: &Context, request: &mut Request) {
        let api_version = self.inner.api_version.as_str();
        let url = request.url_mut();
        if url.query().is_none() {
            url.set_query(Some(&self.inner.api_version_query));
        } else if !(ctx.keep_api_version && url.query_pairs().any(|(k, _)| k == "api-version")) {
            set_api_version(url, api_version);
        }
        let has_body = request.body().is_some();
        let headers = request.headers_mut();
        if let Some(call) = ctx.request_options() {
            for (name, value) in &call.headers {
                if name != header::USER_AGENT && name != header::AUTHORIZATION {
                    headers.insert(name.clone(), value.clone());
                }
            }
        }
        if has_body {
            headers
                .entry(header::CONTENT_TYPE)
                .or_insert(HeaderValue::from_static("application/json"));
        }
        if !headers.contains_key(&CLIENT_REQUEST_ID) {
            request.request_id = Some(random::request_id());
        }
    }

    async fn retry_loop(
        &self,
        ctx: &Context,
        request: &Request,
    ) -> Result<(Response, u32, Duration)> {
        let call = ctx.request_options();
        let opts = call
            .and_then(|c| c.retry.as_ref())
            .unwrap_or(&self.inner.retry);
        let budget = match call.and_then(|c| c.timeout) {
            Some(timeout) => timeout.min(opts.budget),
            None => opts.budget,
        };
        let start = Instant::now();
        // A budget too large to add to `start` (`Duration::MAX`) is a century.
        let deadline = start
            .checked_add(budget)
            .unwrap_or_else(|| start + Duration::from_secs(100 * 365 * 24 * 3600));
        let idempotent = ctx.is_idempotent(request.method());
        let authority = challenge::authority(request.url());
        let mut attempts: u32 = 0;
        let (mut status_retries, mut connect_retries, mut read_retries) = (0u32, 0u32, 0u32);
        // What the previous try ended with, so that a try cut short by the
        // end of the budget still reports the root cause.
        let mut last_status: Option<Response> = None;
        let mut last_cause: Option<String> = None;
        loop {
            attempts += 1;
            let outcome = self.attempt(request, authority, deadline, idempotent).await;
            let now = Instant::now();
            let delay = match outcome {
                Ok((resp, body_sent)) => {
                    let status = resp.status();
                    let retriable = retry::should_retry(status, resp.headers())
                        && (idempotent || !body_sent || retry::not_processed(status));
                    if !retriable
                        || attempts > opts.max_retries
                        || status_retries >= opts.max_status_retries
                    {
                        return Ok((resp, attempts, now - start));
                    }
                    status_retries += 1;
                    let delay = retry::retry_after(resp.headers(), time::OffsetDateTime::now_utc())
                        .unwrap_or_else(|| retry::backoff(opts, attempts));
                    if past(now, delay, deadline) {
                        tracing::debug!(
                            status = status.as_u16(),
                            attempts,
                            "retry budget exhausted"
                        );
                        return Ok((resp, attempts, now - start));
                    }
                    tracing::debug!(
                        status = status.as_u16(),
                        attempt = attempts,
                        delay_ms = delay.as_millis() as u64,
                        "retrying after a retriable status"
                    );
                    last_status = Some(resp);
                    delay
                }
                Err(f) => {
                    let delay = retry::backoff(opts, attempts);
                    let (count, most) = if f.connect {
                        (&mut connect_retries, opts.max_connect_retries)
                    } else {
                        (&mut read_retries, opts.max_read_retries)
                    };
                    let exhausted = *count >= most;
                    *count += 1;
                    if !f.retriable
                        || exhausted
                        || attempts > opts.max_retries
                        || past(now, delay, deadline)
                    {
                        // Only the end of the budget stands for the try
                        // before; a try that timed out on its own (a read
                        // timeout) may have been processed, and says so.
                        let budget_ran_out = f.error.kind() == ErrorKind::Timeout
                            && deadline.saturating_duration_since(now) < Duration::from_millis(5);
                        if budget_ran_out && let Some(resp) = last_status.take() {
                            return Ok((resp, attempts, now - start));
                        }
                        let mut error = f.error;
                        if budget_ran_out && let Some(cause) = last_cause.take() {
                            error = error.suffixed(&format!(" (the try before: {cause})"));
                        }
                        let what = describe(request.method(), request.url());
                        let prefix = if attempts > 1 {
                            format!(
                                "{what} failed after {attempts} tries in {:.1}s: ",
                                (now - start).as_secs_f64()
                            )
                        } else {
                            format!("{what} failed: ")
                        };
                        return Err(error.prefixed(&prefix).set_attempts(attempts));
                    }
                    tracing::debug!(
                        attempt = attempts,
                        delay_ms = delay.as_millis() as u64,
                        cause = %f.error,
                        "retrying after a transport failure"
                    );
                    last_cause = Some(f.error.to_string());
                    delay
                }
            };
            tokio::time::sleep(delay).await;
        }
    }

    /// One try, challenge flow included. Returns the response and whether
    /// the request body was sent with it.
    async fn attempt(
        &self,
        request: &Request,
        authority: &str,
        deadline: Instant,
        idempotent: bool,
    ) -> Result<(Response, bool), Failure> {
        let has_body = request.body().is_some_and(|b| !b.is_empty());
        match self.inner.challenge.cached(authority) {
            Some(Known::Bearer(ch)) => {
                let ch = self.usable(request.url(), authority, ch)?;
                let token = self.token(&ch.scope, false, deadline).await?;
                let resp = self
                    .transmit(request, true, Some(token), deadline, idempotent)
                    .await?;
                if resp.status() != StatusCode::UNAUTHORIZED {
                    return Ok((resp, has_body));
                }
                self.on_unauthorized(request, authority, resp, deadline, idempotent, true)
                    .await
            }
            Some(Known::Open) => {
                let resp = self
                    .transmit(request, true, None, deadline, idempotent)
                    .await?;
                if resp.status() != StatusCode::UNAUTHORIZED {
                    return Ok((resp, has_body));
                }
                self.on_unauthorized(request, authority, resp, deadline, idempotent, false)
                    .await
            }
            None => {
                // Discovery: no token, no body.
                let resp = self
                    .transmit(request, false, None, deadline, idempotent)
                    .await?;
                let status = resp.status();
                if status == StatusCode::UNAUTHORIZED {
                    self.on_unauthorized(request, authority, resp, deadline, idempotent, false)
                        .await
                } else if retry::should_retry(status, resp.headers()) {
                    // Nothing learnt; the retry loop decides.
                    Ok((resp, false))
                } else {
                    // The service answered without asking for a token.
                    challenge::store_open(authority);
                    if has_body {
                        let resp = self
                            .transmit(request, true, None, deadline, idempotent)
                            .await?;
                        Ok((resp, true))
                    } else {
                        Ok((resp, false))
                    }
                }
            }
        }
    }

    /// Handles a 401: a bearer challenge is verified, cached and answered
    /// with a token (refreshed when `force`, as the last one was refused);
    /// a 401 without a challenge clears the cache entry and is returned.
    async fn on_unauthorized(
        &self,
        request: &Request,
        authority: &str,
        resp: Response,
        deadline: Instant,
        idempotent: bool,
        force: bool,
    ) -> Result<(Response, bool), Failure> {
        match www_authenticate(&resp) {
            None => {
                challenge::clear(authority);
                Ok((resp, false))
            }
            Some(Parsed::Claims) => Err(claims_error().into()),
            Some(Parsed::Bearer(new)) => {
                let ch = self.accept(request.url(), authority, new)?;
                let token = self.token(&ch.scope, force, deadline).await?;
                let resp = self
                    .transmit(request, true, Some(token), deadline, idempotent)
                    .await?;
                let sent = request.body().is_some_and(|b| !b.is_empty());
                Ok((resp, sent))
            }
        }
    }

    /// A token for `scope`, within what is left of the budget.
    async fn token(&self, scope: &str, force: bool, deadline: Instant) -> Result<HeaderValue> {
        // A cached token needs no timer.
        if !force && let Some(header) = self.inner.tokens.cached(scope) {
            return Ok(header);
        }
        let deadline = tokio::time::Instant::from_std(deadline);
        match tokio::time::timeout_at(deadline, self.inner.tokens.token(scope, force)).await {
            Ok(result) => result,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("the credential returned no token for {scope} within the retry budget"),
            )),
        }
    }

    /// Verifies (unless turned off) and caches a new challenge.
    fn accept(&self, url: &Url, authority: &str, ch: Challenge) -> Result<Arc<Challenge>> {
        let mut ch = ch;
        if self.inner.verify_challenge_resource {
            challenge::verify(url, &ch)?;
            ch.verified = true;
        }
        tracing::debug!(
            scope = %ch.scope,
            tenant_id = ch.tenant_id.as_deref().unwrap_or(""),
            "authentication challenge accepted"
        );
        Ok(challenge::store(authority, ch))
    }

    /// A cached challenge, verified now if it was stored by a client that
    /// did not verify it and this one must.
    fn usable(&self, url: &Url, authority: &str, ch: Arc<Challenge>) -> Result<Arc<Challenge>> {
        if self.inner.verify_challenge_resource && !ch.verified {
            challenge::verify(url, &ch)?;
            let mut v = (*ch).clone();
            v.verified = true;
            return Ok(challenge::store(authority, v));
        }
        Ok(ch)
    }

    /// The headers of one try: the pipeline's `User-Agent` and `Accept`,
    /// the request id and the request's own headers. The request's `Accept`
    /// replaces ours; its `User-Agent` never does. Room is made for the
    /// `Authorization` too.
    fn try_headers(&self, request: &Request) -> HeaderMap {
        let own = request.headers();
        let mut headers = HeaderMap::with_capacity(own.len() + 4);
        headers.insert(header::USER_AGENT, self.inner.user_agent.clone());
        if !own.contains_key(header::ACCEPT) {
            headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        }
        if let Some(id) = &request.request_id {
            headers.insert(CLIENT_REQUEST_ID, id.clone());
        }
        for (name, value) in own {
            if name != header::USER_AGENT {
                headers.append(name.clone(), value.clone());
            }
        }
        headers
    }

    /// Sends one HTTP request and reads the whole response.
    async fn transmit(
        &self,
        request: &Request,
        with_body: bool,
        token: Option<HeaderValue>,
        deadline: Instant,
        idempotent: bool,
    ) -> Result<Response, Failure> {
        let now = Instant::now();
        let remaining = deadline.saturating_duration_since(now);
        if remaining.is_zero() {
            return Err(Failure::fatal(Error::new(
                ErrorKind::Timeout,
                "the retry budget ran out",
            )));
        }
        // One timer for the whole try, from the connection to the end of
        // the body (reqwest's own timeout would arm two: one for the
        // response, one wrapping its body).
        let try_deadline =
            tokio::time::Instant::from_std(now + remaining.min(self.inner.transport_timeout));
        let mut headers = self.try_headers(request);
        if let Some(v) = token {
            headers.insert(header::AUTHORIZATION, v);
        }
        let body = match request.body() {
            Some(b) if with_body => b.clone(),
            Some(_) => {
                headers.remove(header::CONTENT_TYPE);
                Bytes::new()
            }
            None => Bytes::new(),
        };
        let sent_body = !body.is_empty();
        tracing::trace!(
            method = %request.method(),
            url = %request.url(),
            headers = ?SafeHeaders(&headers),
            body_len = body.len(),
            "sending request"
        );
        // Built whole rather than through a `RequestBuilder`, which would
        // copy the headers one by one into a map of its own.
        let mut http = reqwest::Request::new(request.method().clone(), request.url().clone());
        *http.headers_mut() = headers;
        if sent_body || request.body().is_some() {
            *http.body_mut() = Some(body.into());
        }
        // Nothing reached the server when the connection failed; a bodiless
        // or idempotent request may be repeated anyway.
        let retriable = |connect: bool| connect || idempotent || !sent_body;
        let transport_failure = |e: reqwest::Error| {
            let (kind, what) = transport::classify(&e);
            Failure {
                connect: e.is_connect(),
                retriable: retriable(e.is_connect()),
                error: Error::with_source(kind, what, e),
            }
        };
        let max = self.inner.max_response_body_size;
        let exchange = async {
            let mut resp = (self.inner.client.execute(http).await).map_err(transport_failure)?;
            let status = resp.status();
            let headers = std::mem::take(resp.headers_mut());
            let body = transport::read_body(&mut resp, max)
                .await
                .map_err(transport_failure)?;
            Ok::<_, Failure>((status, headers, body))
        };
        let (status, headers, body) = match tokio::time::timeout_at(try_deadline, exchange).await {
            Ok(done) => done?,
            Err(_) => {
                return Err(Failure {
                    error: Error::new(ErrorKind::Timeout, "timed out"),
                    retriable: retriable(false),
                    connect: false,
                });
            }
        };
        let Some(body) = body else {
            return Err(Failure::fatal(transport::body_too_large(status, max)));
        };
        tracing::trace!(
            status = status.as_u16(),
            headers = ?SafeHeaders(&headers),
            body_len = body.len(),
            "received response"
        );
        Ok(Response::new(status, headers, body))
    }
}

/// Makes `api-version` appear once in the query, with our value.
fn set_api_version(url: &mut Url, api_version: &str) {
    let mut ours = 0;
    let mut other = false;
    for (k, v) in url.query_pairs() {
        if k == "api-version" {
            if v == api_version {
                ours += 1;
            } else {
                other = true;
            }
        }
    }
    if ours == 1 && !other {
        return;
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "api-version")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut q = url.query_pairs_mut();
    q.clear();
    for (k, v) in &kept {
        q.append_pair(k, v);
    }
    q.append_pair("api-version", api_version);
}

fn www_authenticate(resp: &Response) -> Option<Parsed> {
    resp.headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(challenge::parse)
}

fn claims_error() -> Error {
    Error::new(
        ErrorKind::Authentication,
        "the service sent a claims challenge (Continuous Access Evaluation); \
         this is not supported yet because azure_core's token request options cannot carry claims",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_is_send_sync_clone() {
        fn assert<T: Send + Sync + Clone + 'static>() {}
        assert::<Pipeline>();
    }

    #[test]
    fn safe_headers_redact_unknown_values() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc.def"),
        );
        h.insert("x-ms-request-id", HeaderValue::from_static("rid"));
        let shown = format!("{:?}", SafeHeaders(&h));
        assert!(!shown.contains("abc.def"), "{shown}");
        assert!(shown.contains("REDACTED"));
        assert!(shown.contains("rid"));
    }

    #[test]
    fn context_idempotency_defaults() {
        assert!(Context::new("x").is_idempotent(&Method::PUT));
        assert!(!Context::new("x").is_idempotent(&Method::POST));
        assert!(
            Context::new("x")
                .idempotent(true)
                .is_idempotent(&Method::POST)
        );
    }
}
