//! Token caching over any `azure_core` [`TokenCredential`].
//!
//! Tokens are cached per scope and refreshed ahead of their expiry. A valid
//! token is read under a short read lock; a refresh takes the scope's async
//! lock, so however many requests wait for a token, at most one refresh is in
//! flight per scope, and the waiters use its result.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock, RwLock},
    time::SystemTime,
};

use azure_core::credentials::TokenCredential;
use http::HeaderValue;

use crate::{Error, ErrorKind, Result};

/// How long before its expiry a cached token is refreshed.
const REFRESH_AHEAD: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// A token that lives shorter than [`REFRESH_AHEAD`] is still reused for
/// this long after it was obtained, as long as it stays valid this long.
const SHORT_LIVED_REUSE: std::time::Duration = std::time::Duration::from_secs(30);

/// A cached token, kept as the ready `Authorization` header value (marked
/// sensitive) so that a request costs no formatting, with its expiry as a
/// system time (comparing two costs no calendar arithmetic).
struct Cached {
    header: HeaderValue,
    expires_on: SystemTime,
    obtained: std::time::Instant,
    generation: u64,
}

#[derive(Default)]
struct Slot {
    current: RwLock<Option<Cached>>,
    refresh: tokio::sync::Mutex<()>,
}

impl Slot {
    /// The header value of the cached token and its generation, unless it is
    /// close to expiry.
    fn fresh(&self) -> Option<(HeaderValue, u64)> {
        let cur = self.current.read().unwrap_or_else(|p| p.into_inner());
        cur.as_ref()
            .filter(|c| {
                let left = (c.expires_on.duration_since(SystemTime::now())).unwrap_or_default();
                left > REFRESH_AHEAD
                    || (left > SHORT_LIVED_REUSE && c.obtained.elapsed() < SHORT_LIVED_REUSE)
            })
            .map(|c| (c.header.clone(), c.generation))
    }
}

/// A per-scope cache of access tokens from one credential.
pub(crate) struct TokenCache {
    credential: Arc<dyn TokenCredential>,
    /// The first scope asked for, found without a lock or a hash: a client
    /// asks for one scope (its vault's) all its life.
    first: OnceLock<(String, Arc<Slot>)>,
    /// The other scopes.
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The tokens are never printed.
        f.debug_struct("TokenCache")
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    pub(crate) fn new(credential: Arc<dyn TokenCredential>) -> Self {
        Self {
            credential,
            first: OnceLock::new(),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The slot of `scope` when it is the first scope asked for.
    fn first_slot(&self, scope: &str) -> Option<&Arc<Slot>> {
        self.first
            .get()
            .filter(|(first, _)| first == scope)
            .map(|(_, slot)| slot)
    }

    fn slot(&self, scope: &str) -> Arc<Slot> {
        if let Some(slot) = self.first_slot(scope) {
            return slot.clone();
        }
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        // Looked at again under the lock, which every setter holds.
        if let Some(slot) = self.first_slot(scope) {
            return slot.clone();
        }
        if let Some(s) = slots.get(scope) {
            return s.clone();
        }
        let slot = Arc::new(Slot::default());
        if self.first.set((scope.to_owned(), slot.clone())).is_err() {
            slots.insert(scope.to_owned(), slot.clone());
        }
        slot
    }

    /// The `Authorization` header value for `scope` when a token is cached
    /// and not close to expiry.
    pub(crate) fn cached(&self, scope: &str) -> Option<HeaderValue> {
        let fresh = match self.first_slot(scope) {
            Some(slot) => slot.fresh(),
            None => self.slot(scope).fresh(),
        };
        fresh.map(|(header, _)| header)
    }

    /// Returns the `Authorization` header value for `scope`, from the cache
    /// when the token is not close to expiry. `force` refreshes even so
    /// (the service refused the cached token), unless another request
    /// refreshed it meanwhile.
    pub(crate) async fn token(&self, scope: &str, force: bool) -> Result<HeaderValue> {
        let slot = self.slot(scope);
        let seen = if force {
            slot.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .as_ref()
                .map(|c| c.generation)
        } else {
            if let Some((header, _)) = slot.fresh() {
                return Ok(header);
            }
            None
        };
        let _refreshing = slot.refresh.lock().await;
        // Another request may have refreshed the token while we waited.
        if let Some((header, generation)) = slot.fresh()
            && (!force || Some(generation) != seen)
        {
            return Ok(header);
        }
        let token = self
            .credential
            .get_token(&[scope], None)
            .await
            .map_err(|e| {
                Error::with_source(
                    ErrorKind::Credential,
                    format!("could not get a token for scope {scope}"),
                    e,
                )
            })?;
        let mut header = HeaderValue::from_str(&format!("Bearer {}", token.token.secret()))
            .map_err(|_| {
                Error::new(
                    ErrorKind::Credential,
                    "the credential returned a token that is not a valid header value",
                )
            })?;
        header.set_sensitive(true);
        let mut cur = slot.current.write().unwrap_or_else(|p| p.into_inner());
        let generation = cur.as_ref().map_or(0, |c| c.generation + 1);
        *cur = Some(Cached {
            header: header.clone(),
            expires_on: token.expires_on.into(),
            obtained: std::time::Instant::now(),
            generation,
        });
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use azure_core::credentials::{AccessToken, TokenRequestOptions};
    use time::{Duration, OffsetDateTime};

    use super::*;

    /// Issues `tok-<n>` tokens that live `lifetime`.
    #[derive(Debug)]
    struct Counting {
        calls: AtomicUsize,
        lifetime: Duration,
    }

    #[async_trait::async_trait]
    impl TokenCredential for Counting {
        async fn get_token(
            &self,
            _scopes: &[&str],
            _options: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<AccessToken> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new(
                format!("tok-{n}"),
                OffsetDateTime::now_utc() + self.lifetime,
            ))
        }
    }

    fn new_cache(lifetime: Duration) -> (TokenCache, Arc<Counting>) {
        let c = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            lifetime,
        });
        (TokenCache::new(c.clone()), c)
    }

    #[tokio::test]
    async fn tokens_are_cached_per_scope_and_forced_refresh_renews() {
        let (cache, cred) = new_cache(Duration::hours(1));
        let a = cache
            .token("https://vault.azure.net/.default", false)
            .await
            .unwrap();
        let b = cache
            .token("https://vault.azure.net/.default", false)
            .await
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_str().unwrap(), "Bearer tok-0");
        assert!(a.is_sensitive());
        cache
            .token("https://managedhsm.azure.net/.default", false)
            .await
            .unwrap();
        assert_eq!(cred.calls.load(Ordering::SeqCst), 2);
        let c = cache
            .token("https://vault.azure.net/.default", true)
            .await
            .unwrap();
        assert_eq!(c.to_str().unwrap(), "Bearer tok-2");
    }

    #[tokio::test]
    async fn tokens_close_to_expiry_are_refreshed_ahead() {
        // Expiring in 2 minutes: inside the refresh window, but reused for a
        // short while after it was obtained.
        let (cache, cred) = new_cache(Duration::minutes(2));
        cache.token("s", false).await.unwrap();
        cache.token("s", false).await.unwrap();
        assert_eq!(cred.calls.load(Ordering::SeqCst), 1);
        // Expiring in 10 seconds: refreshed at every use.
        let (cache, cred) = new_cache(Duration::seconds(10));
        cache.token("s", false).await.unwrap();
        cache.token("s", false).await.unwrap();
        assert_eq!(cred.calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn debug_shows_no_token() {
        let (cache, _) = new_cache(Duration::hours(1));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(cache.token("s", false)).unwrap();
        assert!(!format!("{cache:?}").contains("tok-"));
    }
}
