//! The HTTPS proxy that serves the endpoints under Azure host names.

use keyvault_emulator::Emulator;
use keyvault_testing::tls::client_through_proxy;
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{API, send_to, start_with};

#[tokio::test]
async fn azure_host_names_reach_the_endpoints_through_the_proxy() {
    let env = start_with(Emulator::builder()).await;
    let client = client_through_proxy(env.emu.ca_cert_pem(), env.emu.proxy_url());
    let vault = env.emu.vault_host_url();
    assert_eq!(vault, "https://emulator.vault.azure.net/");

    // The challenge names a resource the host is a subdomain of.
    let url = format!("{vault}secrets/db?api-version={API}");
    let r = send_to(&client, Method::GET, &url, None, None).await;
    assert_eq!(r.status, 401);
    let challenge = r.headers["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains("resource=\"https://vault.azure.net\""),
        "{challenge}"
    );

    // Ids name the host the client called; another name is the same vault.
    let r = send_to(
        &client,
        Method::PUT,
        &url,
        Some(json!({"value": "v"})),
        Some("t"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let id = r.json["id"].as_str().unwrap();
    assert!(
        id.starts_with("https://emulator.vault.azure.net/secrets/db/"),
        "{id}"
    );
    let other = format!("https://other.vault.azure.net/secrets/db?api-version={API}");
    let r = send_to(&client, Method::GET, &other, None, Some("t")).await;
    assert_eq!(
        (r.status, r.json["value"].as_str()),
        (200, Some("v")),
        "{}",
        r.text
    );

    let settings = format!("{}settings?api-version={API}", env.emu.hsm_host_url());
    let r = send_to(&client, Method::GET, &settings, None, Some("t")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    env.emu.shutdown().await;
}

/// Sends `head` to the proxy and reads its answer's status line.
async fn proxy_answer(proxy_url: &str, head: &str) -> String {
    let authority = proxy_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(authority.replace("localhost", "127.0.0.1"))
        .await
        .expect("the proxy accepts");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    answer.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_proxy_is_not_an_open_proxy() {
    let env = start_with(Emulator::builder()).await;
    let proxy = env.emu.proxy_url();
    for (head, status) in [
        (
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
            "403",
        ),
        ("CONNECT vault.azure.net:443 HTTP/1.1\r\n\r\n", "403"),
        (
            "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
            "405",
        ),
        ("CONNECT nowhere HTTP/1.1\r\n\r\n", "400"),
    ] {
        let line = proxy_answer(proxy, head).await;
        assert!(
            line.starts_with(&format!("HTTP/1.1 {status}")),
            "{head:?}: {line}"
        );
    }
    // An oversized head is refused, not buffered without bound.
    let huge = format!(
        "CONNECT a.vault.azure.net:443 HTTP/1.1\r\nX: {}\r\n\r\n",
        "x".repeat(20_000)
    );
    assert!(proxy_answer(proxy, &huge).await.starts_with("HTTP/1.1 400"));
    env.emu.shutdown().await;
}
