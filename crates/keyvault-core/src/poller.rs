//! Long-running operations, in the two styles Key Vault uses:
//!
//! - **until found**: the operation takes effect at once but becomes visible
//!   later; poll a GET until it stops answering 404 (secret delete and
//!   recover). See [`Poller::until_found`].
//! - **async operation**: a POST or PUT answers 202 with an
//!   `Azure-AsyncOperation` URL; poll it until its `status` is `Succeeded`,
//!   `Failed` or `Canceled`, waiting what `Retry-After` says (Managed HSM
//!   backup and restore). See [`Poller::from_async_operation`].
//!
//! A [`Poller`] is [`IntoFuture`]: `.await` it for the final value. Call
//! [`Poller::poll`] or [`Poller::status_stream`] to watch progress, and
//! [`Poller::resume_token`] / [`Poller::resume`] to continue in another
//! process; [`resume_token_url`] tells which URL a token polls, without
//! resuming it.
//!
//! Two hooks let client crates express their services' quirks without
//! wrapping the poller: [`Poller::done_on_status`] names answers that end
//! the poll (a `403` when the caller may delete but not read deleted
//! secrets), and [`Poller::finished`] is an operation that needs no polling
//! (a delete in a vault without soft-delete).

use std::{
    future::{Future, IntoFuture},
    pin::Pin,
    time::Duration,
};

use futures::Stream;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use url::Url;

use crate::{
    Error, ErrorKind, Result, ServiceError,
    http::{Method, Request, Response, StatusCode},
    pipeline::{Context, Pipeline},
    retry,
};

/// The longest wait between two polls, whatever `Retry-After` says.
const MAX_POLL_DELAY: Duration = Duration::from_secs(60);

/// Where a long-running operation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PollStatus {
    /// Not finished yet.
    InProgress,
    /// Finished successfully.
    Succeeded,
    /// Finished with a failure.
    Failed,
    /// Canceled before it finished.
    Canceled,
}

impl PollStatus {
    /// Whether the operation has finished (succeeded, failed or canceled).
    pub fn is_terminal(self) -> bool {
        self != Self::InProgress
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Style {
    UntilFound,
    AsyncOperation,
}

#[derive(Serialize, Deserialize)]
struct ResumeToken {
    style: Style,
    url: String,
}

/// The status URL that polling resumed from `token` (made by
/// [`Poller::resume_token`]) would request.
///
/// The token's format is this crate's own; read its URL with this function
/// rather than parsing the token. A client crate uses it to refuse a token
/// for an operation on another vault or HSM before resuming.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] when the token is not one this crate made
/// (including the empty token of a [`Poller::finished`]).
///
/// ```no_run
/// use keyvault_core::{Context, Error, ErrorKind, Pipeline, Result, poller::{Poller, resume_token_url}};
/// use url::Url;
///
/// /// Resumes polling only when the token's operation is on `hsm`.
/// fn resume_on(pipeline: Pipeline, hsm: &Url, token: &str) -> Result<Poller<serde_json::Value>> {
///     let url = resume_token_url(token)?;
///     if url.origin() != hsm.origin() {
///         return Err(Error::new(ErrorKind::InvalidInput, "the token is for another HSM"));
///     }
///     Poller::resume(pipeline, Context::new("FullBackupStatus"), token)
/// }
/// ```
pub fn resume_token_url(token: &str) -> Result<Url> {
    parse_resume_token(token).map(|(_, url)| url)
}

fn parse_resume_token(token: &str) -> Result<(Style, Url)> {
    let bad = || Error::new(ErrorKind::InvalidInput, "the resume token is not valid");
    let t: ResumeToken = serde_json::from_str(token).map_err(|_| bad())?;
    let url = Url::parse(&t.url).map_err(|_| bad())?;
    Ok((t.style, url))
}

/// A long-running operation whose final value is a `T` decoded from the last
/// status response (use [`serde::de::IgnoredAny`] when the value does not
/// matter).
///
/// ```no_run
/// # use keyvault_core::{Context, Pipeline, poller::Poller};
/// # async fn demo(pipeline: Pipeline, deleted_secret_url: url::Url) -> keyvault_core::Result<()> {
/// let poller = Poller::<serde_json::Value>::until_found(
///     pipeline,
///     Context::new("GetDeletedSecret"),
///     deleted_secret_url,
/// );
/// let token = poller.resume_token(); // to continue elsewhere
/// let deleted = poller.await?;
/// # let _ = (token, deleted); Ok(()) }
/// ```
pub struct Poller<T> {
    /// What to poll; `None` for a poller made [`finished`](Poller::finished).
    target: Option<Target>,
    frequency: Duration,
    next_delay: Option<Duration>,
    status: PollStatus,
    /// Statuses of a status response that end the poll as succeeded.
    done_on: Vec<StatusCode>,
    last: Option<Response>,
    /// The final value of a poller made [`finished`](Poller::finished).
    value: Option<T>,
}

/// The operation a poller watches.
struct Target {
    pipeline: Pipeline,
    ctx: Context,
    style: Style,
    url: Url,
}

impl<T> std::fmt::Debug for Poller<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Poller");
        if let Some(t) = &self.target {
            d.field("style", &t.style).field("url", &t.url.as_str());
        }
        d.field("status", &self.status)
            .field("frequency", &self.frequency)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned + Send + 'static> Poller<T> {
    fn with(pipeline: Pipeline, ctx: Context, style: Style, url: Url) -> Self {
        Self {
            target: Some(Target {
                pipeline,
                // Status URLs the service hands back may carry another version.
                ctx: ctx.replacing_api_version(),
                style,
                url,
            }),
            frequency: Duration::from_secs(2),
            next_delay: None,
            status: PollStatus::InProgress,
            done_on: Vec::new(),
            last: None,
            value: None,
        }
    }

    /// A poller for an operation that has already finished with `value`:
    /// it sends nothing, its status is [`PollStatus::Succeeded`], and
    /// `.await` returns `value` at once. For an operation that, this time,
    /// needs no polling (a delete in a vault without soft-delete), so that
    /// the client method returns the same poller type either way.
    ///
    /// It has nothing to resume: its [`resume_token`](Self::resume_token)
    /// is empty.
    ///
    /// ```
    /// # async fn demo() -> keyvault_core::Result<()> {
    /// use keyvault_core::poller::{PollStatus, Poller};
    ///
    /// let mut poller = Poller::finished(42_u32);
    /// assert!(poller.is_done());
    /// assert_eq!(poller.poll().await?, PollStatus::Succeeded);
    /// assert_eq!(poller.await?, 42);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn finished(value: T) -> Self {
        Self {
            target: None,
            frequency: Duration::from_secs(2),
            next_delay: None,
            status: PollStatus::Succeeded,
            done_on: Vec::new(),
            last: None,
            value: Some(value),
        }
    }

    /// Polls GET `url` until it answers something other than 404; the final
    /// value is decoded from that answer.
    pub fn until_found(pipeline: Pipeline, ctx: Context, url: Url) -> Self {
        Self::with(pipeline, ctx, Style::UntilFound, url)
    }

    /// Polls the `Azure-AsyncOperation` URL (or `Location`) of `initial`,
    /// the 201/202 answer to the request that started the operation.
    ///
    /// # Errors
    /// [`ErrorKind::Deserialize`] when `initial` names no status URL, or an
    /// invalid one.
    pub fn from_async_operation(
        pipeline: Pipeline,
        ctx: Context,
        initial: &Response,
    ) -> Result<Self> {
        let link = ["azure-asyncoperation", "location"]
            .iter()
            .find_map(|h| initial.headers().get(*h).and_then(|v| v.to_str().ok()))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Deserialize,
                    "the response that started the operation has no Azure-AsyncOperation header",
                )
            })?;
        let url = Url::parse(link).map_err(|e| {
            Error::with_source(
                ErrorKind::Deserialize,
                "the Azure-AsyncOperation URL is invalid",
                e,
            )
        })?;
        let mut p = Self::with(pipeline, ctx, Style::AsyncOperation, url);
        p.next_delay = retry::retry_after(initial.headers(), time::OffsetDateTime::now_utc());
        Ok(p)
    }

    /// Continues polling an operation from a token made by
    /// [`resume_token`](Self::resume_token), in this or another process.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when the token is not one this crate made
    /// or its URL is not one the pipeline may send to. Check its host with
    /// [`resume_token_url`] to refuse a token of another vault.
    pub fn resume(pipeline: Pipeline, ctx: Context, token: &str) -> Result<Self> {
        let (style, url) = parse_resume_token(token)?;
        pipeline.check_url(&url)?;
        Ok(Self::with(pipeline, ctx, style, url))
    }

    /// A token from which [`resume`](Self::resume) continues polling
    /// (empty for a poller made [`finished`](Self::finished)). It holds the
    /// style and the status URL only: set [`with_frequency`](Self::with_frequency)
    /// and [`done_on_status`](Self::done_on_status) again on the resumed
    /// poller.
    pub fn resume_token(&self) -> String {
        let Some(t) = &self.target else {
            return String::new();
        };
        serde_json::to_string(&ResumeToken {
            style: t.style,
            url: t.url.to_string(),
        })
        .unwrap_or_default()
    }

    /// Sets the delay between polls when the service does not say
    /// (`Retry-After`). Default 2 seconds.
    #[must_use]
    pub fn with_frequency(mut self, frequency: Duration) -> Self {
        self.frequency = frequency;
        self
    }

    /// The delay between polls when the service does not say
    /// (`Retry-After`).
    pub fn frequency(&self) -> Duration {
        self.frequency
    }

    /// Ends the poll as [`PollStatus::Succeeded`] when a status request is
    /// answered with `status`, instead of failing (or, for a `404` in the
    /// until-found style, waiting). Call it once per status.
    ///
    /// For example, Key Vault answers `403` to a caller who may delete a
    /// secret but not read deleted secrets: the delete has happened, and
    /// there is nothing the caller could wait for. The final value is
    /// decoded from that answer, so use it with a `T` that does not need the
    /// status body, such as [`serde::de::IgnoredAny`].
    ///
    /// ```no_run
    /// # use keyvault_core::{Context, Pipeline, http::StatusCode, poller::Poller};
    /// # async fn demo(pipeline: Pipeline, deleted_secret_url: url::Url) -> keyvault_core::Result<()> {
    /// let poller = Poller::<serde::de::IgnoredAny>::until_found(
    ///     pipeline,
    ///     Context::new("GetDeletedSecret"),
    ///     deleted_secret_url,
    /// )
    /// .done_on_status(StatusCode::FORBIDDEN);
    /// poller.await?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn done_on_status(mut self, status: StatusCode) -> Self {
        if !self.done_on.contains(&status) {
            self.done_on.push(status);
        }
        self
    }

    /// The status seen at the last poll.
    pub fn status(&self) -> PollStatus {
        self.status
    }

    /// Whether the operation has finished (succeeded, failed or canceled).
    pub fn is_done(&self) -> bool {
        self.status.is_terminal()
    }

    /// Sends one status request now and returns the status. After a
    /// terminal status, returns it again without sending anything.
    ///
    /// # Errors
    /// The pipeline's errors; a status request answered with a failure
    /// status (other than 404 in the until-found style, and those named by
    /// [`done_on_status`](Self::done_on_status)) is an [`ErrorKind::Http`]
    /// error.
    pub async fn poll(&mut self) -> Result<PollStatus> {
        if self.status.is_terminal() {
            return Ok(self.status);
        }
        let Some(t) = &self.target else {
            return Ok(self.status);
        };
        let request = Request::new(Method::GET, t.url.clone());
        let response = t.pipeline.send_raw(&t.ctx, request).await?;
        self.next_delay = retry::retry_after(response.headers(), time::OffsetDateTime::now_utc());
        let status = response.status();
        self.status = match t.style {
            _ if self.done_on.contains(&status) => PollStatus::Succeeded,
            Style::UntilFound if status == StatusCode::NOT_FOUND => PollStatus::InProgress,
            _ if !status.is_success() => {
                let what = format!("polling {}", t.url.path());
                return Err(Error::from_response(&what, &response));
            }
            Style::UntilFound => PollStatus::Succeeded,
            Style::AsyncOperation => {
                #[derive(Deserialize)]
                struct Status {
                    status: Option<String>,
                }
                let s: Status = response.json()?;
                match s.status.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    Some("succeeded") => PollStatus::Succeeded,
                    Some("failed") => PollStatus::Failed,
                    Some("canceled" | "cancelled") => PollStatus::Canceled,
                    _ => PollStatus::InProgress,
                }
            }
        };
        self.last = Some(response);
        Ok(self.status)
    }

    fn delay(&self) -> Duration {
        self.next_delay
            .unwrap_or(self.frequency)
            .min(MAX_POLL_DELAY)
    }

    /// A stream of the status after each poll, waiting between polls; it
    /// ends after the terminal status. A poller that is already finished
    /// yields its terminal status once, without sending anything. Await the
    /// poller afterwards for the final value.
    pub fn status_stream(&mut self) -> impl Stream<Item = Result<PollStatus>> + Send + '_ {
        // State: the poller, whether a poll was made (wait before the next
        // one), whether anything was yielded.
        futures::stream::unfold((self, false, false), |(p, waited, yielded)| async move {
            if p.status.is_terminal() {
                return (!yielded).then(|| (Ok(p.status), (p, waited, true)));
            }
            if waited {
                tokio::time::sleep(p.delay()).await;
            }
            let r = p.poll().await;
            if r.is_err() {
                p.status = PollStatus::Failed;
            }
            Some((r, (p, true, true)))
        })
    }

    /// Polls until the operation finishes and returns its final value.
    ///
    /// # Errors
    /// [`ErrorKind::OperationFailed`] when the operation failed or was
    /// canceled (with the service's error code and message), the errors of
    /// [`poll`](Self::poll), and [`ErrorKind::Deserialize`] when the final
    /// body is not a `T`.
    pub async fn wait(mut self) -> Result<T> {
        let mut first = true;
        while !self.status.is_terminal() {
            if !first {
                tokio::time::sleep(self.delay()).await;
            }
            first = false;
            self.poll().await?;
        }
        if self.status == PollStatus::Succeeded
            && let Some(value) = self.value.take()
        {
            return Ok(value);
        }
        let last = self.last.take().ok_or_else(|| {
            Error::new(
                ErrorKind::OperationFailed,
                "the operation ended without a status",
            )
        })?;
        match self.status {
            PollStatus::Succeeded => last.json(),
            s => {
                let service = ServiceError::from_body(last.body());
                let operation = self.target.as_ref().map_or("", |t| t.ctx.operation_id());
                let mut message = format!(
                    "the operation {operation} {}",
                    if s == PollStatus::Canceled {
                        "was canceled"
                    } else {
                        "failed"
                    }
                );
                if let Some(se) = &service {
                    if let Some(c) = &se.code {
                        message.push_str(&format!(" ({c})"));
                    }
                    if let Some(m) = &se.message {
                        message.push_str(&format!(": {m}"));
                    }
                }
                Err(Error::new(ErrorKind::OperationFailed, message).with_service_error(service))
            }
        }
    }
}

impl<T: DeserializeOwned + Send + 'static> IntoFuture for Poller<T> {
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
        assert::<Poller<serde_json::Value>>();
        assert::<<Poller<serde_json::Value> as IntoFuture>::IntoFuture>();
    }
}
