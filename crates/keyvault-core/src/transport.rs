//! The HTTP transport: a `reqwest::Client` over rustls (ring provider), and
//! the translation of transport failures into a few words a person can act on.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::{Bytes, BytesMut};

use rustls::pki_types::{CertificateDer, pem::PemObject};

use crate::{ClientOptions, Error, ErrorKind, ProxyOptions, Result};

/// Builds the `reqwest::Client` described by `options`: rustls with the ring
/// provider, the platform's certificate verifier (the system's trusted roots)
/// plus any custom PEM roots and the certificates of the file `SSL_CERT_FILE`
/// names, HTTP/2 when the server offers it (feature `http2`); the explicit
/// proxy of the options, or else proxies from the environment
/// (`HTTPS_PROXY`, `NO_PROXY`); the connect and read timeouts.
pub(crate) fn build_client(options: &ClientOptions) -> Result<reqwest::Client> {
    if let Some(c) = &options.http_client {
        return Ok(c.clone());
    }
    let mut extra = Vec::new();
    for (i, pem) in options.root_certificates_pem.iter().enumerate() {
        let before = extra.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| {
                Error::with_source(
                    ErrorKind::InvalidInput,
                    format!("root certificate #{i} is not valid PEM"),
                    e,
                )
            })?;
            rustls::RootCertStore::empty()
                .add(cert.clone())
                .map_err(|e| {
                    Error::with_source(
                        ErrorKind::InvalidInput,
                        format!("root certificate #{i} could not be added as a trust anchor"),
                        e,
                    )
                })?;
            extra.push(cert);
        }
        if extra.len() == before {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("root certificate #{i} holds no PEM CERTIFICATE block"),
            ));
        }
    }
    // The bundle OpenSSL-based tools and native-root clients also trust (on
    // Linux the platform verifier reads it too, instead of the system's).
    if let Some(path) = std::env::var_os("SSL_CERT_FILE")
        && let Ok(pem) = std::fs::read(&path)
    {
        for cert in CertificateDer::pem_slice_iter(&pem).flatten() {
            if rustls::RootCertStore::empty().add(cert.clone()).is_ok() {
                extra.push(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = shared_verifier(extra, &provider)?;
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::with_source(ErrorKind::InvalidInput, "TLS configuration", e))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    tls.alpn_protocols = vec![
        #[cfg(feature = "http2")]
        b"h2".to_vec(),
        b"http/1.1".to_vec(),
    ];
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        // Key Vault does not redirect; following one could carry a request
        // (and its body) somewhere the challenge was not checked for.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(options.connect_timeout.min(options.transport_timeout))
        .pool_idle_timeout(Duration::from_secs(90));
    if let Some(read) = options.read_timeout {
        builder = builder.read_timeout(read);
    }
    if let Some(proxy) = &options.proxy {
        builder = builder.proxy(explicit_proxy(proxy)?);
    }
    builder.build().map_err(|e| {
        Error::with_source(
            ErrorKind::InvalidInput,
            "could not build the HTTP client",
            e,
        )
    })
}

/// The last verifier built, with the extra roots it trusts. Building one
/// reads and parses the system's CA bundle (some 3 ms); clients built with
/// the same extra roots share it instead, so that bundle is read once per
/// process, not once per client.
type Shared = (
    Vec<CertificateDer<'static>>,
    Arc<rustls_platform_verifier::Verifier>,
);
static LAST_VERIFIER: Mutex<Option<Shared>> = Mutex::new(None);

/// The platform's verifier trusting `extra` too: the one last built when
/// it trusts the same extra roots, else a new one.
fn shared_verifier(
    extra: Vec<CertificateDer<'static>>,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<rustls_platform_verifier::Verifier>> {
    let mut last = LAST_VERIFIER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((roots, verifier)) = last.as_ref()
        && *roots == extra
    {
        return Ok(verifier.clone());
    }
    let verifier = Arc::new(platform_verifier(extra.clone(), provider.clone())?);
    *last = Some((extra, verifier.clone()));
    Ok(verifier)
}

/// The platform's verifier (the system's roots, or the OS's own checks on
/// macOS and Windows) trusting `extra` too.
fn platform_verifier(
    extra: Vec<CertificateDer<'static>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<rustls_platform_verifier::Verifier> {
    #[cfg(target_os = "android")]
    if !extra.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "extra trusted roots (root_certificates_pem, SSL_CERT_FILE) are not supported on Android",
        ));
    }
    #[cfg(target_os = "android")]
    let verifier = rustls_platform_verifier::Verifier::new(provider);
    #[cfg(not(target_os = "android"))]
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider);
    verifier.map_err(|e| {
        Error::with_source(
            ErrorKind::InvalidInput,
            "no trusted root certificates: the system has none (or they could not be read) \
             and none were given in root_certificates_pem or SSL_CERT_FILE",
            e,
        )
    })
}

/// Reads a response body whole, or `None` as soon as it is known to be
/// longer than `max` bytes (from its `Content-Length`, or while reading):
/// no more than `max` bytes (and one chunk) are ever held. A body of one
/// chunk is returned as it came, without a copy.
pub(crate) async fn read_body(
    resp: &mut reqwest::Response,
    max: usize,
) -> std::result::Result<Option<Bytes>, reqwest::Error> {
    let announced = resp.content_length();
    if announced.is_some_and(|n| n > max as u64) {
        return Ok(None);
    }
    let Some(first) = resp.chunk().await? else {
        return Ok(Some(Bytes::new()));
    };
    if first.len() > max {
        return Ok(None);
    }
    let Some(second) = resp.chunk().await? else {
        return Ok(Some(first));
    };
    let expected = announced.map_or(0, |n| n as usize);
    let mut buf = BytesMut::with_capacity(expected.max(first.len() + second.len()));
    buf.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if buf.len() + chunk.len() > max {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk);
        next = resp.chunk().await?;
    }
    Ok(Some(buf.freeze()))
}

/// The error of a response whose body is longer than `max` bytes.
pub(crate) fn body_too_large(status: http::StatusCode, max: usize) -> Error {
    Error::new(
        ErrorKind::LimitExceeded,
        format!(
            "the response ({status}) has a body larger than {max} bytes \
             (max_response_body_size); it was not read"
        ),
    )
}

/// The `reqwest::Proxy` of an explicit proxy option; an error names the
/// URL without its user information.
fn explicit_proxy(options: &ProxyOptions) -> Result<reqwest::Proxy> {
    let invalid = || {
        Error::new(
            ErrorKind::InvalidInput,
            format!(
                "the proxy URL `{}` is not an http:// or https:// URL with a host",
                options.shown_url()
            ),
        )
    };
    let url = url::Url::parse(&options.url).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid());
    }
    let proxy = reqwest::Proxy::all(url).map_err(|_| invalid())?;
    let list = options.no_proxy.join(",");
    Ok(proxy.no_proxy(reqwest::NoProxy::from_string(&list)))
}

/// Says in a few words of our own what failed in a transport failure:
/// `connection refused`, `DNS lookup failed`, `TLS failure: ...`, `timed
/// out`, `connection reset`. The words are ours, never the cause's text:
/// the cause stays reachable through the error's `source()`, so a report
/// that prints the chain shows each message once.
pub(crate) fn classify(err: &reqwest::Error) -> (ErrorKind, &'static str) {
    if err.is_timeout() {
        return (ErrorKind::Timeout, "timed out");
    }
    let chain = || {
        std::iter::successors(Some(err as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
    };
    // The typed causes first, anywhere in the chain.
    for e in chain() {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return (ErrorKind::Io, tls_failure(tls));
        }
        if let Some(found) = e.downcast_ref::<std::io::Error>().and_then(io_failure) {
            return found;
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_parse() || h.is_parse_status() {
                return (ErrorKind::Io, "the server's answer is not valid HTTP");
            }
            if h.is_incomplete_message() {
                return (
                    ErrorKind::Io,
                    "connection closed by the server before a complete response",
                );
            }
        }
    }
    // Then the causes only their text tells apart.
    for e in chain() {
        let text = e.to_string();
        if text.contains("peer certificate")
            || text.contains("certificate verify")
            || text.contains("handshake")
            || text.contains("received fatal alert")
        {
            return (ErrorKind::Io, "TLS failure");
        }
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return (ErrorKind::Io, "DNS lookup failed");
        }
    }
    if err.is_connect() {
        (ErrorKind::Io, "could not connect")
    } else if err.is_body() || err.is_decode() {
        (ErrorKind::Io, "the response body could not be read")
    } else {
        (ErrorKind::Io, "the request could not be sent")
    }
}

/// What an I/O error was, looking through the I/O errors it wraps (their
/// `source()` skips a level, so the chain alone does not reach the TLS error
/// a TLS stream reports).
fn io_failure(mut io: &std::io::Error) -> Option<(ErrorKind, &'static str)> {
    use std::io::ErrorKind as K;
    loop {
        let inner = io.get_ref();
        if let Some(tls) = inner.and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return Some((ErrorKind::Io, tls_failure(tls)));
        }
        match io.kind() {
            K::ConnectionRefused => return Some((ErrorKind::Io, "connection refused")),
            K::ConnectionReset => return Some((ErrorKind::Io, "connection reset")),
            K::ConnectionAborted => return Some((ErrorKind::Io, "connection aborted")),
            K::TimedOut => return Some((ErrorKind::Timeout, "timed out")),
            K::UnexpectedEof => return Some((ErrorKind::Io, "connection closed by the server")),
            _ => {}
        }
        io = inner?.downcast_ref::<std::io::Error>()?;
    }
}

/// What a TLS failure was, in our words.
fn tls_failure(err: &rustls::Error) -> &'static str {
    use rustls::CertificateError as C;
    match err {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
            "TLS failure: the server's certificate has an unknown issuer"
        }
        rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "TLS failure: the server's certificate has expired"
        }
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => "TLS failure: the server's certificate is not valid for its host name",
        rustls::Error::InvalidCertificate(_) => "TLS failure: the server's certificate was refused",
        rustls::Error::AlertReceived(_) => {
            "TLS failure: the server ended the handshake with an alert"
        }
        _ => "TLS failure",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed() -> CertificateDer<'static> {
        let cert = rcgen::generate_simple_self_signed(vec!["vault.test".to_owned()]).unwrap();
        cert.cert.der().clone()
    }

    #[test]
    fn clients_with_the_same_roots_share_one_verifier() {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (a, b) = (self_signed(), self_signed());
        // Other tests of this process build clients too and may replace the
        // shared verifier between two calls: one pair that shares suffices.
        let shared = (0..100).any(|_| {
            let first = shared_verifier(vec![a.clone()], &provider).unwrap();
            let again = shared_verifier(vec![a.clone()], &provider).unwrap();
            Arc::ptr_eq(&first, &again)
        });
        assert!(
            shared,
            "two builds with the same roots never shared a verifier"
        );
        let first = shared_verifier(vec![a], &provider).unwrap();
        let other = shared_verifier(vec![b], &provider).unwrap();
        assert!(
            !Arc::ptr_eq(&first, &other),
            "other roots need their own verifier"
        );
    }
}
