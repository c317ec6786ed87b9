//! HTTPS with a custom root (a CA generated in the test), and a clear error
//! when the server's certificate is not trusted.

use std::{sync::Arc, time::Duration};

use keyvault_core::{
    ClientOptions, Context, ErrorKind, RetryOptions,
    http::{Method, Request},
};

use crate::server::{self, Reply, Server, TestCredential, require_token};

#[tokio::test]
async fn https_with_a_custom_root_and_challenge() {
    let (srv, ca_pem) = Server::https(|seen, _| {
        require_token(seen).unwrap_or_else(|| Reply::json(200, r#"{"id":"s"}"#))
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(
        &cred,
        ClientOptions {
            root_certificates_pem: vec![ca_pem.into_bytes()],
            allow_loopback_http: false,
            // The challenge names https://127.0.0.1 while the URL host is localhost.
            verify_challenge_resource: false,
            ..server::options()
        },
    );
    let url = p.parse_endpoint(srv.base.as_str()).unwrap();
    let mut req = Request::new(Method::PUT, url.join("/secrets/s").unwrap());
    req.set_body(r#"{"value":"v"}"#);
    let resp = p.send(&Context::new("SetSecret"), req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let seen = srv.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen[0].authorization().is_none() && seen[1].authorization().is_some());
    // The server offers both: HTTP/2 is taken with the `http2` feature
    // (`cargo xtask test` also runs this test without it).
    let expected = if cfg!(feature = "http2") {
        http::Version::HTTP_2
    } else {
        http::Version::HTTP_11
    };
    assert!(seen.iter().all(|s| s.version == expected), "{seen:?}");
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_clear_tls_error() {
    let (srv, _ca_pem) = Server::https(|_, _| Reply::json(200, "{}")).await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(
        &cred,
        ClientOptions {
            retry: RetryOptions {
                max_retries: 1,
                initial_delay: Duration::from_millis(5),
                max_delay: Duration::from_millis(5),
                budget: Duration::from_secs(5),
                ..Default::default()
            },
            ..server::options()
        },
    );
    let err = p
        .send(
            &Context::new("GetSecret"),
            Request::new(Method::GET, srv.url("/secrets/s")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    let text = err.to_string();
    assert!(text.contains("TLS failure"), "{text}");
    assert!(
        text.contains("UnknownIssuer") || text.contains("unknown issuer"),
        "{text}"
    );
    assert!(srv.seen().is_empty());
}

#[test]
fn a_bad_root_certificate_is_invalid_input() {
    let cred = Arc::new(TestCredential::default());
    let err = keyvault_core::Pipeline::new(
        server::INFO,
        cred,
        server::API_VERSION,
        ClientOptions {
            root_certificates_pem: vec![b"not a certificate".to_vec()],
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("root certificate #0"), "{err}");
}

#[tokio::test]
async fn without_system_roots_only_the_given_roots_are_trusted() {
    const TEST: &str = "without_system_roots_only_the_given_roots_are_trusted";
    if !crate::default_credential::in_child(TEST) {
        // A system with no CA bundle: the platform verifier finds no root.
        let missing = std::env::temp_dir().join("keyvault-core-test-no-roots");
        let missing = missing.display().to_string();
        let vars = vec![
            ("SSL_CERT_FILE", missing.clone()),
            ("SSL_CERT_DIR", missing),
        ];
        crate::default_credential::run_child_in("tls", TEST, vars).await;
        return;
    }
    let cred = Arc::new(TestCredential::default());
    let err = keyvault_core::Pipeline::new(
        server::INFO,
        cred.clone(),
        server::API_VERSION,
        server::options(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("no trusted root"), "{err}");

    let (srv, ca_pem) = Server::https(|_, _| Reply::json(200, r#"{"id":"s"}"#)).await;
    let options = ClientOptions {
        root_certificates_pem: vec![ca_pem.into_bytes()],
        ..server::options()
    };
    let p = server::pipeline(&cred, options);
    let resp = p
        .send(
            &Context::new("GetSecret"),
            Request::new(Method::GET, srv.url("/secrets/s")),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}
