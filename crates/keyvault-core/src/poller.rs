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
//! process.

use std::{
    future::{Future, IntoFuture},
    marker::PhantomData,
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
    pipeline: Pipeline,
    ctx: Context,
    style: Style,
    url: Url,
    frequency: Duration,
    next_delay: Option<Duration>,
    status: PollStatus,
    last: Option<Response>,
    _value: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Poller<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("style", &self.style)
            .field("url", &self.url.as_str())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned + Send + 'static> Poller<T> {
    fn with(pipeline: Pipeline, ctx: Context, style: Style, url: Url) -> Self {
        Self {
            pipeline,
            // Status URLs the service hands back may carry another version.
            ctx: ctx.replacing_api_version(),
            style,
            url,
            frequency: Duration::from_secs(2),
            next_delay: None,
            status: PollStatus::InProgress,
            last: None,
            _value: PhantomData,
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
    /// [`ErrorKind::InvalidInput`] when the token is not one this crate made.
    pub fn resume(pipeline: Pipeline, ctx: Context, token: &str) -> Result<Self> {
        let bad = || Error::new(ErrorKind::InvalidInput, "the resume token is not valid");
        let t: ResumeToken = serde_json::from_str(token).map_err(|_| bad())?;
        let url = Url::parse(&t.url).map_err(|_| bad())?;
        pipeline.check_url(&url)?;
        Ok(Self::with(pipeline, ctx, t.style, url))
    }

    /// A token from which [`resume`](Self::resume) continues polling.
    pub fn resume_token(&self) -> String {
        serde_json::to_string(&ResumeToken {
            style: self.style,
            url: self.url.to_string(),
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

    /// The status seen at the last poll.
    pub fn status(&self) -> PollStatus {
        self.status
    }

    /// Sends one status request now and returns the status. After a
    /// terminal status, returns it again without sending anything.
    ///
    /// # Errors
    /// The pipeline's errors; a status request answered with a failure
    /// status (other than 404 in the until-found style) is an
    /// [`ErrorKind::Http`] error.
    pub async fn poll(&mut self) -> Result<PollStatus> {
        if self.status.is_terminal() {
            return Ok(self.status);
        }
        let request = Request::new(Method::GET, self.url.clone());
        let response = self.pipeline.send_raw(&self.ctx, request).await?;
        self.next_delay = retry::retry_after(response.headers(), time::OffsetDateTime::now_utc());
        let status = response.status();
        self.status = match self.style {
            Style::UntilFound if status == StatusCode::NOT_FOUND => PollStatus::InProgress,
            _ if !status.is_success() => {
                let what = format!("polling {}", self.url.path());
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
    /// ends after the terminal status. Await the poller afterwards for the
    /// final value.
    pub fn status_stream(&mut self) -> impl Stream<Item = Result<PollStatus>> + Send + '_ {
        futures::stream::unfold((self, false), |(p, waited)| async move {
            if p.status.is_terminal() {
                return None;
            }
            if waited {
                tokio::time::sleep(p.delay()).await;
            }
            let r = p.poll().await;
            if r.is_err() {
                p.status = PollStatus::Failed;
            }
            Some((r, (p, true)))
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
                let mut message = format!(
                    "the operation {} {}",
                    self.ctx.operation_id(),
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
