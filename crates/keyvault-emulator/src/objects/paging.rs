//! Paging: `maxresults` (1 to 25, default 25) and an opaque `$skiptoken` that
//! names the last key returned. Lists are in key order, so a token stays valid
//! while the collection changes: items present throughout are seen exactly once.

use std::collections::BTreeMap;
use std::ops::Bound;

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

pub(crate) fn decode(token: &str) -> Option<String> {
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

/// The rows of `map` a page shows: at most `max + 1` after the token's key
/// (the extra row only tells that more remain), found by a range lookup.
pub(crate) fn window<'m, T>(
    map: &'m BTreeMap<String, T>,
    page: &Page,
) -> impl Iterator<Item = (&'m String, &'m T)> {
    let from = page
        .after
        .as_deref()
        .map_or(Bound::Unbounded, Bound::Excluded);
    map.range::<str, _>((from, Bound::Unbounded))
}

/// One page of `rows` (what [`window`] gave, in key order, at most
/// `max + 1`), each rendered by `render` (only those the page shows), with a
/// `nextLink` when more remain.
pub(crate) fn page_of<T>(
    req: &Request,
    api: ApiVersion,
    path: &str,
    page: &Page,
    mut rows: Vec<(String, T)>,
    render: impl FnMut((String, T)) -> Value,
) -> Value {
    let mut next = Value::Null;
    if rows.len() > page.max {
        rows.truncate(page.max);
        let last = rows.last().map_or("", |(k, _)| k.as_str());
        next = json!(next_link(req, path, page, api.as_str(), last));
    }
    let value: Vec<Value> = rows.into_iter().map(render).collect();
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

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_token_decodes_without_panicking(token in any::<String>()) {
            if let Some(after) = decode(&token) {
                prop_assert!(after.len() <= token.len());
            }
        }

        #[test]
        fn a_token_reads_back(after in any::<String>()) {
            prop_assert_eq!(decode(&encode(&after)), Some(after));
        }
    }
}
