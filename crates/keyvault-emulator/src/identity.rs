//! Managed identity as Azure hosts give it to apps, so that an unchanged
//! program (a managed-identity or default credential of any Azure SDK) gets
//! its tokens from the emulator:
//!
//! * the App Service protocol (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`):
//!   `GET /msi/token?api-version=2019-08-01&resource=...` with the header
//!   `X-IDENTITY-HEADER`;
//! * the instance metadata (IMDS) protocol:
//!   `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=...`
//!   with `Metadata: true`;
//! * the OpenID configuration and the signing keys (JWKS), so that anyone can
//!   verify the tokens.
//!
//! Tokens are JWTs signed with RS256 by a key the emulator keeps (in its data
//! directory when it has one, so tokens survive a restart). Identities are
//! one system-assigned identity and the user-assigned ones declared at start,
//! selected by `client_id` or `object_id`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair, RsaPublicKeyComponents};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::json_response;
use crate::server::{HttpResponse, Request};

/// The tenant the emulator names when none is given: in challenges, tokens
/// and the OpenID configuration.
pub const DEFAULT_TENANT_ID: &str = "e3a1c0de-5eed-4c0f-9a7e-000000000001";
/// The client (application) id of the system-assigned identity.
pub const SYSTEM_CLIENT_ID: &str = "e3a1c0de-5eed-4c0f-9a7e-00000000c11e";
/// The object (principal) id of the system-assigned identity.
pub const SYSTEM_OBJECT_ID: &str = "e3a1c0de-5eed-4c0f-9a7e-0000000000b1";

/// Path of the App Service token endpoint.
pub(crate) const APP_SERVICE_PATH: &str = "/msi/token";
/// Path of the IMDS token endpoint.
pub(crate) const IMDS_PATH: &str = "/metadata/identity/oauth2/token";
/// Path of the signing keys.
pub(crate) const JWKS_PATH: &str = "/discovery/keys";
/// Suffix of the OpenID configuration path (after an optional tenant).
pub(crate) const OPENID_SUFFIX: &str = "/.well-known/openid-configuration";
/// File of the signing key (PKCS #8 DER) in the data directory.
const KEY_FILE: &str = "token-signing-key.der";
/// How long a token lasts.
const LIFETIME_SECS: i64 = 24 * 3600;
/// Clock skew allowed when checking `nbf` and `exp`.
const SKEW_SECS: i64 = 300;

/// A user-assigned identity declared as `CLIENT_ID=OBJECT_ID`.
///
/// # Errors
/// Text that is not two non-empty ids joined by `=`.
pub fn parse_identity(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((client, object)) if !client.trim().is_empty() && !object.trim().is_empty() => {
            Ok((client.trim().to_owned(), object.trim().to_owned()))
        }
        _ => Err(format!(
            "a user-assigned identity is CLIENT_ID=OBJECT_ID, not {text:?}"
        )),
    }
}

/// The RS256 key tokens are signed with.
struct SigningKey {
    pair: RsaKeyPair,
    kid: String,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl SigningKey {
    /// The key kept in `dir`, created there on first use; a fresh key
    /// without a directory.
    fn load_or_create(dir: Option<&Path>) -> Result<Self, String> {
        let path = dir.map(|d| d.join(KEY_FILE));
        let der = match path.as_deref().map(std::fs::read) {
            Some(Ok(der)) => der,
            Some(Err(e)) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("could not read the token signing key: {e}"));
            }
            _ => {
                let der = generate()?;
                if let Some(path) = &path {
                    write_private(path, &der)
                        .map_err(|e| format!("could not store the token signing key: {e}"))?;
                }
                der
            }
        };
        Self::from_pkcs8(&der)
    }

    fn from_pkcs8(der: &[u8]) -> Result<Self, String> {
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::traits::PublicKeyParts;
        let bad = || "the token signing key is not an RSA key in PKCS #8 DER".to_owned();
        let pair = RsaKeyPair::from_pkcs8(der).map_err(|_| bad())?;
        let key = rsa::RsaPrivateKey::from_pkcs8_der(der).map_err(|_| bad())?;
        let (n, e) = (key.n().to_bytes_be(), key.e().to_bytes_be());
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(&n)[..20]);
        Ok(Self { pair, kid, n, e })
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        let mut sig = vec![0; self.pair.public().modulus_len()];
        let rng = SystemRandom::new();
        (self
            .pair
            .sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig))
        .map_err(|_| "could not sign a token".to_owned())?;
        Ok(sig)
    }

    fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        let public = RsaPublicKeyComponents {
            n: &self.n,
            e: &self.e,
        };
        (public.verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)).is_ok()
    }
}

fn generate() -> Result<Vec<u8>, String> {
    use rsa::pkcs8::EncodePrivateKey;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
        .map_err(|_| "could not create the token signing key".to_owned())?;
    let der = key
        .to_pkcs8_der()
        .map_err(|_| "could not encode the token signing key".to_owned())?;
    Ok(der.as_bytes().to_vec())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, bytes)
}

/// The claims of a verified token that the emulator uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    /// The caller's object id.
    pub(crate) oid: Option<String>,
}

/// The identities the emulator hands tokens to, and the key it signs with.
pub(crate) struct Identities {
    tenant: String,
    /// Declared user-assigned identities: (client id, object id).
    users: Vec<(String, String)>,
    /// The secret an app must send as `X-IDENTITY-HEADER`.
    header: String,
    /// Where the signing key is kept (none: in memory).
    key_dir: Option<PathBuf>,
    /// The signing key, loaded or created when first needed (creating an
    /// RSA key takes a moment, and most runs never issue a token).
    key: OnceLock<Result<SigningKey, String>>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identities")
            .field("tenant", &self.tenant)
            .field("users", &self.users)
            .finish_non_exhaustive()
    }
}

/// An identity a token is issued to.
pub(crate) struct Identity<'a> {
    client_id: &'a str,
    object_id: &'a str,
}

impl Identities {
    /// Identities of `tenant`, with the signing key kept in `key_dir`.
    pub(crate) fn new(
        tenant: String,
        users: Vec<(String, String)>,
        key_dir: Option<&Path>,
    ) -> Self {
        Self {
            tenant,
            users,
            header: uuid::Uuid::new_v4().simple().to_string(),
            key_dir: key_dir.map(Path::to_path_buf),
            key: OnceLock::new(),
        }
    }

    fn key(&self) -> Result<&SigningKey, String> {
        let key = self
            .key
            .get_or_init(|| SigningKey::load_or_create(self.key_dir.as_deref()));
        key.as_ref().map_err(Clone::clone)
    }

    /// The value apps send as `X-IDENTITY-HEADER` (`IDENTITY_HEADER`).
    pub(crate) fn header_secret(&self) -> &str {
        &self.header
    }

    /// The issuer of the tokens (the prefix Azure's v1 tokens have, which
    /// other local emulators such as Azurite require).
    pub(crate) fn issuer(&self) -> String {
        format!("https://sts.windows.net/{}/", self.tenant)
    }

    /// The identity selected by a request's `client_id` or `object_id`
    /// (the system-assigned one without either); `None` for an unknown one.
    pub(crate) fn select(
        &self,
        client_id: Option<&str>,
        object_id: Option<&str>,
    ) -> Option<Identity<'_>> {
        let system = (SYSTEM_CLIENT_ID, SYSTEM_OBJECT_ID);
        let all = std::iter::once((system.0, system.1))
            .chain(self.users.iter().map(|(c, o)| (c.as_str(), o.as_str())));
        let found = match (client_id, object_id) {
            (None, None) => Some(system),
            (Some(c), None) => all.clone().find(|(id, _)| id.eq_ignore_ascii_case(c)),
            (None, Some(o)) => all.clone().find(|(_, id)| id.eq_ignore_ascii_case(o)),
            (Some(_), Some(_)) => None,
        };
        found.map(|(client_id, object_id)| Identity {
            client_id,
            object_id,
        })
    }

    /// A token for `identity` with audience `resource`, and when it expires.
    pub(crate) fn issue(
        &self,
        identity: &Identity<'_>,
        resource: &str,
    ) -> Result<(String, i64), String> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let exp = now + LIFETIME_SECS;
        let key = self.key()?;
        let header = json!({ "typ": "JWT", "alg": "RS256", "kid": key.kid, "x5t": key.kid });
        let claims = json!({
            "aud": resource,
            "iss": self.issuer(),
            "iat": now,
            "nbf": now,
            "exp": exp,
            "appid": identity.client_id,
            "azp": identity.client_id,
            "appidacr": "2",
            "idtyp": "app",
            "oid": identity.object_id,
            "sub": identity.object_id,
            "tid": self.tenant,
            "uti": uuid::Uuid::new_v4().simple().to_string(),
            "ver": "1.0",
        });
        let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let signed = format!("{}.{}", encode(&header), encode(&claims));
        let sig = key.sign(signed.as_bytes())?;
        Ok((format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig)), exp))
    }

    /// Checks a token's signature, issuer, times and audience (`audience`,
    /// compared without a trailing slash).
    ///
    /// # Errors
    /// What is wrong with the token, in words fit for a `401` message.
    pub(crate) fn verify(&self, token: &str, audience: &str) -> Result<Claims, String> {
        let mut parts = token.split('.');
        let (Some(head), Some(body), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("The token is not a JWT.".into());
        };
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok();
        let header: Option<Value> = decode(head).and_then(|b| serde_json::from_slice(&b).ok());
        if header.as_ref().and_then(|h| h["alg"].as_str()) != Some("RS256") {
            return Err("The token is not signed with RS256.".into());
        }
        let signed = &token[..head.len() + 1 + body.len()];
        let key = self.key()?;
        if !decode(sig).is_some_and(|sig| key.verify(signed.as_bytes(), &sig)) {
            return Err("The token's signature is not valid.".into());
        }
        let claims: Value = decode(body)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("The token's claims are not JSON.")?;
        if claims["iss"].as_str() != Some(self.issuer().as_str()) {
            return Err("The token was issued by another authority.".into());
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        match (claims["nbf"].as_i64(), claims["exp"].as_i64()) {
            (_, Some(exp)) if exp + SKEW_SECS < now => return Err("The token is expired.".into()),
            (Some(nbf), _) if nbf - SKEW_SECS > now => {
                return Err("The token is not valid yet.".into());
            }
            (_, None) => return Err("The token has no expiry.".into()),
            _ => {}
        }
        let trim = |s: &str| s.trim_end_matches('/').to_ascii_lowercase();
        if claims["aud"].as_str().map(trim) != Some(trim(audience)) {
            return Err(format!("The audience of the token is not {audience}."));
        }
        Ok(Claims {
            oid: claims["oid"].as_str().map(str::to_owned),
        })
    }

    /// Serves the identity routes; `None` when `req` is not one of them.
    pub(crate) fn handle(&self, req: &Request) -> Option<HttpResponse> {
        let path = req.path.trim_end_matches('/');
        if req.method != http::Method::GET {
            return None;
        }
        if path.eq_ignore_ascii_case(APP_SERVICE_PATH) {
            Some(self.app_service(req))
        } else if path == IMDS_PATH {
            Some(self.imds(req))
        } else if path == JWKS_PATH {
            Some(match self.key() {
                Ok(key) => json_response(200, &jwks(key)),
                Err(message) => json_response(500, &json!({ "error": message })),
            })
        } else if path.ends_with(OPENID_SUFFIX) {
            Some(json_response(
                200,
                &self.openid_configuration(&req.base_url),
            ))
        } else {
            None
        }
    }

    /// The App Service protocol (API version 2019-08-01).
    fn app_service(&self, req: &Request) -> HttpResponse {
        let error = |status: u16, message: &str| {
            json_response(
                status,
                &json!({
                    "statusCode": status,
                    "message": message,
                    "correlationId": uuid::Uuid::new_v4().to_string(),
                }),
            )
        };
        let sent = req.headers.get("x-identity-header").map(|v| v.as_bytes());
        if sent != Some(self.header.as_bytes()) {
            return error(401, "The X-IDENTITY-HEADER header is missing or not valid.");
        }
        if req.query("api-version").is_none() {
            return error(400, "The api-version parameter is required.");
        }
        let Some(resource) = req.query("resource").filter(|r| !r.is_empty()) else {
            return error(400, "The resource parameter is required.");
        };
        if req.query("mi_res_id").is_some() {
            return error(400, "Unable to load the proper Managed Identity.");
        }
        let Some(identity) = self.select(req.query("client_id"), req.query("object_id")) else {
            return error(400, "Unable to load the proper Managed Identity.");
        };
        match self.issue(&identity, resource) {
            Ok((token, expires_on)) => json_response(
                200,
                &json!({
                    "access_token": token,
                    "expires_on": expires_on.to_string(),
                    "resource": resource,
                    "token_type": "Bearer",
                    "client_id": identity.client_id,
                }),
            ),
            Err(message) => error(500, &message),
        }
    }

    /// The IMDS protocol (API version 2018-02-01 and later).
    fn imds(&self, req: &Request) -> HttpResponse {
        let error = |description: &str| {
            json_response(
                400,
                &json!({ "error": "invalid_request", "error_description": description }),
            )
        };
        let metadata = req.headers.get("metadata").map(|v| v.as_bytes());
        if !metadata.is_some_and(|m| m.eq_ignore_ascii_case(b"true")) {
            return error("Required metadata header not specified");
        }
        if req.query("api-version").is_none() {
            return error("Required query variable 'api-version' is missing");
        }
        let Some(resource) = req.query("resource").filter(|r| !r.is_empty()) else {
            return error("Required audience parameter not specified");
        };
        if req.query("msi_res_id").is_some() || req.query("mi_res_id").is_some() {
            return error("Identity not found");
        }
        let Some(identity) = self.select(req.query("client_id"), req.query("object_id")) else {
            return error("Identity not found");
        };
        match self.issue(&identity, resource) {
            Ok((token, expires_on)) => {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                json_response(
                    200,
                    &json!({
                        "access_token": token,
                        "client_id": identity.client_id,
                        "expires_in": (expires_on - now).to_string(),
                        "expires_on": expires_on.to_string(),
                        "ext_expires_in": (expires_on - now).to_string(),
                        "not_before": now.to_string(),
                        "resource": resource,
                        "token_type": "Bearer",
                    }),
                )
            }
            Err(message) => json_response(
                500,
                &json!({ "error": "server_error", "error_description": message }),
            ),
        }
    }

    /// The OpenID configuration, with the keys at `base_url`.
    fn openid_configuration(&self, base_url: &str) -> Value {
        json!({
            "issuer": self.issuer(),
            "jwks_uri": format!("{base_url}{JWKS_PATH}"),
            "token_endpoint": format!("{base_url}{APP_SERVICE_PATH}"),
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["pairwise"],
            "tenant_region_scope": "WW",
        })
    }
}

/// `key` as a JSON Web Key Set.
fn jwks(key: &SigningKey) -> Value {
    json!({ "keys": [{
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": key.kid,
        "x5t": key.kid,
        "n": URL_SAFE_NO_PAD.encode(&key.n),
        "e": URL_SAFE_NO_PAD.encode(&key.e),
    }]})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, query: &[(&str, &str)], headers: &[(&str, &str)]) -> Request {
        let mut map = http::HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        Request {
            method: http::Method::GET,
            path: path.into(),
            query: (query.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers: map,
            base_url: "https://127.0.0.1:8443".into(),
            body: bytes::Bytes::new(),
        }
    }

    fn body(resp: HttpResponse) -> (u16, Value) {
        use http_body_util::BodyExt;
        let status = resp.status().as_u16();
        let bytes = ready(resp.into_body().collect()).unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    /// Drives a future that is ready at once (collecting a full body).
    fn ready<F: Future>(f: F) -> F::Output {
        let runtime = tokio::runtime::Builder::new_current_thread().build();
        runtime.expect("a runtime").block_on(f)
    }

    fn identities() -> Identities {
        let user = (
            "11111111-1111-1111-1111-111111111111".to_owned(),
            "oid-1".to_owned(),
        );
        Identities::new(DEFAULT_TENANT_ID.into(), vec![user], None)
    }

    #[test]
    fn app_service_tokens_verify_for_their_audience() {
        let ids = identities();
        let secret = ids.header_secret().to_owned();
        let query = [
            ("api-version", "2019-08-01"),
            ("resource", "https://vault.azure.net"),
        ];
        let (status, json) = body(
            (ids.handle(&request(
                APP_SERVICE_PATH,
                &query,
                &[("x-identity-header", &secret)],
            )))
            .unwrap(),
        );
        assert_eq!(status, 200, "{json}");
        assert_eq!(json["resource"], "https://vault.azure.net");
        assert_eq!(json["token_type"], "Bearer");
        assert_eq!(json["client_id"], SYSTEM_CLIENT_ID);
        let expires_on: i64 = json["expires_on"].as_str().unwrap().parse().unwrap();
        assert!(expires_on > time::OffsetDateTime::now_utc().unix_timestamp());
        let token = json["access_token"].as_str().unwrap();
        let claims = ids.verify(token, "https://vault.azure.net/").unwrap();
        assert_eq!(claims.oid.as_deref(), Some(SYSTEM_OBJECT_ID));
        let err = ids
            .verify(token, "https://managedhsm.azure.net")
            .unwrap_err();
        assert!(err.contains("audience"), "{err}");
        // A token signed by another key is refused.
        let other = identities();
        assert!(other.verify(token, "https://vault.azure.net").is_err());
        // A token with its claims changed is refused.
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(r#"{"aud":"https://vault.azure.net"}"#);
        parts[1] = &forged;
        assert!(
            ids.verify(&parts.join("."), "https://vault.azure.net")
                .is_err()
        );
    }

    /// A token with `claims`, signed by `ids`' key.
    fn signed(ids: &Identities, claims: Value) -> String {
        let key = ids.key().unwrap();
        let head = URL_SAFE_NO_PAD.encode(json!({ "alg": "RS256", "kid": key.kid }).to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let sig = key.sign(format!("{head}.{body}").as_bytes()).unwrap();
        format!("{head}.{body}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    #[test]
    fn expired_early_and_foreign_tokens_are_refused_even_when_signed() {
        let ids = identities();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let aud = "https://vault.azure.net";
        let claims = |iss: String, nbf: i64, exp: i64| json!({ "aud": aud, "iss": iss, "nbf": nbf, "exp": exp, "oid": "x" });
        let good = signed(&ids, claims(ids.issuer(), now, now + 60));
        assert!(ids.verify(&good, aud).is_ok());
        let expired = signed(&ids, claims(ids.issuer(), now - 7200, now - 3600));
        assert!(ids.verify(&expired, aud).unwrap_err().contains("expired"));
        let early = signed(&ids, claims(ids.issuer(), now + 3600, now + 7200));
        assert!(
            ids.verify(&early, aud)
                .unwrap_err()
                .contains("not valid yet")
        );
        let foreign = signed(
            &ids,
            claims("https://sts.windows.net/other/".into(), now, now + 60),
        );
        assert!(
            ids.verify(&foreign, aud)
                .unwrap_err()
                .contains("another authority")
        );
        let no_expiry = signed(&ids, json!({ "aud": aud, "iss": ids.issuer() }));
        assert!(ids.verify(&no_expiry, aud).is_err());
        assert!(ids.verify("not-a-jwt", aud).is_err());
        assert!(ids.verify("a.b.c.d", aud).is_err());
    }

    #[test]
    fn app_service_refuses_a_wrong_header_and_unknown_identities() {
        let ids = identities();
        let query = [
            ("api-version", "2019-08-01"),
            ("resource", "https://vault.azure.net"),
        ];
        for headers in [&[][..], &[("x-identity-header", "wrong")][..]] {
            let (status, json) = body(
                ids.handle(&request(APP_SERVICE_PATH, &query, headers))
                    .unwrap(),
            );
            assert_eq!(status, 401, "{json}");
            assert!(json.get("access_token").is_none());
        }
        let secret = ids.header_secret().to_owned();
        let unknown = [
            ("api-version", "2019-08-01"),
            ("resource", "https://vault.azure.net"),
            ("client_id", "no-such-client"),
        ];
        let (status, json) = body(
            (ids.handle(&request(
                APP_SERVICE_PATH,
                &unknown,
                &[("x-identity-header", &secret)],
            )))
            .unwrap(),
        );
        assert_eq!(status, 400);
        assert_eq!(
            json["message"],
            "Unable to load the proper Managed Identity."
        );
        assert_eq!(json["statusCode"], 400);
        let user = [
            ("api-version", "2019-08-01"),
            ("resource", "https://vault.azure.net"),
            ("object_id", "oid-1"),
        ];
        let (status, json) = body(
            (ids.handle(&request(
                APP_SERVICE_PATH,
                &user,
                &[("x-identity-header", &secret)],
            )))
            .unwrap(),
        );
        assert_eq!(status, 200);
        assert_eq!(json["client_id"], "11111111-1111-1111-1111-111111111111");
    }

    #[test]
    fn imds_needs_the_metadata_header() {
        let ids = identities();
        let query = [
            ("api-version", "2018-02-01"),
            ("resource", "https://vault.azure.net"),
        ];
        let (status, json) = body(ids.handle(&request(IMDS_PATH, &query, &[])).unwrap());
        assert_eq!(
            (status, json["error"].as_str()),
            (400, Some("invalid_request"))
        );
        let (status, json) = body(
            ids.handle(&request(IMDS_PATH, &query, &[("metadata", "true")]))
                .unwrap(),
        );
        assert_eq!(status, 200, "{json}");
        assert!(json["expires_in"].as_str().unwrap().parse::<i64>().unwrap() > 0);
        let token = json["access_token"].as_str().unwrap();
        ids.verify(token, "https://vault.azure.net").unwrap();
    }

    #[test]
    fn the_jwks_and_openid_configuration_describe_the_key() {
        let ids = identities();
        let (_, jwks) = body(ids.handle(&request(JWKS_PATH, &[], &[])).unwrap());
        assert_eq!(jwks["keys"][0]["kid"], ids.key().unwrap().kid.as_str());
        assert_eq!(jwks["keys"][0]["e"], "AQAB");
        let path = format!("/{DEFAULT_TENANT_ID}{OPENID_SUFFIX}");
        let (_, config) = body(ids.handle(&request(&path, &[], &[])).unwrap());
        assert_eq!(config["issuer"], ids.issuer());
        assert_eq!(config["jwks_uri"], "https://127.0.0.1:8443/discovery/keys");
        assert!(ids.handle(&request("/secrets/x", &[], &[])).is_none());
    }

    #[test]
    fn the_signing_key_is_kept_in_the_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = Identities::new(DEFAULT_TENANT_ID.into(), vec![], Some(dir.path()));
        let again = Identities::new(DEFAULT_TENANT_ID.into(), vec![], Some(dir.path()));
        assert_eq!(first.key().unwrap().kid, again.key().unwrap().kid);
        let system = first.select(None, None).unwrap();
        let (token, _) = first.issue(&system, "https://vault.azure.net").unwrap();
        again.verify(&token, "https://vault.azure.net").unwrap();
    }

    #[test]
    fn identities_parse_from_the_command_line() {
        assert_eq!(parse_identity("c=o"), Ok(("c".to_owned(), "o".to_owned())));
        assert!(parse_identity("c").is_err());
        assert!(parse_identity("=o").is_err());
    }
}
