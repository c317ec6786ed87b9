//! The poller of backup, restore and check jobs.

use std::{
    future::{Future, IntoFuture},
    pin::Pin,
    time::Duration,
};

use futures::{StreamExt, stream::BoxStream};
use keyvault_core::poller::{PollStatus, Poller};

use crate::{Result, generated::backuprestore as wire};

/// The default delay between two status requests when the service does not
/// say (`Retry-After`).
pub(crate) const DEFAULT_FREQUENCY: Duration = Duration::from_secs(5);

/// A backup, restore, or check job of a Managed HSM, in progress.
///
/// `.await` it for the result ([`KeyVaultBackupResult`](crate::KeyVaultBackupResult)
/// for a backup, `()` otherwise); [`poll`](Self::poll) and
/// [`status_stream`](Self::status_stream) report progress;
/// [`resume_token`](Self::resume_token) lets another process continue with
/// [`KeyVaultBackupClient::resume_backup`](crate::KeyVaultBackupClient::resume_backup)
/// and friends.
///
/// A job that ends `Failed` or `Canceled` is an
/// [`ErrorKind::OperationFailed`](crate::ErrorKind::OperationFailed) error
/// carrying the service's error code and message.
///
/// ```no_run
/// use keyvault_administration::BackupAuth;
/// # async fn demo(client: keyvault_administration::KeyVaultBackupClient) -> keyvault_administration::Result<()> {
/// let poller = client
///     .begin_backup("https://account.blob.core.windows.net/backup", BackupAuth::ManagedIdentity, None)
///     .await?;
/// let token = poller.resume_token(); // keep it to continue elsewhere
/// let result = poller.await?;
/// println!("backed up to {} (token {token})", result.folder_url);
/// # Ok(()) }
/// ```
pub struct KeyVaultBackupPoller<T> {
    inner: Poller<wire::FullBackupOperation>,
    map: fn(wire::FullBackupOperation) -> Result<T>,
    /// The resume token of a job whose start response said it had
    /// succeeded: `inner` is then [`Poller::finished`], which has none.
    token: Option<String>,
}

impl<T> std::fmt::Debug for KeyVaultBackupPoller<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyVaultBackupPoller")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> KeyVaultBackupPoller<T> {
    pub(crate) fn new(
        inner: Poller<wire::FullBackupOperation>,
        frequency: Duration,
        map: fn(wire::FullBackupOperation) -> Result<T>,
    ) -> Self {
        Self {
            inner: inner.with_frequency(frequency),
            map,
            token: None,
        }
    }

    /// A poller for a job whose start response already says it succeeded
    /// (as the Python client, no status request is sent then); its resume
    /// token is still that of `started`.
    pub(crate) fn succeeded(
        started: &Poller<wire::FullBackupOperation>,
        job: wire::FullBackupOperation,
        map: fn(wire::FullBackupOperation) -> Result<T>,
    ) -> Self {
        Self {
            inner: Poller::finished(job),
            map,
            token: Some(started.resume_token()),
        }
    }

    /// The status seen at the last poll ([`PollStatus::InProgress`] before
    /// the first).
    pub fn status(&self) -> PollStatus {
        self.inner.status()
    }

    /// Whether the job has finished.
    pub fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    /// A token from which
    /// [`KeyVaultBackupClient::resume_backup`](crate::KeyVaultBackupClient::resume_backup)
    /// (or `resume_restore`, `resume_pre_backup`, `resume_pre_restore`)
    /// continues polling, in this or another process. It holds the job's
    /// status URL, nothing secret.
    pub fn resume_token(&self) -> String {
        self.token
            .clone()
            .unwrap_or_else(|| self.inner.resume_token())
    }

    /// Sends one status request now and returns the status; after a
    /// terminal status, returns it again without sending anything.
    ///
    /// # Errors
    /// The status request failed.
    ///
    /// # Examples
    /// ```no_run
    /// use std::time::Duration;
    /// use keyvault_administration::BackupAuth;
    /// # async fn demo(client: keyvault_administration::KeyVaultBackupClient, folder_url: String) -> keyvault_administration::Result<()> {
    /// let mut poller = client.begin_restore(&folder_url, BackupAuth::ManagedIdentity, None).await?;
    /// while !poller.poll().await?.is_terminal() {
    ///     println!("still {:?}", poller.status());
    ///     tokio::time::sleep(Duration::from_secs(5)).await;
    /// }
    /// poller.await?; // the job's error, if it failed
    /// # Ok(()) }
    /// ```
    pub async fn poll(&mut self) -> Result<PollStatus> {
        self.inner.poll().await
    }

    /// A stream (boxed, so `Unpin`) of the status after each poll, waiting
    /// between polls; it ends after the terminal status (which it yields at
    /// once, without polling, when the job had finished already). Await the
    /// poller afterwards for the result.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use keyvault_administration::BackupAuth;
    /// # async fn demo(client: keyvault_administration::KeyVaultBackupClient) -> keyvault_administration::Result<()> {
    /// let mut poller = client
    ///     .begin_backup("https://account.blob.core.windows.net/backup", BackupAuth::ManagedIdentity, None)
    ///     .await?;
    /// let mut statuses = poller.status_stream();
    /// while let Some(status) = statuses.try_next().await? {
    ///     println!("{status:?}");
    /// }
    /// drop(statuses);
    /// let result = poller.await?;
    /// # let _ = result; Ok(()) }
    /// ```
    pub fn status_stream(&mut self) -> BoxStream<'_, Result<PollStatus>> {
        self.inner.status_stream().boxed()
    }

    /// Polls until the job finishes (the first poll at once, then as
    /// `Retry-After` says, or every `frequency`) and returns its result.
    ///
    /// # Errors
    /// [`ErrorKind::OperationFailed`](crate::ErrorKind::OperationFailed)
    /// with the service's error code and message when the job failed or was
    /// canceled; the errors of [`poll`](Self::poll).
    pub async fn wait(self) -> Result<T> {
        (self.map)(self.inner.wait().await?)
    }
}

impl<T: Send + 'static> IntoFuture for KeyVaultBackupPoller<T> {
    type Output = Result<T>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.wait())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poller_is_send() {
        fn assert<T: Send + 'static>() {}
        assert::<KeyVaultBackupPoller<()>>();
        assert::<<KeyVaultBackupPoller<()> as IntoFuture>::IntoFuture>();
    }
}
