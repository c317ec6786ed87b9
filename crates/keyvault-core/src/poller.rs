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
//! A [`Poller`] is [`IntoFuture`]: `.await` it for the final value, or bound
//! the wait with [`Poller::wait_for`]. Call [`Poller::poll`] or
//! [`Poller::status_stream`] to watch progress, and [`Poller::resume_token`]
//! / [`Poller::resume`] to continue in another process; [`Poller::map`]
//! turns the final value into a client's model.
//!
//! Three hooks let client crates express their services' quirks without
//! wrapping the poller: [`Poller::done_on_status`] names answers that end
//! the poll (a `403` when the caller may delete but not read deleted
//! secrets), [`Poller::with_result`] gives a final value known when the
//! operation starts (the deleted secret a delete returned), and
//! [`Poller::finished`] is an operation that needs no polling (a delete in
//! a vault without soft-delete).

use std::{
    future::{Future, IntoFuture},
    pin::Pin,
    time::Duration,
};

use futures::{StreamExt, stream::BoxStream};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use tokio::time::Instant;
use url::Url;

use crate::{
    Error, ErrorKind, Result, ServiceError,
    http::{Method, Request, Response, StatusCode},
    pipeline::{Context, Pipeline},
    retry,
};

/// The longest wait between two polls, whatever `Retry-After` says.
const MAX_POLL_DELAY: Duration = Duration::from_secs(60);

/// The shortest wait between two polls a `Retry-After` may ask for (unless
/// the poller's frequency is shorter still): a service that keeps saying
/// `Retry-After: 0` is polled ten times a second, not in a busy loop.
const MIN_POLL_DELAY: Duration = Duration::from_millis(100);

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
pub(crate) enum Style {
    UntilFound,
    AsyncOperation,
}

#[derive(Serialize, Deserialize)]
struct ResumeToken {
    style: Style,
    url: String,
}

pub(crate) fn parse_resume_token(token: &str) -> Result<(Style, Url)> {
    let bad = || Error::new(ErrorKind::InvalidInput, "the resume token is not valid");
    let t: ResumeToken = serde_json::from_str(token).map_err(|_| bad())?;
    let url = Url::parse(&t.url).map_err(|_| bad())?;
    Ok((t.style, url))
}

/// Decodes the final value from the last status response.
type Decode<T> = Box<dyn FnOnce(&Response) -> Result<T> + Send>;

/// How the final value is obtained once the operation has succeeded.
enum Outcome<T> {
    /// Decoded from the last status response.
    Decode(Decode<T>),
    /// Known already (or known to have failed).
    Known(Result<T>),
}

/// Where the poller stands.
enum State {
    /// Not finished: the next poll sends a status request.
    Polling,
    /// Finished with `status`; `last` is the answer that said so (none for
    /// an operation that needed no polling).
    Finished {
        status: PollStatus,
        last: Option<Response>,
    },
}

/// A long-running operation whose final value is a `T`: decoded from the
/// last status response, given when the operation started
/// ([`with_result`](Self::with_result)), and converted by
/// [`map`](Self::map).
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
    state: State,
    outcome: Outcome<T>,
    frequency: Duration,
    next_delay: Option<Duration>,
    max_wait: Option<Duration>,
    /// Statuses of a status response that end the poll as succeeded.
    done_on: Vec<StatusCode>,
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
        d.field("status", &self.status())
            .field("frequency", &self.frequency)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned + Send + 'static> Poller<T> {
    fn with(pipeline: Pipeline, ctx: Context, style: Style, url: Url) -> Self {
        let max_wait = pipeline.max_poll_wait();
        Self {
            target: Some(Target {
                pipeline,
                // Status URLs the service hands back may carry another version.
                ctx: ctx.replacing_api_version(),
                style,
                url,
            }),
            state: State::Polling,
            outcome: Outcome::Decode(Box::new(Response::json)),
            frequency: Duration::from_secs(2),
            next_delay: None,
            max_wait,
            done_on: Vec::new(),
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
    /// When `initial`'s body is already a status that says `Succeeded` (a
    /// job that finished at once), the poller starts finished, with its
    /// final value decoded from that body: no status request is sent. Its
    /// resume token still names the status URL.
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
        if job_status(initial).ok() == Some(PollStatus::Succeeded) {
            p.state = State::Finished {
                status: PollStatus::Succeeded,
                last: Some(initial.clone()),
            };
        }
        Ok(p)
    }

    /// Continues polling an operation from a token made by
    /// [`resume_token`](Self::resume_token), in this or another process.
    /// The token must be for an operation of `expected` (the vault or HSM
    /// the caller's client is for): its status URL must have the same
    /// origin (scheme, host and port).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when the token is not one this crate made,
    /// it is for an operation of another vault or HSM, or its URL is not one
    /// the pipeline may send to.
    pub fn resume(pipeline: Pipeline, ctx: Context, token: &str, expected: &Url) -> Result<Self> {
        let (style, url) = parse_resume_token(token)?;
        let (theirs, ours) = (url.origin(), expected.origin());
        if theirs != ours {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "the resume token is for a job of {}, not of {}",
                    theirs.ascii_serialization(),
                    ours.ascii_serialization()
                ),
            ));
        }
        pipeline.check_url(&url)?;
        Ok(Self::with(pipeline, ctx, style, url))
    }
}

impl<T> Poller<T> {
    /// The status seen at the last poll ([`PollStatus::InProgress`] before
    /// the first).
    pub fn status(&self) -> PollStatus {
        match &self.state {
            State::Polling => PollStatus::InProgress,
            State::Finished { status, .. } => *status,
        }
    }

    /// Whether the operation has finished (succeeded, failed or canceled).
    pub fn is_done(&self) -> bool {
        self.status().is_terminal()
    }

    /// The URL status requests go to (none for a poller made
    /// [`finished`](Poller::finished)).
    pub(crate) fn status_url(&self) -> Option<&Url> {
        self.target.as_ref().map(|t| &t.url)
    }
}

impl<T: Send + 'static> Poller<T> {
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
    /// assert_eq!(poller.result(), Some(&42));
    /// assert_eq!(poller.await?, 42);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
    /// ```
    pub fn finished(value: T) -> Self {
        Self {
            target: None,
            state: State::Finished {
                status: PollStatus::Succeeded,
                last: None,
            },
            outcome: Outcome::Known(Ok(value)),
            frequency: Duration::from_secs(2),
            next_delay: None,
            max_wait: None,
            done_on: Vec::new(),
        }
    }

    /// The same operation with `value` as its final value: polling only
    /// waits for the operation to finish, and the status responses are not
    /// decoded. For operations whose start response already holds the
    /// result (a secret delete returns the deleted secret).
    #[must_use]
    pub fn with_result<U: Send + 'static>(self, value: U) -> Poller<U> {
        self.replace_outcome(Outcome::Known(Ok(value)))
    }

    /// The same operation with its final value converted by `f` (which may
    /// fail, for a final value that lacks what the model needs).
    ///
    /// ```
    /// # async fn demo() -> keyvault_core::Result<()> {
    /// let poller = keyvault_core::poller::Poller::finished(21_u32).map(|n| Ok(n * 2));
    /// assert_eq!(poller.await?, 42);
    /// # Ok(()) }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(demo()).unwrap();
    /// ```
    #[must_use]
    pub fn map<U: Send + 'static>(
        mut self,
        f: impl FnOnce(T) -> Result<U> + Send + 'static,
    ) -> Poller<U> {
        let outcome = std::mem::replace(
            &mut self.outcome,
            Outcome::Known(Err(Error::new(
                ErrorKind::OperationFailed,
                "no final value",
            ))),
        );
        self.replace_outcome(match outcome {
            Outcome::Known(r) => Outcome::Known(r.and_then(f)),
            Outcome::Decode(decode) => Outcome::Decode(Box::new(move |r| decode(r).and_then(f))),
        })
    }

    fn replace_outcome<U>(self, outcome: Outcome<U>) -> Poller<U> {
        Poller {
            target: self.target,
            state: self.state,
            outcome,
            frequency: self.frequency,
            next_delay: self.next_delay,
            max_wait: self.max_wait,
            done_on: self.done_on,
        }
    }

    /// The final value, when it is known without waiting: given when the
    /// operation started ([`with_result`](Self::with_result), as the secret
    /// delete and recover pollers are) or to a poller made
    /// [`finished`](Self::finished). `None` when it comes from the last
    /// status response.
    pub fn result(&self) -> Option<&T> {
        match &self.outcome {
            Outcome::Known(Ok(value)) => Some(value),
            _ => None,
        }
    }

    /// A token from which [`resume`](Self::resume) (and the clients'
    /// `resume_*` methods) continues polling, in this or another process:
    /// empty for a poller made [`finished`](Self::finished). It holds the
    /// style and the status URL only, nothing secret: set
    /// [`with_frequency`](Self::with_frequency),
    /// [`done_on_status`](Self::done_on_status) and a final value again on
    /// the resumed poller.
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

    /// Bounds the time [`wait`](Self::wait) (or `.await`) and
    /// [`status_stream`](Self::status_stream) spend on the operation,
    /// counted from when they start: when the next poll would come later,
    /// they end with an [`ErrorKind::Timeout`] error instead. The operation
    /// itself goes on; [`resume_token`](Self::resume_token), taken before,
    /// continues it. By default the client's
    /// [`ClientOptions::max_poll_wait`](crate::ClientOptions::max_poll_wait)
    /// (one hour unless set).
    #[must_use]
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = Some(max_wait);
        self
    }

    /// Ends the poll as [`PollStatus::Succeeded`] when a status request is
    /// answered with `status`, instead of failing (or, for a `404` in the
    /// until-found style, waiting). Call it once per status.
    ///
    /// For example, Key Vault answers `403` to a caller who may delete a
    /// secret but not read deleted secrets: the delete has happened, and
    /// there is nothing the caller could wait for. The final value is
    /// decoded from that answer, so use it with a `T` that does not need the
    /// status body, such as [`serde::de::IgnoredAny`], or with
    /// [`with_result`](Self::with_result).
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

    /// Sends one status request now and returns the status. After a
    /// terminal status, returns it again without sending anything.
    ///
    /// # Errors
    /// The pipeline's errors; a status request answered with a failure
    /// status (other than 404 in the until-found style, and those named by
    /// [`done_on_status`](Self::done_on_status)) is an [`ErrorKind::Http`]
    /// error; an async-operation status without a `status` field is an
    /// [`ErrorKind::Deserialize`] error.
    pub async fn poll(&mut self) -> Result<PollStatus> {
        let Some(t) = &self.target else {
            return Ok(self.status());
        };
        if self.is_done() {
            return Ok(self.status());
        }
        let request = Request::new(Method::GET, t.url.clone());
        let response = t.pipeline.send_raw(&t.ctx, request).await?;
        self.next_delay = retry::retry_after(response.headers(), time::OffsetDateTime::now_utc());
        let code = response.status();
        let status = match t.style {
            _ if self.done_on.contains(&code) => PollStatus::Succeeded,
            Style::UntilFound if code == StatusCode::NOT_FOUND => PollStatus::InProgress,
            _ if !code.is_success() => {
                let what = format!("polling {}", t.url.path());
                return Err(Error::from_response(&what, &response));
            }
            Style::UntilFound => PollStatus::Succeeded,
            Style::AsyncOperation => job_status(&response).map_err(|e| {
                e.prefixed(&format!(
                    "the status of the operation {} at {}: ",
                    t.ctx.operation_id(),
                    t.url.path()
                ))
            })?,
        };
        if status.is_terminal() {
            self.state = State::Finished {
                status,
                last: Some(response),
            };
        }
        Ok(status)
    }

    fn delay(&self) -> Duration {
        self.next_delay
            .unwrap_or(self.frequency)
            .clamp(MIN_POLL_DELAY.min(self.frequency), MAX_POLL_DELAY)
    }

    fn deadline(&self) -> Option<Instant> {
        self.max_wait.and_then(|d| Instant::now().checked_add(d))
    }

    /// How long to wait before the next poll (nothing before the first),
    /// or a timeout error when that poll would come after `deadline`.
    fn pause(&self, first: bool, deadline: Option<Instant>) -> Result<Duration> {
        let delay = if first { Duration::ZERO } else { self.delay() };
        match deadline {
            Some(deadline) if Instant::now() + delay > deadline => {
                let operation = self.target.as_ref().map_or("", |t| t.ctx.operation_id());
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the operation {operation} did not finish within {:?}; it goes on, \
                         and its resume token continues it",
                        self.max_wait.unwrap_or_default()
                    ),
                ))
            }
            _ => Ok(delay),
        }
    }

    /// Waits as [`pause`](Self::pause) says, then polls.
    async fn poll_after(&mut self, first: bool, deadline: Option<Instant>) -> Result<PollStatus> {
        let delay = self.pause(first, deadline)?;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.poll().await
    }

    /// A stream (boxed, so `Unpin`) of the status after each poll, waiting
    /// between polls; it ends after the terminal status, or after an error
    /// (including the [`ErrorKind::Timeout`] of
    /// [`with_max_wait`](Self::with_max_wait)). A poller that is already
    /// finished yields its terminal status once, without sending anything.
    /// Await the poller afterwards for the final value.
    ///
    /// ```no_run
    /// # use keyvault_core::{Context, Pipeline, poller::Poller};
    /// use futures::TryStreamExt;
    /// # async fn demo(mut poller: Poller<serde_json::Value>) -> keyvault_core::Result<()> {
    /// let mut statuses = poller.status_stream();
    /// while let Some(status) = statuses.try_next().await? {
    ///     println!("{status:?}");
    /// }
    /// drop(statuses);
    /// let value = poller.await?;
    /// # let _ = value; Ok(()) }
    /// ```
    pub fn status_stream(&mut self) -> BoxStream<'_, Result<PollStatus>> {
        let deadline = self.deadline();
        // State: the poller, whether the next poll is the first, whether
        // the stream has ended.
        futures::stream::unfold((self, true, false), move |(p, first, ended)| async move {
            if ended {
                return None;
            }
            if p.is_done() {
                return Some((Ok(p.status()), (p, false, true)));
            }
            let r = p.poll_after(first, deadline).await;
            let ended = r.as_ref().map_or(true, |s| s.is_terminal());
            Some((r, (p, false, ended)))
        })
        .boxed()
    }

    /// Polls until the operation finishes and returns its final value.
    ///
    /// # Errors
    /// [`ErrorKind::OperationFailed`] when the operation failed or was
    /// canceled (with the service's error code and message), the errors of
    /// [`poll`](Self::poll), [`ErrorKind::Timeout`] after the
    /// [`with_max_wait`](Self::with_max_wait) bound, and
    /// [`ErrorKind::Deserialize`] when the final body is not a `T`.
    pub async fn wait(mut self) -> Result<T> {
        let deadline = self.deadline();
        let mut first = true;
        while !self.is_done() {
            self.poll_after(first, deadline).await?;
            first = false;
        }
        let (status, last) = match self.state {
            State::Finished { status, last } => (status, last),
            State::Polling => unreachable!("the loop ends on a terminal status"),
        };
        match (status, self.outcome, last) {
            (PollStatus::Succeeded, Outcome::Known(value), _) => value,
            (PollStatus::Succeeded, Outcome::Decode(decode), Some(last)) => decode(&last),
            (PollStatus::Succeeded, Outcome::Decode(_), None) => Err(Error::new(
                ErrorKind::OperationFailed,
                "the operation ended without a status",
            )),
            (s, _, last) => {
                let operation = self.target.as_ref().map_or("", |t| t.ctx.operation_id());
                Err(operation_failed(operation, s, last.as_ref()))
            }
        }
    }

    /// [`wait`](Self::wait), bounded by `max_wait`
    /// ([`with_max_wait`](Self::with_max_wait)).
    ///
    /// # Errors
    /// As [`wait`](Self::wait); [`ErrorKind::Timeout`] when the operation has
    /// not finished by then.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # async fn demo(poller: keyvault_core::poller::Poller<serde_json::Value>) -> keyvault_core::Result<()> {
    /// let token = poller.resume_token();
    /// match poller.wait_for(Duration::from_secs(30)).await {
    ///     Err(e) if e.is_timeout() => println!("still running; resume with {token}"),
    ///     other => println!("{:?}", other?),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn wait_for(self, max_wait: Duration) -> Result<T> {
        self.with_max_wait(max_wait).wait().await
    }
}

/// The `status` of an async-operation status body.
fn job_status(response: &Response) -> Result<PollStatus> {
    #[derive(Deserialize)]
    struct Status {
        status: Option<String>,
    }
    let s: Status = response.json()?;
    let Some(status) = s.status else {
        return Err(Error::new(
            ErrorKind::Deserialize,
            "the status response has no `status` field",
        ));
    };
    Ok(match status.to_ascii_lowercase().as_str() {
        "succeeded" => PollStatus::Succeeded,
        "failed" => PollStatus::Failed,
        "canceled" | "cancelled" => PollStatus::Canceled,
        _ => PollStatus::InProgress,
    })
}

/// The error of an operation that ended `status` (failed or canceled), with
/// the service's code and message from `last` when it has them.
fn operation_failed(operation: &str, status: PollStatus, last: Option<&Response>) -> Error {
    let service = last.and_then(|l| ServiceError::from_body(l.body()));
    let mut message = format!(
        "the operation {operation} {}",
        if status == PollStatus::Canceled {
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
    Error::new(ErrorKind::OperationFailed, message).with_service_error(service)
}

impl<T: Send + 'static> IntoFuture for Poller<T> {
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

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_token_parses_without_panicking(token in any::<String>()) {
            let _ = parse_resume_token(&token);
        }

        #[test]
        fn a_token_reads_back(
            async_operation in any::<bool>(),
            host in "[a-z][a-z0-9-]{0,20}\\.managedhsm\\.azure\\.net",
            path in "(/[a-zA-Z0-9_.~-]{1,12}){1,4}",
            query in "[a-z0-9=&-]{0,30}",
        ) {
            let style = if async_operation { Style::AsyncOperation } else { Style::UntilFound };
            let url = Url::parse(&format!("https://{host}{path}?{query}")).unwrap();
            let token = serde_json::to_string(&ResumeToken { style, url: url.to_string() }).unwrap();
            let (back_style, back_url) = parse_resume_token(&token).unwrap();
            prop_assert_eq!(back_style, style);
            prop_assert_eq!(back_url, url);
        }
    }
}
