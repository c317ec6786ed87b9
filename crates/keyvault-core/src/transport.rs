//! The HTTP transport: a `reqwest::Client` over rustls (ring provider), and
//! the translation of transport failures into a root cause a person can act on.

use std::{sync::Arc, time::Duration};

use rustls::pki_types::{CertificateDer, pem::PemObject};

use crate::{ClientOptions, Error, ErrorKind, Result};

/// Builds the `reqwest::Client` described by `options`: rustls with the ring
/// provider, the public web PKI roots plus any custom PEM roots, HTTP/2 when
/// the server offers it.
pub(crate) fn build_client(options: &ClientOptions) -> Result<reqwest::Client> {
    if let Some(c) = &options.http_client {
        return Ok(c.clone());
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for (i, pem) in options.root_certificates_pem.iter().enumerate() {
        let mut found = false;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| {
                Error::with_source(
                    ErrorKind::InvalidInput,
                    format!("root certificate #{i} is not valid PEM"),
                    e,
                )
            })?;
            roots.add(cert).map_err(|e| {
                Error::with_source(
                    ErrorKind::InvalidInput,
                    format!("root certificate #{i} could not be added as a trust anchor"),
                    e,
                )
            })?;
            found = true;
        }
        if !found {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("root certificate #{i} holds no PEM CERTIFICATE block"),
            ));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::with_source(ErrorKind::InvalidInput, "TLS configuration", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        // Key Vault does not redirect; following one could carry a request
        // (and its body) somewhere the challenge was not checked for.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(options.transport_timeout.min(Duration::from_secs(30)))
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .map_err(|e| {
            Error::with_source(
                ErrorKind::InvalidInput,
                "could not build the HTTP client",
                e,
            )
        })
}

/// Names the root cause of a transport failure in a few words, walking the
/// error's source chain: `connection refused`, `DNS lookup failed`, `TLS
/// failure: ...`, `timed out`, `connection reset`.
pub(crate) fn root_cause(err: &reqwest::Error) -> (ErrorKind, String) {
    if err.is_timeout() {
        return (ErrorKind::Timeout, "timed out".to_owned());
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut last = String::new();
    while let Some(e) = cur {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return (ErrorKind::Io, format!("TLS failure: {tls}"));
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            let inner_tls = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
            if let Some(tls) = inner_tls {
                return (ErrorKind::Io, format!("TLS failure: {tls}"));
            }
            let what = match io.kind() {
                K::ConnectionRefused => Some("connection refused"),
                K::ConnectionReset => Some("connection reset"),
                K::ConnectionAborted => Some("connection aborted"),
                K::TimedOut => return (ErrorKind::Timeout, "timed out".to_owned()),
                K::UnexpectedEof => Some("connection closed by the server"),
                _ => None,
            };
            if let Some(w) = what {
                return (ErrorKind::Io, w.to_owned());
            }
        }
        let text = e.to_string();
        if text.contains("peer certificate")
            || text.contains("certificate verify")
            || text.contains("handshake")
            || text.contains("received fatal alert")
        {
            return (ErrorKind::Io, format!("TLS failure: {}", innermost(e)));
        }
        if text.contains("dns error") || text.contains("failed to lookup address") {
            return (
                ErrorKind::Io,
                format!("DNS lookup failed ({})", innermost(e)),
            );
        }
        last = text;
        cur = e.source();
    }
    let kind = ErrorKind::Io;
    if err.is_connect() {
        (kind, format!("could not connect ({last})"))
    } else {
        (kind, last)
    }
}

fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(s) = cur.source() {
        cur = s;
    }
    cur.to_string()
}
