//! Hostile requests over a raw TLS connection: oversized bodies, deep JSON,
//! invalid UTF-8, huge or many headers and a client that sends its body a
//! byte at a time each get a clean 4xx in the service's error shape (or a
//! timeout), and the emulator keeps serving.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::common::{API, start};

/// A raw HTTP/1.1 client over TLS that trusts the emulator's CA.
struct Raw {
    connector: TlsConnector,
    addr: std::net::SocketAddr,
}

/// An answer read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// Asserts a 4xx in Key Vault's error shape, with `status` and `code`.
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.head);
        let v = self.json();
        assert_eq!(
            v["error"]["code"],
            code,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        let message = v["error"]["message"].as_str().unwrap_or("");
        assert!(!message.is_empty(), "{v}");
        assert!(
            self.head
                .to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{}",
            self.head
        );
    }
}

impl Raw {
    fn new(env: &crate::common::Env) -> Self {
        let config = keyvault_testing::tls::config_trusting(env.emu.ca_cert_pem());
        Self {
            connector: TlsConnector::from(Arc::new(config)),
            addr: env.emu.vault_addr(),
        }
    }

    async fn connect(&self) -> TlsStream<TcpStream> {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        self.connector.connect(name, tcp).await.unwrap()
    }

    /// Sends `head` (request line and headers, without the blank line) and
    /// `body` with `Connection: close`, and reads the answer.
    async fn send(&self, head: &str, body: &[u8]) -> Answer {
        let mut tls = self.connect().await;
        let mut bytes =
            format!("{head}\r\nHost: localhost\r\nConnection: close\r\n\r\n").into_bytes();
        bytes.extend_from_slice(body);
        // The server may answer and close before all of it is written.
        let _ = tls.write_all(&bytes).await;
        let _ = tls.flush().await;
        read_answer(&mut tls).await
    }
}

/// Reads one answer (until the server closes), within 30 seconds.
async fn read_answer(tls: &mut TlsStream<TcpStream>) -> Answer {
    let mut raw = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        let mut buf = [0u8; 8192];
        loop {
            match tls.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
        }
    });
    read.await.expect("the server answers in time");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Answer { status, head, body }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..eol]).unwrap().trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[eol + 4 + size..];
    }
    out
}

fn put_secret(name: &str, len: usize) -> String {
    format!(
        "PUT /secrets/{name}?api-version={API} HTTP/1.1\r\nAuthorization: Bearer t\r\n\
         Content-Type: application/json\r\nContent-Length: {len}"
    )
}

/// An emulator with a secret to read back after the hostile requests, and a
/// raw client of its vault.
async fn start_with_canary() -> (crate::common::Env, Raw) {
    let env = start().await;
    env.set("canary", serde_json::json!({"value": "alive"}))
        .await;
    let raw = Raw::new(&env);
    (env, raw)
}

/// The emulator still serves (the secret set before the hostile requests
/// reads back); then it stops.
async fn still_serves_then_stops(env: crate::common::Env) {
    let r = env.get("/secrets/canary").await;
    assert_eq!((r.status, r.json["value"].as_str()), (200, Some("alive")));
    env.emu.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_are_413_before_they_are_read() {
    let (env, raw) = start_with_canary().await;
    // A declared length over the limit is refused at once, body unsent.
    let started = Instant::now();
    let a = raw.send(&put_secret("big", 1 << 30), b"").await;
    a.assert_error(413, "RequestBodyTooLarge");
    assert!(started.elapsed() < Duration::from_secs(5));
    // A chunked body that grows past the limit is cut off.
    let mut tls = raw.connect().await;
    let head = format!(
        "PUT /secrets/big?api-version={API} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer t\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 64 * 1024];
    let mut sent = 0usize;
    while sent <= 5 << 20 {
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(&chunk);
        frame.extend_from_slice(b"\r\n");
        if tls.write_all(&frame).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let a = read_answer(&mut tls).await;
    a.assert_error(413, "RequestBodyTooLarge");
    still_serves_then_stops(env).await;
}

#[tokio::test]
async fn deep_json_and_invalid_utf8_are_400() {
    let (env, raw) = start_with_canary().await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_tags = format!(
        r#"{{"value":"v","tags":{}"x"{}}}"#,
        r#"{"a":"#.repeat(50_000),
        "}".repeat(50_000)
    );
    let bad_utf8: &[u8] = b"{\"value\":\"\xff\xfe\xc0\x80\"}";
    for body in [
        deep.as_bytes(),
        deep_tags.as_bytes(),
        bad_utf8,
        b"\xef\xbb\xbf{}",
    ] {
        let a = raw.send(&put_secret("hostile", body.len()), body).await;
        a.assert_error(400, "BadParameter");
    }
    // Role assignments and settings parse their own bodies.
    let hsm_raw = Raw {
        addr: env.emu.hsm_addr(),
        ..Raw::new(&env)
    };
    let a = hsm_raw
        .send(
            &format!(
                "PATCH /settings/AllowKeyManagementOperationsThroughARM?api-version={API} HTTP/1.1\r\n\
                 Authorization: Bearer t\r\nContent-Type: application/json\r\nContent-Length: {}",
                deep.len()
            ),
            deep.as_bytes(),
        )
        .await;
    a.assert_error(400, "BadParameter");
    // Invalid UTF-8 in the path (escaped) and in header values (raw).
    let a = raw
        .send(
            &format!("GET /secrets/%FF%FE?api-version={API} HTTP/1.1\r\nAuthorization: Bearer t"),
            b"",
        )
        .await;
    a.assert_error(400, "BadParameter");
    let mut tls = raw.connect().await;
    let mut head = format!("GET /secrets/canary?api-version={API} HTTP/1.1\r\n").into_bytes();
    head.extend_from_slice(
        b"Host: localhost\r\nConnection: close\r\nAuthorization: Bearer \xff\xfe\r\n",
    );
    head.extend_from_slice(b"x-ms-client-request-id: \xc0\xaf\r\n\r\n");
    tls.write_all(&head).await.unwrap();
    let a = read_answer(&mut tls).await;
    a.assert_error(401, "Unauthorized");
    still_serves_then_stops(env).await;
}

#[tokio::test]
async fn huge_and_many_headers_are_431() {
    let (env, raw) = start_with_canary().await;
    let get = format!("GET /secrets/canary?api-version={API} HTTP/1.1\r\nAuthorization: Bearer t");
    // One header of 100 KiB.
    let a = raw
        .send(&format!("{get}\r\nx-big: {}", "a".repeat(100 * 1024)), b"")
        .await;
    a.assert_error(431, "RequestHeaderFieldsTooLarge");
    // 150 small headers.
    let many: String = (0..150).map(|i| format!("\r\nx-h{i}: v")).collect();
    let a = raw.send(&format!("{get}{many}"), b"").await;
    a.assert_error(431, "RequestHeaderFieldsTooLarge");
    // A head past what the HTTP layer buffers at all (1 MiB) is still a
    // clean 431, though without a body.
    let a = raw
        .send(&format!("{get}\r\nx-big: {}", "a".repeat(1 << 20)), b"")
        .await;
    assert_eq!(a.status, 431, "{}", a.head);
    // The limits leave room for what real clients send: 60 headers and a
    // token of 12 KiB.
    let fine: String = (0..60).map(|i| format!("\r\nx-h{i}: v")).collect();
    let a = raw
        .send(
            &format!(
                "GET /secrets/canary?api-version={API} HTTP/1.1\r\nAuthorization: Bearer {}{fine}",
                "t".repeat(12 * 1024)
            ),
            b"",
        )
        .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    still_serves_then_stops(env).await;
}

#[tokio::test]
async fn a_body_sent_a_byte_at_a_time_times_out_with_408() {
    let (env, raw) = start_with_canary().await;
    let mut tls = raw.connect().await;
    let body = br#"{"value": "a value sent very slowly, a byte every 200 ms"}"#;
    let head = format!(
        "{}\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        put_secret("slow", body.len() * 100)
    );
    tls.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let (mut rd, mut wr) = tokio::io::split(tls);
    let writer = tokio::spawn(async move {
        for b in body.iter().cycle() {
            if wr.write_all(&[*b]).await.is_err() || wr.flush().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut raw_answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), rd.read_to_end(&mut raw_answer)).await;
    writer.abort();
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&raw_answer).into_owned();
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains(r#""code":"RequestTimeout""#), "{text}");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    let r = env.get("/secrets/slow").await;
    assert_eq!(r.status, 404, "nothing was written");
    still_serves_then_stops(env).await;
}
