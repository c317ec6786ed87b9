//! The crate's parsers of what a server sends, for the fuzz targets in
//! `fuzz/` (feature `fuzzing`, off by default; not an API).

use http::{HeaderMap, HeaderValue};
use time::OffsetDateTime;
use url::Url;

use crate::http::{Method, Request};

/// Parses a `WWW-Authenticate` value; the scope when it is a bearer challenge.
pub fn challenge(header: &str) -> Option<String> {
    match crate::challenge::parse(header)? {
        crate::challenge::Parsed::Bearer(c) => Some(c.scope),
        crate::challenge::Parsed::Claims => None,
    }
}

/// The delay `name: value` asks for.
pub fn retry_after(name: &str, value: &[u8]) -> Option<std::time::Duration> {
    let mut headers = HeaderMap::new();
    let name = http::HeaderName::from_bytes(name.as_bytes()).ok()?;
    headers.insert(name, HeaderValue::from_bytes(value).ok()?);
    crate::retry::retry_after(&headers, OffsetDateTime::UNIX_EPOCH)
}

/// The request of the page at `token` after a first page on
/// `https://v.vault.azure.net/secrets?maxresults=5`; its URL when followed.
pub fn continuation_token(token: &str) -> Option<String> {
    let first = Url::parse("https://v.vault.azure.net/secrets?maxresults=5").ok()?;
    let next = crate::paging::next_request(&Request::new(Method::GET, first), token).ok()?;
    Some(next.url().to_string())
}

/// Parses a poller's resume token; its status URL when valid.
pub fn resume_token(token: &str) -> Option<String> {
    crate::poller::parse_resume_token(token)
        .ok()
        .map(|(_, url)| url.to_string())
}
