//! Certificates: generated into a directory once, reused, and re-issued by
//! the same CA when old, so clients keep trusting the same `ca.pem`.

use std::time::{Duration, SystemTime};

use keyvault_emulator::Emulator;
use reqwest::Method;

use crate::common::{client_for, send_to};

#[tokio::test]
async fn reissued_server_certificate_chains_to_the_trusted_ca() {
    let dir = tempfile::tempdir().unwrap();
    let emu = Emulator::builder()
        .tls_dir(dir.path())
        .start()
        .await
        .unwrap();
    let ca_path = emu.ca_cert_path().unwrap().to_path_buf();
    assert_eq!(ca_path, dir.path().join("ca.pem").canonicalize().unwrap());
    let trusted = emu.ca_cert_pem().to_owned();
    emu.shutdown().await;

    let server = dir.path().join("server.pem");
    let before = std::fs::read_to_string(&server).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&server)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(400 * 86_400))
        .unwrap();

    let emu = Emulator::builder()
        .tls_dir(dir.path())
        .start()
        .await
        .unwrap();
    assert_eq!(emu.ca_cert_pem(), trusted);
    assert_ne!(std::fs::read_to_string(&server).unwrap(), before);
    let client = client_for(&trusted);
    for host in ["localhost", "127.0.0.1"] {
        let url = format!(
            "https://{host}:{}/secrets?api-version=7.6",
            emu.vault_addr().port()
        );
        let r = send_to(&client, Method::GET, &url, None, Some("t")).await;
        assert_eq!(r.status, 200, "{host}");
    }
    // A client that trusts another CA is refused at the handshake.
    let other = Emulator::builder().start().await.unwrap();
    let stranger = client_for(other.ca_cert_pem());
    let url = format!("{}secrets?api-version=7.6", emu.vault_url());
    assert!(stranger.get(url).send().await.is_err());
    other.shutdown().await;
    emu.shutdown().await;
}
