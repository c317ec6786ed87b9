//! A hostile vault whose deleted secret never shows: the delete poller ends
//! in a timeout at the client's `max_poll_wait`, polling at its frequency.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use keyvault_secrets::{ClientOptions, ErrorKind, SecretClient, SecretClientOptions};
use keyvault_testing::replay::{Exchange, ReplayServer};

use crate::common::{StaticToken, fast};

#[tokio::test]
async fn a_delete_that_never_shows_is_a_timeout_at_max_poll_wait() {
    let deleted = r#"{"recoveryId":"https://v.vault.azure.net/deletedsecrets/s","id":"https://v.vault.azure.net/secrets/s/1","attributes":{"enabled":true}}"#;
    let not_found = r#"{"error":{"code":"SecretNotFound","message":"Deleted Secret not found"}}"#;
    let mut script = vec![Exchange::scripted("DELETE", "/secrets/s", 200, deleted)];
    script.extend((0..200).map(|_| Exchange::scripted("GET", "/deletedsecrets/s", 404, not_found)));
    let server = ReplayServer::start(script).await;
    let max_wait = Duration::from_secs(1);
    let options = SecretClientOptions {
        client_options: ClientOptions {
            max_poll_wait: Some(max_wait),
            ..ClientOptions::emulator(None)
        },
        ..Default::default()
    };
    let credential = Arc::new(StaticToken::default());
    let client = SecretClient::new(server.base(), credential, Some(options)).unwrap();
    let poller = client.begin_delete_secret("s", fast()).await.unwrap();
    let start = Instant::now();
    let err = poller.await.unwrap_err();
    let took = start.elapsed();
    let polls = (server.seen().iter())
        .filter(|s| s.authorized && s.path == "/deletedsecrets/s")
        .count();
    println!(
        "hostile: delete poller that never ends: {:?} in {took:.2?} after {polls} polls",
        err.kind()
    );
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("resume token"), "{err}");
    assert!(took < max_wait + Duration::from_millis(500), "{took:?}");
    // One poll per 20 ms at most (the frequency of `fast()`).
    assert!((2..=60).contains(&polls), "{polls} polls");
}
