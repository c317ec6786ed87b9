//! Errors: [`ServiceError`] is what the service answers on the wire
//! (`{"error":{"code":...,"message":...}}`); [`Error`] is what starting the
//! emulator can fail with.

use std::fmt;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;

/// An error answer of the service, in Key Vault's error shape.
#[derive(Debug, Clone)]
pub(crate) struct ServiceError {
    pub(crate) status: u16,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl ServiceError {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad_parameter(message: impl Into<String>) -> Self {
        Self::new(400, "BadParameter", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, "NotFound", message)
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(409, "Conflict", message)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalServerError", message)
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": {"code": self.code, "message": self.message}})
    }

    /// The whole HTTP response.
    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        json_response(self.status, &self.body())
    }
}

/// A JSON response with the headers the service always sends.
pub(crate) fn json_response(status: u16, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(bytes)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// An empty response (e.g. 204 of a purge), with the JSON content type the
/// service sends even then.
pub(crate) fn empty_response(status: u16) -> Response<Full<Bytes>> {
    let mut resp = json_response(status, &serde_json::Value::Null);
    *resp.body_mut() = Full::new(Bytes::new());
    resp
}

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An option has an invalid value.
    Config,
    /// A socket, file or directory could not be used.
    Io,
    /// Certificates could not be generated, read or used.
    Tls,
    /// The durable store could not be opened, read or written.
    Store,
}

/// Why the emulator could not start (or stop cleanly).
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                source: None,
            }),
        }
    }

    pub(crate) fn with_source(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        let mut e = Self::new(kind, message);
        e.inner.source = Some(Box::new(source));
        e
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Whether an option had an invalid value.
    pub fn is_config(&self) -> bool {
        self.inner.kind == ErrorKind::Config
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("source", &self.inner.source)
            .finish()
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

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn error_is_send_sync_and_displays_message() {
        assert_send_sync::<Error>();
        let e = Error::new(ErrorKind::Config, "bad port");
        assert_eq!(e.to_string(), "bad port");
        assert!(e.is_config());
    }

    #[test]
    fn service_error_body_has_service_shape() {
        let e = ServiceError::bad_parameter("nope");
        assert_eq!(
            e.body(),
            serde_json::json!({"error": {"code": "BadParameter", "message": "nope"}})
        );
    }
}
