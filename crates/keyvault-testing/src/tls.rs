//! A plain HTTP client for tests that talk to the emulator without the
//! client crates.

use std::sync::Arc;

/// A reqwest client that trusts `ca_pem` (the emulator's CA) and nothing
/// else.
///
/// # Panics
/// When `ca_pem` holds no valid certificate.
pub fn client_trusting(ca_pem: &str) -> reqwest::Client {
    builder_trusting(ca_pem).build().expect("client")
}

/// A reqwest client that trusts `ca_pem` and sends every `https` request
/// through the proxy at `proxy_url` (the emulator's, which serves its
/// endpoints under Azure host names).
///
/// # Panics
/// When `ca_pem` holds no valid certificate or `proxy_url` is not a URL.
pub fn client_through_proxy(ca_pem: &str, proxy_url: &str) -> reqwest::Client {
    let proxy = reqwest::Proxy::https(proxy_url).expect("proxy URL");
    builder_trusting(ca_pem)
        .proxy(proxy)
        .build()
        .expect("client")
}

/// A TLS client configuration that trusts `ca_pem` and nothing else, for
/// tests that write raw bytes to the emulator.
///
/// # Panics
/// When `ca_pem` holds no valid certificate.
pub fn config_trusting(ca_pem: &str) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut ca_pem.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("CA cert");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// A reqwest client builder that trusts `ca_pem` and nothing else, for a
/// test that configures the rest itself.
///
/// # Panics
/// When `ca_pem` holds no valid certificate.
pub fn builder_trusting(ca_pem: &str) -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured(config_trusting(ca_pem))
}
