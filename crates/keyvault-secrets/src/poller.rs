//! The pollers of the secret delete and recover operations.

use std::{
    future::{Future, IntoFuture},
    pin::Pin,
    time::Duration,
};

use keyvault_core::{
    http::StatusCode,
    poller::{PollStatus, Poller},
};
use serde::de::IgnoredAny;

use crate::Result;

/// The default delay between two status requests.
pub(crate) const DEFAULT_FREQUENCY: Duration = Duration::from_secs(2);

/// A secret delete or recover in progress.
///
/// Key Vault applies both at once but makes them visible a little later;
/// the poller asks until the result is readable (the deleted secret for a
/// delete, the secret for a recover). `.await` it for the result:
///
/// ```no_run
/// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
/// let deleted = client.begin_delete_secret("db-password", None).await?.await?;
/// println!("purged on {:?}", deleted.scheduled_purge_date);
/// # Ok(()) }
/// ```
///
/// A status request answered `404` means "not yet"; one answered `403`
/// (the caller may delete but not read deleted secrets) counts as done,
/// as does a delete in a vault without soft-delete (nothing to wait for).
pub struct SecretPoller<T> {
    inner: Poller<IgnoredAny>,
    result: T,
}

impl<T> std::fmt::Debug for SecretPoller<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretPoller")
            .field("status", &self.inner.status())
            .field("frequency", &self.inner.frequency())
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> SecretPoller<T> {
    /// A poller that waits for `inner` (a `403` counts as done), then gives
    /// `result`.
    pub(crate) fn new(inner: Poller<IgnoredAny>, result: T) -> Self {
        Self {
            inner: inner.done_on_status(StatusCode::FORBIDDEN),
            result,
        }
    }

    /// A poller that is finished at once with `result`.
    pub(crate) fn finished(result: T) -> Self {
        Self {
            inner: Poller::finished(IgnoredAny),
            result,
        }
    }

    /// The result as the service returned it when the operation started,
    /// without waiting.
    pub fn result(&self) -> &T {
        &self.result
    }

    /// The status seen at the last poll.
    pub fn status(&self) -> PollStatus {
        self.inner.status()
    }

    /// Whether the operation has finished.
    pub fn is_done(&self) -> bool {
        self.inner.is_done()
    }

    /// Sends one status request now, unless the operation has finished,
    /// and returns the status.
    ///
    /// # Errors
    /// The status request failed with something other than `404` or `403`.
    pub async fn poll(&mut self) -> Result<PollStatus> {
        self.inner.poll().await
    }

    /// Polls until the operation finishes (the first poll at once, then as
    /// `Retry-After` says, or every `frequency`) and returns the result.
    ///
    /// # Errors
    /// As [`poll`](Self::poll).
    pub async fn wait(self) -> Result<T> {
        self.inner.wait().await?;
        Ok(self.result)
    }
}

impl<T: Send + 'static> IntoFuture for SecretPoller<T> {
    type Output = Result<T>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<T>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.wait())
    }
}
