//! The poller of backup, restore and check jobs.

use std::time::Duration;

/// The default delay between two status requests when the service does not
/// say (`Retry-After`).
pub(crate) const DEFAULT_FREQUENCY: Duration = Duration::from_secs(5);

/// A backup, restore, or check job of a Managed HSM, in progress:
/// keyvault-core's [`Poller`](keyvault_core::poller::Poller).
///
/// `.await` it for the result ([`KeyVaultBackupResult`](crate::KeyVaultBackupResult)
/// for a backup, `()` otherwise); [`poll`](keyvault_core::poller::Poller::poll)
/// and [`status_stream`](keyvault_core::poller::Poller::status_stream)
/// report progress; [`resume_token`](keyvault_core::poller::Poller::resume_token)
/// lets another process continue with
/// [`KeyVaultBackupClient::resume_backup`](crate::KeyVaultBackupClient::resume_backup)
/// and friends.
///
/// A job that ends `Failed` or `Canceled` is an
/// [`ErrorKind::OperationFailed`](crate::ErrorKind::OperationFailed) error
/// carrying the service's error code and message.
///
/// ```no_run
/// use futures::TryStreamExt;
/// use keyvault_administration::BackupAuth;
/// # async fn demo(client: keyvault_administration::KeyVaultBackupClient) -> keyvault_administration::Result<()> {
/// let mut poller = client
///     .begin_backup("https://account.blob.core.windows.net/backup", BackupAuth::ManagedIdentity, None)
///     .await?;
/// let token = poller.resume_token(); // keep it to continue elsewhere
/// let mut statuses = poller.status_stream();
/// while let Some(status) = statuses.try_next().await? {
///     println!("{status:?}");
/// }
/// drop(statuses);
/// let result = poller.await?;
/// println!("backed up to {} (token {token})", result.folder_url);
/// # Ok(()) }
/// ```
pub type KeyVaultBackupPoller<T> = keyvault_core::poller::Poller<T>;
