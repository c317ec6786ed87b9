//! `KeyVaultBackupClient` with `BackupAuth::ManagedIdentity`: the emulator
//! authorises its storage calls with its own managed identity's token, to an
//! Azurite that accepts bearer tokens (https with `--oauth basic`, serving
//! the emulator's certificate).

use std::sync::Arc;

use keyvault_administration::{BackupAuth, ErrorKind, PollerOptions};
use keyvault_emulator::{Emulator, EmulatorBuilder};

use crate::azurite::Azurite;
use crate::backup::backup_checks_and_restores;
use crate::common::{Env, StaticToken, account_sas, create_container, start_with};

async fn start(builder: EmulatorBuilder) -> Env {
    start_with(builder, Arc::new(StaticToken::default())).await
}

/// The error of a backup with the managed identity to `container` (which
/// must fail as a job).
async fn failed_backup(env: &Env, container: &str) -> keyvault_administration::Error {
    let options = PollerOptions {
        frequency: Some(std::time::Duration::from_millis(50)),
        ..Default::default()
    };
    let e = env
        .backup()
        .begin_backup(container, BackupAuth::ManagedIdentity, Some(options))
        .await
        .expect("the start is accepted")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationFailed, "{e}");
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_backup_checks_full_and_selective_restore() {
    let tls = tempfile::tempdir().unwrap();
    let env = start(Emulator::builder().tls_dir(tls.path())).await;
    let read = |name: &str| std::fs::read_to_string(tls.path().join(name)).unwrap();
    let az = Azurite::start_https(&read("server.pem"), &read("server-key.pem"));
    // The SAS only creates the container; the jobs use the identity.
    let container = create_container(&az, "identity-backups", &account_sas("rwdlac")).await;
    assert!(container.starts_with("https://127.0.0.1:"), "{container}");
    backup_checks_and_restores(&env, &container, || BackupAuth::ManagedIdentity).await;

    // A container that does not exist fails the job with storage's error.
    let e = failed_backup(&env, &az.container_url("missing")).await;
    assert_eq!(e.error_code(), Some("ContainerNotFound"), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_over_plain_http_is_refused_by_storage() {
    let az = Azurite::start();
    let container = create_container(&az, "plain", &account_sas("rwdlac")).await;
    let env = start(Emulator::builder()).await;
    let e = failed_backup(&env, &container).await;
    let message = e.service_message().unwrap_or_default();
    assert!(message.contains("only over https"), "{e:?}");
}
