//! Load held: the emulator binary under 256 concurrent connections of mixed
//! gets and sets over HTTPS; connections beyond `--max-connections` closed
//! at accept while the others are served; silent and slow clients closed
//! after the header timeout.
//!
//! `KEYVAULT_LOAD_SECS` sets how long the load runs (5 s by default, 60 s
//! for the figures in RELIABILITY.md).

// The figures of a run go to standard error (shown with `--nocapture`).
#![allow(clippy::print_stderr)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use keyvault_emulator::Emulator;
use keyvault_testing::tls::builder_trusting;
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{Spawned, spawn_binary, start_with, with_api};

const CONNECTIONS: usize = 256;

/// A client with a connection of its own (HTTP/1.1, one at a time).
fn own_connection(ca: &str) -> reqwest::Client {
    builder_trusting(ca)
        .http1_only()
        .pool_max_idle_per_host(1)
        .build()
        .expect("client")
}

/// `VmRSS` and `VmHWM` of process `pid`, in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn ca_of(emu: &Spawned) -> String {
    std::fs::read_to_string(emu.info["ca_cert"].as_str().unwrap()).unwrap()
}

/// One connection's share of the load: sets its secret, then gets it four
/// times for each new value set. Returns its latencies and errors.
async fn load_one(
    client: reqwest::Client,
    base: String,
    i: usize,
    until: Instant,
) -> (Vec<Duration>, Vec<String>) {
    let url = with_api(&base, &format!("/secrets/load-{i}"));
    let (mut latencies, mut errors) = (Vec::new(), Vec::new());
    let mut value = String::new();
    for n in 0.. {
        if Instant::now() >= until {
            break;
        }
        let set = n % 5 == 0;
        let started = Instant::now();
        let req = if set {
            value = format!("value-{i}-{n}");
            let body = json!({ "value": value }).to_string();
            client
                .request(Method::PUT, &url)
                .header("Content-Type", "application/json")
                .body(body)
        } else {
            client.get(&url)
        };
        let answer = match req.bearer_auth("t").send().await {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(e) => (0, e.to_string()),
        };
        latencies.push(started.elapsed());
        let body: serde_json::Value = serde_json::from_str(&answer.1).unwrap_or_default();
        if answer.0 != 200 || body["value"] != value.as_str() {
            errors.push(format!("{} {}", answer.0, answer.1));
        }
    }
    (latencies, errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_256_connections_of_mixed_gets_and_sets() {
    let secs: u64 = std::env::var("KEYVAULT_LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let tls = tempfile::tempdir().unwrap();
    let emu = spawn_binary(|c| {
        c.arg("--tls-dir").arg(tls.path());
    });
    let ca = ca_of(&emu);
    let base = emu.vault();
    let until = Instant::now() + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|i| tokio::spawn(load_one(own_connection(&ca), base.clone(), i, until)))
        .collect();
    let pid = emu.child.id();
    let mut peak_rss: f64 = 0.0;
    while Instant::now() < until {
        peak_rss = peak_rss.max(memory_mib(pid).0);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (mut latencies, mut errors) = (Vec::new(), Vec::new());
    for t in tasks {
        let (l, e) = t.await.expect("a load task");
        latencies.extend(l);
        errors.extend(e);
    }
    let (rss, hwm) = memory_mib(pid);
    latencies.sort();
    let pct =
        |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0;
    eprintln!(
        "load held: {CONNECTIONS} connections for {secs} s, {} requests ({:.0}/s), {} errors, \
         p50 {:.1} ms, p99 {:.1} ms, emulator VmRSS {rss:.1} MiB (peak seen {peak_rss:.1}), VmHWM {hwm:.1} MiB",
        latencies.len(),
        latencies.len() as f64 / secs as f64,
        errors.len(),
        pct(0.5),
        pct(0.99),
    );
    assert!(
        errors.is_empty(),
        "{} errors, the first: {:?}",
        errors.len(),
        errors.first()
    );
    assert!(
        latencies.len() >= CONNECTIONS * 2,
        "every connection was used"
    );
}

/// Polls `client` with a GET until it is answered 200 or `within` passes.
async fn answered_within(client: &reqwest::Client, url: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(r) = client.get(url).bearer_auth("t").send().await {
            return r.status() == 200;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Asserts that each of `clients` gets a 200 for a GET of `url`.
async fn all_answered(clients: &[reqwest::Client], url: &str, what: &str) {
    for c in clients {
        let r = c.get(url).bearer_auth("t").send().await.expect(what);
        assert_eq!(r.status(), 200, "{what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_are_closed_at_accept_and_the_others_served() {
    let tls = tempfile::tempdir().unwrap();
    let mut emu = spawn_binary(|c| {
        c.args(["--max-connections", "8", "--tls-dir"])
            .arg(tls.path());
    });
    let ca = ca_of(&emu);
    let url = with_api(&emu.vault(), "/secrets/");
    let mut held: Vec<reqwest::Client> = (0..8).map(|_| own_connection(&ca)).collect();
    all_answered(&held, &url, "within the limit").await;
    // The ninth connection is closed at once, and nothing else changes.
    let extra = own_connection(&ca);
    let started = Instant::now();
    let refused = extra.get(&url).bearer_auth("t").send().await;
    assert!(
        refused.is_err(),
        "the ninth connection is refused: {refused:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused at once"
    );
    all_answered(&held, &url, "still served").await;
    assert!(
        emu.child.try_wait().unwrap().is_none(),
        "the emulator runs on"
    );
    // A connection that closes frees its slot.
    held.pop();
    assert!(answered_within(&extra, &url, Duration::from_secs(10)).await);
    emu.kill();
}

/// A TLS connection to `port` that trusts `ca` and offers `alpn`.
async fn tls_connect(
    ca: &str,
    port: u16,
    alpn: &[u8],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut ca.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    connector.connect(name, tcp).await.expect("TLS handshake")
}

/// Sends a `PUT` head, then its body a byte every 200 ms; returns the
/// answer (read for at most 5 s) and how long after the head it came.
async fn slow_body_answer(ca: &str, port: u16) -> (String, Duration) {
    let body = tls_connect(ca, port, b"http/1.1").await;
    let (mut from_server, mut to_server) = tokio::io::split(body);
    let put = "PUT /secrets/slow?api-version=7.6 HTTP/1.1\r\nHost: localhost\r\n\
               Authorization: Bearer t\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n{";
    to_server.write_all(put.as_bytes()).await.unwrap();
    let started = Instant::now();
    let trickle = async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if to_server.write_all(b" ").await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    };
    let mut answer = [0u8; 512];
    let read = tokio::select! {
        read = tokio::time::timeout(Duration::from_secs(5), from_server.read(&mut answer)) => read,
        () = trickle => unreachable!("the trickle never ends"),
    };
    let n = read.expect("answered in time").unwrap();
    (
        String::from_utf8_lossy(&answer[..n]).into_owned(),
        started.elapsed(),
    )
}

/// The body timeout is a setting of its own: a short one answers a slow
/// body with `408` in its time, though the header timeout is long; a zero
/// or over-long one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_is_answered_after_the_body_timeout() {
    let builder = Emulator::builder()
        .header_timeout(Duration::from_secs(20))
        .body_timeout(Duration::from_secs(1));
    let env = start_with(builder).await;
    let port = env.emu.vault_addr().port();
    let (answer, after) = slow_body_answer(env.emu.ca_cert_pem(), port).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"RequestTimeout""#), "{answer}");
    assert!(answer.contains("within 1 seconds"), "{answer}");
    assert!(after >= Duration::from_secs(1), "{after:?}");
    let r = env.get("/secrets/slow").await;
    assert_eq!(r.status, 404, "nothing was written: {}", r.text);
    env.emu.shutdown().await;
    for bad in [Duration::ZERO, Duration::from_secs(86_401)] {
        let Err(e) = Emulator::builder().body_timeout(bad).start().await else {
            panic!("a body timeout of {bad:?} is refused");
        };
        assert_eq!(e.kind(), keyvault_emulator::ErrorKind::Config, "{bad:?}");
        assert!(e.to_string().contains("body timeout"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_slow_clients_are_closed_after_the_header_timeout() {
    let timeout = Duration::from_secs(1);
    let builder = Emulator::builder()
        .max_connections(5)
        .header_timeout(timeout)
        .body_timeout(timeout);
    let env = start_with(builder).await;
    let port = env.emu.vault_addr().port();
    let started = Instant::now();
    // Two connections that send nothing, two that send a head a byte at a
    // time and one a body (below): all five slots; then one that says
    // nothing once it chose HTTP/2.
    let mut silent = Vec::new();
    for _ in 0..2 {
        silent.push(
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap(),
        );
    }
    let head = b"GET /secrets/?api-version=7.6 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer t\r\n\r\n";
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let ca = env.emu.ca_cert_pem().to_owned();
            tokio::spawn(async move {
                let mut tls = tls_connect(&ca, port, b"http/1.1").await;
                for b in head {
                    if tls.write_all(&[*b]).await.is_err() {
                        return Instant::now();
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                let mut rest = Vec::new();
                let _ = tls.read_to_end(&mut rest).await;
                panic!(
                    "a slow head was answered: {}",
                    String::from_utf8_lossy(&rest)
                );
            })
        })
        .collect();
    for mut s in silent {
        let mut buf = [0u8; 1];
        let closed = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
        assert!(
            matches!(closed, Ok(Ok(0) | Err(_))),
            "a silent connection is closed: {closed:?}"
        );
    }
    // A body a byte at a time is answered 408 once the timeout passes.
    let (answer, _) = slow_body_answer(env.emu.ca_cert_pem(), port).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("RequestTimeout"), "{answer}");
    let mut h2 = tls_connect(env.emu.ca_cert_pem(), port, b"h2").await;
    assert_eq!(h2.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), h2.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "a silent HTTP/2 connection is closed");
    for s in slow {
        let closed_at = s.await.expect("a slow client");
        assert!(
            closed_at - started < timeout + Duration::from_secs(3),
            "closed in time"
        );
    }
    // The emulator serves again.
    let r = env.get("/secrets/").await;
    assert_eq!(r.status, 200, "{}", r.text);
    env.emu.shutdown().await;
}
