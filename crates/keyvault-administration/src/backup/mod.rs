//! [`KeyVaultBackupClient`]: full backups of a Managed HSM to Azure Blob
//! Storage, full restores, selective key restores, and the checks that a
//! backup or restore can run.

pub(crate) mod models;
pub(crate) mod poller;

use std::time::Duration;

use keyvault_core::{Error, ErrorKind, Result, client::ClientCore, http::Request};

use crate::{
    ApiVersion, BackupAuth, KeyVaultBackupPoller, KeyVaultBackupResult, PollerOptions,
    RequestOptions, RestoreOptions, endpoint::check_name, generated::backuprestore as wire,
};
use models::{container_url, parse_folder_url, wipe};
use poller::DEFAULT_FREQUENCY;

/// The API version from which the pre-backup and pre-restore checks exist.
const PRE_CHECKS_SINCE: &str = "7.6-preview.2";

/// A client for the full backup and restore of one Managed HSM.
///
/// Cheap to clone (an `Arc` inside) and `Send + Sync`. Every operation
/// returns a [`KeyVaultBackupPoller`]; `.await` it for the result.
///
/// ```no_run
/// use std::sync::Arc;
/// use keyvault_administration::{BackupAuth, KeyVaultBackupClient, TokenCredential};
///
/// # async fn demo(credential: Arc<dyn TokenCredential>, sas: String) -> keyvault_administration::Result<()> {
/// let client = KeyVaultBackupClient::new("https://myhsm.managedhsm.azure.net", credential, None)?;
/// let container = "https://account.blob.core.windows.net/backup";
/// let backup = client.begin_backup(container, BackupAuth::sas_token(sas.clone()), None).await?.await?;
/// client.begin_restore(&backup.folder_url, BackupAuth::sas_token(sas), None).await?.await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct KeyVaultBackupClient {
    core: ClientCore<ApiVersion>,
}

fn backup_result(op: wire::FullBackupOperation) -> Result<KeyVaultBackupResult> {
    match op.azure_storage_blob_container_uri {
        Some(folder_url) if !folder_url.is_empty() => Ok(KeyVaultBackupResult::new(folder_url)),
        _ => Err(Error::new(
            ErrorKind::Deserialize,
            "the finished backup job names no folder (azureStorageBlobContainerUri)",
        )),
    }
}

fn nothing(_: wire::FullBackupOperation) -> Result<()> {
    Ok(())
}

fn frequency(f: Option<Duration>) -> Duration {
    f.unwrap_or(DEFAULT_FREQUENCY)
}

/// The per-call part of poller options, and the delay between two status
/// requests they ask for.
fn poller_options(options: Option<PollerOptions>) -> (RequestOptions, Duration) {
    let o = options.unwrap_or_default();
    (o.request_options, frequency(o.frequency))
}

impl KeyVaultBackupClient {
    crate::endpoint::hsm_client!(KeyVaultBackupClient, "backup/<job id>/pending");

    /// Sends `request` (operation `operations.0`), which starts a job, and
    /// gives a poller of the job: polled with the `operations.1` requests,
    /// its result converted by `map`. A start response that already says
    /// `Succeeded` needs no polling.
    async fn begin<T: Send + 'static>(
        &self,
        operations: (&'static str, &'static str),
        request: Result<Request>,
        (per_call, frequency): (RequestOptions, Duration),
        map: fn(wire::FullBackupOperation) -> Result<T>,
    ) -> Result<KeyVaultBackupPoller<T>> {
        let core = self.core.with_request_options(per_call);
        let initial = core.send(operations.0, request).await?;
        let poller =
            core.async_operation::<wire::FullBackupOperation>(operations.1, &initial, frequency)?;
        Ok(poller.map(map))
    }

    fn resume<T: Send + 'static>(
        &self,
        status_operation: &'static str,
        token: &str,
        options: Option<PollerOptions>,
        map: fn(wire::FullBackupOperation) -> Result<T>,
    ) -> Result<KeyVaultBackupPoller<T>> {
        let (per_call, frequency) = poller_options(options);
        let core = self.core.with_request_options(per_call);
        let poller =
            core.resume::<wire::FullBackupOperation>(status_operation, token, frequency)?;
        Ok(poller.map(map))
    }

    /// Starts a full backup of the HSM (keys, roles, settings) to a new
    /// folder of the blob container at `container_url`, which the HSM
    /// reaches with `auth`.
    ///
    /// A query in `container_url` (such as a SAS token pasted with it) is
    /// dropped: give the token in `auth`.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a URL that names no container; the
    /// service's errors for the start request. The job's own failure (for
    /// example a SAS token the storage refuses) comes out of the poller.
    ///
    /// # Examples
    /// ```no_run
    /// use keyvault_administration::BackupAuth;
    /// # async fn demo(client: keyvault_administration::KeyVaultBackupClient, sas: String) -> keyvault_administration::Result<()> {
    /// let poller = client
    ///     .begin_backup("https://account.blob.core.windows.net/backup", BackupAuth::sas_token(sas), None)
    ///     .await?;
    /// let backup = poller.await?;
    /// println!("{}", backup.folder_url);
    /// # Ok(()) }
    /// ```
    pub async fn begin_backup(
        &self,
        container_url: &str,
        auth: BackupAuth,
        options: Option<PollerOptions>,
    ) -> Result<KeyVaultBackupPoller<KeyVaultBackupResult>> {
        let mut body = auth.parameter(self::container_url(container_url)?);
        let request = wire::full_backup_request(self.core.endpoint(), &body);
        wipe(&mut body.token);
        let operations = (wire::FULL_BACKUP, wire::FULL_BACKUP_STATUS);
        (self.begin(operations, request, poller_options(options), backup_result)).await
    }

    /// Starts a restore from the backup in the folder at `folder_url` (a
    /// [`KeyVaultBackupResult::folder_url`]): the whole HSM, or only the key
    /// named by [`RestoreOptions::key_name`] (a selective key restore, which
    /// leaves everything else as it is).
    ///
    /// The folder URL is split as the service wants it: the first path
    /// segment is the container (after the account name for path-style
    /// emulator URLs such as Azurite's), the rest is the folder; a query is
    /// dropped.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a folder URL that names no container
    /// and folder, or an empty key name; the service's errors for the start
    /// request.
    ///
    /// # Examples
    /// ```no_run
    /// use keyvault_administration::{BackupAuth, RestoreOptions};
    /// # async fn demo(client: keyvault_administration::KeyVaultBackupClient, folder_url: String) -> keyvault_administration::Result<()> {
    /// // Restore one key only.
    /// let options = RestoreOptions { key_name: Some("my-key".into()), ..Default::default() };
    /// client.begin_restore(&folder_url, BackupAuth::ManagedIdentity, Some(options)).await?.await?;
    /// # Ok(()) }
    /// ```
    pub async fn begin_restore(
        &self,
        folder_url: &str,
        auth: BackupAuth,
        options: Option<RestoreOptions>,
    ) -> Result<KeyVaultBackupPoller<()>> {
        let o = options.unwrap_or_default();
        if let Some(key) = &o.key_name {
            check_name("key", key)?;
        }
        let (container, folder) = parse_folder_url(folder_url)?;
        let sas_token_parameters = auth.parameter(container);
        let frequency = (o.request_options, frequency(o.frequency));
        match o.key_name.as_deref() {
            Some(key) => {
                let mut body = wire::SelectiveKeyRestoreOperationParameters {
                    folder,
                    sas_token_parameters,
                };
                let request =
                    wire::selective_key_restore_operation_request(self.core.endpoint(), key, &body);
                wipe(&mut body.sas_token_parameters.token);
                let operations = (
                    wire::SELECTIVE_KEY_RESTORE_OPERATION,
                    wire::SELECTIVE_KEY_RESTORE_STATUS,
                );
                self.begin(operations, request, frequency, nothing).await
            }
            None => {
                let mut body = wire::RestoreOperationParameters {
                    folder_to_restore: folder,
                    sas_token_parameters,
                };
                let request = wire::full_restore_operation_request(self.core.endpoint(), &body);
                wipe(&mut body.sas_token_parameters.token);
                let operations = (wire::FULL_RESTORE_OPERATION, wire::RESTORE_STATUS);
                self.begin(operations, request, frequency, nothing).await
            }
        }
    }

    /// Checks that a full backup to the container at `container_url` would
    /// succeed, without writing a backup. The poller finishes with `()`
    /// when it would, and fails with the reason otherwise.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] with an API version older than
    /// `7.6-preview.2`, which has no such check, or for a URL that names no
    /// container; the service's errors for the start request.
    ///
    /// # Examples
    /// ```no_run
    /// use keyvault_administration::BackupAuth;
    /// # async fn demo(client: keyvault_administration::KeyVaultBackupClient) -> keyvault_administration::Result<()> {
    /// client
    ///     .begin_pre_backup("https://account.blob.core.windows.net/backup", BackupAuth::ManagedIdentity, None)
    ///     .await?
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn begin_pre_backup(
        &self,
        container_url: &str,
        auth: BackupAuth,
        options: Option<PollerOptions>,
    ) -> Result<KeyVaultBackupPoller<()>> {
        self.core.require("begin_pre_backup", PRE_CHECKS_SINCE)?;
        let (token, use_managed_identity) = auth.parts();
        let mut body = wire::PreBackupOperationParameters {
            storage_resource_uri: Some(self::container_url(container_url)?),
            token,
            use_managed_identity: Some(use_managed_identity),
        };
        let request = wire::pre_full_backup_request(self.core.endpoint(), &body);
        wipe(&mut body.token);
        let operations = (wire::PRE_FULL_BACKUP, wire::FULL_BACKUP_STATUS);
        (self.begin(operations, request, poller_options(options), nothing)).await
    }

    /// Checks that a full restore from the backup in the folder at
    /// `folder_url` would succeed, without restoring anything.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] with an API version older than
    /// `7.6-preview.2`, or for a folder URL that names no container and
    /// folder; the service's errors for the start request.
    ///
    /// # Examples
    /// ```no_run
    /// use keyvault_administration::BackupAuth;
    /// # async fn demo(client: keyvault_administration::KeyVaultBackupClient, folder_url: String) -> keyvault_administration::Result<()> {
    /// client.begin_pre_restore(&folder_url, BackupAuth::ManagedIdentity, None).await?.await?;
    /// # Ok(()) }
    /// ```
    pub async fn begin_pre_restore(
        &self,
        folder_url: &str,
        auth: BackupAuth,
        options: Option<PollerOptions>,
    ) -> Result<KeyVaultBackupPoller<()>> {
        self.core.require("begin_pre_restore", PRE_CHECKS_SINCE)?;
        let (container, folder) = parse_folder_url(folder_url)?;
        let mut body = wire::PreRestoreOperationParameters {
            folder_to_restore: Some(folder),
            sas_token_parameters: Some(auth.parameter(container)),
        };
        let request = wire::pre_full_restore_operation_request(self.core.endpoint(), &body);
        if let Some(p) = body.sas_token_parameters.as_mut() {
            wipe(&mut p.token);
        }
        let operations = (wire::PRE_FULL_RESTORE_OPERATION, wire::RESTORE_STATUS);
        (self.begin(operations, request, poller_options(options), nothing)).await
    }

    /// Continues a backup from a [`resume_token`](keyvault_core::poller::Poller::resume_token), in
    /// this or another process. Nothing is sent until the poller is polled.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a token no backup poller made, or
    /// one for a job of another HSM.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(client: keyvault_administration::KeyVaultBackupClient, token: String) -> keyvault_administration::Result<()> {
    /// let backup = client.resume_backup(&token, None)?.await?;
    /// println!("{}", backup.folder_url);
    /// # Ok(()) }
    /// ```
    pub fn resume_backup(
        &self,
        token: &str,
        options: Option<PollerOptions>,
    ) -> Result<KeyVaultBackupPoller<KeyVaultBackupResult>> {
        self.resume(wire::FULL_BACKUP_STATUS, token, options, backup_result)
    }

    /// Continues a full or selective key restore from a
    /// [`resume_token`](keyvault_core::poller::Poller::resume_token).
    ///
    /// # Errors
    /// As [`resume_backup`](Self::resume_backup).
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(client: keyvault_administration::KeyVaultBackupClient, token: String) -> keyvault_administration::Result<()> {
    /// client.resume_restore(&token, None)?.await?;
    /// # Ok(()) }
    /// ```
    pub fn resume_restore(
        &self,
        token: &str,
        options: Option<PollerOptions>,
    ) -> Result<KeyVaultBackupPoller<()>> {
        self.resume(wire::RESTORE_STATUS, token, options, nothing)
    }

    /// Continues a pre-backup check from a
    /// [`resume_token`](keyvault_core::poller::Poller::resume_token).
    ///
    /// # Errors
    /// As [`resume_backup`](Self::resume_backup).
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(client: keyvault_administration::KeyVaultBackupClient, token: String) -> keyvault_administration::Result<()> {
    /// client.resume_pre_backup(&token, None)?.await?;
    /// # Ok(()) }
    /// ```
    pub fn resume_pre_backup(
        &self,
        token: &str,
        options: Option<PollerOptions>,
    ) -> Result<KeyVaultBackupPoller<()>> {
        self.resume(wire::FULL_BACKUP_STATUS, token, options, nothing)
    }

    /// Continues a pre-restore check from a
    /// [`resume_token`](keyvault_core::poller::Poller::resume_token).
    ///
    /// # Errors
    /// As [`resume_backup`](Self::resume_backup).
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(client: keyvault_administration::KeyVaultBackupClient, token: String) -> keyvault_administration::Result<()> {
    /// client.resume_pre_restore(&token, None)?.await?;
    /// # Ok(()) }
    /// ```
    pub fn resume_pre_restore(
        &self,
        token: &str,
        options: Option<PollerOptions>,
    ) -> Result<KeyVaultBackupPoller<()>> {
        self.resume(wire::RESTORE_STATUS, token, options, nothing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_result_needs_a_folder() {
        let op = wire::FullBackupOperation {
            azure_storage_blob_container_uri: Some("https://a/b/c".into()),
            ..Default::default()
        };
        assert_eq!(backup_result(op).unwrap().folder_url, "https://a/b/c");
        assert!(backup_result(wire::FullBackupOperation::default()).is_err());
    }
}
