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
    assert_eq!(poller.result().expect("known at once").name(), "to-delete");
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
        ..Default::default()
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

#[tokio::test]
async fn delete_and_recover_pollers_resume_from_their_tokens() {
    use futures::TryStreamExt;

    let env = start().await;
    let c = &env.client;
    c.set_secret("resumed", "v", None).await.unwrap();
    let poller = c.begin_delete_secret("resumed", fast()).await.unwrap();
    let token = poller.resume_token();
    assert!(!token.is_empty());
    drop(poller);
    // Another client of the same vault continues it.
    let other = env.client_with(keyvault_secrets::ApiVersion::default());
    let mut resumed = other.resume_delete_secret(&token, fast()).unwrap();
    assert!(
        resumed.result().is_none(),
        "read from the service when done"
    );
    let statuses: Vec<PollStatus> = resumed.status_stream().try_collect().await.unwrap();
    assert_eq!(
        statuses.last(),
        Some(&PollStatus::Succeeded),
        "{statuses:?}"
    );
    let deleted = resumed.await.unwrap();
    assert_eq!(deleted.name(), "resumed");
    assert!(deleted.recovery_id.is_some());

    let poller = c
        .begin_recover_deleted_secret("resumed", fast())
        .await
        .unwrap();
    let token = poller.resume_token();
    let recovered = c
        .resume_recover_deleted_secret(&token, fast())
        .unwrap()
        .await
        .unwrap();
    assert_eq!(recovered.name(), "resumed");
    assert_eq!(
        poller.await.unwrap().name(),
        "resumed",
        "the first poller still finishes"
    );

    // Tokens that are not a secret poller's, or are of another vault, are
    // refused before anything is sent.
    let elsewhere = token.replace(
        c.vault_url().trim_start_matches("https://"),
        "elsewhere.vault.azure.net",
    );
    for bad in ["", "garbage", elsewhere.as_str()] {
        let e = c.resume_delete_secret(bad, None).unwrap_err();
        assert_eq!(
            e.kind(),
            keyvault_secrets::ErrorKind::InvalidInput,
            "{bad}: {e}"
        );
    }
    env.emu.shutdown().await;
}

#[tokio::test]
async fn wait_for_bounds_a_poller_that_never_finishes() {
    let env = start().await;
    let c = &env.client;
    c.set_secret("stays-deleted", "v", None).await.unwrap();
    let delete = c
        .begin_delete_secret("stays-deleted", fast())
        .await
        .unwrap();
    // A recover token for it: the secret stays deleted, so the recover
    // poller's GET answers 404 for ever.
    let token = delete
        .resume_token()
        .replace("/deletedsecrets/", "/secrets/");
    delete.await.unwrap();
    let started = std::time::Instant::now();
    let e = c
        .resume_recover_deleted_secret(&token, fast())
        .unwrap()
        .wait_for(Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(started.elapsed() < Duration::from_secs(20));
    env.emu.shutdown().await;
}
