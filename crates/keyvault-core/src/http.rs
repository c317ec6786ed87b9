//! The request and response types that travel through the pipeline.
//!
//! Generated operation code builds a [`Request`] and decodes a [`Response`];
//! everything between the two (authentication, retries, tracing) belongs to
//! the pipeline.

use bytes::Bytes;
pub use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde::{Serialize, de::DeserializeOwned};
use url::Url;

use crate::{Error, ErrorKind, Result};

/// An HTTP request to a Key Vault or Managed HSM endpoint, before the pipeline
/// adds authentication, the API version and the common headers.
#[derive(Clone)]
pub struct Request {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Bytes>,
}

impl Request {
    /// Creates a request with no headers and no body.
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
        }
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The full URL, including the query string.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// A mutable reference to the URL.
    pub fn url_mut(&mut self) -> &mut Url {
        &mut self.url
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A mutable reference to the request headers.
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.headers
    }

    /// The body, if any.
    pub fn body(&self) -> Option<&Bytes> {
        self.body.as_ref()
    }

    /// Appends a query parameter (percent-encoded by the URL).
    pub fn append_query(&mut self, name: &str, value: &str) {
        self.url.query_pairs_mut().append_pair(name, value);
    }

    /// Sets or replaces a header.
    pub fn insert_header(&mut self, name: HeaderName, value: HeaderValue) {
        self.headers.insert(name, value);
    }

    /// Sets a raw body.
    pub fn set_body(&mut self, body: impl Into<Bytes>) {
        self.body = Some(body.into());
    }

    /// Serializes `body` as JSON, sets it as the body and sets
    /// `Content-Type: application/json`.
    ///
    /// # Errors
    /// Fails with [`ErrorKind::Serialize`] when `body` cannot be serialized.
    pub fn set_json<T: Serialize + ?Sized>(&mut self, body: &T) -> Result<()> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            Error::with_source(
                ErrorKind::Serialize,
                "could not serialize the request body",
                e,
            )
        })?;
        self.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        self.body = Some(Bytes::from(bytes));
        Ok(())
    }
}

impl std::fmt::Debug for Request {
    // The body may hold a secret value and the headers a token: neither is printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("body_len", &self.body.as_ref().map(Bytes::len))
            .finish_non_exhaustive()
    }
}

/// A complete HTTP response, body included.
#[derive(Clone)]
pub struct Response {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Response {
    /// Creates a response from its parts.
    pub fn new(status: StatusCode, headers: HeaderMap, body: Bytes) -> Self {
        Self {
            status,
            headers,
            body,
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The raw body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Consumes the response and returns its body.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// Decodes the body as JSON.
    ///
    /// # Errors
    /// Fails with [`ErrorKind::Deserialize`] when the body is not valid JSON for `T`.
    /// The error names the JSON path that failed, never the body itself.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::with_source(
                ErrorKind::Deserialize,
                format!(
                    "could not decode the response body (line {}, column {})",
                    e.line(),
                    e.column()
                ),
                e,
            )
        })
    }
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}
