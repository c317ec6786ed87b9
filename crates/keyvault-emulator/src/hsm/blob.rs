//! Just enough of the Azure Blob Storage REST API for backups: Put Blob,
//! Get Blob and List Blobs, authorised by a SAS token appended to the URL
//! (or anonymous). Works over https (real storage, web PKI roots) and over
//! http (Azurite on loopback).

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

use crate::error::ServiceError;

/// The storage service version sent with every request.
const STORAGE_VERSION: &str = "2021-08-06";

/// Why a storage request failed: the code becomes the job's `error.code`.
#[derive(Debug, Clone)]
pub(crate) struct StorageError {
    pub(crate) code: String,
    pub(crate) message: String,
}

/// An HTTP client for storage: rustls with ring and the web PKI roots.
pub(crate) fn client() -> Result<reqwest::Client, crate::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| crate::Error::with_source(crate::ErrorKind::Tls, "storage TLS config", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| crate::Error::with_source(crate::ErrorKind::Io, "storage HTTP client", e))
}

/// A blob container and the SAS token (if any) that grants access to it.
#[derive(Clone)]
pub(crate) struct Container {
    url: Url,
    sas: Option<String>,
}

impl std::fmt::Debug for Container {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Container")
            .field("url", &self.url.as_str())
            .field("sas", &self.sas.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Container {
    /// Validates `storageResourceUri` (an http(s) container URL) and the token.
    pub(crate) fn parse(uri: &str, token: Option<&str>) -> Result<Self, ServiceError> {
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
        Ok(Self { url, sas })
    }

    /// The URL of `folder` in this container, without the SAS.
    pub(crate) fn folder_url(&self, folder: &str) -> String {
        format!("{}/{folder}", self.url.as_str().trim_end_matches('/'))
    }

    fn blob_url(&self, blob: &str) -> Url {
        let mut url = self.url.clone();
        if let Ok(mut segs) = url.path_segments_mut() {
            segs.extend(blob.split('/'));
        }
        url.set_query(self.sas.as_deref());
        url
    }

    fn container_url(&self, query: &str) -> Url {
        let mut url = self.url.clone();
        let q = match &self.sas {
            Some(sas) => format!("{query}&{sas}"),
            None => query.to_owned(),
        };
        url.set_query(Some(&q));
        url
    }

    /// Put Blob (a block blob).
    pub(crate) async fn put(
        &self,
        client: &reqwest::Client,
        blob: &str,
        body: Vec<u8>,
    ) -> Result<(), StorageError> {
        let url = self.blob_url(blob);
        let put = client
            .put(url.clone())
            .header("x-ms-blob-type", "BlockBlob")
            .header("content-type", "application/octet-stream")
            .body(body);
        self.send("PUT", put, &url).await.map(drop)
    }

    /// Get Blob; `None` when the blob does not exist.
    pub(crate) async fn get(
        &self,
        client: &reqwest::Client,
        blob: &str,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let url = self.blob_url(blob);
        match self.send("GET", client.get(url.clone()), &url).await {
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
        client: &reqwest::Client,
        prefix: &str,
        max: usize,
    ) -> Result<Vec<String>, StorageError> {
        let url = self.container_url(&format!(
            "restype=container&comp=list&maxresults={max}&prefix={}",
            encode_query(prefix)
        ));
        let resp = self.send("GET", client.get(url.clone()), &url).await?;
        let text = resp.text().await.map_err(|e| transport(&url, &e))?;
        Ok(xml_values(&text, "Name"))
    }

    /// Sends a storage request with the service version; an answer other
    /// than 2xx is an error.
    async fn send(
        &self,
        method: &str,
        req: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<reqwest::Response, StorageError> {
        let resp = req
            .header("x-ms-version", STORAGE_VERSION)
            .send()
            .await
            .map_err(|e| transport(url, &e))?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(failure(method, url, resp, self.sas.is_none()).await)
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

async fn failure(
    method: &str,
    url: &Url,
    resp: reqwest::Response,
    anonymous: bool,
) -> StorageError {
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
    let note = if anonymous && matches!(status, 401 | 403 | 404) {
        " The request carried no credentials: this emulator has no managed identity, so \
         useManagedIdentity only works with containers that allow anonymous access; pass a SAS token instead."
    } else {
        ""
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
        assert!(Container::parse("ftp://x/y", None).is_err());
        assert!(Container::parse("https://acct.blob.core.windows.net", None).is_err());
        assert!(Container::parse("not a url", None).is_err());
        let e = Container::parse("https://acct.blob.core.windows.net/?sv=1&sig=hidden", None)
            .unwrap_err();
        let shown = format!("{e:?}");
        assert!(
            shown.contains("acct.blob") && !shown.contains("hidden"),
            "{shown}"
        );
    }

    #[test]
    fn xml() {
        let x = "<Blobs><Blob><Name>a&amp;b</Name></Blob><Blob><Name>c</Name></Blob></Blobs>";
        assert_eq!(xml_values(x, "Name"), vec!["a&b", "c"]);
    }
}
