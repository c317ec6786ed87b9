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
    success: &'static [u16],
    /// The `x-ms-client-request-id` the pipeline adds to each try, unless
    /// the headers name one.
    pub(crate) request_id: Option<HeaderValue>,
}

impl Request {
    /// Creates a request with no headers and no body, for which any 2xx
    /// status is a success.
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            success: &[],
            request_id: None,
        }
    }

    /// Names the 2xx statuses that mean success (the spec's responses of the
    /// operation): [`Pipeline::send`](crate::Pipeline::send) turns any other
    /// 2xx into an error. Empty, the default, accepts any 2xx.
    #[must_use]
    pub fn with_success_statuses(mut self, statuses: &'static [u16]) -> Self {
        self.success = statuses;
        self
    }

    /// The 2xx statuses that mean success; empty when any 2xx does.
    pub fn success_statuses(&self) -> &'static [u16] {
        self.success
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
            .field("success", &self.success)
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

/// Deserializes a string into what `from` makes of it, reading the text
/// in place when the input allows (a JSON string without escapes), so that
/// a value costs no copy: what the generated extensible enums use, whose
/// known values keep no text.
///
/// ```
/// #[derive(Debug, PartialEq)]
/// struct Level(usize);
///
/// impl<'de> serde::Deserialize<'de> for Level {
///     fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
///         keyvault_core::http::deserialize_str(deserializer, |text| Level(text.len()))
///     }
/// }
///
/// let level: Level = serde_json::from_str(r#""Recoverable""#).unwrap();
/// assert_eq!(level, Level(11));
/// ```
///
/// # Errors
/// Fails when the value is not a string.
pub fn deserialize_str<'de, D, T>(
    deserializer: D,
    from: impl FnOnce(&str) -> T,
) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Text<F>(F);

    impl<T, F: FnOnce(&str) -> T> serde::de::Visitor<'_> for Text<F> {
        type Value = T;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> std::result::Result<T, E> {
            Ok((self.0)(text))
        }
    }

    deserializer.deserialize_str(Text(from))
}

/// One parameter of a path template given to [`expand_path`].
#[derive(Clone, Copy, Debug)]
pub struct PathParam<'a> {
    /// The name between braces in the template, for example `secret-name`.
    pub name: &'a str,
    /// The value to put in its place.
    pub value: &'a str,
    /// Whether the value is percent-encoded as one path segment (`true`), or
    /// inserted as given (`false`, the `x-ms-skip-url-encoding` case, for
    /// example a role scope such as `/keys`).
    pub encode: bool,
}

impl<'a> PathParam<'a> {
    /// A parameter percent-encoded as one path segment.
    pub const fn encoded(name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            value,
            encode: true,
        }
    }

    /// A parameter inserted as given (`x-ms-skip-url-encoding`), such as a
    /// role scope.
    pub const fn raw(name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            value,
            encode: false,
        }
    }
}

/// Builds the URL of an operation: `base` (the vault or HSM URL, any path it
/// has is kept) followed by `template` (for example
/// `/secrets/{secret-name}/{secret-version}`) with each `{name}` replaced by
/// its parameter.
///
/// An empty parameter is kept as an empty segment, so
/// `/secrets/{secret-name}/{secret-version}` with an empty version gives
/// `/secrets/name/`, which the service reads as "the latest version".
///
/// A parameter with `encode: false` is inserted without its leading and
/// trailing slashes, so a role scope of `/` disappears (`/providers/...`) and
/// `/keys` gives `/keys/providers/...`, as the service expects.
///
/// # Errors
/// Fails with [`ErrorKind::InvalidInput`] when the template names a parameter
/// that is not given, or has an unclosed brace.
pub fn expand_path(base: &Url, template: &str, params: &[PathParam<'_>]) -> Result<Url> {
    // The base's path without its trailing slashes, then the template's.
    let base_path = base.path().trim_end_matches('/');
    let mut path = String::with_capacity(base_path.len() + template.len() + 64);
    path.push_str(base_path);
    let start = path.len();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        path.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("path template `{template}` has an unclosed brace"),
            )
        })?;
        let name = &after[..close];
        let param = params.iter().find(|p| p.name == name).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("path template `{template}` needs the parameter `{name}`"),
            )
        })?;
        if param.encode {
            path.extend(
                url::form_urlencoded::byte_serialize(param.value.as_bytes()).map(|s| {
                    // form encoding writes spaces as `+`; a path wants `%20`.
                    if s == "+" { "%20" } else { s }
                }),
            );
            rest = &after[close + 1..];
        } else {
            // A raw value such as a role scope (`/`, `/keys`, `/keys/k1`) is
            // inserted without its outer slashes, so `/{scope}/providers`
            // gives `/providers` for `/` and `/keys/providers` for `/keys`.
            let value = param.value.trim_matches('/');
            path.push_str(value);
            rest = &after[close + 1..];
            if value.is_empty() && path.ends_with('/') {
                rest = rest.strip_prefix('/').unwrap_or(rest);
            }
        }
    }
    path.push_str(rest);
    if !path[start..].starts_with('/') {
        path.insert(start, '/');
    }

    let mut url = base.clone();
    if url.query().is_some() {
        url.set_query(None);
    }
    if url.fragment().is_some() {
        url.set_fragment(None);
    }
    url.set_path(&path);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_and_encodes_segments() {
        let base = Url::parse("https://myvault.vault.azure.net").unwrap();
        let url = expand_path(
            &base,
            "/secrets/{secret-name}/{secret-version}",
            &[
                PathParam::encoded("secret-name", "a b/c"),
                PathParam::encoded("secret-version", ""),
            ],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://myvault.vault.azure.net/secrets/a%20b%2Fc/"
        );
    }

    #[test]
    fn keeps_base_path_and_skips_encoding_when_asked() {
        let base = Url::parse("https://localhost:8443/prefix/?x=1").unwrap();
        let url = expand_path(
            &base,
            "/{scope}/providers/Microsoft.Authorization/roleAssignments",
            &[PathParam::raw("scope", "/keys")],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://localhost:8443/prefix/keys/providers/Microsoft.Authorization/roleAssignments"
        );
        let global = expand_path(
            &base,
            "/{scope}/providers/Microsoft.Authorization/roleAssignments",
            &[PathParam::raw("scope", "/")],
        )
        .unwrap();
        assert_eq!(
            global.as_str(),
            "https://localhost:8443/prefix/providers/Microsoft.Authorization/roleAssignments"
        );
    }

    #[test]
    fn missing_parameter_is_an_error() {
        let base = Url::parse("https://v.vault.azure.net").unwrap();
        let err = expand_path(&base, "/secrets/{secret-name}", &[]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("secret-name"));
    }
}
