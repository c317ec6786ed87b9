//! Key Vault challenge authentication.

use std::{sync::Arc, time::Duration};

use keyvault_core::{
    ClientOptions, Context, ErrorKind,
    http::{Method, Request},
};

use crate::server::{self, FailingCredential, Reply, Server, TestCredential, require_token};

const SECRET_JSON: &str = r#"{"value":"challenge-flow-value"}"#;

#[tokio::test]
async fn first_request_is_bodiless_then_retried_with_body_and_token() {
    let srv = Server::http(|seen, _| {
        require_token(seen).unwrap_or_else(|| Reply::json(200, r#"{"id":"x"}"#))
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());

    let mut req = Request::new(Method::PUT, srv.url("/secrets/one"));
    req.set_json(&serde_json::json!({"value": "challenge-flow-value"}))
        .unwrap();
    let resp = p.send(&Context::new("SetSecret"), req).await.unwrap();
    assert_eq!(resp.status(), 200);

    let seen = srv.seen();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    assert_eq!(seen[0].authorization(), None);
    assert!(seen[0].body.is_empty(), "the discovery request has no body");
    assert_eq!(
        seen[1].authorization(),
        Some(format!("Bearer {}", server::TOKEN).as_str())
    );
    assert_eq!(seen[1].body.as_ref(), SECRET_JSON.as_bytes());
    assert_eq!(
        cred.scopes.lock().unwrap().as_slice(),
        ["https://127.0.0.1/.default"]
    );

    // A second client of the same vault, with its own credential, sends no
    // unauthenticated request: the challenge is cached for the process.
    let cred2 = Arc::new(TestCredential::default());
    let p2 = server::pipeline(&cred2, server::options());
    let resp = p2
        .send(
            &Context::new("GetSecret"),
            Request::new(Method::GET, srv.url("/secrets/one")),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let seen = srv.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen[2].authorization().is_some());
    assert_eq!(cred2.calls(), 1);

    // The first client reuses its cached token.
    p.send(
        &Context::new("GetSecret"),
        Request::new(Method::GET, srv.url("/secrets/one")),
    )
    .await
    .unwrap();
    assert_eq!(cred.calls(), 1);
    assert_eq!(srv.seen().len(), 4);
}

#[tokio::test]
async fn mismatched_resource_is_rejected_and_no_token_is_sent() {
    let srv = Server::http(|seen, _| {
        if seen.authorization().is_some() {
            Reply::json(200, "{}")
        } else {
            server::challenge("https://vault.azure.net")
        }
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let err = p
        .send(
            &Context::new("GetSecret"),
            Request::new(Method::GET, srv.url("/secrets/a")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
    let text = err.to_string();
    assert!(text.contains("vault.azure.net"), "{text}");
    assert!(text.contains("no token was sent"), "{text}");
    assert_eq!(cred.calls(), 0, "no token was even requested");
    assert!(srv.seen().iter().all(|s| s.authorization().is_none()));
    assert_eq!(srv.seen().len(), 1);

    // With the check turned off (an emulator), the same challenge is honoured.
    let lax = server::pipeline(
        &cred,
        ClientOptions {
            verify_challenge_resource: false,
            ..server::options()
        },
    );
    let resp = lax
        .send(
            &Context::new("GetSecret"),
            Request::new(Method::GET, srv.url("/secrets/a")),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        cred.scopes.lock().unwrap().as_slice(),
        ["https://vault.azure.net/.default"]
    );
}

#[tokio::test]
async fn a_401_without_challenge_clears_the_cache() {
    let srv = Server::http(|seen, n| {
        if n == 2 {
            return Reply::json(
                401,
                r#"{"error":{"code":"Unauthorized","message":"token revoked"}}"#,
            );
        }
        require_token(seen).unwrap_or_else(|| Reply::json(200, "{}"))
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let get = || Request::new(Method::GET, srv.url("/secrets/a"));
    p.send(&Context::new("GetSecret"), get()).await.unwrap(); // 0: challenge, 1: ok
    let err = p.send(&Context::new("GetSecret"), get()).await.unwrap_err(); // 2: 401
    assert!(err.is_unauthorized());
    assert_eq!(err.service_message(), Some("token revoked"));
    p.send(&Context::new("GetSecret"), get()).await.unwrap(); // 3: discovery again, 4: ok
    let seen = srv.seen();
    assert_eq!(seen.len(), 5);
    assert!(seen[2].authorization().is_some());
    assert!(
        seen[3].authorization().is_none(),
        "the cache entry was cleared"
    );
    assert!(seen[4].authorization().is_some());
}

#[tokio::test]
async fn claims_challenge_is_a_clear_error() {
    let srv = Server::http(|_, _| {
        Reply::empty(401).header(
            "www-authenticate",
            r#"Bearer realm="", authorization_uri="https://login.example.test/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnt9fQ==""#,
        )
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let err = p
        .send(
            &Context::new("GetSecret"),
            Request::new(Method::GET, srv.url("/secrets/a")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert!(err.to_string().contains("claims challenge"), "{err}");
}

#[tokio::test]
async fn concurrent_requests_share_one_token_refresh() {
    let srv =
        Server::http(|seen, _| require_token(seen).unwrap_or_else(|| Reply::json(200, "{}"))).await;
    let cred = Arc::new(TestCredential {
        delay: Some(Duration::from_millis(50)),
        ..Default::default()
    });
    let p = server::pipeline(&cred, server::options());
    // Discover the challenge first, then drop the cached token's reuse by
    // using a fresh pipeline whose token cache is empty.
    p.send(
        &Context::new("GetSecret"),
        Request::new(Method::GET, srv.url("/secrets/a")),
    )
    .await
    .unwrap();
    let cred2 = Arc::new(TestCredential {
        delay: Some(Duration::from_millis(50)),
        ..Default::default()
    });
    let p2 = server::pipeline(&cred2, server::options());
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let p2 = p2.clone();
            let url = srv.url(&format!("/secrets/s{i}"));
            tokio::spawn(async move {
                p2.send(&Context::new("GetSecret"), Request::new(Method::GET, url))
                    .await
                    .map(|r| r.status())
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 200);
    }
    assert_eq!(cred2.calls(), 1, "one refresh served all waiting requests");
}

#[tokio::test]
async fn plain_http_needs_the_emulator_flag() {
    let cred = Arc::new(TestCredential::default());
    let strict = server::pipeline(
        &cred,
        ClientOptions {
            allow_loopback_http: false,
            ..server::options()
        },
    );
    let err = strict.parse_endpoint("http://127.0.0.1:8443").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("allow_loopback_http"), "{err}");
    let lax = server::pipeline(&cred, server::options());
    assert!(lax.parse_endpoint("http://localhost:8443").is_ok());
    let err = lax
        .parse_endpoint("http://myvault.vault.azure.net")
        .unwrap_err();
    assert!(err.to_string().contains("only https"), "{err}");
}

#[tokio::test]
async fn a_credential_failure_is_a_credential_error() {
    let srv =
        Server::http(|seen, _| require_token(seen).unwrap_or_else(|| Reply::json(200, "{}"))).await;
    let p = keyvault_core::Pipeline::new(
        server::INFO,
        Arc::new(FailingCredential),
        server::API_VERSION,
        server::options(),
    )
    .unwrap();
    let err = p
        .send(
            &Context::new("GetSecret"),
            Request::new(Method::GET, srv.url("/secrets/a")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Credential);
    let text = err.to_string();
    assert!(text.contains("https://127.0.0.1/.default"), "{text}");
    // The credential's own message is the cause, reached through `source()`.
    let cause = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        cause
            .as_deref()
            .is_some_and(|c| c.contains("no developer credential is signed in")),
        "{text}: {cause:?}"
    );
    assert_eq!(srv.seen().len(), 1, "only the discovery request was sent");
}
