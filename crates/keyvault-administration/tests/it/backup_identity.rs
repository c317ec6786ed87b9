//! `KeyVaultBackupClient` with `BackupAuth::ManagedIdentity`: the emulator
//! authorises its storage calls with its own managed identity's token, to an
//! Azurite that accepts bearer tokens (https with `--oauth basic`, serving
//! the emulator's certificate).

use std::sync::Arc;

use keyvault_administration::{BackupAuth, ErrorKind, RestoreOptions};
use keyvault_core::http::Method;
use keyvault_emulator::Emulator;
use serde_json::json;

use crate::azurite::Azurite;
use crate::backup::{fast, key_call};
use crate::common::{StaticToken, account_sas, create_container, start_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_backup_full_and_selective_restore() {
    let tls = tempfile::tempdir().unwrap();
    let builder = Emulator::builder().tls_dir(tls.path());
    let env = start_with(builder, Arc::new(StaticToken::default())).await;
    let read = |name: &str| std::fs::read_to_string(tls.path().join(name)).unwrap();
    let az = Azurite::start_https(&read("server.pem"), &read("server-key.pem"));
    // The SAS only creates the container; the jobs use the identity.
    let container = create_container(&az, "identity-backups", &account_sas("rwdlac")).await;
    assert!(container.starts_with("https://127.0.0.1:"), "{container}");
    let client = env.backup();
    let auth = || BackupAuth::ManagedIdentity;
    let create = Some(json!({"kty": "EC-HSM"}));
    assert_eq!(
        key_call(&env, Method::POST, "/keys/k1/create", create).await,
        200
    );

    client
        .begin_pre_backup(&container, auth(), fast())
        .await
        .expect("pre-backup starts")
        .await
        .expect("pre-backup passes");
    let backup = client
        .begin_backup(&container, auth(), fast())
        .await
        .expect("backup starts")
        .await
        .expect("backup");
    assert!(
        backup.folder_url.starts_with(&format!("{container}/mhsm-")),
        "{}",
        backup.folder_url
    );

    // A full restore brings back a key deleted and purged since.
    assert_eq!(key_call(&env, Method::DELETE, "/keys/k1", None).await, 200);
    assert_eq!(
        key_call(&env, Method::DELETE, "/deletedkeys/k1", None).await,
        204
    );
    client
        .begin_restore(&backup.folder_url, auth(), fast_restore(None))
        .await
        .expect("restore starts")
        .await
        .expect("restore");
    assert_eq!(key_call(&env, Method::GET, "/keys/k1", None).await, 200);

    // So does a selective restore.
    assert_eq!(key_call(&env, Method::DELETE, "/keys/k1", None).await, 200);
    assert_eq!(
        key_call(&env, Method::DELETE, "/deletedkeys/k1", None).await,
        204
    );
    client
        .begin_restore(&backup.folder_url, auth(), fast_restore(Some("k1")))
        .await
        .expect("selective restore starts")
        .await
        .expect("selective restore");
    assert_eq!(key_call(&env, Method::GET, "/keys/k1", None).await, 200);

    // A container that does not exist fails the job with storage's error.
    let missing = az.container_url("missing");
    let e = client
        .begin_backup(&missing, auth(), fast())
        .await
        .expect("the start is accepted")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationFailed, "{e}");
    assert_eq!(e.error_code(), Some("ContainerNotFound"), "{e:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_identity_over_plain_http_is_refused_by_storage() {
    let az = Azurite::start();
    let container = create_container(&az, "plain", &account_sas("rwdlac")).await;
    let env = start_with(Emulator::builder(), Arc::new(StaticToken::default())).await;
    let e = env
        .backup()
        .begin_backup(&container, BackupAuth::ManagedIdentity, fast())
        .await
        .expect("the start is accepted")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationFailed, "{e}");
    let message = e.service_message().unwrap_or_default();
    assert!(message.contains("only over https"), "{e:?}");
}

fn fast_restore(key_name: Option<&str>) -> Option<RestoreOptions> {
    Some(RestoreOptions {
        key_name: key_name.map(str::to_owned),
        frequency: fast().and_then(|p| p.frequency),
    })
}
