//! The binary's logs: an access line per request, never a secret value, a
//! body or a token; and nothing on stdout after the first line.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{client_for, send_to};

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_name_requests_but_never_values_or_tokens() {
    let tls = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_keyvault-emulator"))
        .args([
            "--vault-port",
            "0",
            "--hsm-port",
            "0",
            "--auth",
            "jwt",
            "--tls-dir",
        ])
        .arg(tls.path())
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut child = KillOnDrop(child);
    let mut stdout = BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let info: Value = serde_json::from_str(&line).unwrap();
    let ca = std::fs::read_to_string(info["ca_cert"].as_str().unwrap()).unwrap();
    let client = client_for(&ca);
    let base = info["vault_url"].as_str().unwrap().trim_end_matches('/');

    use base64::Engine;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let token = format!(
        "{}.{}.c2lnbmF0dXJlLXNob3VsZC1ub3QtbGVhaw",
        b64(r#"{"alg":"none"}"#),
        b64(r#"{"oid":"caller-oid-1234"}"#)
    );
    let value = "s3cr3t-value-that-must-not-leak";
    let url = format!("{base}/secrets/logged?api-version=7.6");
    let r = send_to(
        &client,
        Method::PUT,
        &url,
        Some(json!({"value": value})),
        Some(&token),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = send_to(&client, Method::GET, &url, None, Some(&token)).await;
    assert_eq!(r.json["value"], value);
    let r = send_to(
        &client,
        Method::PUT,
        &url,
        Some(json!({"value": 5})),
        Some(&token),
    )
    .await;
    assert_eq!(r.status, 400);

    // A backup job whose SAS must not leak, even when storage fails.
    let hsm = info["hsm_url"].as_str().unwrap().trim_end_matches('/');
    let sas = "sv=2019-12-12&sig=sas-signature-must-not-leak";
    let r = send_to(
        &client,
        Method::POST,
        &format!("{hsm}/backup?api-version=7.6"),
        Some(json!({"storageResourceUri": "http://127.0.0.1:9/container", "token": sas})),
        Some(&token),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let status_url = r.headers["azure-asyncoperation"]
        .to_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = send_to(&client, Method::GET, &status_url, None, Some(&token)).await;
        if r.json["status"] != "InProgress" {
            assert_eq!(r.json["status"], "Failed", "{}", r.text);
            assert!(!r.text.contains("sas-signature"), "{}", r.text);
            break;
        }
        assert!(Instant::now() < deadline, "backup job did not end");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(
        rest.is_empty(),
        "nothing after the first line on stdout: {rest:?}"
    );
    let mut logs = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();

    let access: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("keyvault_emulator::access"))
        .collect();
    assert!(access.len() >= 5, "one access line per request:\n{logs}");
    assert!(access[0].contains("method=PUT") && access[0].contains("path=/secrets/logged"));
    assert!(access[0].contains("status=200"));
    assert!(access[0].contains("caller=caller-oid-1234"));
    assert!(access[2].contains("status=400"));
    for secret in [
        value,
        "c2lnbmF0dXJlLXNob3VsZC1ub3QtbGVhaw",
        &token,
        "sas-signature-must-not-leak",
    ] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
}

/// Kills the child if the test ends early (a no-op once it has been reaped).
#[cfg(unix)]
struct KillOnDrop(std::process::Child);

#[cfg(unix)]
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
