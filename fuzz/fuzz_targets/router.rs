//! A raw HTTP/1.1 request (after one byte: `h` sends it to the Managed HSM,
//! anything else to the vault), sent over TLS to an emulator running in this
//! process (authentication off, so requests reach the route tables): it must
//! not panic (a handler's panic is a 500) and every error it answers itself
//! is in the service's JSON shape. Answers of the HTTP layer to requests it
//! cannot parse (a bare 400 or 431, without `x-ms-request-id`) are allowed.
#![no_main]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use keyvault_emulator::{AuthMode, Emulator, EmulatorHandle};
use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

struct Target {
    runtime: tokio::runtime::Runtime,
    emulator: EmulatorHandle,
    connector: TlsConnector,
}

static TARGET: LazyLock<Target> = LazyLock::new(|| {
    // Backup jobs with made-up storage URLs must not leave the machine: the
    // emulator's storage client goes through a closed loopback port.
    // SAFETY: set once, before the runtime and its threads exist.
    unsafe { std::env::set_var("HTTPS_PROXY", "http://127.0.0.1:9") };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let emulator = runtime
        .block_on(Emulator::builder().auth(AuthMode::Off).start())
        .expect("the emulator starts");
    let config = keyvault_testing::tls::config_trusting(emulator.ca_cert_pem());
    Target {
        runtime,
        emulator,
        connector: TlsConnector::from(Arc::new(config)),
    }
});

/// Sends `request` and reads until the server closes (at most two seconds).
async fn exchange(t: &Target, hsm: bool, request: &[u8]) -> Vec<u8> {
    let addr = if hsm {
        t.emulator.hsm_addr()
    } else {
        t.emulator.vault_addr()
    };
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = t.connector.connect(name, tcp).await.expect("TLS handshake");
    let _ = tls.write_all(request).await;
    let _ = tls.shutdown().await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), tls.read_to_end(&mut answer)).await;
    answer
}

fuzz_target!(|data: &[u8]| {
    let Some((endpoint, request)) = data.split_first() else {
        return;
    };
    let t = &*TARGET;
    let answer = t.runtime.block_on(exchange(t, *endpoint == b'h', request));
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return; // Closed without an answer: the request was cut short.
    };
    let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    assert!(status != 500, "a handler failed: {head}");
    let ours = head.contains("\r\nx-ms-request-id:");
    if !ours || status < 400 || request.starts_with(b"HEAD") {
        return;
    }
    let length: usize = head
        .split("\r\n")
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("a content length");
    let body = &answer[end + 4..(end + 4 + length).min(answer.len())];
    let v: serde_json::Value = serde_json::from_slice(body).expect("a JSON error body");
    assert!(v["error"]["code"].is_string(), "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
});
