//! Just enough of the Azure Blob Storage REST API for backups: Put Blob,
//! Get Blob and List Blobs, authorised by a SAS token appended to the URL or
//! by a bearer token of the emulator's own managed identity. Works over
//! https (real storage, web PKI roots; or Azurite with a certificate of the
//! emulator's CA) and over http (Azurite on loopback; SAS only).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::HeaderValue;
use reqwest::Url;

use crate::error::ServiceError;
use crate::identity::Identities;

/// The storage service version sent with every request (bearer tokens need
/// 2017-11-09 or later).
const STORAGE_VERSION: &str = "2021-08-06";
/// The audience of the managed identity's storage token: Azure Storage's
/// resource, which Azurite accepts too.
pub(crate) const STORAGE_RESOURCE: &str = "https://storage.azure.com";
/// A cached token is replaced when it expires within this many seconds.
const TOKEN_RENEW_SECS: i64 = 300;

/// Why a storage request failed: the code becomes the job's `error.code`.
#[derive(Debug, Clone)]
pub(crate) struct StorageError {
    pub(crate) code: String,
    pub(crate) message: String,
}

/// What the HSM's storage calls trust and who they are.
#[derive(Debug, Clone, Default)]
pub(crate) struct StorageConfig {
    /// PEM of the emulator's CA, trusted besides the web PKI roots (so that
    /// an Azurite serving a certificate of that CA is reachable over https).
    pub(crate) ca_pem: Option<String>,
    /// The identities whose system-assigned one authorises
    /// `useManagedIdentity` jobs; without them such jobs send no token.
    pub(crate) identities: Option<Arc<Identities>>,
}

/// A token of the managed identity and when it expires (Unix seconds).
struct CachedToken {
    value: String,
    expires_on: i64,
}

/// How the HSM reaches Blob Storage: one HTTP client, and the managed
/// identity's storage token, cached until shortly before it expires.
pub(crate) struct Storage {
    client: reqwest::Client,
    identities: Option<Arc<Identities>>,
    token: Mutex<Option<CachedToken>>,
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage")
            .field("managed_identity", &self.identities.is_some())
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// An HTTP client for storage (rustls with ring; the web PKI roots and
    /// the configured CA) and an empty token cache.
    pub(crate) fn new(config: &StorageConfig) -> Result<Self, crate::Error> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        if let Some(pem) = &config.ca_pem {
            let mut reader = pem.as_bytes();
            let certs = rustls_pemfile::certs(&mut reader).filter_map(Result::ok);
            roots.add_parsable_certificates(certs);
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls_config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| crate::Error::with_source(crate::ErrorKind::Tls, "storage TLS config", e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config)
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| {
                crate::Error::with_source(crate::ErrorKind::Io, "storage HTTP client", e)
            })?;
        Ok(Self {
            client,
            identities: config.identities.clone(),
            token: Mutex::new(None),
        })
    }

    /// The system-assigned identity's storage token: the cached one while
    /// it is valid for a few more minutes, else a new one.
    async fn bearer(&self) -> Result<Option<String>, StorageError> {
        let Some(identities) = self.identities.clone() else {
            return Ok(None);
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        {
            let cached = self.token.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(t) = cached
                .as_ref()
                .filter(|t| t.expires_on - now > TOKEN_RENEW_SECS)
            {
                return Ok(Some(t.value.clone()));
            }
        }
        // Signing (and creating the key the first time) is CPU work.
        let issued = tokio::task::spawn_blocking(move || {
            let system = identities
                .select(None, None)
                .ok_or_else(|| "the system-assigned identity is missing".to_owned())?;
            identities.issue(&system, STORAGE_RESOURCE)
        })
        .await
        .unwrap_or_else(|_| Err("the token task failed".to_owned()));
        let (value, expires_on) = issued.map_err(|reason| StorageError {
            code: "ManagedIdentityUnavailable".into(),
            message: format!(
                "The emulator's managed identity could not get a storage token: {reason}"
            ),
        })?;
        let mut cached = self.token.lock().unwrap_or_else(|e| e.into_inner());
        *cached = Some(CachedToken {
            value: value.clone(),
            expires_on,
        });
        Ok(Some(value))
    }
}

/// How a container's requests are authorised.
#[derive(Clone)]
enum Auth {
    /// A SAS token appended to each URL.
    Sas(String),
    /// A bearer token of the emulator's managed identity (over https only).
    ManagedIdentity,
}

/// What a request that storage refused carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Sas,
    Token,
    /// A managed-identity request over http: no token is sent in clear text.
    Nothing,
}

/// A blob container and how its requests are authorised.
#[derive(Clone)]
pub(crate) struct Container {
    url: Url,
    auth: Auth,
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = match self.auth {
            Auth::Sas(_) => "sas <redacted>",
            Auth::ManagedIdentity => "managed identity",
        };
        f.debug_struct("Container")
            .field("url", &self.url.as_str())
            .field("auth", &auth)
            .finish()
    }
}

impl Container {
    /// Validates `storageResourceUri` (an http(s) container URL) and how to
    /// authorise: the managed identity when `managed`, else the SAS `token`
    /// (then required).
    pub(crate) fn parse(
        uri: &str,
        token: Option<&str>,
        managed: bool,
    ) -> Result<Self, ServiceError> {
        // A query may hold a SAS: never echo it.
        let bad = || {
            let shown = uri.split(['?', '#']).next().unwrap_or_default();
            ServiceError::bad_parameter(format!(
                "The storageResourceUri '{shown}' is not a valid blob container URL."
            ))
        };
        let mut url = Url::parse(uri.trim()).map_err(|_| bad())?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad());
        }
        url.set_query(None);
        url.set_fragment(None);
        let path = url.path().trim_end_matches('/').to_owned();
        if path.is_empty() || path == "/" {
            return Err(bad());
        }
        url.set_path(&path);
        let sas = token
            .map(|t| t.trim().trim_start_matches('?').to_owned())
            .filter(|t| !t.is_empty());
        let auth = match (managed, sas) {
            (true, _) => Auth::ManagedIdentity,
            (false, Some(sas)) => Auth::Sas(sas),
            (false, None) => {
                return Err(ServiceError::bad_parameter(
                    "Either a SAS 'token' or 'useManagedIdentity': true is required.",
                ));
            }
        };
        Ok(Self { url, auth })
    }

    /// The URL of `folder` in this container, without the SAS.
    pub(crate) fn folder_url(&self, folder: &str) -> String {
        format!("{}/{folder}", self.url.as_str().trim_end_matches('/'))
    }

    fn sas(&self) -> Option<&str> {
        match &self.auth {
            Auth::Sas(sas) => Some(sas),
            Auth::ManagedIdentity => None,
        }
    }

    fn blob_url(&self, blob: &str) -> Url {
        let mut url = self.url.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.extend(blob.split('/'));
        }
        url.set_query(self.sas());
        url
    }

    fn container_url(&self, query: &str) -> Url {
        let mut url = self.url.clone();
        let q = match self.sas() {
            Some(sas) => format!("{query}&{sas}"),
            None => query.to_owned(),
        };
        url.set_query(Some(&q));
        url
    }

    /// Put Blob (a block blob).
    pub(crate) async fn put(
        &self,
        storage: &Storage,
        blob: &str,
        body: Vec<u8>,
    ) -> Result<(), StorageError> {
        let url = self.blob_url(blob);
        let put = (storage.client.put(url.clone()))
            .header("x-ms-blob-type", "BlockBlob")
            .header("content-type", "application/octet-stream")
            .body(body);
        self.send(storage, "PUT", put, &url).await.map(drop)
    }

    /// Get Blob; `None` when the blob does not exist.
    pub(crate) async fn get(
        &self,
        storage: &Storage,
        blob: &str,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let url = self.blob_url(blob);
        let get = storage.client.get(url.clone());
        match self.send(storage, "GET", get, &url).await {
            Ok(resp) => {
                let bytes = resp.bytes().await.map_err(|e| transport(&url, &e))?;
                Ok(Some(bytes.to_vec()))
            }
            Err(e) if e.code == "BlobNotFound" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// List Blobs under `prefix` (names only; at most 5000, enough for a check).
    pub(crate) async fn list(
        &self,
        storage: &Storage,
        prefix: &str,
        max: usize,
    ) -> Result<Vec<String>, StorageError> {
        let url = self.container_url(&format!(
            "restype=container&comp=list&maxresults={max}&prefix={}",
            encode_query(prefix)
        ));
        let get = storage.client.get(url.clone());
        let resp = self.send(storage, "GET", get, &url).await?;
        let text = resp.text().await.map_err(|e| transport(&url, &e))?;
        Ok(xml_values(&text, "Name"))
    }

    /// Sends a storage request with the service version and, for the
    /// managed identity over https, its bearer token; an answer other than
    /// 2xx is an error.
    async fn send(
        &self,
        storage: &Storage,
        method: &str,
        mut req: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<reqwest::Response, StorageError> {
        let sent = match self.auth {
            Auth::Sas(_) => Sent::Sas,
            // A bearer token never travels in clear text.
            Auth::ManagedIdentity if url.scheme() != "https" => Sent::Nothing,
            Auth::ManagedIdentity => match storage.bearer().await? {
                Some(token) => {
                    let mut value =
                        HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                            StorageError {
                                code: "ManagedIdentityUnavailable".into(),
                                message: "The managed identity's token is not a valid header."
                                    .into(),
                            }
                        })?;
                    value.set_sensitive(true);
                    req = req.header(http::header::AUTHORIZATION, value);
                    Sent::Token
                }
                None => Sent::Nothing,
            },
        };
        let resp = req
            .header("x-ms-version", STORAGE_VERSION)
            .send()
            .await
            .map_err(|e| transport(url, &e))?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(failure(method, url, resp, sent).await)
        }
    }
}

fn encode_query(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The text of every `<tag>...</tag>` in `xml` (no nesting, entities decoded).
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        let Some(j) = rest.find(&close) else { break };
        out.push(
            rest[..j]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        );
        rest = &rest[j + close.len()..];
    }
    out
}

/// The URL without its query (the SAS is a credential).
fn shown(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

fn transport(url: &Url, e: &reqwest::Error) -> StorageError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    StorageError {
        code: "StorageRequestFailed".into(),
        message: format!("The storage request to {} {kind}.", shown(url)),
    }
}

async fn failure(method: &str, url: &Url, resp: reqwest::Response, sent: Sent) -> StorageError {
    let status = resp.status().as_u16();
    let header_code = resp
        .headers()
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.text().await.unwrap_or_default();
    let code = header_code
        .or_else(|| xml_values(&body, "Code").into_iter().next())
        .unwrap_or_else(|| format!("Http{status}"));
    let detail = xml_values(&body, "Message")
        .into_iter()
        .next()
        .map(|m| format!(" {}", m.lines().next().unwrap_or_default()))
        .unwrap_or_default();
    let note = match (sent, status) {
        (Sent::Nothing, 401 | 403 | 404) => {
            " The request carried no credentials: the emulator sends its managed identity's \
             token only over https. Use an https container URL (Azurite: --oauth basic with \
             --cert and --key), or pass a SAS token."
        }
        (Sent::Token, 401 | 403) => {
            " The request carried a bearer token of the emulator's system-assigned managed \
             identity (audience https://storage.azure.com). Azurite accepts it when started with \
             --oauth basic over https; Azure Storage does not trust the emulator's tokens, so \
             pass a SAS token for real storage."
        }
        _ => "",
    };
    StorageError {
        code,
        message: format!(
            "Azure Storage answered {status} to {method} {}.{detail}{note}",
            shown(url)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_the_sas_out_of_sight() {
        let c = Container::parse(
            "http://127.0.0.1:10000/devstoreaccount1/backup/",
            Some("?sv=1&sig=abc%2B"),
            false,
        )
        .unwrap();
        assert_eq!(
            c.folder_url("mhsm-x-1"),
            "http://127.0.0.1:10000/devstoreaccount1/backup/mhsm-x-1"
        );
        let u = c.blob_url("mhsm-x-1/keys/k");
        assert_eq!(
            u.as_str(),
            "http://127.0.0.1:10000/devstoreaccount1/backup/mhsm-x-1/keys/k?sv=1&sig=abc%2B"
        );
        assert!(!shown(&u).contains("sig"));
        assert!(!format!("{c:?}").contains("abc"));
        assert!(Container::parse("ftp://x/y", Some("s"), false).is_err());
        let root = "https://acct.blob.core.windows.net";
        assert!(Container::parse(root, None, true).is_err());
        assert!(Container::parse("not a url", Some("s"), false).is_err());
        let e = Container::parse(
            "https://acct.blob.core.windows.net/?sv=1&sig=hidden",
            None,
            true,
        )
        .unwrap_err();
        let shown = format!("{e:?}");
        assert!(
            shown.contains("acct.blob") && !shown.contains("hidden"),
            "{shown}"
        );
    }

    #[test]
    fn the_managed_identity_wins_over_a_token_and_one_of_them_is_needed() {
        let url = "https://acct.blob.core.windows.net/backup";
        let c = Container::parse(url, Some("sv=1&sig=x"), true).unwrap();
        assert!(matches!(c.auth, Auth::ManagedIdentity));
        assert_eq!(c.blob_url("f/b").query(), None, "no SAS with the identity");
        assert_eq!(
            c.container_url("restype=container").query(),
            Some("restype=container")
        );
        let e = Container::parse(url, Some("  "), false).unwrap_err();
        assert!(format!("{e:?}").contains("useManagedIdentity"), "{e:?}");
    }

    fn storage_with_identity() -> Storage {
        let identities = Identities::new(crate::DEFAULT_TENANT_ID.into(), Vec::new(), None);
        let config = StorageConfig {
            ca_pem: None,
            identities: Some(Arc::new(identities)),
        };
        Storage::new(&config).unwrap()
    }

    #[tokio::test]
    async fn the_storage_token_is_cached_until_it_nearly_expires() {
        let storage = storage_with_identity();
        let first = storage.bearer().await.unwrap().unwrap();
        let ids = storage.identities.clone().unwrap();
        let claims = ids.verify(&first, STORAGE_RESOURCE).unwrap();
        assert_eq!(claims.oid.as_deref(), Some(crate::SYSTEM_OBJECT_ID));
        assert_eq!(storage.bearer().await.unwrap().unwrap(), first, "cached");
        // A token about to expire is replaced.
        let soon = time::OffsetDateTime::now_utc().unix_timestamp() + 10;
        storage.token.lock().unwrap().as_mut().unwrap().expires_on = soon;
        let second = storage.bearer().await.unwrap().unwrap();
        assert_ne!(second, first);
        assert!(storage.token.lock().unwrap().as_ref().unwrap().expires_on > soon);
        assert!(!format!("{storage:?}").contains(&second));
        // Without identities, no token.
        let anonymous = Storage::new(&StorageConfig::default()).unwrap();
        assert!(anonymous.bearer().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn refusals_say_what_the_request_carried() {
        let url = Url::parse("https://127.0.0.1:1/devstoreaccount1/c/f/b?sig=x").unwrap();
        let answer = |status: u16| {
            let body =
                "<Error><Code>AuthenticationFailed</Code><Message>No.\nMore</Message></Error>";
            let resp = http::Response::builder().status(status).body(body).unwrap();
            reqwest::Response::from(resp)
        };
        let e = failure("PUT", &url, answer(403), Sent::Token).await;
        assert_eq!(e.code, "AuthenticationFailed");
        assert!(
            e.message.starts_with(
                "Azure Storage answered 403 to PUT https://127.0.0.1:1/devstoreaccount1/c/f/b. No. "
            ),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("--oauth basic") && !e.message.contains("sig="),
            "{}",
            e.message
        );
        let e = failure("GET", &url, answer(404), Sent::Nothing).await;
        assert!(e.message.contains("only over https"), "{}", e.message);
        let e = failure("GET", &url, answer(403), Sent::Sas).await;
        assert!(e.message.ends_with("No."), "{}", e.message);
    }

    #[test]
    fn xml() {
        let x = "<Blobs><Blob><Name>a&amp;b</Name></Blob><Blob><Name>c</Name></Blob></Blobs>";
        assert_eq!(xml_values(x, "Name"), vec!["a&b", "c"]);
    }
}
