//! Paging: `maxresults` (1 to 25, default 25) and an opaque `$skiptoken` that
//! names the last key returned. Lists are in key order, so a token stays valid
//! while the vault changes: items present throughout are seen exactly once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use serde_json::{Value, json};

use crate::api_version::ApiVersion;
use crate::error::ServiceError;
use crate::server::Request;

/// The largest and default page size.
pub(crate) const MAX_RESULTS: usize = 25;

/// The paging parameters of a list request.
pub(crate) struct Page {
    pub(crate) max: usize,
    /// Whether the client set `maxresults` (kept in `nextLink`).
    pub(crate) explicit_max: bool,
    /// Items strictly after this key.
    pub(crate) after: Option<String>,
}

/// Reads `maxresults` and `$skiptoken`.
pub(crate) fn page(req: &Request) -> Result<Page, ServiceError> {
    let (max, explicit_max) = match req.query("maxresults") {
        None => (MAX_RESULTS, false),
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_RESULTS).contains(&n) => (n, true),
            _ => {
                return Err(ServiceError::bad_parameter(format!(
                    "Invalid maxresults '{raw}': it must be an integer from 1 to {MAX_RESULTS}."
                )));
            }
        },
    };
    let after = match req.query("$skiptoken") {
        None => None,
        Some(token) => Some(
            decode(token)
                .ok_or_else(|| ServiceError::bad_parameter("The $skiptoken is not valid."))?,
        ),
    };
    Ok(Page {
        max,
        explicit_max,
        after,
    })
}

fn encode(after: &str) -> String {
    let json = serde_json::json!({ "v": 1, "after": after }).to_string();
    URL_SAFE_NO_PAD.encode(json)
}

fn decode(token: &str) -> Option<String> {
    let raw = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    v.get("after")?.as_str().map(str::to_owned)
}

/// The `nextLink` for a page that ended at `last`, on `path`.
pub(crate) fn next_link(req: &Request, path: &str, page: &Page, api: &str, last: &str) -> String {
    let mut link = format!(
        "{}{path}?api-version={api}&$skiptoken={}",
        req.base_url,
        encode(last)
    );
    if page.explicit_max {
        link.push_str(&format!("&maxresults={}", page.max));
    }
    link
}

/// One page of `items` (in key order), with a `nextLink` when more remain.
pub(crate) fn page_of(
    req: &Request,
    api: ApiVersion,
    path: &str,
    page: &Page,
    items: impl Iterator<Item = (String, Value)>,
) -> Value {
    let mut value = Vec::new();
    let mut last = String::new();
    let mut next = Value::Null;
    for (k, v) in items.filter(|(k, _)| page.after.as_deref().is_none_or(|a| k.as_str() > a)) {
        if value.len() == page.max {
            next = json!(next_link(req, path, page, api.as_str(), &last));
            break;
        }
        last = k;
        value.push(v);
    }
    json!({"value": value, "nextLink": next})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip() {
        assert_eq!(decode(&encode("abc-1")).as_deref(), Some("abc-1"));
        assert_eq!(decode("!!"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("{}")), None);
    }
}
