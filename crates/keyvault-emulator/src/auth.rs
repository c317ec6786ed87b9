//! Challenge authentication, as Key Vault does it: a request without a bearer
//! token gets `401` with a `WWW-Authenticate: Bearer authorization=..., resource=...`
//! challenge that tells the client where to get a token and for which resource.

use std::str::FromStr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, header};

use crate::error::ServiceError;
use crate::identity::Identities;

/// How requests are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMode {
    /// Any `Authorization: Bearer <token>` is accepted (the default).
    #[default]
    Any,
    /// The bearer token must be a JWT (three base64url parts, a JSON payload);
    /// its `oid` claim names the caller in the access log.
    Jwt,
    /// No authentication at all: requests without a token are served.
    Off,
    /// The bearer token must be one the emulator issued at its managed
    /// identity endpoint: its signature, issuer, expiry and audience (the
    /// endpoint's challenge resource) are checked, and its `oid` names the
    /// caller.
    Strict,
}

impl FromStr for AuthMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "any" => Ok(AuthMode::Any),
            "jwt" => Ok(AuthMode::Jwt),
            "off" => Ok(AuthMode::Off),
            "strict" => Ok(AuthMode::Strict),
            other => Err(format!(
                "unknown auth mode {other:?} (expected any, jwt, strict or off)"
            )),
        }
    }
}

/// The authority that challenges point to.
pub(crate) const AUTHORITY: &str = "https://login.microsoftonline.com";

/// Authentication settings of one endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Authenticator {
    pub(crate) mode: AuthMode,
    pub(crate) tenant_id: String,
    pub(crate) resource: String,
    /// What verifies tokens in strict mode.
    pub(crate) identities: Arc<Identities>,
}

/// A rejected request: the error and the challenge header to send with it.
pub(crate) struct Challenge {
    pub(crate) error: ServiceError,
    pub(crate) www_authenticate: HeaderValue,
}

impl Authenticator {
    /// The `WWW-Authenticate` value.
    fn challenge_header(&self) -> HeaderValue {
        let v = format!(
            "Bearer authorization=\"{AUTHORITY}/{}\", resource=\"{}\"",
            self.tenant_id, self.resource
        );
        HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }

    fn reject(&self, message: &str) -> Challenge {
        Challenge {
            error: ServiceError::new(401, "Unauthorized", message),
            www_authenticate: self.challenge_header(),
        }
    }

    /// Checks a request's headers. On success returns the caller (the JWT's
    /// `oid` in `jwt` and `strict` modes, when present).
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<Option<String>, Challenge> {
        if self.mode == AuthMode::Off {
            return Ok(None);
        }
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(self.reject("AKV10000: Request is missing a Bearer or PoP token."));
        };
        let value = value.to_str().unwrap_or("");
        let token = match value.split_once(' ') {
            Some((scheme, token))
                if (scheme.eq_ignore_ascii_case("bearer")
                    || scheme.eq_ignore_ascii_case("pop"))
                    && !token.trim().is_empty() =>
            {
                token.trim()
            }
            _ => return Err(self.reject("AKV10000: Request is missing a Bearer or PoP token.")),
        };
        match self.mode {
            AuthMode::Off | AuthMode::Any => Ok(None),
            AuthMode::Jwt => match jwt_oid(token) {
                Some(oid) => Ok(oid),
                None => Err(self.reject("AKV10022: The bearer token is not a valid JWT.")),
            },
            AuthMode::Strict => match self.identities.verify(token, &self.resource) {
                Ok(claims) => Ok(claims.oid),
                Err(why) => Err(self.reject(&format!("AKV10022: {why}"))),
            },
        }
    }
}

/// Parses a JWT's payload; `None` when it is not a JWT, `Some(oid)` otherwise.
fn jwt_oid(token: &str) -> Option<Option<String>> {
    let mut parts = token.split('.');
    let (header, payload, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header.trim_end_matches('=')).ok()?).ok()?;
    let payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?)
            .ok()?;
    if !header.is_object() || !payload.is_object() {
        return None;
    }
    Some(
        payload
            .get("oid")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(mode: AuthMode) -> Authenticator {
        Authenticator {
            mode,
            tenant_id: "t".into(),
            resource: "https://vault.azure.net".into(),
            identities: Arc::new(Identities::new("t".into(), Vec::new(), None)),
        }
    }

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn missing_token_is_challenged() {
        let err = auth(AuthMode::Any).check(&HeaderMap::new()).unwrap_err();
        assert_eq!(err.error.status, 401);
        assert_eq!(
            err.www_authenticate.to_str().unwrap(),
            "Bearer authorization=\"https://login.microsoftonline.com/t\", resource=\"https://vault.azure.net\""
        );
        assert!(auth(AuthMode::Off).check(&HeaderMap::new()).is_ok());
    }

    #[test]
    fn jwt_mode_reads_oid() {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let p = URL_SAFE_NO_PAD.encode(br#"{"oid":"abc"}"#);
        let token = format!("Bearer {h}.{p}.");
        assert_eq!(
            auth(AuthMode::Jwt).check(&headers(&token)).ok().flatten(),
            Some("abc".to_owned())
        );
        assert!(auth(AuthMode::Jwt).check(&headers("Bearer fake")).is_err());
        assert!(auth(AuthMode::Any).check(&headers("Bearer fake")).is_ok());
        assert!(auth(AuthMode::Any).check(&headers("Basic abc")).is_err());
    }

    #[test]
    fn strict_mode_takes_only_issued_tokens_for_its_resource() {
        let strict = auth(AuthMode::Strict);
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let p = URL_SAFE_NO_PAD.encode(br#"{"oid":"abc"}"#);
        let err = strict
            .check(&headers(&format!("Bearer {h}.{p}.")))
            .unwrap_err();
        assert_eq!(err.error.status, 401);
        let token = |resource: &str| {
            let ids = &strict.identities;
            let system = ids.select(None, None).unwrap();
            format!("Bearer {}", ids.issue(&system, resource).unwrap().0)
        };
        let caller = strict
            .check(&headers(&token("https://vault.azure.net")))
            .ok()
            .flatten();
        assert_eq!(caller.as_deref(), Some(crate::SYSTEM_OBJECT_ID));
        let err = (strict.check(&headers(&token("https://managedhsm.azure.net")))).unwrap_err();
        assert!(
            err.error.message.contains("audience"),
            "{}",
            err.error.message
        );
    }
}
