//! Hostile servers: each a real server on loopback that misbehaves on
//! purpose (never answers, answers a byte a second, sends gigabytes, loops
//! its next-page links, asks to come back in a year, redirects elsewhere,
//! never finishes an operation). Each call must end in a clear error within
//! the configured budget, reading a bounded amount, and no token may leave
//! for another host.
//!
//! The figures RELIABILITY.md quotes are printed on standard output
//! (`cargo test -p keyvault-core --test it hostile -- --nocapture`).

#![allow(clippy::print_stdout)]

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use futures::TryStreamExt;
use keyvault_core::{
    ClientOptions, Context, ErrorKind, Pager, Pipeline, Poller, RetryOptions,
    http::{Method, Request},
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use url::Url;

use crate::paging::{NameList, first_request};
use crate::server::{self, Reply, Server, TestCredential, require_token};

/// A connection of a hostile server, plain or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A server that speaks HTTP/1.1 by hand, so that it can misbehave in ways
/// a framework would not let it: it reads each request's head, then hands
/// the connection to its behaviour.
struct Hostile {
    base: Url,
    ca: Option<String>,
    /// Bytes of response written (accepted by the kernel) so far.
    written: Arc<AtomicU64>,
    /// Requests received.
    requests: Arc<AtomicUsize>,
}

impl Hostile {
    async fn start<F, Fut>(tls: bool, behave: F) -> Self
    where
        F: Fn(Box<dyn Io>, Arc<AtomicU64>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = server::bind().await;
        let port = listener.local_addr().unwrap().port();
        let (ca, acceptor) = if tls {
            let (ca, mut config) = server::tls_config();
            // It speaks HTTP/1.1 only.
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            (
                Some(ca),
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
            )
        } else {
            (None, None)
        };
        let written = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (w, r, behave) = (written.clone(), requests.clone(), Arc::new(behave));
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (w, r, behave, acceptor) =
                    (w.clone(), r.clone(), behave.clone(), acceptor.clone());
                tokio::spawn(async move {
                    let mut io: Box<dyn Io> = match acceptor {
                        Some(a) => match a.accept(tcp).await {
                            Ok(t) => Box::new(t),
                            Err(_) => return,
                        },
                        None => Box::new(tcp),
                    };
                    if read_head(&mut io).await {
                        r.fetch_add(1, Ordering::SeqCst);
                        behave(io, w).await;
                    }
                });
            }
        });
        let scheme = if tls { "https" } else { "http" };
        Self {
            base: Url::parse(&format!("{scheme}://localhost:{port}")).unwrap(),
            ca,
            written,
            requests,
        }
    }

    fn options(&self, options: ClientOptions) -> ClientOptions {
        ClientOptions {
            root_certificates_pem: self.ca.iter().map(|c| c.as_bytes().to_vec()).collect(),
            ..options
        }
    }

    fn get(&self) -> Request {
        Request::new(Method::GET, self.base.join("/secrets/s").unwrap())
    }

    fn written(&self) -> u64 {
        self.written.load(Ordering::SeqCst)
    }
}

/// Reads a request head (up to its blank line); false when the client went
/// away first.
async fn read_head(io: &mut Box<dyn Io>) -> bool {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match io.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return false,
        }
        if head.len() > 64 * 1024 {
            return false;
        }
    }
    true
}

/// Writes `bytes`, counting them; false once the client has gone.
async fn send(io: &mut Box<dyn Io>, written: &AtomicU64, bytes: &[u8]) -> bool {
    let ok = io.write_all(bytes).await.is_ok() && io.flush().await.is_ok();
    if ok {
        written.fetch_add(bytes.len() as u64, Ordering::SeqCst);
    }
    ok
}

/// Sends `request`, which must fail, and says how long that took.
async fn failing(p: &Pipeline, request: Request) -> (keyvault_core::Error, Duration) {
    let start = Instant::now();
    let err = p
        .send(&Context::new("GetSecret"), request)
        .await
        .unwrap_err();
    (err, start.elapsed())
}

/// Options with a short try and a short budget: the budget a test checks.
fn budgeted(try_timeout: Duration, budget: Duration) -> ClientOptions {
    ClientOptions {
        transport_timeout: try_timeout,
        retry: RetryOptions {
            max_retries: 10,
            initial_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            budget,
            ..Default::default()
        },
        ..server::options()
    }
}

/// The process's resident-memory high-water mark, in KiB, after resetting
/// it to the current resident size (Linux; `None` elsewhere).
fn reset_peak_rss() -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    peak_rss()
}

fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn a_server_that_never_answers_ends_in_a_timeout_within_the_budget() {
    let srv = Hostile::start(false, |io, _| async move {
        // Holds the connection open and says nothing.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(io);
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let budget = Duration::from_millis(2500);
    let p = server::pipeline(&cred, srv.options(budgeted(Duration::from_secs(1), budget)));
    let (err, took) = failing(&p, srv.get()).await;
    println!(
        "hostile: never answers: {:?} after {} tries in {took:.2?}",
        err.kind(),
        err.attempts()
    );
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(took < budget + Duration::from_millis(500), "{took:?}");
    assert!(err.attempts() >= 2, "the try is repeated within the budget");
    assert_eq!(srv.requests.load(Ordering::SeqCst) as u32, err.attempts());
}

#[tokio::test]
async fn a_server_that_answers_a_byte_a_second_ends_in_a_timeout() {
    // Over TLS: the status line and headers at once, then one body byte a
    // second of a body it says is 1,000 bytes long.
    let srv = Hostile::start(true, |mut io, written| async move {
        let head =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n";
        if !send(&mut io, &written, head).await {
            return;
        }
        for _ in 0..1000 {
            if !send(&mut io, &written, b" ").await {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let budget = Duration::from_secs(3);
    let options = ClientOptions {
        // Each byte comes within the read timeout: only the try's own
        // timeout ends it.
        read_timeout: Some(Duration::from_secs(5)),
        ..budgeted(Duration::from_millis(1500), budget)
    };
    let p = server::pipeline(&cred, srv.options(options));
    let (err, took) = failing(&p, srv.get()).await;
    println!(
        "hostile: a byte a second: {:?} after {} tries in {took:.2?}, {} bytes sent",
        err.kind(),
        err.attempts(),
        srv.written()
    );
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(took < budget + Duration::from_millis(500), "{took:?}");
    assert!(err.attempts() >= 2, "{err}");
}

/// A response head announcing `length` bytes (or chunked when `None`), then
/// zeros until the client goes away or `length` is reached.
async fn flood(mut io: Box<dyn Io>, written: Arc<AtomicU64>, length: Option<u64>) {
    let head = match length {
        Some(n) => format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {n}\r\n\r\n"),
        None => "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n".to_owned(),
    };
    if !send(&mut io, &written, head.as_bytes()).await {
        return;
    }
    let block = vec![b'0'; 64 * 1024];
    let chunk = [format!("{:x}\r\n", block.len()).as_bytes(), &block, b"\r\n"].concat();
    let mut sent = 0u64;
    while length.is_none_or(|n| sent < n) {
        let piece = if length.is_some() { &block } else { &chunk };
        if !send(&mut io, &written, piece).await {
            return;
        }
        sent += block.len() as u64;
    }
}

#[tokio::test]
async fn a_body_of_gigabytes_is_refused_at_the_limit_with_bounded_memory() {
    const GIB: u64 = 1 << 30;
    let cred = Arc::new(TestCredential::default());
    let limit = ClientOptions::default().max_response_body_size as u64;
    // Announced: 4 GiB, over TLS. Not announced: an endless chunked body.
    for (tls, length) in [(true, Some(4 * GIB)), (false, None)] {
        let srv = Hostile::start(tls, move |io, w| flood(io, w, length)).await;
        let p = server::pipeline(
            &cred,
            srv.options(budgeted(Duration::from_secs(60), Duration::from_secs(60))),
        );
        let before = reset_peak_rss();
        let (err, took) = failing(&p, srv.get()).await;
        let growth = before
            .zip(peak_rss())
            .map(|(b, a)| a.saturating_sub(b) / 1024);
        // Let the server notice that the client has gone.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let sent = srv.written();
        println!(
            "hostile: body of {} ({}): {:?} in {took:.2?}, {:.1} MiB sent before the client hung up, \
             peak resident memory grew by {growth:?} MiB",
            length.map_or("endless".to_owned(), |n| format!("{} GiB", n / GIB)),
            if tls { "https" } else { "http, chunked" },
            err.kind(),
            sent as f64 / (1 << 20) as f64,
        );
        assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
        assert!(err.to_string().contains("max_response_body_size"), "{err}");
        assert_eq!(err.attempts(), 1, "a body too large is not asked for again");
        assert!(took < Duration::from_secs(10), "{took:?}");
        // What reached the client is the limit and what the sockets buffer.
        assert!(sent < limit + (64 << 20), "{sent} bytes sent");
        if let Some(growth) = growth {
            assert!(growth < 128, "peak resident memory grew by {growth} MiB");
        }
    }
}

#[tokio::test]
async fn a_connection_closed_in_the_response_head_is_named() {
    let srv = Hostile::start(false, |mut io, written| async move {
        send(&mut io, &written, b"HTTP/1.1 200 OK\r\ncontent-le").await;
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(
        &cred,
        srv.options(budgeted(Duration::from_secs(5), Duration::from_secs(10))),
    );
    let (err, _) = failing(&p, srv.get()).await;
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(
        err.to_string().contains("before a complete response"),
        "{err}"
    );
}

#[tokio::test]
async fn endless_response_headers_are_a_clear_error() {
    let srv = Hostile::start(false, |mut io, written| async move {
        if !send(&mut io, &written, b"HTTP/1.1 200 OK\r\n").await {
            return;
        }
        let line = format!("x-filler: {}\r\n", "f".repeat(1000));
        while send(&mut io, &written, line.as_bytes()).await {}
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(
        &cred,
        srv.options(budgeted(Duration::from_secs(5), Duration::from_secs(10))),
    );
    let (err, took) = failing(&p, srv.get()).await;
    println!(
        "hostile: endless headers: {:?} after {} tries in {took:.2?}, {} KiB sent",
        err.kind(),
        err.attempts(),
        srv.written() / 1024
    );
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(err.to_string().contains("not valid HTTP"), "{err}");
    assert!(took < Duration::from_secs(10));
}

#[tokio::test]
async fn a_next_link_given_twice_ends_the_listing() {
    let srv = Server::http(|seen, _| {
        let base = seen.base("http");
        Reply::json(
            200,
            format!(r#"{{"value":[{{"id":"x"}}],"nextLink":"{base}/secrets?$skiptoken=same"}}"#),
        )
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let p = server::pipeline(&cred, server::options());
    let mut items = Pager::<NameList>::new(p, Context::new("GetSecrets"), first_request(&srv));
    let mut read = 0;
    let err = loop {
        match items.try_next().await {
            Ok(Some(_)) => read += 1,
            Ok(None) => panic!("a loop does not end by itself"),
            Err(e) => break e,
        }
    };
    println!(
        "hostile: nextLink loop: {:?} after {} requests",
        err.kind(),
        srv.seen().len()
    );
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
    assert!(err.to_string().contains("loop"), "{err}");
    assert_eq!(read, 2, "the first page and the page of the link");
    assert_eq!(
        srv.seen().len(),
        2,
        "the link is not followed a second time"
    );
}

#[tokio::test]
async fn an_endless_chain_of_next_links_stops_at_max_pages() {
    let srv = Server::http(|seen, n| {
        let base = seen.base("http");
        Reply::json(
            200,
            format!(
                r#"{{"value":[],"nextLink":"{base}/secrets?$skiptoken=p{}"}}"#,
                n + 1
            ),
        )
    })
    .await;
    let cred = Arc::new(TestCredential::default());
    let max = 200;
    let options = ClientOptions {
        max_pages: Some(max),
        ..server::options()
    };
    let p = server::pipeline(&cred, options);
    let start = Instant::now();
    let mut pages =
        Pager::<NameList>::new(p, Context::new("GetSecrets"), first_request(&srv)).into_pages();
    let mut got = 0;
    let err = loop {
        match pages.try_next().await {
            Ok(Some(_)) => got += 1,
            Ok(None) => panic!("an endless chain does not end by itself"),
            Err(e) => break e,
        }
    };
    let took = start.elapsed();
    println!(
        "hostile: endless nextLink chain: {:?} after {got} pages in {took:.2?} ({:.0} µs a page)",
        err.kind(),
        took.as_micros() as f64 / f64::from(got)
    );
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
    assert!(err.to_string().contains("max_pages"), "{err}");
    assert_eq!(got, max);
    assert_eq!(srv.seen().len(), max as usize);
    assert_eq!(ClientOptions::default().max_pages, Some(100_000));
}

#[tokio::test]
async fn a_retry_after_of_a_year_returns_the_error_at_once() {
    let in_a_year = (time::OffsetDateTime::now_utc() + time::Duration::days(365))
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap()
        .replace("+0000", "GMT");
    for (status, value) in [(503, "31536000".to_owned()), (429, in_a_year)] {
        let v = value.clone();
        let srv =
            Server::http(move |_, _| Reply::empty(status).header("retry-after", v.clone())).await;
        let cred = Arc::new(TestCredential::default());
        // The default retry options: a budget of two minutes.
        let p = server::pipeline(
            &cred,
            ClientOptions {
                allow_loopback_http: true,
                ..Default::default()
            },
        );
        let (err, took) = failing(&p, Request::new(Method::GET, srv.url("/secrets/a"))).await;
        println!("hostile: Retry-After {value}: status {status} returned in {took:.2?}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status), "{err}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        assert_eq!(srv.seen().len(), 1, "no retry: the wait is past the budget");
    }
}

#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed_and_carries_no_token() {
    for code in [301u16, 302, 307, 308] {
        let elsewhere = Server::http(|_, _| Reply::json(200, "{}")).await;
        let target = elsewhere.url("/secrets/a").to_string();
        let (vault, ca) = Server::https(move |seen, _| {
            require_token(seen)
                .unwrap_or_else(|| Reply::empty(code).header("location", target.clone()))
        })
        .await;
        let cred = Arc::new(TestCredential::default());
        let options = ClientOptions {
            root_certificates_pem: vec![ca.into_bytes()],
            verify_challenge_resource: false,
            ..server::options()
        };
        let p = server::pipeline(&cred, options);
        let mut put = Request::new(Method::PUT, vault.url("/secrets/a"));
        put.set_json(&serde_json::json!({"value": "v"})).unwrap();
        let err = p.send(&Context::new("SetSecret"), put).await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(code), "{err}");
        assert!(
            vault.seen().iter().any(|s| s.authorization().is_some()),
            "the vault itself got the token"
        );
        assert!(
            elsewhere.seen().iter().all(|s| s.authorization().is_none()),
            "{code}: a token reached the redirect's target"
        );
        assert!(
            elsewhere.seen().is_empty(),
            "{code}: the redirect was followed"
        );
    }
}

/// A server whose async operation never ends: `POST /backup` answers 202
/// with a status URL that says `InProgress` forever, asking for `retry`.
async fn endless_job(retry: &'static str) -> Server {
    Server::http(move |seen, _| {
        let base = seen.base("http");
        if seen.method == "POST" {
            Reply::json(202, r#"{"status":"InProgress"}"#).header(
                "azure-asyncoperation",
                format!("{base}/backup/job-1/pending"),
            )
        } else {
            Reply::json(200, r#"{"status":"InProgress","jobId":"job-1"}"#)
                .header("retry-after", retry)
        }
    })
    .await
}

#[tokio::test]
async fn an_operation_that_never_ends_is_a_timeout_at_max_poll_wait() {
    // Retry-After 0 (polled at the frequency, not in a busy loop) and a
    // year (capped at a minute between polls, so past the bound at once).
    for retry in ["0", "31536000"] {
        let srv = endless_job(retry).await;
        let cred = Arc::new(TestCredential::default());
        let max_wait = Duration::from_secs(1);
        let p = server::pipeline(
            &cred,
            ClientOptions {
                max_poll_wait: Some(max_wait),
                ..server::options()
            },
        );
        let start_req = Request::new(Method::POST, srv.url("/backup"));
        let initial = p
            .send(&Context::new("FullBackup"), start_req)
            .await
            .unwrap();
        let poller = Poller::<serde_json::Value>::from_async_operation(
            p,
            Context::new("FullBackupStatus"),
            &initial,
        )
        .unwrap()
        .with_frequency(Duration::from_millis(50));
        let token = poller.resume_token();
        let start = Instant::now();
        let err = poller.await.unwrap_err();
        let took = start.elapsed();
        println!(
            "hostile: endless job (Retry-After {retry}): {:?} in {took:.2?} after {} status requests",
            err.kind(),
            srv.seen().len() - 1
        );
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(err.to_string().contains("resume token"), "{err}");
        assert!(took < max_wait + Duration::from_millis(500), "{took:?}");
        assert!(srv.seen().len() <= 1 + 1 + 20, "at most one poll per 50 ms");
        assert!(!token.is_empty());
    }
    assert_eq!(
        ClientOptions::default().max_poll_wait,
        Some(Duration::from_secs(3600))
    );
}

#[tokio::test]
async fn a_challenge_for_another_resource_gets_no_token() {
    // Resources whose host is not the server's (`localhost`) or a parent
    // domain of it, however they are dressed up.
    for resource in [
        "https://vault.azure.net",
        "https://localhost.evil.example",
        "https://evil.example/localhost",
        "https://evil.example?host=localhost",
        "https://ocalhost",
        "not a URL",
    ] {
        let (srv, ca) = Server::https(move |seen, _| {
            if seen.authorization().is_some() {
                Reply::json(200, "{}")
            } else {
                server::challenge(resource)
            }
        })
        .await;
        let cred = Arc::new(TestCredential::default());
        let options = ClientOptions {
            root_certificates_pem: vec![ca.into_bytes()],
            ..server::options()
        };
        let p = server::pipeline(&cred, options);
        let (err, _) = failing(&p, Request::new(Method::GET, srv.url("/secrets/a"))).await;
        assert_eq!(err.kind(), ErrorKind::Authentication, "{resource}: {err}");
        assert!(err.to_string().contains("no token was sent"), "{err}");
        assert_eq!(cred.calls(), 0, "{resource}: a token was asked for");
        assert!(srv.seen().iter().all(|s| s.authorization().is_none()));
    }
}

#[tokio::test]
async fn no_request_goes_over_plain_http_unless_allowed_for_loopback() {
    let srv =
        Server::http(|seen, _| require_token(seen).unwrap_or_else(|| Reply::json(200, "{}"))).await;
    let cred = Arc::new(TestCredential::default());
    let mut no_http = server::options();
    no_http.allow_loopback_http = false;
    let (err, _) = failing(
        &server::pipeline(&cred, no_http),
        Request::new(Method::GET, srv.url("/secrets/a")),
    )
    .await;
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(srv.seen().is_empty(), "nothing was sent");
    assert_eq!(cred.calls(), 0);
    // A listing or a poller of an https vault never follows a link to http.
    let (vault, ca) = Server::https(move |seen, _| {
        require_token(seen).unwrap_or_else(|| {
            Reply::json(
                200,
                r#"{"value":[],"nextLink":"http://localhost:9/secrets?$skiptoken=x"}"#,
            )
        })
    })
    .await;
    let options = ClientOptions {
        root_certificates_pem: vec![ca.into_bytes()],
        verify_challenge_resource: false,
        ..server::options()
    };
    let p = server::pipeline(&cred, options);
    let mut pages =
        Pager::<NameList>::new(p.clone(), Context::new("GetSecrets"), first_request(&vault))
            .into_pages();
    assert!(pages.try_next().await.unwrap().is_some());
    let err = pages.try_next().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let token = r#"{"style":"async_operation","url":"http://localhost:9/backup/j/pending"}"#;
    let err = Poller::<serde_json::Value>::resume(
        p,
        Context::new("FullBackupStatus"),
        token,
        &vault.base,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
}

#[tokio::test]
async fn a_status_url_on_another_host_is_not_polled() {
    // Another server, which would ask for a token of its own.
    let elsewhere = Server::http(|seen, _| {
        require_token(seen).unwrap_or_else(|| Reply::json(200, r#"{"status":"Succeeded"}"#))
    })
    .await;
    let status_url = elsewhere.url("/backup/j1/pending").to_string();
    let hsm = Server::http(move |_, _| {
        Reply::json(202, r#"{"status":"InProgress"}"#)
            .header("azure-asyncoperation", status_url.clone())
    })
    .await;
    let core = crate::client::core(
        hsm.base.as_str(),
        crate::client::Version::V7_6,
        server::options(),
    )
    .unwrap();
    let initial = core
        .send(
            "FullBackup",
            Ok(Request::new(Method::POST, hsm.url("/backup"))),
        )
        .await
        .unwrap();
    let err = core
        .async_operation::<serde_json::Value>(
            "FullBackupStatus",
            &initial,
            Duration::from_millis(10),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Deserialize, "{err}");
    assert!(err.to_string().contains("not followed"), "{err}");
    assert!(elsewhere.seen().is_empty(), "the other host got a request");
}
