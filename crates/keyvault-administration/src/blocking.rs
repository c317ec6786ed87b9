//! Blocking forms of the three clients (the `blocking` feature):
//! [`KeyVaultAccessControlClient`], [`KeyVaultBackupClient`] and
//! [`KeyVaultSettingsClient`], with the same methods as the async clients,
//! returning values instead of futures, listings as iterators and backup
//! pollers you `wait()` on.
//!
//! Each client owns a current-thread tokio runtime, shared by its clones;
//! each call runs on the calling thread. Calling one from async code
//! panics (see [`keyvault_core::blocking`]); call it from `spawn_blocking`
//! there, or use the async client.
//!
//! ```no_run
//! use std::{sync::Arc, time::Duration};
//! use keyvault_administration::{BackupAuth, KeyVaultRoleScope, TokenCredential};
//! use keyvault_administration::blocking::{KeyVaultAccessControlClient, KeyVaultBackupClient};
//!
//! fn demo(credential: Arc<dyn TokenCredential>, sas: String) -> keyvault_administration::Result<()> {
//!     let hsm = "https://myhsm.managedhsm.azure.net";
//!     let access = KeyVaultAccessControlClient::new(hsm, credential.clone(), None)?;
//!     for role in access.list_role_definitions(KeyVaultRoleScope::Global, None) {
//!         println!("{:?}", role?.role_name);
//!     }
//!
//!     let backup = KeyVaultBackupClient::new(hsm, credential, None)?;
//!     let container = "https://account.blob.core.windows.net/backups";
//!     let poller = backup.begin_backup(container, BackupAuth::sas_token(sas), None)?;
//!     let token = poller.resume_token();
//!     match poller.wait_for(Duration::from_secs(600)) {
//!         Ok(result) => println!("backed up to {}", result.folder_url),
//!         Err(e) if e.is_timeout() => println!("still running; resume with {token}"),
//!         Err(e) => return Err(e),
//!     }
//!     Ok(())
//! }
//! ```

use std::sync::Arc;

pub use keyvault_core::blocking::{IN_ASYNC_CONTEXT, ItemIter, Iter, PageIter};

use crate::{
    AdministrationClientOptions, BackupAuth, CreateRoleAssignmentOptions, KeyVaultBackupResult,
    KeyVaultRoleAssignment, KeyVaultRoleDefinition, KeyVaultRoleScope, KeyVaultSetting,
    ListOptions, PollerOptions, RequestOptions, RestoreOptions, Result, SetRoleDefinitionOptions,
    TokenCredential,
};

/// The blocking form of [`crate::KeyVaultBackupPoller`]: `wait()`,
/// `wait_for(timeout)`, `statuses()`, `status()` and `resume_token()`.
pub type KeyVaultBackupPoller<T> = keyvault_core::blocking::Poller<T>;

keyvault_core::blocking_client! {
    /// A blocking client of the role definitions and role assignments of
    /// one Managed HSM: [`crate::KeyVaultAccessControlClient`] with each call
    /// run to completion on the calling thread.
    ///
    /// Cheap to clone: clones share the async client and the runtime.
    pub struct KeyVaultAccessControlClient for KeyVaultAccessControlClient {
        new(
            hsm_url: &str,
            credential: Arc<dyn TokenCredential>,
            options: Option<AdministrationClientOptions>,
        );
        list fn list_role_definitions(
            scope: impl Into<KeyVaultRoleScope>,
            options: Option<ListOptions>,
        ) -> ItemIter<KeyVaultRoleDefinition>;
        call fn get_role_definition(
            scope: impl Into<KeyVaultRoleScope>,
            name: &str,
            options: Option<RequestOptions>,
        ) -> Result<KeyVaultRoleDefinition>;
        call fn set_role_definition(
            scope: impl Into<KeyVaultRoleScope>,
            options: Option<SetRoleDefinitionOptions>,
        ) -> Result<KeyVaultRoleDefinition>;
        call fn delete_role_definition(
            scope: impl Into<KeyVaultRoleScope>,
            name: &str,
            options: Option<RequestOptions>,
        ) -> Result<()>;
        list fn list_role_assignments(
            scope: impl Into<KeyVaultRoleScope>,
            options: Option<ListOptions>,
        ) -> ItemIter<KeyVaultRoleAssignment>;
        call fn get_role_assignment(
            scope: impl Into<KeyVaultRoleScope>,
            name: &str,
            options: Option<RequestOptions>,
        ) -> Result<KeyVaultRoleAssignment>;
        call fn create_role_assignment(
            scope: impl Into<KeyVaultRoleScope>,
            definition_id: impl AsRef<str>,
            principal_id: &str,
            options: Option<CreateRoleAssignmentOptions>,
        ) -> Result<KeyVaultRoleAssignment>;
        call fn delete_role_assignment(
            scope: impl Into<KeyVaultRoleScope>,
            name: &str,
            options: Option<RequestOptions>,
        ) -> Result<()>;
    }
}

keyvault_core::blocking_client! {
    /// A blocking client for full backups and restores of one Managed HSM:
    /// [`crate::KeyVaultBackupClient`] with each call run to completion on
    /// the calling thread, and pollers that block.
    ///
    /// Cheap to clone: clones share the async client and the runtime.
    pub struct KeyVaultBackupClient for KeyVaultBackupClient {
        new(
            hsm_url: &str,
            credential: Arc<dyn TokenCredential>,
            options: Option<AdministrationClientOptions>,
        );
        start fn begin_backup(
            container_url: &str,
            auth: BackupAuth,
            options: Option<PollerOptions>,
        ) -> Result<KeyVaultBackupPoller<KeyVaultBackupResult>>;
        start fn begin_restore(
            folder_url: &str,
            auth: BackupAuth,
            options: Option<RestoreOptions>,
        ) -> Result<KeyVaultBackupPoller<()>>;
        start fn begin_pre_backup(
            container_url: &str,
            auth: BackupAuth,
            options: Option<PollerOptions>,
        ) -> Result<KeyVaultBackupPoller<()>>;
        start fn begin_pre_restore(
            folder_url: &str,
            auth: BackupAuth,
            options: Option<PollerOptions>,
        ) -> Result<KeyVaultBackupPoller<()>>;
        resume fn resume_backup(
            token: &str,
            options: Option<PollerOptions>,
        ) -> Result<KeyVaultBackupPoller<KeyVaultBackupResult>>;
        resume fn resume_restore(
            token: &str,
            options: Option<PollerOptions>,
        ) -> Result<KeyVaultBackupPoller<()>>;
        resume fn resume_pre_backup(
            token: &str,
            options: Option<PollerOptions>,
        ) -> Result<KeyVaultBackupPoller<()>>;
        resume fn resume_pre_restore(
            token: &str,
            options: Option<PollerOptions>,
        ) -> Result<KeyVaultBackupPoller<()>>;
    }
}

keyvault_core::blocking_client! {
    /// A blocking client of the account settings of one Managed HSM:
    /// [`crate::KeyVaultSettingsClient`] with each call run to completion on
    /// the calling thread.
    ///
    /// Cheap to clone: clones share the async client and the runtime.
    pub struct KeyVaultSettingsClient for KeyVaultSettingsClient {
        new(
            hsm_url: &str,
            credential: Arc<dyn TokenCredential>,
            options: Option<AdministrationClientOptions>,
        );
        call fn list_settings(options: Option<RequestOptions>) -> Result<Vec<KeyVaultSetting>>;
        call fn get_setting(name: &str, options: Option<RequestOptions>) -> Result<KeyVaultSetting>;
        call fn update_setting(
            setting: &KeyVaultSetting,
            options: Option<RequestOptions>,
        ) -> Result<KeyVaultSetting>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_send_sync_clone() {
        fn assert<T: Send + Sync + Clone + std::fmt::Debug + 'static>() {}
        assert::<KeyVaultAccessControlClient>();
        assert::<KeyVaultBackupClient>();
        assert::<KeyVaultSettingsClient>();
        fn send<T: Send + 'static>() {}
        send::<ItemIter<KeyVaultRoleDefinition>>();
        send::<KeyVaultBackupPoller<KeyVaultBackupResult>>();
    }
}
