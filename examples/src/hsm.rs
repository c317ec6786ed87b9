//! Managed HSM helpers for the administration examples.
//!
//! [`Target::hsm_from_env`](crate::Target::hsm_from_env) picks the HSM: with
//! `AZURE_MANAGEDHSM_URL` set it talks to that Managed HSM with the default
//! credential chain; without it, it runs the example again against the
//! embedded emulator's Managed HSM ([`run_with_emulator`](crate::run_with_emulator)).
//! The blob container the backup example writes to comes from the test
//! support crate (`keyvault_testing::azurite::BlobStorage`), a
//! dev-dependency: the container and SAS token in
//! `AZURE_STORAGE_CONTAINER_URL` and `AZURE_STORAGE_SAS_TOKEN`, or a new
//! container in the Azurite at `AZURITE_BLOB_URL`, or a new container in an
//! Azurite started from the workspace's npm install
//! (`node_modules/.bin/azurite-blob`).

use keyvault_administration::{
    AdministrationClientOptions, KeyVaultAccessControlClient, KeyVaultBackupClient,
    KeyVaultSettingsClient,
};

use crate::{BoxError, Target};

/// The Managed HSM clients of a [`Target`] made with
/// [`Target::hsm_from_env`] or `Target::azure(Service::ManagedHsm, url)`.
impl Target {
    fn options(&self) -> Option<AdministrationClientOptions> {
        Some(AdministrationClientOptions {
            client_options: self.client_options.clone(),
            ..Default::default()
        })
    }

    /// An access control client of the target HSM.
    ///
    /// # Errors
    /// The HSM URL is not valid.
    pub fn access_control_client(&self) -> Result<KeyVaultAccessControlClient, BoxError> {
        Ok(KeyVaultAccessControlClient::new(
            &self.url,
            self.credential.clone(),
            self.options(),
        )?)
    }

    /// A backup client of the target HSM.
    ///
    /// # Errors
    /// The HSM URL is not valid.
    pub fn backup_client(&self) -> Result<KeyVaultBackupClient, BoxError> {
        Ok(KeyVaultBackupClient::new(
            &self.url,
            self.credential.clone(),
            self.options(),
        )?)
    }

    /// A settings client of the target HSM.
    ///
    /// # Errors
    /// The HSM URL is not valid.
    pub fn settings_client(&self) -> Result<KeyVaultSettingsClient, BoxError> {
        Ok(KeyVaultSettingsClient::new(
            &self.url,
            self.credential.clone(),
            self.options(),
        )?)
    }
}
