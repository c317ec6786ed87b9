//! Back up a whole Managed HSM to a blob container, then restore it from
//! that backup; the backup poller is resumed from its token on the way.
//!
//! `cargo run --example hsm_backup_restore` (against the embedded emulator
//! unless `AZURE_MANAGEDHSM_URL` names a Managed HSM). The backup goes to
//! the container in `AZURE_STORAGE_CONTAINER_URL` (with
//! `AZURE_STORAGE_SAS_TOKEN`), else to a new container in the Azurite at
//! `AZURITE_BLOB_URL`, else to an Azurite started from the workspace's
//! `node_modules` (`npm ci` installs it).

#![allow(clippy::print_stdout)]

use examples::{BoxError, Target};
use keyvault_administration::{BackupAuth, KeyVaultBackupClient};
use keyvault_testing::azurite::BlobStorage;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target = Target::hsm_from_env().await?;
    println!("{}", target.describe());
    let storage = BlobStorage::from_env()?;
    run(&target.backup_client()?, &storage).await?;
    target.shutdown().await;
    Ok(())
}

/// The example itself.
pub async fn run(client: &KeyVaultBackupClient, storage: &BlobStorage) -> Result<(), BoxError> {
    let auth = || BackupAuth::sas_token(storage.sas_token.clone());
    println!("Backing up to {}", storage.container_url);

    // Check first that the HSM can write to the container.
    client
        .begin_pre_backup(&storage.container_url, auth(), None)
        .await?
        .await?;
    println!("The pre-backup check passed");

    // Start the backup, keep its resume token, and continue from the token
    // as another process would.
    let poller = client
        .begin_backup(&storage.container_url, auth(), None)
        .await?;
    let token = poller.resume_token();
    drop(poller);
    let backup = client.resume_backup(&token, None)?.await?;
    println!("Backed up to {}", backup.folder_url);

    // Check the backup can be restored, then restore it.
    client
        .begin_pre_restore(&backup.folder_url, auth(), None)
        .await?
        .await?;
    println!("The pre-restore check passed");
    client
        .begin_restore(&backup.folder_url, auth(), None)
        .await?
        .await?;
    println!("Restored the HSM from {}", backup.folder_url);
    Ok(())
}
