//! Runs the three Managed HSM examples against a fresh emulator each (the
//! backup example also against Azurite, from the workspace's npm install).

use examples::{Service, Target};
use keyvault_testing::azurite::BlobStorage;

#[allow(dead_code)]
#[path = "../examples/access_control_operations.rs"]
mod access_control_operations;
#[allow(dead_code)]
#[path = "../examples/hsm_backup_restore.rs"]
mod hsm_backup_restore;
#[allow(dead_code)]
#[path = "../examples/settings_operations.rs"]
mod settings_operations;

async fn emulator() -> Target {
    let target = Target::emulator(Service::ManagedHsm)
        .await
        .expect("emulator");
    assert!(target.describe().contains("embedded emulator"));
    target
}

#[tokio::test]
async fn access_control_operations_runs() {
    let target = emulator().await;
    let client = target.access_control_client().expect("client");
    access_control_operations::run(&client)
        .await
        .expect("the example runs");
    target.shutdown().await;
}

#[tokio::test]
async fn settings_operations_runs() {
    let target = emulator().await;
    let client = target.settings_client().expect("client");
    settings_operations::run(&client)
        .await
        .expect("the example runs");
    target.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsm_backup_restore_runs() {
    let storage = BlobStorage::from_env().unwrap_or_else(|e| panic!("{e}"));
    let target = emulator().await;
    let client = target.backup_client().expect("client");
    hsm_backup_restore::run(&client, &storage)
        .await
        .expect("the example runs");
    target.shutdown().await;
}

#[test]
fn a_real_hsm_uses_the_developer_tools_credential() {
    let target =
        Target::azure(Service::ManagedHsm, "https://myhsm.managedhsm.azure.net").expect("target");
    assert!(!target.is_emulator());
    assert_eq!(
        target.describe(),
        "Running against https://myhsm.managedhsm.azure.net (AZURE_MANAGEDHSM_URL)"
    );
    let client = target.settings_client().expect("client");
    assert_eq!(client.vault_url(), "https://myhsm.managedhsm.azure.net");
}
