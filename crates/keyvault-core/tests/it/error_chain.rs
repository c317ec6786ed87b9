//! Each error's `Display` says what failed at its own layer and leaves the
//! cause to `source()`: walking the chain, as `anyhow` and `eyre` reports do,
//! prints every cause once. Checked with real failures.

use std::{error::Error as _, sync::Arc, time::Duration};

use keyvault_core::{
    ClientOptions, Context, Error, ErrorKind, Pipeline, RetryOptions,
    http::{Method, Request},
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::server::{self, FailingCredential, Reply, Server, TestCredential, require_token};

/// The messages of `err` and of its sources, outermost first, after
/// checking that no message contains the text of an error below it.
fn chain(err: &Error) -> Vec<String> {
    let mut messages = vec![err.to_string()];
    let mut cur = err.source();
    while let Some(e) = cur {
        messages.push(e.to_string());
        cur = e.source();
    }
    for (i, outer) in messages.iter().enumerate() {
        for inner in &messages[i + 1..] {
            assert!(
                inner.trim().is_empty() || !outer.contains(inner.as_str()),
                "`{outer}` repeats its cause `{inner}`; the whole chain: {messages:#?}"
            );
        }
    }
    assert!(messages.len() > 1, "no source: {messages:?}");
    messages
}

/// Options with one quick retry, so that a failure ends fast.
fn quick() -> ClientOptions {
    ClientOptions {
        retry: RetryOptions {
            max_retries: 1,
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(5),
            budget: Duration::from_secs(10),
            ..Default::default()
        },
        ..server::options()
    }
}

async fn send(p: &Pipeline, url: url::Url) -> keyvault_core::Result<keyvault_core::http::Response> {
    p.send(&Context::new("GetSecret"), Request::new(Method::GET, url))
        .await
}

/// The chain of the transport failure a GET of `url` ends in.
async fn io_failure(url: url::Url) -> Vec<String> {
    let p = server::pipeline(&Arc::new(TestCredential::default()), quick());
    let err = send(&p, url).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    chain(&err)
}

#[tokio::test]
async fn a_refused_connection_names_the_failure_once() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = url::Url::parse(&format!("http://127.0.0.1:{port}/secrets/a")).unwrap();
    let messages = io_failure(url).await;
    assert!(
        messages[0].ends_with(": connection refused"),
        "{messages:#?}"
    );
}

#[tokio::test]
async fn a_failing_credential_is_named_once() {
    let srv =
        Server::http(|seen, _| require_token(seen).unwrap_or_else(|| Reply::json(200, "{}"))).await;
    let p = Pipeline::new(
        server::INFO,
        Arc::new(FailingCredential),
        server::API_VERSION,
        quick(),
    )
    .unwrap();
    let err = send(&p, srv.url("/secrets/a")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Credential);
    let messages = chain(&err);
    assert!(
        messages[0].contains("could not get a token for scope https://127.0.0.1/.default"),
        "{messages:#?}"
    );
    assert!(
        messages[1..]
            .iter()
            .any(|m| m.contains("no developer credential")),
        "{messages:#?}"
    );
}

#[tokio::test]
async fn a_server_answering_garbage_is_named_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let _ = socket.write_all(b"this is not HTTP\r\n\r\n").await;
            let _ = socket.shutdown().await;
        }
    });
    let messages = io_failure(url::Url::parse(&format!("http://{addr}/secrets/a")).unwrap()).await;
    assert!(
        messages[0].ends_with(": the server's answer is not valid HTTP"),
        "{messages:#?}"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_named_once() {
    let (srv, _ca_pem) = Server::https(|_, _| Reply::json(200, "{}")).await;
    let messages = io_failure(srv.url("/secrets/a")).await;
    assert!(messages[0].contains("TLS failure"), "{messages:#?}");
}

#[tokio::test]
async fn an_undecodable_body_is_named_once() {
    let srv = Server::http(|_, _| Reply::json(200, "{\"value\": ")).await;
    let p = server::pipeline(&Arc::new(TestCredential::default()), quick());
    let resp = send(&p, srv.url("/secrets/a")).await.unwrap();
    let err = resp.json::<serde_json::Value>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Deserialize);
    chain(&err);
}

#[test]
fn a_bad_vault_url_is_named_once() {
    let p = server::pipeline(&Arc::new(TestCredential::default()), server::options());
    let err = p.parse_endpoint("not a url").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    chain(&err);
}
