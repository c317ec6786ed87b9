//! A hostile Managed HSM whose backup job stays `InProgress`: the backup
//! poller ends in a timeout at the client's `max_poll_wait`, and the SAS
//! token goes nowhere but into the request that starts the job.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use keyvault_administration::{
    AdministrationClientOptions, BackupAuth, ClientOptions, ErrorKind, KeyVaultBackupClient,
    PollerOptions,
};
use keyvault_testing::replay::{Exchange, MANAGED_HSM, Order, ReplayServer};

use crate::common::StaticToken;

const SAS: &str = "sv=2024-08-04&ss=b&srt=co&sp=rwl&sig=HOSTILE-SAS-SIGNATURE";

#[tokio::test]
async fn a_backup_job_always_in_progress_is_a_timeout_at_max_poll_wait() {
    let running = r#"{"status":"InProgress","jobId":"j1","startTime":1700000000}"#;
    let mut script = vec![Exchange::scripted("POST", "/backup", 202, running)];
    script.extend((0..200).map(|_| Exchange::scripted("GET", "/backup/j1/pending", 200, running)));
    let order = Order::Recorded {
        is_poll: |method, path| method == "GET" && path.ends_with("/pending"),
    };
    let server = ReplayServer::start_with(script, order, MANAGED_HSM).await;
    let max_wait = Duration::from_secs(1);
    let options = AdministrationClientOptions {
        client_options: ClientOptions {
            max_poll_wait: Some(max_wait),
            ..ClientOptions::emulator(None)
        },
        ..Default::default()
    };
    let client = KeyVaultBackupClient::new(
        server.base(),
        Arc::new(StaticToken::default()),
        Some(options),
    )
    .unwrap();
    let poller = client
        .begin_backup(
            "https://account.blob.core.windows.net/backups",
            BackupAuth::sas_token(SAS),
            Some(PollerOptions {
                frequency: Some(Duration::from_millis(50)),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    let shown = format!("{poller:?} {}", poller.resume_token());
    let start = Instant::now();
    let err = poller.await.unwrap_err();
    let took = start.elapsed();
    let seen = server.seen();
    let polls = seen
        .iter()
        .filter(|s| s.authorized && s.method == "GET")
        .count();
    println!(
        "hostile: backup job always InProgress: {:?} in {took:.2?} after {polls} polls",
        err.kind()
    );
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(took < max_wait + Duration::from_millis(500), "{took:?}");
    // The service said `Retry-After: 0`: polled at the frequency, no faster.
    assert!((2..=30).contains(&polls), "{polls} polls");
    // The SAS token went into the start request's body only.
    let carrying: Vec<_> = (seen.iter())
        .filter(|s| String::from_utf8_lossy(&s.body).contains("HOSTILE-SAS-SIGNATURE"))
        .map(|s| (s.method.as_str(), s.path.as_str(), s.authorized))
        .collect();
    assert_eq!(carrying, [("POST", "/backup", true)]);
    for text in [shown, err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("HOSTILE-SAS-SIGNATURE"), "{text}");
    }
}
