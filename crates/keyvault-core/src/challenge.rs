//! Key Vault challenge authentication.
//!
//! The first request to a vault goes without a token and without its body.
//! The service answers 401 with a `WWW-Authenticate: Bearer ...` header that
//! names the token scope (`scope`, or `resource` plus `/.default`) and the
//! tenant (the first path segment of `authorization` / `authorization_uri`).
//! The discovered challenge is cached per vault authority for the whole
//! process, so a second client of the same vault goes straight to an
//! authenticated request.
//!
//! **Invariant:** no token is sent to a host unless the challenge's resource
//! host is that host or a parent domain of it (unless the caller turned the
//! check off).

use std::{
    collections::HashMap,
    sync::{
        Arc, LazyLock, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use url::Url;

use crate::{Error, ErrorKind, Result};

/// A parsed and verified Key Vault authentication challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// The token scope, for example `https://vault.azure.net/.default`.
    pub(crate) scope: String,
    /// The tenant named by the authorization URI, if any.
    pub(crate) tenant_id: Option<String>,
    /// Whether the resource was checked against the vault host.
    pub(crate) verified: bool,
}

/// What a `WWW-Authenticate` header asked for.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// A bearer challenge naming a scope.
    Bearer(Challenge),
    /// A claims (Continuous Access Evaluation) challenge.
    Claims,
}

/// What the process knows about a vault authority's authentication.
#[derive(Clone, Debug)]
pub(crate) enum Known {
    /// The service answered without asking for a token (an emulator with
    /// authentication off): requests go without one until it challenges.
    Open,
    /// The service's challenge.
    Bearer(Arc<Challenge>),
}

static CACHE: LazyLock<RwLock<HashMap<String, Known>>> =
    LazyLock::new(|| RwLock::new(HashMap::new()));

/// How many times the cache has changed: a copy of an entry taken at one
/// generation is the entry as long as the generation stays.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// A pipeline's copy of the cache entry of the authority it last looked
/// up: the same answer as [`cached`] while the cache has not changed,
/// without its lock's contention or a hash of the authority.
#[derive(Default)]
pub(crate) struct Recent {
    entry: RwLock<Option<(Box<str>, u64, Known)>>,
}

impl Recent {
    /// What [`cached`] says of `authority`.
    pub(crate) fn cached(&self, authority: &str) -> Option<Known> {
        let generation = GENERATION.load(Ordering::Acquire);
        if let Some((seen, at, known)) = &*self.entry.read().unwrap_or_else(|p| p.into_inner())
            && *at == generation
            && **seen == *authority
        {
            return Some(known.clone());
        }
        // Taken after the generation was read: a change in between makes
        // the copy stale at once, so it is looked up again next time.
        let known = cached(authority)?;
        *self.entry.write().unwrap_or_else(|p| p.into_inner()) =
            Some((authority.into(), generation, known.clone()));
        Some(known)
    }
}

/// The cache key of a URL: its origin as serialized, `scheme://host[:port]`
/// (the URL parser already drops a default port), borrowed without copying.
pub(crate) fn authority(url: &Url) -> &str {
    &url[..url::Position::BeforePath]
}

pub(crate) fn cached(authority: &str) -> Option<Known> {
    CACHE
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(authority)
        .cloned()
}

pub(crate) fn store(authority: &str, challenge: Challenge) -> Arc<Challenge> {
    let c = Arc::new(challenge);
    change(|cache| {
        cache.insert(authority.to_owned(), Known::Bearer(c.clone()));
    });
    c
}

/// Changes the cache, and its generation with it.
fn change(f: impl FnOnce(&mut HashMap<String, Known>)) {
    let mut cache = CACHE.write().unwrap_or_else(|p| p.into_inner());
    f(&mut cache);
    GENERATION.fetch_add(1, Ordering::Release);
}

pub(crate) fn store_open(authority: &str) {
    change(|cache| {
        cache.insert(authority.to_owned(), Known::Open);
    });
}

pub(crate) fn clear(authority: &str) {
    change(|cache| {
        cache.remove(authority);
    });
}

/// Splits the parameters of a `Bearer` challenge: `k="v", k2=v2`.
fn params(header: &str) -> Option<Vec<(String, String)>> {
    let trimmed = header.trim_start();
    let rest = trimmed
        .get(..6)
        .filter(|s| s.eq_ignore_ascii_case("bearer"))
        .map(|_| &trimmed[6..])?;
    let mut out = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.trim().is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                value.push(n);
                            }
                        }
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        out.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    Some(out)
}

/// Parses a `WWW-Authenticate` header value. Returns `None` when it is not a
/// bearer challenge Key Vault would send.
pub(crate) fn parse(header: &str) -> Option<Parsed> {
    let params = params(header)?;
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    if get("claims").is_some_and(|c| !c.is_empty()) || get("error") == Some("insufficient_claims") {
        return Some(Parsed::Claims);
    }
    let scope = match (get("scope"), get("resource")) {
        (Some(s), _) if !s.is_empty() => s.to_owned(),
        (_, Some(r)) if !r.is_empty() => format!("{}/.default", r.trim_end_matches('/')),
        _ => return None,
    };
    let tenant_id = get("authorization")
        .or_else(|| get("authorization_uri"))
        .and_then(|a| Url::parse(a).ok())
        .and_then(|u| {
            u.path_segments()
                .and_then(|mut s| s.next())
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        });
    Some(Parsed::Bearer(Challenge {
        scope,
        tenant_id,
        verified: false,
    }))
}

/// Checks that `request_url`'s host is the challenge resource's host or a
/// subdomain of it.
///
/// # Errors
/// [`ErrorKind::Authentication`] naming both hosts when they do not match.
pub(crate) fn verify(request_url: &Url, challenge: &Challenge) -> Result<()> {
    let resource = challenge.scope.trim_end_matches("/.default");
    let resource_host = Url::parse(resource)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    let host = request_url.host_str().unwrap_or("").to_ascii_lowercase();
    // An IP address has no parent domain: `0.0.1` is not one of `127.0.0.1`.
    let is_ip = !matches!(request_url.host(), Some(url::Host::Domain(_)));
    let ok = match &resource_host {
        Some(r) => host == *r || (!is_ip && host.ends_with(&format!(".{r}"))),
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Authentication,
            format!(
                "the authentication challenge from {host} names the resource `{resource}`, \
                 whose host is not {host} or a parent domain of it; no token was sent \
                 (set verify_challenge_resource to false for an emulator or a private setup)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(h: &str) -> Challenge {
        match parse(h) {
            Some(Parsed::Bearer(c)) => c,
            other => panic!("not a bearer challenge: {other:?}"),
        }
    }

    #[test]
    fn parses_resource_and_tenant() {
        let c = bearer(
            r#"Bearer authorization="https://login.microsoftonline.com/72f988bf-86f1", resource="https://vault.azure.net""#,
        );
        assert_eq!(c.scope, "https://vault.azure.net/.default");
        assert_eq!(c.tenant_id.as_deref(), Some("72f988bf-86f1"));
    }

    #[test]
    fn parses_scope_and_authorization_uri() {
        let c = bearer(
            r#"Bearer authorization_uri="https://login.windows.net/tid/", scope="https://managedhsm.azure.net/.default""#,
        );
        assert_eq!(c.scope, "https://managedhsm.azure.net/.default");
        assert_eq!(c.tenant_id.as_deref(), Some("tid"));
    }

    #[test]
    fn claims_and_garbage() {
        assert!(matches!(
            parse(r#"Bearer realm="", error="insufficient_claims", claims="eyJ4Ijp7fX0=""#),
            Some(Parsed::Claims)
        ));
        assert!(parse("Basic realm=x").is_none());
        assert!(parse("Bearer").is_none());
        assert!(parse("").is_none());
        assert!(parse("Bearer =,,=\"").is_none());
    }

    #[test]
    fn verifies_subdomain() {
        let c = Challenge {
            scope: "https://vault.azure.net/.default".into(),
            tenant_id: None,
            verified: false,
        };
        let ok = Url::parse("https://myvault.vault.azure.net/secrets").unwrap();
        assert!(verify(&ok, &c).is_ok());
        let bad = Url::parse("https://myvault.evil.net/").unwrap();
        let e = verify(&bad, &c).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Authentication);
        assert!(e.to_string().contains("myvault.evil.net"));
        let tricky = Url::parse("https://evilvault.azure.net/").unwrap();
        assert!(verify(&tricky, &c).is_err());
        let ip = |scope: &str| Challenge {
            scope: scope.into(),
            tenant_id: None,
            verified: false,
        };
        let loopback = Url::parse("https://127.0.0.1:8443/").unwrap();
        assert!(verify(&loopback, &ip("https://127.0.0.1/.default")).is_ok());
        assert!(verify(&loopback, &ip("https://0.0.1/.default")).is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_header_parses_without_panicking(header in any::<String>()) {
            if let Some(Parsed::Bearer(c)) = parse(&header) {
                prop_assert!(!c.scope.is_empty());
                prop_assert!(c.scope.len() <= header.len() + "/.default".len());
            }
        }

        #[test]
        fn bearer_like_headers_parse_without_panicking(
            rest in r#"[ a-z_=",\\/:.\-é]{0,80}"#,
        ) {
            let _ = parse(&format!("Bearer {rest}"));
        }

        #[test]
        fn a_formatted_challenge_reads_back(
            tenant in "[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}",
            host in "[a-z][a-z0-9]{0,20}(\\.[a-z][a-z0-9]{0,10}){1,3}",
            quote_resource in any::<bool>(),
        ) {
            let resource = format!("https://{host}");
            let value = if quote_resource { format!("\"{resource}\"") } else { resource.clone() };
            let header = format!(
                "Bearer authorization=\"https://login.microsoftonline.com/{tenant}\", resource={value}"
            );
            match parse(&header) {
                Some(Parsed::Bearer(c)) => {
                    prop_assert_eq!(c.scope, format!("{resource}/.default"));
                    prop_assert_eq!(c.tenant_id, Some(tenant));
                }
                other => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
