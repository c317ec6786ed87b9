//! Options shared by every client: retries, transport, TLS roots, user
//! agent; and those of a request written by hand.

use std::time::Duration;

use http::HeaderMap;

/// Options every keyvault-rs client accepts. The client crates re-export this
/// type (usually inside their own options struct).
///
/// Every field has a sensible default, so set only what you need:
///
/// ```
/// use std::time::Duration;
/// use keyvault_core::{ClientOptions, RetryOptions};
///
/// let options = ClientOptions {
///     user_agent_prefix: Some("my-app/1.2".into()),
///     retry: RetryOptions { budget: Duration::from_secs(30), ..Default::default() },
///     ..Default::default()
/// };
/// assert!(options.verify_challenge_resource);
/// ```
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// How failed requests are retried.
    pub retry: RetryOptions,
    /// Prepended to the `User-Agent` header, for example `my-app/1.2`.
    pub user_agent_prefix: Option<String>,
    /// Extra trusted root certificates, in PEM (for example the local
    /// emulator's CA), added to the roots the platform trusts. A client
    /// checks certificates with the platform's verifier
    /// (`rustls-platform-verifier`): on macOS and Windows the system's own
    /// checks and trust settings; on Linux and other Unix systems the
    /// system's CA bundle, or instead the certificates of the file and
    /// directories that `SSL_CERT_FILE` and `SSL_CERT_DIR` name when set, as
    /// OpenSSL does. The certificates of the file `SSL_CERT_FILE` names are
    /// trusted on every platform. Building a client fails
    /// ([`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput)) when no
    /// root is found at all. Ignored when [`http_client`](Self::http_client)
    /// is set.
    pub root_certificates_pem: Vec<Vec<u8>>,
    /// A `reqwest::Client` to send requests with, instead of the one built
    /// from these options (proxies, custom TLS, connection pool settings).
    /// As reqwest is built without a default TLS provider, give it a TLS
    /// configuration (`tls_backend_preconfigured`) or install a rustls
    /// crypto provider for the process before building it.
    pub http_client: Option<reqwest::Client>,
    /// Whether the resource named by the service's authentication challenge
    /// must match the vault's host (`myvault.vault.azure.net` must be a
    /// subdomain of `vault.azure.net`). Default `true`; turn it off only for
    /// emulators and sovereign or private setups whose hosts differ. When the
    /// check fails, no token is sent.
    pub verify_challenge_resource: bool,
    /// Allows plain `http://` to loopback hosts (`localhost`, `127.0.0.1`,
    /// `[::1]`), for a local emulator. Default `false`: only `https://` is
    /// accepted. Non-loopback `http://` is always refused.
    pub allow_loopback_http: bool,
    /// The timeout of one try (connect, send, receive). Default 60 seconds;
    /// also bounded by what is left of [`RetryOptions::budget`].
    pub transport_timeout: Duration,
    /// How long opening a connection (TCP and TLS) may take. Default 10
    /// seconds (Python's `connection_timeout` is 300 s). Ignored when
    /// [`http_client`](Self::http_client) is set.
    pub connect_timeout: Duration,
    /// How long the client waits for the next bytes of a response (between
    /// two reads), separately from the whole try's
    /// [`transport_timeout`](Self::transport_timeout). `None`, the default,
    /// sets no read timeout (Python's `read_timeout` is 300 s). Ignored
    /// when [`http_client`](Self::http_client) is set.
    pub read_timeout: Option<Duration>,
    /// The proxy every request goes through. `None`, the default, uses the
    /// `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` environment variables.
    /// Ignored when [`http_client`](Self::http_client) is set.
    pub proxy: Option<ProxyOptions>,
    /// The largest response body read, in bytes. Default 16 MiB, far
    /// above any Key Vault answer (a secret value is at most 25 KB, a page
    /// of a listing a few tens of KB). A larger body, announced by its
    /// `Content-Length` or found while reading, ends the request with an
    /// [`ErrorKind::LimitExceeded`](crate::ErrorKind::LimitExceeded) error
    /// and is not retried: what is read of a response never grows past it.
    pub max_response_body_size: usize,
    /// The most pages one listing follows. Default `Some(100_000)` (2.5
    /// million items at Key Vault's 25 per page); `None` for no bound. A
    /// listing also ends when the service hands back a next-page link it
    /// already gave (a loop). Either way the listing ends with an
    /// [`ErrorKind::LimitExceeded`](crate::ErrorKind::LimitExceeded) error.
    pub max_pages: Option<u32>,
    /// How long a poller's [`wait`](crate::Poller::wait) (or `.await`) and
    /// status stream wait for a long-running operation, unless
    /// [`Poller::with_max_wait`](crate::Poller::with_max_wait) says
    /// otherwise. Default `Some(1 hour)`; `None` waits as long as the
    /// service says the operation runs. When it runs out, the error is an
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout); the operation goes
    /// on, and the poller's resume token continues it.
    pub max_poll_wait: Option<Duration>,
}

/// The default of [`ClientOptions::max_response_body_size`]: 16 MiB.
pub(crate) const DEFAULT_MAX_RESPONSE_BODY_SIZE: usize = 16 << 20;

/// An explicit proxy, instead of the one the environment names.
///
/// ```
/// use keyvault_core::{ClientOptions, ProxyOptions};
///
/// let options = ClientOptions {
///     proxy: Some(ProxyOptions::new("http://proxy.internal:3128").no_proxy(["localhost", ".corp"])),
///     ..Default::default()
/// };
/// # let _ = options;
/// ```
///
/// `Debug` hides a password in the proxy URL.
#[derive(Clone, Default)]
pub struct ProxyOptions {
    /// The proxy URL, `http://[user:password@]host:port` or
    /// `https://...` (a proxy spoken to over TLS). Requests to `https://` vaults
    /// tunnel through it with `CONNECT`.
    pub url: String,
    /// Hosts reached directly, as `NO_PROXY` names them: host names (a
    /// leading dot or none matches subdomains too), IP addresses or CIDR
    /// blocks, `*` for every host.
    pub no_proxy: Vec<String>,
}

impl ProxyOptions {
    /// A proxy at `url` for every host.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            no_proxy: Vec::new(),
        }
    }

    /// Adds hosts that are reached directly.
    #[must_use]
    pub fn no_proxy<S: Into<String>>(mut self, hosts: impl IntoIterator<Item = S>) -> Self {
        self.no_proxy.extend(hosts.into_iter().map(Into::into));
        self
    }
}

impl ProxyOptions {
    /// The URL with its password replaced by `REDACTED`, for messages.
    pub(crate) fn shown_url(&self) -> String {
        match url::Url::parse(&self.url) {
            Ok(mut u) => {
                if u.password().is_some() {
                    let _ = u.set_password(Some("REDACTED"));
                }
                u.to_string()
            }
            Err(_) => "<not a URL>".to_owned(),
        }
    }
}

impl std::fmt::Debug for ProxyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyOptions")
            .field("url", &self.shown_url())
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            retry: RetryOptions::default(),
            user_agent_prefix: None,
            root_certificates_pem: Vec::new(),
            http_client: None,
            verify_challenge_resource: true,
            allow_loopback_http: false,
            transport_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            read_timeout: None,
            proxy: None,
            max_response_body_size: DEFAULT_MAX_RESPONSE_BODY_SIZE,
            max_pages: Some(100_000),
            max_poll_wait: Some(Duration::from_secs(3600)),
        }
    }
}

impl ClientOptions {
    /// Options for a local emulator: plain `http://` to loopback allowed, the
    /// challenge resource not checked against the host (an emulator's
    /// challenge names the public cloud's resource), and `ca_pem` (the
    /// emulator's CA certificate, if it serves https) trusted.
    ///
    /// ```
    /// let options = keyvault_core::ClientOptions::emulator(None);
    /// assert!(options.allow_loopback_http && !options.verify_challenge_resource);
    /// ```
    pub fn emulator(ca_pem: Option<&[u8]>) -> Self {
        Self {
            allow_loopback_http: true,
            verify_challenge_resource: false,
            root_certificates_pem: ca_pem.map(|p| vec![p.to_vec()]).unwrap_or_default(),
            ..Self::default()
        }
    }
}

/// How the pipeline retries, as azure-core's `RetryPolicy` does: an
/// exponential or fixed delay, bounded by counts of retries (in all, after a
/// status, after a connection failure, after a read failure) and by a total
/// time budget.
///
/// Retried: connection failures, timeouts, the statuses 408, 429, 500, 502,
/// 503, 504 and 506 to 599, and any other failure status (413, ...) that
/// carries `Retry-After`, `retry-after-ms` or `x-ms-retry-after-ms`. The
/// delay is what those headers say when one is present, otherwise the
/// backoff of [`mode`](Self::mode). A request that is not idempotent (POST,
/// PATCH) is not retried once its body may have reached the server, unless
/// the status says it was not processed (408, 413, 429, 503).
///
/// A `Retry-After` is honoured up to what is left of
/// [`budget`](Self::budget): one that asks for longer (a year) is not
/// slept through; the failure status it came with is returned at once.
///
/// The defaults are Python's: 10 retries in all, of which at most 3 after a
/// status, 3 after a connection failure and 3 after a read failure; 0.8 s
/// doubling at each retry up to 120 s. Two differences on purpose: the
/// first retry waits too (Python's does not), with a random factor (Python
/// adds none), so that clients throttled together do not all come back at
/// once; and a POST or PATCH is retried after a 500 or 504 only when its
/// body was not sent, as it may have been processed.
///
/// ```
/// use std::time::Duration;
/// use keyvault_core::{RetryMode, RetryOptions};
///
/// // A constant second between tries, 5 tries at most.
/// let fixed = RetryOptions {
///     mode: RetryMode::Fixed,
///     initial_delay: Duration::from_secs(1),
///     max_status_retries: 4,
///     ..Default::default()
/// };
/// # let _ = fixed;
/// ```
#[derive(Clone, Debug)]
pub struct RetryOptions {
    /// The most retries after the first try, whatever their cause
    /// (Python's `retry_total`). Default 10; 0 disables retries.
    pub max_retries: u32,
    /// The most retries after a retriable status (`retry_status`). Default 3.
    pub max_status_retries: u32,
    /// The most retries after a failure to connect (`retry_connect`).
    /// Default 3.
    pub max_connect_retries: u32,
    /// The most retries after a failure once connected: a read error or a
    /// timeout (`retry_read`). Default 3.
    pub max_read_retries: u32,
    /// How the delay between tries grows (`retry_mode`). Default
    /// [`RetryMode::Exponential`].
    pub mode: RetryMode,
    /// The delay before the first retry (`retry_backoff_factor`); it
    /// doubles at each retry in [`RetryMode::Exponential`] and stays in
    /// [`RetryMode::Fixed`]. Default 800 ms.
    pub initial_delay: Duration,
    /// The longest backoff delay (`retry_backoff_max`). Default 120 s. A
    /// `Retry-After` may ask for longer, up to what is left of the budget.
    pub max_delay: Duration,
    /// The total time a request may take, all tries and delays included.
    /// Default 120 s. When it runs out, the error says how many tries were
    /// made and why the last one failed.
    pub budget: Duration,
}

/// How the delay between two tries grows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryMode {
    /// `initial_delay * 2^(retry - 1)` with a random factor in
    /// `[0.8, 1.2)`, capped at `max_delay`.
    #[default]
    Exponential,
    /// `initial_delay` before every retry.
    Fixed,
}

impl Default for RetryOptions {
    fn default() -> Self {
        Self {
            max_retries: 10,
            max_status_retries: 3,
            max_connect_retries: 3,
            max_read_retries: 3,
            mode: RetryMode::Exponential,
            initial_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(120),
            budget: Duration::from_secs(120),
        }
    }
}

/// Per-call options, carried by the options of every client method
/// (Python's per-call keyword arguments): extra headers, a timeout of the
/// whole call, a retry override and the tracing span the call's span is a
/// child of. The client crates re-export this type.
///
/// ```
/// use std::time::Duration;
/// use keyvault_core::{RequestOptions, http::HeaderValue};
///
/// let span = tracing::info_span!("rotate-credentials");
/// let options = RequestOptions::default()
///     .header("x-ms-client-request-id", HeaderValue::from_static("rotation-42"))
///     .timeout(Duration::from_secs(5))
///     .parent(&span);
/// assert_eq!(options.timeout, Some(Duration::from_secs(5)));
/// ```
///
/// `Debug` shows the values of the headers the pipeline logs only (others
/// as `REDACTED`).
#[derive(Clone, Default)]
pub struct RequestOptions {
    /// Headers added to every request of the call (a listing's pages and a
    /// poller's status requests included), replacing the pipeline's own
    /// `x-ms-client-request-id`, `Accept` or `Content-Type`. `User-Agent`
    /// and `Authorization` stay the pipeline's.
    pub headers: HeaderMap,
    /// The most time one request of the call may take, all tries and
    /// delays included: the retry budget of this call, capped by the
    /// client's [`RetryOptions::budget`]. When it runs out, the error is
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout).
    pub timeout: Option<Duration>,
    /// Retries of this call, instead of the client's
    /// [`ClientOptions::retry`].
    pub retry: Option<RetryOptions>,
    /// The span the call's `keyvault.operation` span is a child of, instead
    /// of the current one.
    pub parent: Option<tracing::Span>,
}

impl RequestOptions {
    /// Adds a header sent with every request of the call.
    #[must_use]
    pub fn header(
        mut self,
        name: impl http::header::IntoHeaderName,
        value: http::HeaderValue,
    ) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// Sets the timeout of the whole call.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the retries of the call.
    #[must_use]
    pub fn retry(mut self, retry: RetryOptions) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Makes the call's span a child of `span`.
    #[must_use]
    pub fn parent(mut self, span: &tracing::Span) -> Self {
        self.parent = Some(span.clone());
        self
    }
}

impl std::fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestOptions")
            .field("headers", &crate::pipeline::SafeHeaders(&self.headers))
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("parent", &self.parent.as_ref().and_then(tracing::Span::id))
            .finish()
    }
}

/// Options of a request written by hand, sent with
/// [`Pipeline::send_request`](crate::Pipeline::send_request): the escape
/// hatch every client offers as `send_request`. The client crates re-export
/// this type.
///
/// ```
/// use keyvault_core::{SendRequestOptions, http::{HeaderMap, HeaderValue}};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-ms-client-request-id", HeaderValue::from_static("my-id"));
/// let options = SendRequestOptions { headers, body: Some(br#"{"value":"v"}"#.to_vec()) };
/// # let _ = options;
/// ```
///
/// `Debug` shows the body's length only, and the values of the headers the
/// pipeline logs (others as `REDACTED`): a body may carry a secret value and a
/// header a token.
#[derive(Clone, Default)]
pub struct SendRequestOptions {
    /// Extra request headers.
    pub headers: HeaderMap,
    /// The request body, sent as given (`Content-Type: application/json`
    /// unless `headers` sets another).
    pub body: Option<Vec<u8>>,
}

impl std::fmt::Debug for SendRequestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendRequestOptions")
            .field("headers", &crate::pipeline::SafeHeaders(&self.headers))
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn send_request_options_debug_hides_the_body_and_tokens() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer tok-123"));
        headers.insert("x-ms-client-request-id", HeaderValue::from_static("my-id"));
        let options = SendRequestOptions {
            headers,
            body: Some(br#"{"value":"hunter2"}"#.to_vec()),
        };
        let text = format!("{options:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("tok-123"),
            "{text}"
        );
        assert!(
            text.contains("REDACTED") && text.contains("my-id"),
            "{text}"
        );
        assert!(text.contains("body_len: Some(19)"), "{text}");
    }
}
