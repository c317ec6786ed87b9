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
    /// Extra trusted root certificates, in PEM, added to the public roots
    /// (for example the local emulator's CA). The certificates of the file
    /// that the `SSL_CERT_FILE` environment variable names are trusted too.
    /// Ignored when [`http_client`](Self::http_client) is set.
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

/// How the pipeline retries: exponential backoff with jitter, bounded by a
/// number of retries and a total time budget.
///
/// Retried: connection failures, timeouts and the statuses 408, 429, 500, 502,
/// 503 and 504, waiting what `Retry-After` or `x-ms-retry-after-ms` says when
/// the service says it. A request that is not idempotent (POST, PATCH) is not
/// retried once its body may have reached the server, unless the status says
/// it was not processed (408, 429, 503).
#[derive(Clone, Debug)]
pub struct RetryOptions {
    /// The most retries after the first try. Default 5; 0 disables retries.
    pub max_retries: u32,
    /// The delay before the first retry; it doubles at each retry. Default 800 ms.
    pub initial_delay: Duration,
    /// The longest backoff delay. Default 30 s.
    pub max_delay: Duration,
    /// The total time a request may take, all tries and delays included.
    /// Default 120 s. When it runs out, the error says how many tries were
    /// made and why the last one failed.
    pub budget: Duration,
}

impl Default for RetryOptions {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_delay: Duration::from_millis(800),
            max_delay: Duration::from_secs(30),
            budget: Duration::from_secs(120),
        }
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
