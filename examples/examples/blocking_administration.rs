//! The blocking Managed HSM clients, for programs without async: list the
//! role definitions and assign one, read a setting, and back the HSM up
//! with a bounded wait.
//!
//! `cargo run --example blocking_administration` (against the embedded
//! emulator unless `AZURE_MANAGEDHSM_URL` names a Managed HSM). The backup
//! goes where `hsm_backup_restore`'s does (`AZURE_STORAGE_CONTAINER_URL`
//! and `AZURE_STORAGE_SAS_TOKEN`, else Azurite).

#![allow(clippy::print_stdout)]

use std::time::Duration;

use examples::{BoxError, Target};
use keyvault_administration::{
    BackupAuth, KeyVaultRoleScope,
    blocking::{KeyVaultAccessControlClient, KeyVaultBackupClient, KeyVaultSettingsClient},
};
use keyvault_testing::azurite::BlobStorage;

/// The three blocking clients of one Managed HSM.
pub struct Clients {
    /// Role definitions and assignments.
    pub access: KeyVaultAccessControlClient,
    /// Full backup and restore.
    pub backup: KeyVaultBackupClient,
    /// Account settings.
    pub settings: KeyVaultSettingsClient,
}

impl Clients {
    /// The blocking forms of `target`'s clients.
    pub fn new(target: &Target) -> Result<Self, BoxError> {
        Ok(Self {
            access: KeyVaultAccessControlClient::from_async(target.access_control_client()?)?,
            backup: KeyVaultBackupClient::from_async(target.backup_client()?)?,
            settings: KeyVaultSettingsClient::from_async(target.settings_client()?)?,
        })
    }
}

fn main() -> Result<(), BoxError> {
    // The target's emulator (when no HSM URL is set) runs on this runtime;
    // the blocking clients bring runtimes of their own.
    let runtime = tokio::runtime::Runtime::new()?;
    let target = runtime.block_on(Target::hsm_from_env())?;
    println!("{}", target.describe());
    let storage = BlobStorage::from_env()?;
    let clients = Clients::new(&target)?;
    run(&clients, &storage)?;
    drop(clients);
    runtime.block_on(target.shutdown());
    Ok(())
}

/// The example itself.
pub fn run(clients: &Clients, storage: &BlobStorage) -> Result<(), BoxError> {
    let roles = clients
        .access
        .list_role_definitions(KeyVaultRoleScope::Global, None)
        .collect::<Result<Vec<_>, _>>()?;
    println!("{} role definitions", roles.len());
    let Some(user) = roles
        .iter()
        .find(|r| r.role_name.as_deref() == Some("Managed HSM Crypto User"))
    else {
        return Err("no Managed HSM Crypto User role".into());
    };
    let principal = "00000000-0000-0000-0000-00000000b10c";
    let assignment = clients.access.create_role_assignment(
        KeyVaultRoleScope::Keys,
        &user.id,
        principal,
        None,
    )?;
    println!("Assigned {:?} as {}", user.role_name, assignment.name);
    clients
        .access
        .delete_role_assignment(KeyVaultRoleScope::Keys, &assignment.name, None)?;
    println!("Removed the assignment");

    for setting in clients.settings.list_settings(None)? {
        println!("{} = {}", setting.name, setting.value);
    }

    // Back up, waiting at most ten minutes; the token would continue it.
    let auth = BackupAuth::sas_token(storage.sas_token.clone());
    let poller = clients
        .backup
        .begin_backup(&storage.container_url, auth, None)?;
    let token = poller.resume_token();
    match poller.wait_for(Duration::from_secs(600)) {
        Ok(backup) => println!("Backed up to {}", backup.folder_url),
        Err(e) if e.is_timeout() => println!("Still running; resume with {token}"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
