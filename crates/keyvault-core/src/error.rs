//! The error type shared by every keyvault-rs client.
//!
//! One opaque [`Error`] with a [`kind()`](Error::kind), predicates for the
//! common cases ([`is_not_found()`](Error::is_not_found) and friends) and, for
//! failures the service answered, its status, error code, message and request
//! id. An error never holds a request body, a secret value or a token: it is
//! built from the status line, the service's `{"error":{...}}` body and the
//! request's method and URL only. The failed response's headers and body are
//! kept for [`Error::response_headers`] and [`Error::response_body`], but
//! never shown by `Display` or `Debug`.

use std::fmt;

use http::StatusCode;
use serde::Deserialize;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A request body could not be serialized.
    Serialize,
    /// A response body could not be decoded.
    Deserialize,
    /// An argument or option given by the caller is invalid.
    InvalidInput,
    /// The service answered with a status that is not a success; see
    /// [`Error::status`] and [`Error::error_code`].
    Http,
    /// The request could not be sent or its response not received: connection
    /// refused, DNS failure, TLS failure, connection reset.
    Io,
    /// A request or the whole retry budget ran out of time.
    Timeout,
    /// The credential could not produce a token.
    Credential,
    /// The authentication challenge could not be honoured: a challenge whose
    /// resource does not match the vault, a claims (CAE) challenge, or a
    /// malformed `WWW-Authenticate` header.
    Authentication,
    /// A long-running operation finished as failed or canceled.
    OperationFailed,
    /// A response went past a limit of
    /// [`ClientOptions`](crate::ClientOptions): a body larger than
    /// `max_response_body_size`, a listing longer than `max_pages`, or a
    /// next-page link the service had already given (a loop).
    LimitExceeded,
}

impl ErrorKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Serialize => "serialization error",
            Self::Deserialize => "deserialization error",
            Self::InvalidInput => "invalid input",
            Self::Http => "HTTP error",
            Self::Io => "I/O error",
            Self::Timeout => "timeout",
            Self::Credential => "credential error",
            Self::Authentication => "authentication error",
            Self::OperationFailed => "operation failed",
            Self::LimitExceeded => "limit exceeded",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error a Key Vault or Managed HSM service returned in its body:
/// `{"error": {"code": ..., "message": ..., "innererror": {...}}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ServiceError {
    /// The error code, for example `SecretNotFound` or `Forbidden`.
    #[serde(default)]
    pub code: Option<String>,
    /// The human-readable message.
    #[serde(default)]
    pub message: Option<String>,
    /// A more specific error, if the service gave one.
    #[serde(default, rename = "innererror", alias = "innerError")]
    pub inner_error: Option<Box<ServiceError>>,
}

impl ServiceError {
    /// Parses Key Vault's error body (`{"error": {...}}`), or a bare error
    /// object as long-running operation statuses carry it. Returns `None` when
    /// the body is neither.
    pub fn from_body(body: &[u8]) -> Option<Self> {
        #[derive(Deserialize)]
        struct Envelope {
            error: Option<ServiceError>,
        }
        if body.is_empty() {
            return None;
        }
        match serde_json::from_slice::<Envelope>(body) {
            Ok(Envelope { error: Some(e) }) => Some(e),
            _ => None,
        }
    }

    /// The codes of this error and its inner errors, outermost first.
    pub fn codes(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut cur = Some(self);
        while let Some(e) = cur {
            if let Some(c) = e.code.as_deref() {
                out.push(c);
            }
            cur = e.inner_error.as_deref();
        }
        out
    }
}

/// The error returned by every keyvault-rs operation.
///
/// `Display` says what failed at this layer, in one line: for a service
/// failure the method, URL path, status, service error code and message and
/// request id; for a transport failure what went wrong in our words, such as
/// `connection refused` or `TLS failure`; for a credential failure the
/// scope it could not get a token for. [`source()`](std::error::Error::source)
/// gives the underlying error, whose text `Display` does not repeat, so a
/// report that walks the chain (`anyhow`, `eyre`) prints each cause once.
///
/// Cheap to clone (the cause is shared), so that one failure can be handed to
/// every caller that waited on the same request.
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
    status: Option<StatusCode>,
    service: Option<ServiceError>,
    request_id: Option<String>,
    attempts: u32,
    response: Option<(http::HeaderMap, bytes::Bytes)>,
}

impl Error {
    /// Creates an error of `kind` with a message.
    ///
    /// For the keyvault-rs crates and their generated code; hidden from the
    /// documentation because users receive errors and do not build them.
    #[doc(hidden)]
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                source: None,
                status: None,
                service: None,
                request_id: None,
                attempts: 0,
                response: None,
            }),
        }
    }

    /// Creates an error of `kind` with a message and an underlying cause.
    /// The message says what failed at this layer and does not repeat the
    /// cause's text.
    #[doc(hidden)]
    pub fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        let mut e = Self::new(kind, message);
        e.inner.source = Some(std::sync::Arc::new(source));
        e
    }

    /// Creates an [`ErrorKind::Http`] error for a response the service
    /// answered with a failure status. The body is parsed as Key Vault's
    /// `{"error":{...}}`; it is never copied into the error otherwise.
    ///
    /// `context` names what was attempted, for example `GET /secrets/name`.
    #[doc(hidden)]
    pub fn from_response(context: &str, response: &crate::http::Response) -> Self {
        let status = response.status();
        let service = ServiceError::from_body(response.body());
        let request_id = response
            .headers()
            .get("x-ms-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut message = format!("{context} failed: {status}");
        if let Some(s) = &service {
            let codes = s.codes();
            if !codes.is_empty() {
                message.push_str(&format!(" ({})", codes.join(" / ")));
            }
            if let Some(m) = &s.message {
                message.push_str(": ");
                message.push_str(m);
            }
        }
        if let Some(id) = &request_id {
            message.push_str(&format!(" [request id {id}]"));
        }
        let mut e = Self::new(ErrorKind::Http, message);
        e.inner.status = Some(status);
        e.inner.service = service;
        e.inner.request_id = request_id;
        e.inner.response = Some((response.headers().clone(), response.body().clone()));
        e
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status the service answered with, for [`ErrorKind::Http`].
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The service's error code (for example `SecretNotFound`), when the
    /// response carried a Key Vault error body.
    pub fn error_code(&self) -> Option<&str> {
        self.inner.service.as_ref()?.code.as_deref()
    }

    /// The service's error message, when the response carried one.
    pub fn service_message(&self) -> Option<&str> {
        self.inner.service.as_ref()?.message.as_deref()
    }

    /// The whole service error, inner errors included.
    pub fn service_error(&self) -> Option<&ServiceError> {
        self.inner.service.as_ref()
    }

    /// The service's request id (`x-ms-request-id`), for support requests.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// The headers of the failed response, for [`ErrorKind::Http`]: for
    /// example `Retry-After` of a 429, or `x-ms-keyvault-region`.
    ///
    /// `Display` and `Debug` never show them (a header may carry a SAS
    /// URL); read the ones you need.
    pub fn response_headers(&self) -> Option<&http::HeaderMap> {
        self.inner.response.as_ref().map(|(h, _)| h)
    }

    /// The body of the failed response, as the service sent it, for
    /// [`ErrorKind::Http`]. An error response never carries a secret value;
    /// [`service_error`](Self::service_error) is its parsed form.
    pub fn response_body(&self) -> Option<&[u8]> {
        self.inner.response.as_ref().map(|(_, b)| &b[..])
    }

    /// How many times the request was sent before this error (0 when the
    /// failure happened before anything was sent).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// Whether the service answered 404 Not Found.
    pub fn is_not_found(&self) -> bool {
        self.inner.status == Some(StatusCode::NOT_FOUND)
    }

    /// Whether the service answered 409 Conflict (for example a secret that
    /// is being deleted or recovered).
    pub fn is_conflict(&self) -> bool {
        self.inner.status == Some(StatusCode::CONFLICT)
    }

    /// Whether the service answered 403 Forbidden (the identity lacks a
    /// permission or role).
    pub fn is_forbidden(&self) -> bool {
        self.inner.status == Some(StatusCode::FORBIDDEN)
    }

    /// Whether the service answered 401 Unauthorized.
    pub fn is_unauthorized(&self) -> bool {
        self.inner.status == Some(StatusCode::UNAUTHORIZED)
    }

    /// Whether the service answered 429 Too Many Requests.
    pub fn is_throttled(&self) -> bool {
        self.inner.status == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// Whether the request or the retry budget timed out.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }

    pub(crate) fn set_attempts(mut self, attempts: u32) -> Self {
        self.inner.attempts = attempts;
        self
    }

    /// Prefixes the message, keeping everything else.
    pub(crate) fn prefixed(mut self, prefix: &str) -> Self {
        self.inner.message = format!("{prefix}{}", self.inner.message);
        self
    }

    /// Appends to the message, keeping everything else.
    pub(crate) fn suffixed(mut self, suffix: &str) -> Self {
        self.inner.message.push_str(suffix);
        self
    }

    pub(crate) fn with_service_error(mut self, service: Option<ServiceError>) -> Self {
        self.inner.service = service;
        self
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(s) = self.inner.status {
            d.field("status", &s.as_u16());
        }
        if let Some(c) = self.error_code() {
            d.field("code", &c);
        }
        if let Some(id) = &self.inner.request_id {
            d.field("request_id", id);
        }
        if let Some(src) = &self.inner.source {
            d.field("source", src);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{HeaderMap, HeaderValue, Response};

    #[test]
    fn error_is_send_sync() {
        fn assert<T: Send + Sync + Clone + 'static>() {}
        assert::<Error>();
    }

    #[test]
    fn parses_key_vault_error_body() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ms-request-id", HeaderValue::from_static("req-1"));
        let body = br#"{"error":{"code":"Forbidden","message":"Caller is not authorized","innererror":{"code":"AccessDenied"}}}"#;
        let resp = Response::new(
            StatusCode::FORBIDDEN,
            headers,
            bytes::Bytes::from_static(body),
        );
        let e = Error::from_response("GET /secrets/a", &resp);
        assert_eq!(e.kind(), ErrorKind::Http);
        assert!(e.is_forbidden());
        assert!(!e.is_not_found());
        assert_eq!(e.error_code(), Some("Forbidden"));
        assert_eq!(e.service_message(), Some("Caller is not authorized"));
        assert_eq!(
            e.service_error().map(ServiceError::codes),
            Some(vec!["Forbidden", "AccessDenied"])
        );
        assert_eq!(e.request_id(), Some("req-1"));
        let shown = e.to_string();
        assert!(shown.contains("403 Forbidden"), "{shown}");
        assert!(shown.contains("Forbidden / AccessDenied"), "{shown}");
        assert!(shown.contains("req-1"), "{shown}");
    }

    #[test]
    fn non_json_body_is_not_copied() {
        let resp = Response::new(
            StatusCode::BAD_GATEWAY,
            HeaderMap::new(),
            bytes::Bytes::from_static(b"<html>upstream s3cr3t</html>"),
        );
        let e = Error::from_response("PUT /secrets/a", &resp);
        assert_eq!(e.status(), Some(StatusCode::BAD_GATEWAY));
        assert_eq!(e.error_code(), None);
        assert!(!e.to_string().contains("s3cr3t"));
        assert!(!format!("{e:?}").contains("s3cr3t"));
        assert_eq!(
            e.response_body(),
            Some(&b"<html>upstream s3cr3t</html>"[..])
        );
    }

    #[test]
    fn response_headers_are_kept_but_not_shown() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        headers.insert(
            "location",
            HeaderValue::from_static("https://acct.blob.core.windows.net/c?sig=SAS-SIG"),
        );
        let resp = Response::new(
            StatusCode::TOO_MANY_REQUESTS,
            headers,
            bytes::Bytes::from_static(br#"{"error":{"code":"Throttled"}}"#),
        );
        let e = Error::from_response("GET /secrets/a", &resp);
        let h = e.response_headers().expect("headers");
        assert_eq!(h.get("retry-after").unwrap(), "7");
        assert!(h.contains_key("location"));
        for shown in [e.to_string(), format!("{e:?}")] {
            assert!(!shown.contains("SAS-SIG"), "{shown}");
        }
        assert!(Error::new(ErrorKind::Io, "x").response_headers().is_none());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn service_error() -> impl Strategy<Value = ServiceError> {
        let leaf =
            (any::<Option<String>>(), any::<Option<String>>()).prop_map(|(code, message)| {
                ServiceError {
                    code,
                    message,
                    inner_error: None,
                }
            });
        leaf.prop_recursive(4, 8, 1, |inner| {
            (any::<Option<String>>(), any::<Option<String>>(), inner).prop_map(
                |(code, message, inner)| ServiceError {
                    code,
                    message,
                    inner_error: Some(Box::new(inner)),
                },
            )
        })
    }

    fn to_json(e: &ServiceError) -> serde_json::Value {
        serde_json::json!({
            "code": e.code,
            "message": e.message,
            "innererror": e.inner_error.as_deref().map(to_json),
        })
    }

    proptest! {
        #[test]
        fn any_body_parses_without_panicking(body in any::<Vec<u8>>()) {
            let _ = ServiceError::from_body(&body);
        }

        #[test]
        fn any_json_body_parses_without_panicking(body in r#"[{}\[\]":,a-z0-9 ]{0,120}"#) {
            let _ = ServiceError::from_body(body.as_bytes());
        }

        #[test]
        fn an_error_body_reads_back(e in service_error()) {
            let body = serde_json::to_vec(&serde_json::json!({ "error": to_json(&e) })).unwrap();
            let back = ServiceError::from_body(&body).unwrap();
            prop_assert!(back.codes().len() <= 5);
            prop_assert_eq!(back, e);
        }
    }
}
