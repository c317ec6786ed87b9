//! What the blocking clients of the client crates are made of (the
//! `blocking` feature): a [`Runtime`] each client owns, listings as
//! [`Iterator`]s ([`Iter`], [`ItemIter`], [`PageIter`]), a [`Poller`] whose
//! `wait` blocks, and [`blocking_client!`](crate::blocking_client), which
//! declares a blocking client over an async one.
//!
//! A blocking client is its async client plus a [`Runtime`]: a
//! current-thread tokio runtime, built with the client and shared by its
//! clones, on which each call runs to completion on the calling thread (as
//! `reqwest::blocking` does, without a background thread). Calls from
//! several threads at once are fine; connections are driven while some
//! thread is inside a call.
//!
//! # Calling from async code
//!
//! A blocking call made on a thread that is driving async tasks (inside an
//! `async fn` run by tokio) would stall that thread's other tasks, so it
//! **panics** with a message that starts with
//! [`IN_ASYNC_CONTEXT`]. Calls from threads that may block are fine,
//! including those of `tokio::task::spawn_blocking` and
//! `tokio::task::block_in_place`. The last clone of a client may be dropped
//! anywhere, async code included: dropping never blocks.

use std::{
    future::Future,
    panic::{AssertUnwindSafe, catch_unwind, resume_unwind},
    sync::Arc,
    time::Duration,
};

use futures::{Stream, StreamExt, stream::BoxStream};

use crate::{Error, ErrorKind, ItemPager, PageStream, PollStatus, Result};

/// The start of the panic message of a blocking call made from async code.
pub const IN_ASYNC_CONTEXT: &str =
    "a keyvault-rs blocking client was called from async code (a thread that drives async tasks)";

/// The rest of that message: what to do instead.
const IN_ASYNC_CONTEXT_HELP: &str = "use the async client there, or make the call inside \
     tokio::task::spawn_blocking or from a thread of your own";

/// What tokio's panic says when a runtime is started inside another.
const TOKIO_NESTED: &str = "Cannot start a runtime from within a runtime";

/// The runtime of a blocking client: a current-thread tokio runtime (time
/// and I/O drivers on), cheap to clone, shut down without waiting when the
/// last clone is dropped.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Owned>,
}

/// The runtime itself; `None` only while it is being dropped.
struct Owned(Option<tokio::runtime::Runtime>);

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            // Never blocks, so that dropping a client in async code is fine.
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("flavor", &"current_thread")
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Builds a current-thread runtime.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the operating system refuses what the runtime
    /// needs (an I/O driver).
    pub fn new() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::with_source(
                    ErrorKind::Io,
                    "the blocking client could not build its runtime",
                    e,
                )
            })?;
        Ok(Self {
            inner: Arc::new(Owned(Some(runtime))),
        })
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.inner
            .0
            .as_ref()
            .expect("the runtime is there until the last clone is dropped")
    }

    /// Runs `future` to completion on the calling thread.
    ///
    /// # Panics
    /// When called from async code (a message starting with
    /// [`IN_ASYNC_CONTEXT`]), and when `future` panics.
    ///
    /// ```
    /// let runtime = keyvault_core::blocking::Runtime::new()?;
    /// assert_eq!(runtime.block_on(async { 1 + 1 }), 2);
    /// # Ok::<(), keyvault_core::Error>(())
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        if tokio::runtime::Handle::try_current().is_err() {
            // No runtime on this thread: nothing can be stalled.
            return self.runtime().block_on(future);
        }
        // A thread with a runtime context either drives async tasks (where
        // blocking is wrong) or may block (spawn_blocking, block_in_place).
        // Only tokio can tell; it refuses the first before polling anything.
        match catch_unwind(AssertUnwindSafe(|| self.runtime().block_on(future))) {
            Ok(output) => output,
            Err(payload) if panic_text(&*payload).starts_with(TOKIO_NESTED) => {
                panic!("{IN_ASYNC_CONTEXT}: {IN_ASYNC_CONTEXT_HELP}")
            }
            Err(payload) => resume_unwind(payload),
        }
    }

    /// The blocking form of a listing or any other `Unpin` stream.
    pub fn iter<S>(&self, stream: S) -> Iter<S> {
        Iter {
            stream,
            runtime: self.clone(),
        }
    }

    /// The blocking form of a poller.
    pub fn poller<T>(&self, poller: crate::Poller<T>) -> Poller<T> {
        Poller {
            inner: poller,
            runtime: self.clone(),
        }
    }
}

/// The text of a panic payload (empty when it is not text).
fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("")
}

/// A stream read as an [`Iterator`]: each `next` blocks until the stream
/// yields its next item (fetching the next page of a listing when the
/// current one is used up). Listings are [`ItemIter`]s and [`PageIter`]s.
pub struct Iter<S> {
    stream: S,
    runtime: Runtime,
}

/// The items of a listing: an [`Iterator`] of `Result<T>` that fetches one
/// page at a time, ending after the last item or after the first error.
/// [`into_pages`](Iter::into_pages) gives whole pages with the token that
/// resumes the listing after each (the `continuation_token` of the list
/// methods' options).
pub type ItemIter<T> = Iter<ItemPager<T>>;

/// The pages of a listing: an [`Iterator`] of `Result<Page<T>>`, each page
/// with its [`continuation_token`](crate::Page::continuation_token).
pub type PageIter<T> = Iter<PageStream<T>>;

impl<S> std::fmt::Debug for Iter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}

impl<S: Stream + Unpin> Iterator for Iter<S> {
    type Item = S::Item;

    fn next(&mut self) -> Option<S::Item> {
        self.runtime.block_on(self.stream.next())
    }
}

impl<S> Iter<S> {
    /// The stream, to read it from async code.
    pub fn into_stream(self) -> S {
        self.stream
    }
}

impl<T: Send + 'static> ItemIter<T> {
    /// The listing page by page; see [`ItemPager::into_pages`]. Call it
    /// before reading any item: items already read from a partly used page
    /// are dropped.
    pub fn into_pages(self) -> PageIter<T> {
        let Self { stream, runtime } = self;
        runtime.iter(stream.into_pages())
    }
}

/// A long-running operation whose waits block: [`crate::Poller`] with
/// [`wait`](Self::wait) and [`wait_for`](Self::wait_for) in place of
/// `.await`, and [`statuses`](Self::statuses) in place of the status
/// stream.
pub struct Poller<T> {
    inner: crate::Poller<T>,
    runtime: Runtime,
}

impl<T> std::fmt::Debug for Poller<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T> Poller<T> {
    /// The status seen at the last poll ([`PollStatus::InProgress`] before
    /// the first).
    pub fn status(&self) -> PollStatus {
        self.inner.status()
    }

    /// Whether the operation has finished (succeeded, failed or canceled).
    pub fn is_done(&self) -> bool {
        self.inner.is_done()
    }
}

impl<T: Send + 'static> Poller<T> {
    /// The final value when it is known without waiting; see
    /// [`crate::Poller::result`].
    pub fn result(&self) -> Option<&T> {
        self.inner.result()
    }

    /// The token the clients' `resume_*` methods continue from, in this or
    /// another process; see [`crate::Poller::resume_token`].
    pub fn resume_token(&self) -> String {
        self.inner.resume_token()
    }

    /// The delay between polls when the service does not say.
    pub fn frequency(&self) -> Duration {
        self.inner.frequency()
    }

    /// Sets the delay between polls when the service does not say.
    #[must_use]
    pub fn with_frequency(self, frequency: Duration) -> Self {
        self.map_inner(|p| p.with_frequency(frequency))
    }

    /// Bounds [`wait`](Self::wait) and [`statuses`](Self::statuses); see
    /// [`crate::Poller::with_max_wait`].
    #[must_use]
    pub fn with_max_wait(self, max_wait: Duration) -> Self {
        self.map_inner(|p| p.with_max_wait(max_wait))
    }

    fn map_inner(self, f: impl FnOnce(crate::Poller<T>) -> crate::Poller<T>) -> Self {
        Self {
            inner: f(self.inner),
            runtime: self.runtime,
        }
    }

    /// Sends one status request now and returns the status.
    ///
    /// # Errors
    /// As [`crate::Poller::poll`].
    #[track_caller]
    pub fn poll(&mut self) -> Result<PollStatus> {
        self.runtime.block_on(self.inner.poll())
    }

    /// The status after each poll, waiting between polls, until the
    /// terminal status or an error; see [`crate::Poller::status_stream`].
    /// Wait for the final value afterwards.
    pub fn statuses(&mut self) -> Iter<BoxStream<'_, Result<PollStatus>>> {
        let runtime = self.runtime.clone();
        runtime.iter(self.inner.status_stream())
    }

    /// Blocks until the operation finishes and returns its final value.
    ///
    /// # Errors
    /// As [`crate::Poller::wait`]: [`ErrorKind::OperationFailed`] when it
    /// failed or was canceled, [`ErrorKind::Timeout`] after the
    /// [`with_max_wait`](Self::with_max_wait) bound.
    #[track_caller]
    pub fn wait(self) -> Result<T> {
        self.runtime.block_on(self.inner.wait())
    }

    /// [`wait`](Self::wait), for at most `max_wait`: after it, an
    /// [`ErrorKind::Timeout`] error while the operation goes on (a
    /// [`resume_token`](Self::resume_token) taken before continues it).
    ///
    /// # Errors
    /// As [`wait`](Self::wait).
    #[track_caller]
    pub fn wait_for(self, max_wait: Duration) -> Result<T> {
        self.runtime.block_on(self.inner.wait_for(max_wait))
    }

    /// The async poller, to await it from async code.
    pub fn into_async(self) -> crate::Poller<T> {
        self.inner
    }
}

/// Declares a blocking client over an async client of the crate where it
/// is used: a struct holding the async client `crate::$async` and a
/// [`Runtime`], with `new` (the async client's arguments), `from_async`,
/// `as_async`, `vault_url`, `api_version` (the crate's `ApiVersion`),
/// `send_request`, and one method per line, named and typed as the async
/// method, documented as its blocking form. The word before `fn` says what
/// the async method returns:
///
/// - `call`: a future of the value, which the blocking method returns;
/// - `start`: a future of a `Result` of a poller, returned as a blocking
///   [`Poller`];
/// - `resume`: a `Result` of a poller, returned as a blocking [`Poller`];
/// - `list`: an [`ItemPager`], returned as an [`ItemIter`].
///
/// ```ignore
/// keyvault_core::blocking_client! {
///     /// A blocking client of a vault's secrets.
///     pub struct SecretClient for SecretClient {
///         new(vault_url: &str, credential: Arc<dyn TokenCredential>, options: Option<SecretClientOptions>);
///         call fn get_secret(name: &str, options: Option<GetSecretOptions>) -> Result<KeyVaultSecret>;
///         list fn list_deleted_secrets(options: Option<ListOptions>) -> ItemIter<DeletedSecret>;
///     }
/// }
/// ```
// `crate::` names the calling crate's async client and `ApiVersion`, on purpose.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! blocking_client {
    (
        $(#[$attr:meta])*
        pub struct $client:ident for $async:ident {
            new($($narg:ident : $nty:ty),* $(,)?);
            $( $kind:ident fn $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $ret:ty; )*
        }
    ) => {
        $(#[$attr])*
        #[derive(Clone)]
        pub struct $client {
            inner: crate::$async,
            runtime: $crate::blocking::Runtime,
        }

        impl ::std::fmt::Debug for $client {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($client))
                    .field("vault_url", &self.inner.vault_url())
                    .field("api_version", self.inner.api_version())
                    .finish_non_exhaustive()
            }
        }

        impl $client {
            #[doc = concat!("Creates a client as [`", stringify!($async), "::new`](crate::", stringify!($async), "::new) does, with a runtime of its own.")]
            ///
            /// # Errors
            #[doc = concat!("Those of [`", stringify!($async), "::new`](crate::", stringify!($async), "::new), and [`ErrorKind::Io`](crate::ErrorKind::Io) when the runtime cannot be built.")]
            pub fn new($($narg: $nty),*) -> $crate::Result<Self> {
                Self::from_async(crate::$async::new($($narg),*)?)
            }

            /// The blocking form of `client`, with a runtime of its own.
            ///
            /// # Errors
            /// [`ErrorKind::Io`](crate::ErrorKind::Io) when the runtime cannot be built.
            pub fn from_async(client: crate::$async) -> $crate::Result<Self> {
                Ok(Self {
                    inner: client,
                    runtime: $crate::blocking::Runtime::new()?,
                })
            }

            /// The async client this one runs (its clone shares the pipeline).
            pub fn as_async(&self) -> &crate::$async {
                &self.inner
            }

            /// The vault or Managed HSM URL this client was made for, without a
            /// trailing slash.
            pub fn vault_url(&self) -> &str {
                self.inner.vault_url()
            }

            /// The API version this client sends.
            pub fn api_version(&self) -> &crate::ApiVersion {
                self.inner.api_version()
            }

            $crate::blocking_client!(@call $async, send_request(
                method: $crate::http::Method,
                url: &str,
                options: ::std::option::Option<$crate::SendRequestOptions>
            ) -> $crate::Result<$crate::http::Response>);

            $( $crate::blocking_client!(@$kind $async, $name($($arg: $ty),*) -> $ret); )*
        }
    };
    (@call $async:ident, $name:ident($($arg:ident : $ty:ty),*) -> $ret:ty) => {
        #[doc = concat!("[`", stringify!($async), "::", stringify!($name), "`](crate::", stringify!($async), "::", stringify!($name), "), blocking until it completes.")]
        ///
        /// # Errors
        /// As the async method's.
        ///
        /// # Panics
        /// When called from async code (see [`keyvault_core::blocking`](keyvault_core::blocking#calling-from-async-code)).
        #[track_caller]
        pub fn $name(&self, $($arg: $ty),*) -> $ret {
            self.runtime.block_on(self.inner.$name($($arg),*))
        }
    };
    (@start $async:ident, $name:ident($($arg:ident : $ty:ty),*) -> $ret:ty) => {
        #[doc = concat!("[`", stringify!($async), "::", stringify!($name), "`](crate::", stringify!($async), "::", stringify!($name), "), blocking until the operation has started; `wait()` or `wait_for(timeout)` on the poller for its end.")]
        ///
        /// # Errors
        /// As the async method's.
        ///
        /// # Panics
        /// When called from async code (see [`keyvault_core::blocking`](keyvault_core::blocking#calling-from-async-code)).
        #[track_caller]
        pub fn $name(&self, $($arg: $ty),*) -> $ret {
            self.runtime
                .block_on(self.inner.$name($($arg),*))
                .map(|poller| self.runtime.poller(poller))
        }
    };
    (@resume $async:ident, $name:ident($($arg:ident : $ty:ty),*) -> $ret:ty) => {
        #[doc = concat!("[`", stringify!($async), "::", stringify!($name), "`](crate::", stringify!($async), "::", stringify!($name), "), as a blocking poller. Nothing is sent until it is polled.")]
        ///
        /// # Errors
        /// As the async method's.
        pub fn $name(&self, $($arg: $ty),*) -> $ret {
            self.inner.$name($($arg),*).map(|poller| self.runtime.poller(poller))
        }
    };
    (@list $async:ident, $name:ident($($arg:ident : $ty:ty),*) -> $ret:ty) => {
        #[doc = concat!("[`", stringify!($async), "::", stringify!($name), "`](crate::", stringify!($async), "::", stringify!($name), "), as an iterator: nothing is sent until it is advanced, and each page is fetched when the previous one is used up; `into_pages()` gives pages with continuation tokens.")]
        pub fn $name(&self, $($arg: $ty),*) -> $ret {
            self.runtime.iter(self.inner.$name($($arg),*))
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_types_are_send_sync() {
        fn assert<T: Send + Sync + Clone + 'static>() {}
        assert::<Runtime>();
        fn send<T: Send + 'static>() {}
        send::<ItemIter<String>>();
        send::<PageIter<String>>();
        send::<Poller<String>>();
    }

    #[test]
    fn a_finished_poller_waits_for_nothing() {
        let runtime = Runtime::new().unwrap();
        let mut poller = runtime.poller(crate::Poller::finished(7_u8));
        assert!(poller.is_done());
        assert_eq!(poller.poll().unwrap(), PollStatus::Succeeded);
        let statuses: Vec<_> = poller.statuses().collect::<Result<_>>().unwrap();
        assert_eq!(statuses, [PollStatus::Succeeded]);
        assert_eq!(poller.resume_token(), "");
        assert_eq!(poller.wait_for(Duration::from_secs(1)).unwrap(), 7);
    }

    #[test]
    fn streams_are_iterators_and_clones_share_the_runtime() {
        let runtime = Runtime::new().unwrap();
        let other = runtime.clone();
        drop(runtime);
        let items: Vec<u8> = other.iter(futures::stream::iter([1, 2, 3])).collect();
        assert_eq!(items, [1, 2, 3]);
    }

    #[tokio::test]
    async fn a_call_from_async_code_panics_with_the_documented_message() {
        let runtime = Runtime::new().unwrap();
        let panic = catch_unwind(AssertUnwindSafe(|| runtime.block_on(async { 1 }))).unwrap_err();
        let text = panic_text(&*panic);
        assert!(text.starts_with(IN_ASYNC_CONTEXT), "{text}");
        assert!(text.contains("spawn_blocking"), "{text}");
        // Dropping it here does not block.
        drop(runtime);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn calls_from_spawn_blocking_are_fine() {
        let value = tokio::task::spawn_blocking(|| {
            let runtime = Runtime::new().unwrap();
            runtime.block_on(async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                5
            })
        })
        .await
        .unwrap();
        assert_eq!(value, 5);
    }

    #[test]
    fn a_panicking_future_panics_with_its_own_message() {
        let runtime = Runtime::new().unwrap();
        let panic = catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on(async { panic!("own message") })
        }))
        .unwrap_err();
        assert_eq!(panic_text(&*panic), "own message");
    }
}
