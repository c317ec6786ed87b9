//! Service errors parsed from Key Vault's error body, and the common headers.

use std::sync::Arc;

use keyvault_core::{
    ClientOptions, Context, ErrorKind,
    http::{Method, Request},
};

use crate::server::{self, Reply, Server, TestCredential};

#[tokio::test]
async fn error_body_is_parsed() {
    let srv = Server::http(|_, _| {
        Reply::json(
            404,
            r#"{"error":{"code":"SecretNotFound","message":"A secret with (name/id) missing was not found in this key vault.","innererror":{"code":"NotFoundDetail"}}}"#,
        )
        .header("x-ms-request-id", "6a1f0c8e-req")
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let err = p
        .send(
            &Context::new("GetSecret"),
            Request::new(Method::GET, srv.url("/secrets/missing")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Http);
    assert!(err.is_not_found());
    assert!(!err.is_conflict() && !err.is_forbidden());
    assert_eq!(err.error_code(), Some("SecretNotFound"));
    assert_eq!(
        err.service_message(),
        Some("A secret with (name/id) missing was not found in this key vault.")
    );
    assert_eq!(
        err.service_error().unwrap().codes(),
        ["SecretNotFound", "NotFoundDetail"]
    );
    assert_eq!(err.request_id(), Some("6a1f0c8e-req"));
    assert_eq!(err.attempts(), 1);
    let text = err.to_string();
    assert!(text.starts_with("GET http://127.0.0.1:"), "{text}");
    assert!(
        text.contains("/secrets/missing failed: 404 Not Found (SecretNotFound / NotFoundDetail)"),
        "{text}"
    );

    // The raw escape hatch returns the response instead.
    let raw = p
        .send_raw(
            &Context::new("GetSecret"),
            Request::new(Method::GET, srv.url("/secrets/missing")),
        )
        .await
        .unwrap();
    assert_eq!(raw.status(), 404);
}

#[tokio::test]
async fn common_headers_and_api_version_are_set() {
    let srv = Server::http(|_, _| Reply::json(200, "{}")).await;
    let cred = Arc::new(TestCredential::default());
    let p = keyvault_core::Pipeline::new(
        server::INFO,
        cred,
        "2025-07-01",
        ClientOptions {
            user_agent_prefix: Some("my-app/1.0".into()),
            ..server::options()
        },
    )
    .unwrap();
    let mut req = Request::new(Method::PUT, srv.url("/secrets/a?api-version=1.0"));
    req.set_body("{}");
    p.send(&Context::new("SetSecret"), req).await.unwrap();
    let seen = srv.seen();
    let last = seen.last().unwrap();
    let ua = last.headers["user-agent"].to_str().unwrap();
    assert!(
        ua.starts_with("my-app/1.0 keyvault-rs-core-test/0.0.1 rust/"),
        "{ua}"
    );
    assert!(ua.ends_with(&format!("({})", std::env::consts::OS)), "{ua}");
    let id = last.headers["x-ms-client-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    assert_eq!(last.headers["content-type"], "application/json");
    assert_eq!(
        last.query_value("api-version").as_deref(),
        Some("2025-07-01")
    );
    assert_eq!(
        last.query.matches("api-version").count(),
        1,
        "{}",
        last.query
    );
}

#[tokio::test]
async fn a_success_status_the_request_does_not_expect_is_an_error() {
    let srv = Server::http(|_, _| Reply::json(200, "{}")).await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let purge =
        || Request::new(Method::DELETE, srv.url("/deletedsecrets/s")).with_success_statuses(&[204]);
    let err = p
        .send(&Context::new("PurgeDeletedSecret"), purge())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Http);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
    let text = err.to_string();
    assert!(
        text.contains("/deletedsecrets/s (it expects 204 No Content) failed: 200 OK"),
        "{text}"
    );

    // A listed status, or any 2xx for a request that names none, is a success.
    let create = Request::new(Method::PUT, srv.url("/x")).with_success_statuses(&[200, 201]);
    assert!(p.send(&Context::new("Create"), create).await.is_ok());
    let any = Request::new(Method::DELETE, srv.url("/deletedsecrets/s"));
    assert!(
        p.send(&Context::new("PurgeDeletedSecret"), any)
            .await
            .is_ok()
    );
    // `send_raw` leaves every status to its caller.
    assert!(
        p.send_raw(&Context::new("PurgeDeletedSecret"), purge())
            .await
            .is_ok()
    );
}
