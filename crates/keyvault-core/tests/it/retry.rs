//! Retries, Retry-After, and the retry budget.

use std::{sync::Arc, time::Duration};

use keyvault_core::{
    ClientOptions, Context, ErrorKind, RetryOptions,
    http::{Method, Request},
};

use crate::server::{self, Reply, Server, TestCredential, require_token};

fn no_auth_options(retry: RetryOptions) -> ClientOptions {
    ClientOptions {
        retry,
        ..server::options()
    }
}

#[tokio::test]
async fn retries_429_honouring_retry_after() {
    let srv = Server::http(|_, n| {
        if n == 0 {
            Reply::json(
                429,
                r#"{"error":{"code":"Throttled","message":"slow down"}}"#,
            )
            .header("retry-after", "1")
        } else {
            Reply::json(200, r#"{"ok":true}"#)
        }
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    // The backoff alone (10 minutes) would not fit in the budget: only
    // honouring `Retry-After: 1` lets the retry happen.
    let p = server::pipeline(
        &cred,
        no_auth_options(RetryOptions {
            max_retries: 3,
            initial_delay: Duration::from_secs(600),
            max_delay: Duration::from_secs(600),
            budget: Duration::from_secs(20),
            ..Default::default()
        }),
    );
    let resp = p
        .send(
            &Context::new("GetSecret"),
            Request::new(Method::GET, srv.url("/secrets/a")),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(srv.seen().len(), 2);
}

#[tokio::test]
async fn retries_honouring_x_ms_retry_after_ms_for_post_on_503() {
    let srv = Server::http(|seen, n| {
        require_token(seen).unwrap_or_else(|| {
            if n < 3 {
                Reply::empty(503).header("x-ms-retry-after-ms", "20")
            } else {
                Reply::json(200, "{}")
            }
        })
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(
        &cred,
        no_auth_options(RetryOptions {
            initial_delay: Duration::from_secs(600),
            max_delay: Duration::from_secs(600),
            ..server::options().retry
        }),
    );
    let mut req = Request::new(Method::POST, srv.url("/secrets/a/backup"));
    req.set_body("{}");
    let resp = p.send(&Context::new("BackupSecret"), req).await.unwrap();
    assert_eq!(resp.status(), 200);
    // 0: bodiless discovery, answered with the challenge; 1 and 2: 503; 3: 200.
    let seen = srv.seen();
    assert_eq!(seen.len(), 4);
    assert!(seen[1..].iter().all(|s| s.body.as_ref() == b"{}"));
}

#[tokio::test]
async fn post_is_not_retried_after_a_500() {
    let srv = Server::http(|seen, _| {
        require_token(seen).unwrap_or_else(|| {
            Reply::json(
                500,
                r#"{"error":{"code":"InternalError","message":"boom"}}"#,
            )
        })
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let mut req = Request::new(Method::POST, srv.url("/secrets/a/backup"));
    req.set_body("{\"x\":1}");
    let err = p
        .send(&Context::new("BackupSecret"), req)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(err.error_code(), Some("InternalError"));
    // The bodiless discovery try, then exactly one try with the body.
    let seen = srv.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen.iter().filter(|s| !s.body.is_empty()).count(), 1);
    assert_eq!(err.attempts(), 1);
}

#[tokio::test]
async fn a_retry_after_of_centuries_ends_the_retries_without_a_panic() {
    for (name, value) in [("retry-after", "1e300"), ("x-ms-retry-after-ms", "1e25")] {
        let srv = Server::http(move |_, _| Reply::empty(503).header(name, value)).await;
        let cred = Arc::new(TestCredential::default());
        let p = server::pipeline(
            &cred,
            no_auth_options(RetryOptions {
                max_retries: 3,
                budget: Duration::MAX,
                ..server::options().retry
            }),
        );
        let err = tokio::time::timeout(
            Duration::from_secs(30),
            p.send(
                &Context::new("GetSecret"),
                Request::new(Method::GET, srv.url("/secrets/a")),
            ),
        )
        .await
        .expect("the delay is past any deadline: no wait")
        .unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{name}");
        assert_eq!(srv.seen().len(), 1, "{name}: no retry");
    }
}

#[tokio::test]
async fn a_5xx_storm_ends_in_one_clear_error_within_the_budget() {
    let srv = Server::http(|_, _| {
        Reply::json(
            503,
            r#"{"error":{"code":"ServiceUnavailable","message":"The service is busy."}}"#,
        )
        .header("x-ms-request-id", "storm-req-id")
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(
        &cred,
        no_auth_options(RetryOptions {
            max_retries: 1000,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            budget: Duration::from_millis(400),
            ..Default::default()
        }),
    );
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        p.send(
            &Context::new("GetSecret"),
            Request::new(Method::GET, srv.url("/secrets/a")),
        ),
    )
    .await
    .expect("the budget ends the storm")
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Http);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(err.error_code(), Some("ServiceUnavailable"));
    assert_eq!(err.request_id(), Some("storm-req-id"));
    assert!(err.attempts() > 1);
    assert!(srv.seen().len() >= 2);
    let text = err.to_string();
    assert!(
        text.contains(&format!("gave up after {} tries", err.attempts())),
        "{text}"
    );
    assert!(text.contains("503 Service Unavailable"), "{text}");
    assert!(text.contains("ServiceUnavailable"), "{text}");
}

#[tokio::test]
async fn a_refused_connection_ends_in_one_clear_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(
        &cred,
        no_auth_options(RetryOptions {
            max_retries: 3,
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            budget: Duration::from_secs(5),
            ..Default::default()
        }),
    );
    let url = p
        .parse_endpoint(&format!("http://127.0.0.1:{port}"))
        .unwrap();
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        p.send(
            &Context::new("GetSecret"),
            Request::new(Method::GET, url.join("/secrets/a").unwrap()),
        ),
    )
    .await
    .expect("the retry limit ends the attempts")
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert_eq!(err.attempts(), 4);
    let text = err.to_string();
    assert!(text.contains("connection refused"), "{text}");
    assert!(text.contains("after 4 tries"), "{text}");
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn a_bad_vault_url_is_one_clear_error() {
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    for bad in [
        "not a url",
        "ftp://myvault.vault.azure.net",
        "https://myvault.vault.azure.net/?x=1",
    ] {
        let err = p.parse_endpoint(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}");
        assert!(
            err.to_string().contains("vault URL") || err.to_string().contains("only https"),
            "{err}"
        );
    }
    // A host that does not resolve.
    let p = server::pipeline(
        &cred,
        no_auth_options(RetryOptions {
            max_retries: 1,
            initial_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(5),
            budget: Duration::from_secs(5),
            ..Default::default()
        }),
    );
    let url = p.parse_endpoint("https://no-such-vault.invalid").unwrap();
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        p.send(
            &Context::new("GetSecret"),
            Request::new(Method::GET, url.join("/secrets/a").unwrap()),
        ),
    )
    .await
    .expect("the budget ends the attempts")
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("DNS lookup failed") || err.kind() == ErrorKind::Timeout,
        "{text}"
    );
    assert!(text.contains("no-such-vault.invalid"), "{text}");
}

/// A raw HTTP/1.1 server: a request without a body gets `200 {}`; a request
/// with a body is read whole, counted, and answered by closing the
/// connection (the body reached the server, the response never came).
async fn drop_after_body() -> (url::Url, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let bodies = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = bodies.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let n = match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        continue;
                    }
                    buf.drain(..end + 4 + len);
                    if len == 0 {
                        let reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                        if sock.write_all(reply).await.is_err() {
                            return;
                        }
                    } else {
                        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        return; // drop the connection without answering
                    }
                }
            });
        }
    });
    (url::Url::parse(&format!("http://{addr}")).unwrap(), bodies)
}

#[tokio::test]
async fn a_post_whose_body_was_sent_is_not_retried_after_a_dropped_connection() {
    let (base, bodies) = drop_after_body().await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let mut post = Request::new(Method::POST, base.join("/secrets/a/backup").unwrap());
    post.set_body("{\"x\":1}");
    let err = p
        .send(&Context::new("BackupSecret"), post)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_eq!(err.attempts(), 1, "{err}");
    assert_eq!(bodies.load(std::sync::atomic::Ordering::SeqCst), 1);

    // The same failure on an idempotent PUT is retried.
    let mut put = Request::new(Method::PUT, base.join("/secrets/a").unwrap());
    put.set_body("{\"value\":\"v\"}");
    let err = p.send(&Context::new("SetSecret"), put).await.unwrap_err();
    assert_eq!(err.attempts(), 4, "{err}");
    assert_eq!(bodies.load(std::sync::atomic::Ordering::SeqCst), 1 + 4);
}

#[tokio::test]
async fn a_timed_out_try_after_a_503_is_not_reported_as_the_503() {
    // The 503 said "not processed", so the POST is sent again; that try
    // times out on its own and may have been processed: the caller must
    // learn that, not the earlier "not processed".
    let srv = Server::http(|seen, n| {
        require_token(seen).unwrap_or_else(|| match n {
            1 => Reply::empty(503).header("retry-after", "0"),
            _ => Reply::json(200, "{}").delayed(Duration::from_secs(3)),
        })
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(
        &cred,
        ClientOptions {
            transport_timeout: Duration::from_millis(300),
            ..server::options()
        },
    );
    let mut req = Request::new(Method::POST, srv.url("/secrets/restore"));
    req.set_body(r#"{"value":"blob"}"#);
    let err = p
        .send(&Context::new("RestoreSecret"), req)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.status(), None, "{err}");
    assert_eq!(err.attempts(), 2, "{err}");
    // 0: discovery; 1: the 503; 2: the try that timed out, not sent again.
    assert_eq!(srv.seen().len(), 3);
}
