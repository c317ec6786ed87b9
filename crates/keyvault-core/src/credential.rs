//! Token caching over any `azure_core` [`TokenCredential`].
//!
//! Tokens are cached per scope and refreshed ahead of their expiry. Each
//! scope has its own async lock held across a refresh, so however many
//! requests wait for a token, at most one refresh is in flight per scope.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use azure_core::credentials::{AccessToken, TokenCredential};
use time::{Duration, OffsetDateTime};

use crate::{Error, ErrorKind, Result};

/// How long before its expiry a cached token is refreshed.
const REFRESH_AHEAD: Duration = Duration::minutes(5);

type Slot = Arc<tokio::sync::Mutex<Option<AccessToken>>>;

/// A per-scope cache of access tokens from one credential.
pub(crate) struct TokenCache {
    credential: Arc<dyn TokenCredential>,
    slots: Mutex<HashMap<String, Slot>>,
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
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slot(&self, scope: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(scope.to_owned()).or_default().clone()
    }

    /// Returns a valid token for `scope`, from the cache when it is not close
    /// to expiry. `force` refreshes even so (after the service rejected it).
    pub(crate) async fn token(&self, scope: &str, force: bool) -> Result<AccessToken> {
        let slot = self.slot(scope);
        let mut guard = slot.lock().await;
        if !force
            && let Some(t) = guard.as_ref()
            && t.expires_on - OffsetDateTime::now_utc() > REFRESH_AHEAD
        {
            return Ok(t.clone());
        }
        let fresh = self
            .credential
            .get_token(&[scope], None)
            .await
            .map_err(|e| {
                Error::with_source(
                    ErrorKind::Credential,
                    format!("could not get a token for scope {scope}: {e}"),
                    e,
                )
            })?;
        *guard = Some(fresh.clone());
        Ok(fresh)
    }
}
