//! Managed HSM helpers for the administration examples.
//!
//! [`Target::hsm_from_env`](crate::Target::hsm_from_env) picks the HSM: with
//! `AZURE_MANAGEDHSM_URL` set it talks to that Managed HSM with the developer
//! tools credential; without it, it starts the embedded emulator in-process. [`BlobStorage::from_env`]
//! picks the blob container the backup example writes to: the container
//! and SAS token in `AZURE_STORAGE_CONTAINER_URL` and
//! `AZURE_STORAGE_SAS_TOKEN`, or a new container in the Azurite at
//! `AZURITE_BLOB_URL`, or a new container in an Azurite started from the
//! workspace's npm install (`node_modules/.bin/azurite-blob`).

use std::path::PathBuf;

use keyvault_administration::{
    AdministrationClientOptions, KeyVaultAccessControlClient, KeyVaultBackupClient,
    KeyVaultSettingsClient,
};

use crate::{BoxError, Target};

#[path = "../../crates/keyvault-emulator/tests/support/azurite.rs"]
mod azurite;
#[path = "../../crates/keyvault-emulator/tests/support/sas.rs"]
mod sas;

/// The environment variable that names a running Azurite's blob endpoint,
/// for example `http://127.0.0.1:10000/devstoreaccount1`.
pub const AZURITE_BLOB_URL_VAR: &str = "AZURITE_BLOB_URL";
/// The environment variable that names a real blob container (with
/// [`SAS_TOKEN_VAR`]), for a backup of a real Managed HSM.
pub const CONTAINER_URL_VAR: &str = "AZURE_STORAGE_CONTAINER_URL";
/// The environment variable holding the SAS token of [`CONTAINER_URL_VAR`].
pub const SAS_TOKEN_VAR: &str = "AZURE_STORAGE_SAS_TOKEN";

/// The Managed HSM clients of a [`Target`] made with
/// [`Target::hsm_from_env`] or `Target::emulator(Service::ManagedHsm)`.
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

/// A blob container a backup can be written to, with its SAS token.
pub struct BlobStorage {
    /// The container URL.
    pub container_url: String,
    /// A SAS token that lets the HSM read, write and list the container.
    pub sas_token: String,
    /// The Azurite started for the example, stopped on drop.
    _azurite: Option<azurite::Azurite>,
}

impl std::fmt::Debug for BlobStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStorage")
            .field("container_url", &self.container_url)
            .field("sas_token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl BlobStorage {
    /// The container named by `AZURE_STORAGE_CONTAINER_URL` and
    /// `AZURE_STORAGE_SAS_TOKEN`; else a new container in the Azurite at
    /// `AZURITE_BLOB_URL`; else a new container in an Azurite started from
    /// `node_modules/.bin/azurite-blob` on a free loopback port.
    ///
    /// # Errors
    /// Azurite is not installed (the message says how to install it), does
    /// not start, or refuses the new container.
    pub fn from_env() -> Result<Self, BoxError> {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        if let (Some(container_url), Some(sas_token)) = (var(CONTAINER_URL_VAR), var(SAS_TOKEN_VAR))
        {
            return Ok(Self {
                container_url,
                sas_token: sas_token.trim_start_matches('?').to_owned(),
                _azurite: None,
            });
        }
        if let Some(blob_url) = var(AZURITE_BLOB_URL_VAR) {
            return Self::azurite_container(blob_url.trim_end_matches('/'), None);
        }
        let bin = azurite_bin()?;
        if !bin.exists() {
            return Err(format!(
                "Azurite (blob storage for the backup) is not installed: {} is missing. \
                 Install it with `npm ci` at the workspace root (or run `cargo xtask test`, \
                 which does it), or set {AZURITE_BLOB_URL_VAR} to a running Azurite's blob \
                 endpoint such as http://127.0.0.1:10000/devstoreaccount1.",
                bin.display()
            )
            .into());
        }
        let az = azurite::Azurite::start();
        let blob_url = az.blob_url.clone();
        Self::azurite_container(&blob_url, Some(az))
    }

    /// A new container in the Azurite whose account endpoint is `blob_url`.
    fn azurite_container(
        blob_url: &str,
        azurite: Option<azurite::Azurite>,
    ) -> Result<Self, BoxError> {
        let sas_token = sas::account_sas("rwdlac");
        let name = crate::unique_name("hsm-backups");
        let container_url = format!("{blob_url}/{name}");
        sas::create_container(&container_url, &sas_token)?;
        Ok(Self {
            container_url,
            sas_token,
            _azurite: azurite,
        })
    }
}

/// `node_modules/.bin/azurite-blob` at the workspace root.
fn azurite_bin() -> Result<PathBuf, BoxError> {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("package.json").is_file() {
        if !dir.pop() {
            return Err("no package.json above the examples package".into());
        }
    }
    let name = if cfg!(windows) {
        "azurite-blob.cmd"
    } else {
        "azurite-blob"
    };
    Ok(dir.join("node_modules").join(".bin").join(name))
}
