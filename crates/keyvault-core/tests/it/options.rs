//! Per-call options (headers, timeout, retries, parent span), the connect
//! and read timeouts and the explicit proxy of `ClientOptions`, and the
//! retry rules azure-core follows.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::TryStreamExt;
use keyvault_core::{
    ClientOptions, Context, ErrorKind, ProxyOptions, RequestOptions, RetryOptions,
    http::{HeaderValue, Method, Request},
};
use tracing_subscriber::{Layer, layer::SubscriberExt};

use crate::server::{self, Reply, Server, TestCredential};

fn get(srv: &Server) -> Request {
    Request::new(Method::GET, srv.url("/secrets/a"))
}

fn with(call: RequestOptions) -> Context {
    Context::new("GetSecret").with_request_options(call)
}

#[tokio::test]
async fn per_call_headers_reach_the_server_and_replace_the_request_id() {
    let srv = Server::http(|_, _| Reply::json(200, "{}")).await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let call = RequestOptions::default()
        .header("x-custom-trace", HeaderValue::from_static("abc-1"))
        .header(
            "x-ms-client-request-id",
            HeaderValue::from_static("my-request-id"),
        )
        .header("user-agent", HeaderValue::from_static("not-ours"));
    p.send(&with(call), get(&srv)).await.unwrap();
    let seen = srv.seen();
    let h = &seen.last().unwrap().headers;
    assert_eq!(h.get("x-custom-trace").unwrap(), "abc-1");
    assert_eq!(h.get("x-ms-client-request-id").unwrap(), "my-request-id");
    assert_ne!(
        h.get("user-agent").unwrap(),
        "not-ours",
        "User-Agent stays ours"
    );
    // Without per-call options, nothing extra is sent.
    p.send(&Context::new("GetSecret"), get(&srv)).await.unwrap();
    assert!(
        !srv.seen()
            .last()
            .unwrap()
            .headers
            .contains_key("x-custom-trace")
    );
}

#[tokio::test]
async fn per_call_headers_reach_every_page_and_every_status_request() {
    let srv = Server::http(|seen, n| {
        if seen.path.starts_with("/deletedsecrets") {
            Reply::json(if n < 5 { 404 } else { 200 }, "{}")
        } else {
            crate::paging::three_pages(seen, n)
        }
    })
    .await;
    let c = crate::client::core(
        srv.base.as_str(),
        crate::client::Version::V7_6,
        server::options(),
    )
    .unwrap();
    let call = c.with_request_options(
        RequestOptions::default().header("x-job", HeaderValue::from_static("j-7")),
    );
    let ids: Vec<String> = call
        .pager::<crate::paging::NameList, _>(
            "GetSecrets",
            Ok(crate::paging::first_request(&srv)),
            None,
            |i| Ok(i.id),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids.len(), 5);
    let status = Request::new(Method::GET, srv.url("/deletedsecrets/s"));
    call.until_found::<serde::de::IgnoredAny>(
        "GetDeletedSecret",
        Ok(status),
        Duration::from_millis(5),
    )
    .unwrap()
    .await
    .unwrap();
    let seen = srv.seen();
    assert_eq!(seen.len(), 6, "three pages, two 404s and the 200");
    for s in &seen {
        assert_eq!(
            s.headers.get("x-job").map(|v| v.as_bytes()),
            Some(&b"j-7"[..]),
            "{}",
            s.path
        );
    }
    // The client itself is unchanged.
    c.send("GetSecret", Ok(get(&srv))).await.unwrap();
    assert!(!srv.seen().last().unwrap().headers.contains_key("x-job"));
}

#[tokio::test]
async fn a_per_call_timeout_ends_a_slow_call_as_a_timeout() {
    let srv = Server::http(|_, _| Reply::json(200, "{}").delayed(Duration::from_secs(5))).await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let started = Instant::now();
    let call = RequestOptions::default().timeout(Duration::from_millis(300));
    let err = p.send(&with(call), get(&srv)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "{err}");
}

#[tokio::test]
async fn a_per_call_retry_override_replaces_the_clients() {
    let srv = Server::http(|_, _| Reply::empty(503).header("retry-after-ms", "1")).await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let call = RequestOptions::default().retry(RetryOptions {
        max_retries: 0,
        ..Default::default()
    });
    let err = p.send(&with(call), get(&srv)).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(srv.seen().len(), 1, "no retry for this call");
}

/// Records the parent of every `keyvault.operation` span.
#[derive(Clone, Default)]
struct Parents(Arc<Mutex<Vec<Option<String>>>>);

impl<S> Layer<S> for Parents
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() == "keyvault.operation" {
            let parent = ctx
                .span(id)
                .and_then(|s| s.parent())
                .map(|p| p.name().to_owned());
            self.0.lock().unwrap().push(parent);
        }
    }
}

#[tokio::test]
async fn the_operation_span_is_a_child_of_the_per_call_parent() {
    let parents = Parents::default();
    let subscriber = tracing_subscriber::registry().with(parents.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let srv = Server::http(|_, _| Reply::json(200, "{}")).await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    // Other tests may have registered the callsite before this subscriber.
    p.send(&Context::new("WarmUp"), get(&srv)).await.unwrap();
    tracing::callsite::rebuild_interest_cache();
    parents.0.lock().unwrap().clear();

    let job = tracing::info_span!("nightly-rotation");
    let call = RequestOptions::default().parent(&job);
    p.send(&with(call), get(&srv)).await.unwrap();
    p.send(&Context::new("GetSecret"), get(&srv)).await.unwrap();
    let seen = parents.0.lock().unwrap().clone();
    assert_eq!(seen, [Some("nightly-rotation".to_owned()), None]);
}

#[tokio::test]
async fn retry_after_is_honoured_on_413_and_429_and_the_error_keeps_the_response() {
    let srv = Server::http(|seen, n| match (seen.path.as_str(), n) {
        ("/too-large", _) => Reply::json(413, r#"{"error":{"code":"TooLarge"}}"#),
        (_, 0) => Reply::json(413, "{}").header("retry-after", "0"),
        (_, 1) => Reply::json(429, "{}").header("retry-after-ms", "5"),
        _ => Reply::json(
            429,
            r#"{"error":{"code":"Throttled","message":"slow down"}}"#,
        )
        .header("x-ms-retry-after-ms", "5")
        .header("x-ms-keyvault-region", "westeurope"),
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let options = ClientOptions {
        retry: RetryOptions {
            initial_delay: Duration::from_secs(600),
            max_delay: Duration::from_secs(600),
            ..server::options().retry
        },
        ..server::options()
    };
    let p = server::pipeline(&cred, options);
    let mut post = Request::new(Method::POST, srv.url("/secrets/restore"));
    post.set_body("{}");
    let err = p
        .send(&Context::new("RestoreSecret"), post)
        .await
        .unwrap_err();
    // 413 and 429 say the request was not processed: even a POST is sent
    // again, after what the headers ask (not the 10-minute backoff).
    // Python's default: 3 retries after a status.
    assert_eq!(srv.seen().len(), 4);
    assert_eq!(err.attempts(), 4);
    assert!(err.is_throttled(), "{err}");
    let headers = err.response_headers().unwrap();
    assert_eq!(headers.get("x-ms-keyvault-region").unwrap(), "westeurope");
    let body = String::from_utf8(err.response_body().unwrap().to_vec()).unwrap();
    assert!(body.contains("slow down"), "{body}");

    // A 413 without Retry-After is final.
    let err = p
        .send(
            &Context::new("GetSecret"),
            Request::new(Method::GET, srv.url("/too-large")),
        )
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), 1);
    assert_eq!(err.error_code(), Some("TooLarge"));
}

#[tokio::test]
async fn statuses_azure_core_retries_and_those_it_does_not() {
    let srv = Server::http(|seen, _| {
        let status = seen.path.trim_start_matches('/').parse().unwrap_or(500);
        Reply::empty(status)
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    for (status, tries) in [(508u16, 4), (501, 1), (505, 1), (504, 4), (400, 1)] {
        let before = srv.seen().len();
        let request = Request::new(Method::GET, srv.url(&format!("/{status}")));
        let err = p.send(&Context::new("Get"), request).await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(srv.seen().len() - before, tries, "{status}");
    }
}

/// Sends one try of a GET of `url` with `options` (a whole try may take
/// 30 s) and checks that it ends as a timeout well before that.
async fn times_out_early(options: ClientOptions, url: url::Url) {
    let cred = Arc::new(TestCredential::default());
    let options = ClientOptions {
        transport_timeout: Duration::from_secs(30),
        retry: RetryOptions {
            max_retries: 0,
            ..server::options().retry
        },
        ..options
    };
    let p = server::pipeline(&cred, options);
    let started = Instant::now();
    let err = p
        .send(&Context::new("GetSecret"), Request::new(Method::GET, url))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "{err}");
}

#[tokio::test]
async fn read_timeout_ends_a_try_whose_answer_does_not_come() {
    let srv = Server::http(|_, _| Reply::json(200, "{}").delayed(Duration::from_secs(8))).await;
    let options = ClientOptions {
        read_timeout: Some(Duration::from_millis(200)),
        ..server::options()
    };
    times_out_early(options, srv.url("/secrets/a")).await;
}

#[tokio::test]
async fn connect_timeout_ends_a_connection_that_is_never_accepted() {
    // A listener whose accept queue is full and never drained: the kernel
    // drops further SYNs, so a connection attempt hangs.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            fillers.push(s);
        }
    }
    let options = ClientOptions {
        connect_timeout: Duration::from_millis(300),
        ..server::options()
    };
    let url = url::Url::parse(&format!("http://{addr}/secrets/a")).unwrap();
    times_out_early(options, url).await;
    drop((listener, fillers));
}

#[tokio::test]
async fn the_explicit_proxy_carries_requests_except_to_no_proxy_hosts() {
    let target = Server::http(|_, _| Reply::json(200, r#"{"from":"target"}"#)).await;
    // A plain-http request through a proxy is sent to the proxy in absolute
    // form; this server stands in for the proxy and answers itself.
    let proxy = Server::http(|_, _| Reply::json(200, r#"{"from":"proxy"}"#)).await;
    let cred = Arc::new(TestCredential::default());
    let through = ClientOptions {
        proxy: Some(ProxyOptions::new(proxy.base.as_str())),
        ..server::options()
    };
    let p = server::pipeline(&cred, through);
    let resp = p
        .send(&Context::new("GetSecret"), get(&target))
        .await
        .unwrap();
    assert_eq!(resp.body().as_ref(), br#"{"from":"proxy"}"#);
    let at_proxy = proxy.seen();
    assert_eq!(at_proxy.len(), 1);
    let host = at_proxy[0].headers.get("host").unwrap().to_str().unwrap();
    assert_eq!(
        host,
        target.base.authority(),
        "the proxy is asked for the target"
    );
    assert!(target.seen().is_empty());

    let direct = ClientOptions {
        proxy: Some(ProxyOptions::new(proxy.base.as_str()).no_proxy(["127.0.0.1"])),
        ..server::options()
    };
    let p = server::pipeline(&cred, direct);
    p.send(&Context::new("GetSecret"), get(&target))
        .await
        .unwrap();
    assert_eq!(target.seen().len(), 1);
    assert_eq!(proxy.seen().len(), 1);
}

#[test]
fn proxy_options_hide_the_password_and_refuse_bad_urls() {
    let proxy = ProxyOptions::new("http://user:pr0xy-pa55@proxy.internal:3128");
    let shown = format!(
        "{:?}",
        ClientOptions {
            proxy: Some(proxy),
            ..Default::default()
        }
    );
    assert!(!shown.contains("pr0xy-pa55"), "{shown}");
    assert!(shown.contains("proxy.internal"), "{shown}");

    let cred = Arc::new(TestCredential::default());
    for bad in ["ftp://user:pr0xy-pa55@proxy:21", "not a url"] {
        let options = ClientOptions {
            proxy: Some(ProxyOptions::new(bad)),
            ..Default::default()
        };
        let err =
            keyvault_core::Pipeline::new(server::INFO, cred.clone(), "7.6", options).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(!err.to_string().contains("pr0xy-pa55"), "{err}");
    }
}
