//! A credential for the emulator and the replay servers, which accept any
//! bearer token.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A credential that returns a fixed token, valid for an hour, and counts
/// its calls: `test-token`, or an unsigned JWT naming `oid` when one is set
/// (for an emulator that checks roles).
#[derive(Debug, Default)]
pub struct StaticToken {
    /// The `oid` claim of the token, if the token is a JWT.
    pub oid: Option<String>,
    /// How many tokens were asked for.
    pub calls: AtomicUsize,
}

impl StaticToken {
    /// A credential whose token is an (unsigned) JWT with this `oid`.
    pub fn jwt(oid: &str) -> Arc<Self> {
        Arc::new(Self {
            oid: Some(oid.to_owned()),
            calls: AtomicUsize::new(0),
        })
    }

    /// The token this credential hands out.
    pub fn token(&self) -> String {
        match &self.oid {
            Some(oid) => format!(
                "{}.{}.sig",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
                URL_SAFE_NO_PAD.encode(format!(r#"{{"oid":"{oid}"}}"#))
            ),
            None => "test-token".to_owned(),
        }
    }
}

#[async_trait::async_trait]
impl TokenCredential for StaticToken {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(AccessToken::new(
            self.token(),
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}
