//! [`SecretCache`]: secrets served from memory, refreshed ahead of expiry,
//! kept through throttling and outages.
//!
//! One `std::sync::Mutex` guards a map from key to entry; it is never held
//! across an `.await`. A key is the secret's name for its latest version and
//! `name/version` for a given version (a name has no `/`). An entry keeps the
//! last good value, when it expires, the request in flight (a shared future
//! every caller awaits, so a miss sends one request however many callers
//! wait) and, after failures, when to try again. Requests run in tasks of
//! their own, so a caller that gives up does not cancel the request others
//! wait for; a task that sleeps until an entry is due refreshes it ahead of
//! expiry when it was read since its last refresh or is watched.

use std::{
    collections::HashMap,
    fmt,
    hash::{BuildHasher, Hasher, RandomState},
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use futures::{
    FutureExt,
    future::{BoxFuture, Shared},
};
use keyvault_core::{Error, ErrorKind, Result, client::invalid, http::StatusCode};
use tokio::{sync::watch, time::Instant};

use crate::{
    DeletedSecret, GetSecretOptions, KeyVaultSecret, PollerOptions, SecretClient, SecretPoller,
    SecretValue, SetSecretOptions,
};

/// Options of a [`SecretCache`]. Every field has a default; see each one.
///
/// ```
/// use std::time::Duration;
/// use keyvault_secrets::SecretCacheOptions;
///
/// let options = SecretCacheOptions {
///     ttl: Duration::from_secs(60),
///     max_entries: 100,
///     ..Default::default()
/// };
/// # let _ = options;
/// ```
#[derive(Clone, Debug)]
pub struct SecretCacheOptions {
    /// How long the latest version of a secret is served from memory after
    /// it was read. Default 5 minutes. A given version never changes and
    /// does not expire; it stays until evicted.
    pub ttl: Duration,
    /// Each entry lives `ttl` minus a random part of this, so that entries
    /// read together do not all expire together. Default 30 seconds (at most
    /// `ttl`).
    pub ttl_jitter: Duration,
    /// An entry read since its last refresh, or watched, is refreshed in the
    /// background this long before it expires, so that its readers never
    /// wait. Default 1 minute; zero turns refresh-ahead off.
    pub refresh_ahead: Duration,
    /// The most entries kept; the least recently used is evicted beyond it.
    /// Default 1,000 (at least 1).
    pub max_entries: usize,
    /// How long after expiry the last good value is still served when a
    /// refresh fails with throttling (429), a server error (5xx, 408), a
    /// timeout or a connection failure. Default 15 minutes; zero serves no
    /// stale value.
    pub max_stale: Duration,
    /// The delay before the first retry of a failed refresh; it doubles at
    /// each failure. Default 1 second.
    pub initial_backoff: Duration,
    /// The longest delay between refresh tries. Default 1 minute.
    pub max_backoff: Duration,
    /// Whether [`SecretCache::set_secret`] and
    /// [`SecretCache::begin_delete_secret`] drop the entries of the secret
    /// they change, so that the next read sees the change. Default `true`.
    pub invalidate_on_write: bool,
}

impl Default for SecretCacheOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            ttl_jitter: Duration::from_secs(30),
            refresh_ahead: Duration::from_secs(60),
            max_entries: 1000,
            max_stale: Duration::from_secs(900),
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            invalidate_on_write: true,
        }
    }
}

/// What a [`SecretCache`] has done since it was created, from
/// [`SecretCache::statistics`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStatistics {
    /// Reads answered from memory with a fresh value.
    pub hits: u64,
    /// Reads that waited for a request (their own or one in flight).
    pub misses: u64,
    /// Requests the cache sent to the vault (one per miss however many
    /// callers wait, plus refreshes).
    pub requests: u64,
    /// Requests that replaced a value the cache held.
    pub refreshes: u64,
    /// Reads answered with an expired value because refreshing it failed.
    pub stale_serves: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Entries dropped because the secret is gone or forbidden (404, 403,
    /// disabled) or to stay within `max_entries`.
    pub evictions: u64,
    /// Entries held now.
    pub entries: usize,
}

/// A cache of secrets over a [`SecretClient`].
///
/// Reads are served from memory until the entry expires
/// ([`SecretCacheOptions::ttl`], with jitter); an entry in use is refreshed
/// in the background before that. Concurrent reads of a missing entry share
/// one request, across clones of the cache too. When a refresh fails with
/// throttling, a server error, a timeout or a connection failure, the last
/// good value keeps being served (up to
/// [`max_stale`](SecretCacheOptions::max_stale)) and the refresh is retried
/// with exponential backoff. A `404`, a `403` or a disabled secret evicts the
/// entry at once and returns the error.
///
/// Values are `Arc<KeyVaultSecret>`s: a hit clones an `Arc`, never the
/// value, which stays a zeroized, redacted [`SecretValue`]. Cheap to clone
/// and `Send + Sync`. Needs a Tokio runtime (requests and refreshes run in
/// tasks spawned on it).
///
/// ```no_run
/// use keyvault_secrets::{SecretCache, SecretClient};
///
/// # async fn demo(client: SecretClient) -> keyvault_secrets::Result<()> {
/// let cache = SecretCache::new(client, None);
/// for _ in 0..1000 {
///     let password = cache.get("db-password").await?; // one request, then memory
///     assert!(!password.value.is_empty());
/// }
/// println!("{:?}", cache.statistics());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SecretCache {
    inner: Arc<Inner>,
}

/// The versions of one secret as a [`SecretCache`] sees them, from
/// [`SecretCache::watch`].
///
/// ```no_run
/// # async fn demo(cache: keyvault_secrets::SecretCache) -> keyvault_secrets::Result<()> {
/// let mut rotations = cache.watch("db-password").await?;
/// println!("now at {:?}", rotations.current().properties.version());
/// if let Some(next) = rotations.changed().await {
///     println!("rotated to {:?}", next.properties.version());
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SecretWatch {
    receiver: watch::Receiver<Arc<KeyVaultSecret>>,
}

impl SecretWatch {
    /// The latest version the cache has seen.
    pub fn current(&self) -> Arc<KeyVaultSecret> {
        self.receiver.borrow().clone()
    }

    /// Waits for a version newer than the last one this watch returned (or
    /// than [`current`](Self::current) at the start) and returns it;
    /// `None` once the secret is gone (`404`, `403`) or the cache dropped.
    pub async fn changed(&mut self) -> Option<Arc<KeyVaultSecret>> {
        self.receiver.changed().await.ok()?;
        Some(self.receiver.borrow_and_update().clone())
    }
}

impl fmt::Debug for SecretWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let current = self.receiver.borrow();
        f.debug_struct("SecretWatch")
            .field("secret", &current.name())
            .field("version", &current.properties.version())
            .finish()
    }
}

struct Inner {
    client: SecretClient,
    options: SecretCacheOptions,
    state: Mutex<State>,
    counters: Counters,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    requests: AtomicU64,
    refreshes: AtomicU64,
    stale_serves: AtomicU64,
    errors: AtomicU64,
    evictions: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

type Fetched = Result<Arc<KeyVaultSecret>>;
type Flight = Shared<BoxFuture<'static, Fetched>>;

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    watchers: HashMap<String, watch::Sender<Arc<KeyVaultSecret>>>,
    /// The use counter: an entry's `last_use` orders the LRU eviction.
    tick: u64,
    /// The next entry's epoch.
    epochs: u64,
}

struct Entry {
    value: Option<Arc<KeyVaultSecret>>,
    /// When the value expires; `None` for a version, which never does.
    expires: Option<Instant>,
    /// Read since the last refresh started.
    used: bool,
    last_use: u64,
    flight: Option<Flight>,
    /// Refreshes failed in a row, and when to try again.
    failures: u32,
    retry_at: Instant,
    /// Which entry this is: a request or a refresh task of an entry since
    /// invalidated or evicted leaves the new one alone.
    epoch: u64,
}

/// What a read does, decided under the lock.
enum Decision {
    Hit(Arc<KeyVaultSecret>),
    /// A hit in the refresh-ahead window with no refresh under way.
    HitAndRefresh(Arc<KeyVaultSecret>),
    Stale(Arc<KeyVaultSecret>),
    /// Stale, and the backoff is over: serve it and try again behind.
    StaleAndRetry(Arc<KeyVaultSecret>),
    Wait(Flight),
    Fetch,
}

/// Whether the answer means the secret is gone or may not be read (`404`,
/// `403`, which a disabled secret also answers): its entry is evicted.
fn is_gone(e: &Error) -> bool {
    matches!(
        e.status(),
        Some(StatusCode::NOT_FOUND | StatusCode::FORBIDDEN)
    )
}

/// Whether a refresh that failed so may serve the last good value.
fn is_transient(e: &Error) -> bool {
    match e.kind() {
        ErrorKind::Io | ErrorKind::Timeout => true,
        _ => e.status().is_some_and(|s| {
            s == StatusCode::TOO_MANY_REQUESTS
                || s == StatusCode::REQUEST_TIMEOUT
                || s.is_server_error()
        }),
    }
}

/// A random duration below `max`.
fn random_below(max: Duration) -> Duration {
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    let mut h = RandomState::new().build_hasher();
    h.write_u64(nanos);
    Duration::from_nanos(h.finish() % nanos)
}

/// Calls `f` with the key of `name` (and `version`), built on the stack when
/// it fits.
fn with_key<R>(name: &str, version: Option<&str>, f: impl FnOnce(&str) -> R) -> R {
    let Some(version) = version else {
        return f(name);
    };
    let mut buf = [0u8; 192];
    let len = name.len() + 1 + version.len();
    if len <= buf.len() {
        buf[..name.len()].copy_from_slice(name.as_bytes());
        buf[name.len()] = b'/';
        buf[name.len() + 1..len].copy_from_slice(version.as_bytes());
        if let Ok(key) = std::str::from_utf8(&buf[..len]) {
            return f(key);
        }
    }
    f(&format!("{name}/{version}"))
}

fn check(name: &str, version: Option<&str>) -> Result<()> {
    keyvault_core::client::check_name("secret", name)?;
    if name.contains('/') || version.is_some_and(|v| v.is_empty() || v.contains('/')) {
        return Err(invalid(
            "a secret name or version must not contain '/' (and a version must not be empty)",
        ));
    }
    Ok(())
}

impl fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretCache")
            .field("client", &self.inner.client)
            .field("options", &self.inner.options)
            .field("statistics", &self.statistics())
            .finish()
    }
}

impl SecretCache {
    /// Creates a cache over `client`, with the options' defaults for `None`.
    ///
    /// # Examples
    /// ```no_run
    /// use std::time::Duration;
    /// use keyvault_secrets::{SecretCache, SecretCacheOptions, SecretClient};
    ///
    /// # fn demo(client: SecretClient) {
    /// let options = SecretCacheOptions { ttl: Duration::from_secs(60), ..Default::default() };
    /// let cache = SecretCache::new(client, Some(options));
    /// # let _ = cache; }
    /// ```
    pub fn new(client: SecretClient, options: Option<SecretCacheOptions>) -> Self {
        let mut options = options.unwrap_or_default();
        options.max_entries = options.max_entries.max(1);
        options.ttl_jitter = options.ttl_jitter.min(options.ttl);
        Self {
            inner: Arc::new(Inner {
                client,
                options,
                state: Mutex::default(),
                counters: Counters::default(),
            }),
        }
    }

    /// The client the cache reads through.
    pub fn client(&self) -> &SecretClient {
        &self.inner.client
    }

    /// The latest version of a secret: from memory while fresh, otherwise
    /// read from the vault (one request for all the callers waiting).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for an empty name or one with a `/`; the
    /// service's errors, as [`SecretClient::get_secret`] returns them, when
    /// no value can be served: a `404` or `403` always (and the entry is
    /// evicted), a transient failure when no good value is held or it is
    /// older than [`max_stale`](SecretCacheOptions::max_stale) past expiry.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(cache: keyvault_secrets::SecretCache) -> keyvault_secrets::Result<()> {
    /// let secret = cache.get("db-password").await?;
    /// println!("version {:?}", secret.properties.version());
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, name: &str) -> Result<Arc<KeyVaultSecret>> {
        self.read(name, None).await
    }

    /// A given version of a secret. A version never changes, so it is kept
    /// until evicted (least recently used, or a `404`/`403`).
    ///
    /// # Errors
    /// As [`get`](Self::get), and [`ErrorKind::InvalidInput`] for an empty
    /// version.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(cache: keyvault_secrets::SecretCache) -> keyvault_secrets::Result<()> {
    /// let latest = cache.get("db-password").await?;
    /// let version = latest.properties.version().unwrap_or_default();
    /// let same = cache.get_version("db-password", version).await?;
    /// assert_eq!(latest.value.expose_secret(), same.value.expose_secret());
    /// # Ok(()) }
    /// ```
    pub async fn get_version(&self, name: &str, version: &str) -> Result<Arc<KeyVaultSecret>> {
        self.read(name, Some(version)).await
    }

    /// Reads the latest version of a secret from the vault now (or joins
    /// the request in flight), whatever the entry holds, and keeps it.
    ///
    /// # Errors
    /// As [`SecretClient::get_secret`]: a failure is returned, not hidden by
    /// a stale value (which is still served to [`get`](Self::get)).
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(cache: keyvault_secrets::SecretCache) -> keyvault_secrets::Result<()> {
    /// let fresh = cache.refresh_now("db-password").await?;
    /// println!("now at version {:?}", fresh.properties.version());
    /// # Ok(()) }
    /// ```
    pub async fn refresh_now(&self, name: &str) -> Result<Arc<KeyVaultSecret>> {
        check(name, None)?;
        let flight = {
            let mut state = self.inner.lock();
            match state.entries.get(name).and_then(|e| e.flight.clone()) {
                Some(flight) => flight,
                None => self.inner.start(&mut state, name, None),
            }
        };
        flight.await
    }

    /// Drops what the cache holds for a secret, its latest version and
    /// every version; the next read goes to the vault. Watchers stay.
    ///
    /// # Examples
    /// ```no_run
    /// # fn demo(cache: keyvault_secrets::SecretCache) {
    /// cache.invalidate("db-password");
    /// # }
    /// ```
    pub fn invalidate(&self, name: &str) {
        self.inner.lock().remove_secret(name);
    }

    /// What the cache has done since it was created.
    ///
    /// # Examples
    /// ```no_run
    /// # fn demo(cache: keyvault_secrets::SecretCache) {
    /// let stats = cache.statistics();
    /// println!("{} hits, {} requests", stats.hits, stats.requests);
    /// # }
    /// ```
    pub fn statistics(&self) -> CacheStatistics {
        let c = &self.inner.counters;
        let read = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CacheStatistics {
            hits: read(&c.hits),
            misses: read(&c.misses),
            requests: read(&c.requests),
            refreshes: read(&c.refreshes),
            stale_serves: read(&c.stale_serves),
            errors: read(&c.errors),
            evictions: read(&c.evictions),
            entries: self.inner.lock().entries.len(),
        }
    }

    /// Watches the latest version of a secret: the [`SecretWatch`] holds
    /// the value the cache has now and is told of each new version the
    /// cache sees, for example to reconnect to a database when its password
    /// rotates. While watched, the entry is refreshed ahead of expiry even
    /// when nobody reads it (with refresh-ahead on).
    ///
    /// # Errors
    /// As [`get`](Self::get), for the first read.
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(cache: keyvault_secrets::SecretCache) -> keyvault_secrets::Result<()> {
    /// let mut rotations = cache.watch("db-password").await?;
    /// while let Some(secret) = rotations.changed().await {
    ///     println!("rotated to {:?}: reconnecting", secret.properties.version());
    /// }
    /// println!("the secret is gone");
    /// # Ok(()) }
    /// ```
    pub async fn watch(&self, name: &str) -> Result<SecretWatch> {
        let current = self.get(name).await?;
        let mut state = self.inner.lock();
        let sender = state
            .watchers
            .entry(name.to_owned())
            .or_insert_with(|| watch::Sender::new(current));
        Ok(SecretWatch {
            receiver: sender.subscribe(),
        })
    }

    /// Sets a secret through the client and, with
    /// [`invalidate_on_write`](SecretCacheOptions::invalidate_on_write),
    /// drops its entries so that the next read sees the new version.
    ///
    /// # Errors
    /// As [`SecretClient::set_secret`].
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(cache: keyvault_secrets::SecretCache) -> keyvault_secrets::Result<()> {
    /// cache.set_secret("db-password", "correct horse", None).await?;
    /// assert_eq!(cache.get("db-password").await?.value.expose_secret(), "correct horse");
    /// # Ok(()) }
    /// ```
    pub async fn set_secret(
        &self,
        name: &str,
        value: impl Into<SecretValue>,
        options: Option<SetSecretOptions>,
    ) -> Result<KeyVaultSecret> {
        let set = self.inner.client.set_secret(name, value, options).await?;
        self.written(name);
        Ok(set)
    }

    /// Deletes a secret through the client and, with
    /// [`invalidate_on_write`](SecretCacheOptions::invalidate_on_write),
    /// drops its entries.
    ///
    /// # Errors
    /// As [`SecretClient::begin_delete_secret`].
    ///
    /// # Examples
    /// ```no_run
    /// # async fn demo(cache: keyvault_secrets::SecretCache) -> keyvault_secrets::Result<()> {
    /// cache.begin_delete_secret("db-password", None).await?.await?;
    /// assert!(cache.get("db-password").await.unwrap_err().is_not_found());
    /// # Ok(()) }
    /// ```
    pub async fn begin_delete_secret(
        &self,
        name: &str,
        options: Option<PollerOptions>,
    ) -> Result<SecretPoller<DeletedSecret>> {
        let poller = self.inner.client.begin_delete_secret(name, options).await?;
        self.written(name);
        Ok(poller)
    }

    fn written(&self, name: &str) {
        if self.inner.options.invalidate_on_write {
            self.invalidate(name);
        }
    }

    async fn read(&self, name: &str, version: Option<&str>) -> Result<Arc<KeyVaultSecret>> {
        check(name, version)?;
        let inner = &self.inner;
        let counters = &inner.counters;
        let now = Instant::now();
        let flight = {
            let mut state = inner.lock();
            let decision = with_key(name, version, |key| inner.decide(&mut state, key, now));
            match decision {
                Decision::Hit(v) => {
                    bump(&counters.hits);
                    return Ok(v);
                }
                Decision::HitAndRefresh(v) => {
                    bump(&counters.hits);
                    drop(inner.start(&mut state, name, version));
                    return Ok(v);
                }
                Decision::Stale(v) => {
                    inner.stale_served(name);
                    return Ok(v);
                }
                Decision::StaleAndRetry(v) => {
                    drop(inner.start(&mut state, name, version));
                    inner.stale_served(name);
                    return Ok(v);
                }
                Decision::Wait(flight) => flight,
                Decision::Fetch => inner.start(&mut state, name, version),
            }
        };
        bump(&counters.misses);
        match flight.await {
            Ok(v) => Ok(v),
            Err(e) if is_transient(&e) => {
                let stale = {
                    let state = inner.lock();
                    with_key(name, version, |key| {
                        state
                            .entries
                            .get(key)
                            .and_then(|e| inner.stale_value(e, Instant::now()))
                    })
                };
                match stale {
                    Some(v) => {
                        inner.stale_served(name);
                        Ok(v)
                    }
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The last good value of an expired entry, while it may be served.
    fn stale_value(&self, entry: &Entry, now: Instant) -> Option<Arc<KeyVaultSecret>> {
        let expires = entry.expires?;
        (now < expires + self.options.max_stale)
            .then(|| entry.value.clone())
            .flatten()
    }

    fn stale_served(&self, name: &str) {
        bump(&self.counters.stale_serves);
        tracing::debug!(secret = name, "secret cache: serving the last good value");
    }

    fn decide(&self, state: &mut State, key: &str, now: Instant) -> Decision {
        state.tick += 1;
        let tick = state.tick;
        let Some(entry) = state.entries.get_mut(key) else {
            return Decision::Fetch;
        };
        entry.last_use = tick;
        entry.used = true;
        if let Some(value) = &entry.value {
            match entry.expires {
                None => return Decision::Hit(value.clone()),
                Some(expires) if now < expires => {
                    let ahead = self.options.refresh_ahead;
                    let due = !ahead.is_zero() && now + ahead >= expires;
                    return if due && entry.flight.is_none() && entry.failures == 0 {
                        Decision::HitAndRefresh(value.clone())
                    } else {
                        Decision::Hit(value.clone())
                    };
                }
                Some(_) => {}
            }
        }
        let stale = (entry.failures > 0)
            .then(|| self.stale_value(entry, now))
            .flatten();
        match (stale, &entry.flight) {
            (Some(v), Some(_)) => Decision::Stale(v),
            (Some(v), None) if now < entry.retry_at => Decision::Stale(v),
            (Some(v), None) => Decision::StaleAndRetry(v),
            (None, Some(flight)) => Decision::Wait(flight.clone()),
            (None, None) => Decision::Fetch,
        }
    }

    /// Starts the request for `name` (and `version`), creating its entry
    /// when missing, and returns the shared future of its outcome.
    fn start(self: &Arc<Self>, state: &mut State, name: &str, version: Option<&str>) -> Flight {
        let key = with_key(name, version, str::to_owned);
        if !state.entries.contains_key(&key) {
            self.make_room(state);
            state.tick += 1;
            state.epochs += 1;
            let entry = Entry {
                value: None,
                expires: None,
                used: true,
                last_use: state.tick,
                flight: None,
                failures: 0,
                retry_at: Instant::now(),
                epoch: state.epochs,
            };
            state.entries.insert(key.clone(), entry);
        }
        let Some(entry) = state.entries.get_mut(&key) else {
            unreachable!("the entry was just inserted");
        };
        bump(&self.counters.requests);
        let epoch = entry.epoch;
        let inner = self.clone();
        let name = name.to_owned();
        let version = version.map(str::to_owned);
        let task = tokio::spawn(async move { inner.fetch(key, name, version, epoch).await });
        let flight = async move {
            task.await.unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::OperationFailed,
                    "the secret cache's request ended before answering",
                ))
            })
        }
        .boxed()
        .shared();
        entry.flight = Some(flight.clone());
        flight
    }

    /// Evicts the least recently used entry when the cache is full,
    /// preferring one nobody watches.
    fn make_room(&self, state: &mut State) {
        if state.entries.len() < self.options.max_entries {
            return;
        }
        let victim = state
            .entries
            .iter()
            .min_by_key(|(key, e)| (state.watchers.contains_key(key.as_str()), e.last_use))
            .map(|(key, _)| key.clone());
        if let Some(key) = victim {
            state.entries.remove(&key);
            bump(&self.counters.evictions);
            tracing::debug!(key = %key, "secret cache: least recently used entry evicted");
        }
    }

    async fn fetch(
        self: Arc<Self>,
        key: String,
        name: String,
        version: Option<String>,
        epoch: u64,
    ) -> Fetched {
        let options = version.clone().map(GetSecretOptions::version);
        let result = self.client.get_secret(&name, options).await;
        let now = Instant::now();
        let mut state = self.lock();
        let state = &mut *state;
        let latest = version.is_none();
        let Some(entry) = state.entries.get_mut(&key).filter(|e| e.epoch == epoch) else {
            // Invalidated or evicted meanwhile: answer the waiting callers only.
            return result.map(Arc::new);
        };
        entry.flight = None;
        match result {
            Ok(secret) => {
                let secret = Arc::new(secret);
                if entry.value.is_some() {
                    bump(&self.counters.refreshes);
                }
                tracing::debug!(
                    secret = %name,
                    version = secret.properties.version().unwrap_or_default(),
                    "secret cache: refreshed"
                );
                entry.value = Some(secret.clone());
                entry.failures = 0;
                entry.used = false;
                if latest {
                    let o = &self.options;
                    let expires = now + o.ttl - random_below(o.ttl_jitter);
                    entry.expires = Some(expires);
                    if !o.refresh_ahead.is_zero() {
                        let due = expires.checked_sub(o.refresh_ahead).unwrap_or(now);
                        self.schedule(key.clone(), epoch, due);
                    }
                    state.notify(&key, &secret);
                }
                Ok(secret)
            }
            Err(e) => {
                bump(&self.counters.errors);
                if is_gone(&e) {
                    tracing::info!(
                        secret = %name,
                        status = e.status().map(|s| s.as_u16()),
                        "secret cache: gone or forbidden, evicted"
                    );
                    bump(&self.counters.evictions);
                    if latest {
                        state.remove_secret(&name);
                        state.watchers.remove(&name);
                    } else {
                        state.entries.remove(&key);
                    }
                } else if entry.value.is_none() {
                    state.entries.remove(&key);
                } else if is_transient(&e) {
                    entry.failures += 1;
                    let delay = self.backoff(entry.failures);
                    entry.retry_at = now + delay;
                    tracing::warn!(
                        secret = %name,
                        failures = entry.failures,
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        error = %e,
                        "secret cache: refresh failed, the last good value is kept"
                    );
                    self.schedule(key, epoch, entry.retry_at);
                }
                Err(e)
            }
        }
    }

    /// The delay before the next try after `failures` failures in a row:
    /// doubling from the initial backoff, capped, with up to a quarter more
    /// at random.
    fn backoff(&self, failures: u32) -> Duration {
        let o = &self.options;
        let doubled = o
            .initial_backoff
            .saturating_mul(1u32 << failures.saturating_sub(1).min(20));
        let delay = doubled.min(o.max_backoff);
        delay + random_below(delay / 4)
    }

    /// Refreshes the entry at `at` if it is still the same entry, still due,
    /// and read since its last refresh or watched.
    fn schedule(self: &Arc<Self>, key: String, epoch: u64, at: Instant) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            let Some(inner) = weak.upgrade() else {
                return;
            };
            let mut state = inner.lock();
            let watched = state
                .watchers
                .get(&key)
                .is_some_and(|s| s.receiver_count() > 0);
            let now = Instant::now();
            let ahead = inner.options.refresh_ahead;
            let Some(entry) = state.entries.get_mut(&key) else {
                return;
            };
            let due = if entry.failures > 0 {
                now >= entry.retry_at
            } else {
                entry.expires.is_some_and(|x| now + ahead >= x)
            };
            if entry.epoch != epoch || entry.flight.is_some() || !due || !(entry.used || watched) {
                return;
            }
            entry.used = false;
            let (name, version) = match key.split_once('/') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (key.clone(), None),
            };
            drop(inner.start(&mut state, &name, version.as_deref()));
        });
    }
}

impl State {
    /// Drops the entries of a secret: its latest version and every version.
    fn remove_secret(&mut self, name: &str) {
        self.entries.remove(name);
        self.entries
            .retain(|key, _| key.split_once('/').is_none_or(|(secret, _)| secret != name));
    }

    /// Tells the watchers of `key` of a new version, and forgets watchers
    /// nobody listens to any more.
    fn notify(&mut self, key: &str, secret: &Arc<KeyVaultSecret>) {
        let Some(sender) = self.watchers.get(key) else {
            return;
        };
        if sender.receiver_count() == 0 {
            self.watchers.remove(key);
            return;
        }
        sender.send_if_modified(|current| {
            let changed = current.properties.version() != secret.properties.version();
            if changed {
                *current = secret.clone();
            }
            changed
        });
    }
}

// The cache and its watches are shared between tasks: checked at compile time.
const _: () = {
    const fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<SecretCache>();
    shareable::<SecretWatch>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_versions_are_built_on_the_stack_or_the_heap() {
        assert_eq!(with_key("a", None, str::to_owned), "a");
        assert_eq!(with_key("a", Some("v1"), str::to_owned), "a/v1");
        let long = "n".repeat(300);
        assert_eq!(with_key(&long, Some("v"), str::len), 302);
    }

    #[test]
    fn names_with_a_slash_and_empty_versions_are_refused() {
        assert!(check("a/b", None).is_err());
        assert!(check("a", Some("")).is_err());
        assert!(check("", None).is_err());
        assert!(check("a", Some("0123")).is_ok());
    }

    #[test]
    fn jitter_and_backoff_stay_in_bounds() {
        for _ in 0..100 {
            assert!(random_below(Duration::from_secs(3)) < Duration::from_secs(3));
        }
        assert_eq!(random_below(Duration::ZERO), Duration::ZERO);
    }
}
