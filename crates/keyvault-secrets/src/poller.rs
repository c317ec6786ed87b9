//! The pollers of the secret delete and recover operations.

use std::time::Duration;

/// The default delay between two status requests.
pub(crate) const DEFAULT_FREQUENCY: Duration = Duration::from_secs(2);

/// A secret delete or recover in progress: keyvault-core's
/// [`Poller`](keyvault_core::poller::Poller).
///
/// Key Vault applies both at once but makes them visible a little later;
/// the poller asks until the result is readable (the deleted secret for a
/// delete, the secret for a recover). `.await` it for the result, which
/// [`result`](keyvault_core::poller::Poller::result) shows at once, as the
/// service returned it when the operation started:
///
/// ```no_run
/// # async fn demo(client: keyvault_secrets::SecretClient) -> keyvault_secrets::Result<()> {
/// let poller = client.begin_delete_secret("db-password", None).await?;
/// let token = poller.resume_token(); // another process: client.resume_delete_secret(&token, None)
/// let deleted = poller.await?;
/// println!("purged on {:?} ({token})", deleted.scheduled_purge_date);
/// # Ok(()) }
/// ```
///
/// A status request answered `404` means "not yet"; one answered `403`
/// (the caller may delete but not read deleted secrets) counts as done,
/// as does a delete in a vault without soft-delete (nothing to wait for).
pub type SecretPoller<T> = keyvault_core::poller::Poller<T>;
