//! The delete and recover pollers.

use std::time::Duration;

use keyvault_secrets::PollStatus;

use crate::common::{fast, start};

#[tokio::test]
async fn delete_poller_finishes_with_the_deleted_secret() {
    let env = start().await;
    let c = &env.client;
    c.set_secret("to-delete", "v", None).await.unwrap();
    let mut poller = c.begin_delete_secret("to-delete", fast()).await.unwrap();
    assert_eq!(poller.status(), PollStatus::InProgress);
    assert!(!poller.is_done());
    // The result of the DELETE response is there without waiting.
    assert_eq!(poller.result().name(), "to-delete");
    assert_eq!(poller.poll().await.unwrap(), PollStatus::Succeeded);
    assert!(poller.is_done());
    let deleted = poller.await.unwrap();
    assert_eq!(deleted.name(), "to-delete");
    let recovery_id = deleted.recovery_id.clone().expect("soft-delete is on");
    assert!(
        recovery_id.ends_with("/deletedsecrets/to-delete"),
        "{recovery_id}"
    );
    let id: keyvault_secrets::KeyVaultSecretIdentifier = recovery_id.parse().unwrap();
    assert!(id.is_deleted());
    let (deleted_on, purge) = (
        deleted.deleted_on.unwrap(),
        deleted.scheduled_purge_date.unwrap(),
    );
    assert_eq!((purge - deleted_on).whole_days(), 90);
    assert!(
        c.get_secret("to-delete", None)
            .await
            .unwrap_err()
            .is_not_found()
    );
    let got = c.get_deleted_secret("to-delete", None).await.unwrap();
    assert_eq!(got.recovery_id.as_deref(), Some(recovery_id.as_str()));
    env.emu.shutdown().await;
}

#[tokio::test]
async fn recover_poller_brings_the_secret_back() {
    let env = start().await;
    let c = &env.client;
    c.set_secret("to-recover", "kept-value", None)
        .await
        .unwrap();
    c.begin_delete_secret("to-recover", None)
        .await
        .unwrap()
        .await
        .unwrap();
    // A long frequency: the first poll must not wait for it.
    let slow = Some(keyvault_secrets::PollerOptions {
        frequency: Some(Duration::from_secs(60)),
    });
    let started = std::time::Instant::now();
    let recovered = c
        .begin_recover_deleted_secret("to-recover", slow)
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the first poll is at once"
    );
    assert_eq!(recovered.name(), "to-recover");
    assert_eq!(
        c.get_secret("to-recover", None)
            .await
            .unwrap()
            .value
            .expose_secret(),
        "kept-value"
    );
    assert!(
        c.get_deleted_secret("to-recover", None)
            .await
            .unwrap_err()
            .is_not_found()
    );
    env.emu.shutdown().await;
}
