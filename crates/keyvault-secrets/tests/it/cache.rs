//! `SecretCache`: against the emulator, and against a loopback vault of
//! our own that counts requests and answers what the test says (429, 503,
//! 404, slow answers).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use keyvault_secrets::{
    ClientOptions, RetryOptions, SecretCache, SecretCacheOptions, SecretClient,
    SecretClientOptions, UpdateSecretPropertiesOptions,
};
use tokio::time::{Instant, sleep, timeout};

use crate::common::{self, StaticToken};

/// What the loopback vault answers for a secret.
#[derive(Clone)]
enum Answer {
    /// The secret, at this version with this value.
    Secret(&'static str, &'static str),
    /// An error status.
    Status(u16),
}

#[derive(Default)]
struct Vault {
    answers: HashMap<String, Answer>,
    /// Authorized GETs per secret name.
    requests: HashMap<String, usize>,
    delay: Duration,
}

/// A loopback vault over plain HTTP; stopped on drop.
struct Loopback {
    state: Arc<Mutex<Vault>>,
    base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    State(state): State<Arc<Mutex<Vault>>>,
    Path(path): Path<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    if !headers.contains_key(header::AUTHORIZATION) {
        let challenge = "Bearer authorization=\"https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000\", resource=\"https://vault.azure.net\"";
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, challenge)],
        )
            .into_response();
    }
    let name = path[0].1.clone();
    let (answer, delay) = {
        let mut s = state.lock().unwrap();
        *s.requests.entry(name.clone()).or_default() += 1;
        (s.answers.get(&name).cloned(), s.delay)
    };
    sleep(delay).await;
    match answer {
        Some(Answer::Secret(version, value)) => {
            let host = headers[header::HOST].to_str().unwrap();
            let body = serde_json::json!({
                "value": value,
                "id": format!("http://{host}/secrets/{name}/{version}"),
                "attributes": { "enabled": true },
            });
            (
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
        Some(Answer::Status(status)) => {
            let status = StatusCode::from_u16(status).unwrap();
            let body = format!(r#"{{"error":{{"code":"Injected","message":"{status}"}}}}"#);
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":{"code":"SecretNotFound","message":"no such secret"}}"#,
        )
            .into_response(),
    }
}

impl Loopback {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(Vault::default()));
        let app = Router::new()
            .route("/secrets/{name}", get(answer))
            .route("/secrets/{name}/", get(answer))
            .route("/secrets/{name}/{version}", get(answer))
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self { state, base, task }
    }

    fn set(&self, name: &str, answer: Answer) {
        let mut s = self.state.lock().unwrap();
        s.answers.insert(name.to_owned(), answer);
    }

    fn delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    fn requests(&self, name: &str) -> usize {
        let s = self.state.lock().unwrap();
        s.requests.get(name).copied().unwrap_or(0)
    }

    /// A client of this vault that does not retry, so that each failure
    /// the vault injects reaches the cache.
    fn client(&self) -> SecretClient {
        let options = SecretClientOptions {
            client_options: ClientOptions {
                retry: RetryOptions {
                    max_retries: 0,
                    ..Default::default()
                },
                ..ClientOptions::emulator(None)
            },
            ..Default::default()
        };
        SecretClient::new(&self.base, Arc::new(StaticToken::default()), Some(options)).unwrap()
    }

    fn cache(&self, options: SecretCacheOptions) -> SecretCache {
        SecretCache::new(self.client(), Some(options))
    }
}

/// Options with a short life, no jitter and no refresh-ahead, for tests
/// that change one of them.
fn short(ttl_ms: u64) -> SecretCacheOptions {
    SecretCacheOptions {
        ttl: Duration::from_millis(ttl_ms),
        ttl_jitter: Duration::ZERO,
        refresh_ahead: Duration::ZERO,
        ..Default::default()
    }
}

#[tokio::test]
async fn entries_expire_after_their_time_to_live() {
    let vault = Loopback::start().await;
    vault.set("db", Answer::Secret("v1", "one"));
    let cache = vault.cache(short(300));
    for _ in 0..10 {
        assert_eq!(cache.get("db").await.unwrap().value.expose_secret(), "one");
    }
    assert_eq!(vault.requests("db"), 1);
    vault.set("db", Answer::Secret("v2", "two"));
    assert_eq!(cache.get("db").await.unwrap().value.expose_secret(), "one");
    sleep(Duration::from_millis(400)).await;
    assert_eq!(cache.get("db").await.unwrap().value.expose_secret(), "two");
    assert_eq!(vault.requests("db"), 2);
    let stats = cache.statistics();
    assert_eq!((stats.hits, stats.misses, stats.requests), (10, 2, 2));
    assert_eq!(stats.refreshes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_reads_of_a_cold_entry_send_one_request() {
    let vault = Loopback::start().await;
    vault.set("cold", Answer::Secret("v1", "shared"));
    vault.delay(Duration::from_millis(200));
    let cache = vault.cache(SecretCacheOptions::default());
    let readers: Vec<_> = (0..1000)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get("cold").await })
        })
        .collect();
    let mut values = Vec::new();
    for reader in readers {
        values.push(reader.await.unwrap().unwrap());
    }
    assert_eq!(vault.requests("cold"), 1);
    assert!(
        values.iter().all(|v| Arc::ptr_eq(v, &values[0])),
        "one shared value"
    );
    assert_eq!(values[0].value.expose_secret(), "shared");
    assert_eq!(cache.statistics().requests, 1);
}

#[tokio::test]
async fn entries_in_use_are_refreshed_ahead_and_no_reader_waits() {
    let vault = Loopback::start().await;
    vault.set("hot", Answer::Secret("v1", "one"));
    vault.delay(Duration::from_millis(100));
    let options = SecretCacheOptions {
        refresh_ahead: Duration::from_millis(250),
        ..short(400)
    };
    let cache = vault.cache(options);
    cache.get("hot").await.unwrap(); // warm-up: waits once
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    while started.elapsed() < Duration::from_millis(1600) {
        let t = Instant::now();
        cache.get("hot").await.unwrap();
        slowest = slowest.max(t.elapsed());
        sleep(Duration::from_millis(20)).await;
    }
    let stats = cache.statistics();
    assert_eq!(stats.misses, 1, "only the warm-up waited: {stats:?}");
    assert!(stats.refreshes >= 3, "refreshed ahead: {stats:?}");
    assert!(
        slowest < Duration::from_millis(90),
        "a read took {slowest:?}"
    );
    assert!(vault.requests("hot") >= 4);
}

#[tokio::test]
async fn the_last_good_value_is_served_through_a_storm_of_503_and_429() {
    let vault = Loopback::start().await;
    vault.set("db", Answer::Secret("v1", "one"));
    let options = SecretCacheOptions {
        max_stale: Duration::from_secs(30),
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        ..short(200)
    };
    let cache = vault.cache(options);
    cache.get("db").await.unwrap();
    sleep(Duration::from_millis(250)).await;
    for status in [503, 429, 503] {
        vault.set("db", Answer::Status(status));
        for _ in 0..20 {
            let v = cache.get("db").await.unwrap();
            assert_eq!(v.value.expose_secret(), "one");
            sleep(Duration::from_millis(20)).await;
        }
    }
    let storm = cache.statistics();
    assert!(storm.stale_serves >= 59, "{storm:?}");
    assert!(storm.errors >= 3, "{storm:?}");
    // 1.2 s of storm with a backoff doubling from 50 ms to 200 ms: a few
    // tries, not one per read.
    let tries = vault.requests("db") - 1;
    assert!((3..=12).contains(&tries), "{tries} tries in the storm");

    vault.set("db", Answer::Secret("v2", "two"));
    let recovered = timeout(Duration::from_secs(3), async {
        loop {
            if cache.get("db").await.unwrap().value.expose_secret() == "two" {
                break;
            }
            sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(recovered.is_ok(), "the new value after the storm");
    let hits = cache.statistics().hits;
    cache.get("db").await.unwrap();
    assert_eq!(cache.statistics().hits, hits + 1, "fresh again");
}

#[tokio::test]
async fn without_a_good_value_a_transient_failure_is_returned() {
    let vault = Loopback::start().await;
    vault.set("db", Answer::Status(503));
    let cache = vault.cache(short(200));
    let e = cache.get("db").await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(cache.statistics().entries, 0, "failures are not cached");
    vault.set("db", Answer::Secret("v1", "one"));
    assert_eq!(cache.get("db").await.unwrap().value.expose_secret(), "one");
}

#[tokio::test]
async fn the_least_recently_used_entry_is_evicted_beyond_the_bound() {
    let vault = Loopback::start().await;
    for name in ["a", "b", "c", "d"] {
        vault.set(name, Answer::Secret("v1", "x"));
    }
    let cache = vault.cache(SecretCacheOptions {
        max_entries: 3,
        ..Default::default()
    });
    for name in ["a", "b", "c", "a", "d"] {
        cache.get(name).await.unwrap();
    }
    let stats = cache.statistics();
    assert_eq!((stats.entries, stats.evictions), (3, 1));
    cache.get("a").await.unwrap();
    cache.get("c").await.unwrap();
    cache.get("d").await.unwrap();
    assert_eq!(vault.requests("b"), 1);
    cache.get("b").await.unwrap();
    assert_eq!(vault.requests("b"), 2, "b was the one evicted");
    assert_eq!(vault.requests("a"), 1);
    assert_eq!(cache.statistics().entries, 3);
}

#[tokio::test]
async fn refresh_now_and_invalidate_go_to_the_vault() {
    let vault = Loopback::start().await;
    vault.set("db", Answer::Secret("v1", "one"));
    let cache = vault.cache(SecretCacheOptions::default());
    cache.get("db").await.unwrap();
    vault.set("db", Answer::Secret("v2", "two"));
    assert_eq!(cache.get("db").await.unwrap().value.expose_secret(), "one");
    let fresh = cache.refresh_now("db").await.unwrap();
    assert_eq!(fresh.properties.version(), Some("v2"));
    assert_eq!(cache.get("db").await.unwrap().value.expose_secret(), "two");
    vault.set("db", Answer::Secret("v3", "three"));
    cache.invalidate("db");
    assert_eq!(
        cache.get("db").await.unwrap().value.expose_secret(),
        "three"
    );
    assert_eq!(vault.requests("db"), 3);
    let e = cache.get("a/b").await.unwrap_err();
    assert_eq!(e.kind(), keyvault_secrets::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn a_secret_gone_or_forbidden_is_evicted_with_its_error() {
    let env = common::start().await;
    env.client.set_secret("gone", "v", None).await.unwrap();
    env.client.set_secret("closed", "v", None).await.unwrap();
    let cache = SecretCache::new(env.client.clone(), Some(short(200)));
    cache.get("gone").await.unwrap();
    cache.get("closed").await.unwrap();
    env.client
        .begin_delete_secret("gone", common::fast())
        .await
        .unwrap()
        .await
        .unwrap();
    let disable = UpdateSecretPropertiesOptions {
        enabled: Some(false),
        ..Default::default()
    };
    env.client
        .update_secret_properties("closed", Some(disable))
        .await
        .unwrap();
    // Still served from memory until expiry.
    cache.get("gone").await.unwrap();
    sleep(Duration::from_millis(250)).await;
    assert!(cache.get("gone").await.unwrap_err().is_not_found());
    assert!(cache.get("closed").await.unwrap_err().is_forbidden());
    let stats = cache.statistics();
    assert_eq!((stats.entries, stats.evictions), (0, 2), "{stats:?}");
    assert_eq!(stats.stale_serves, 0);
}

#[tokio::test]
async fn versions_are_kept_until_evicted() {
    let env = common::start().await;
    let first = env.client.set_secret("pinned", "one", None).await.unwrap();
    env.client.set_secret("pinned", "two", None).await.unwrap();
    let version = first.properties.version().unwrap().to_owned();
    let cache = SecretCache::new(env.client.clone(), Some(short(100)));
    let v = cache.get_version("pinned", &version).await.unwrap();
    assert_eq!(v.value.expose_secret(), "one");
    sleep(Duration::from_millis(150)).await;
    let again = cache.get_version("pinned", &version).await.unwrap();
    assert!(Arc::ptr_eq(&v, &again), "the same value, from memory");
    assert_eq!(
        cache.get("pinned").await.unwrap().value.expose_secret(),
        "two"
    );
    assert_eq!(cache.statistics().requests, 2);
}

#[tokio::test]
async fn watch_sees_a_rotation() {
    let env = common::start().await;
    env.client.set_secret("rotated", "one", None).await.unwrap();
    let options = SecretCacheOptions {
        refresh_ahead: Duration::from_millis(150),
        ..short(300)
    };
    let cache = SecretCache::new(env.client.clone(), Some(options));
    let mut rotations = cache.watch("rotated").await.unwrap();
    assert_eq!(rotations.current().value.expose_secret(), "one");
    let set = env.client.set_secret("rotated", "two", None).await.unwrap();
    // Nobody reads: the watch alone keeps the entry refreshed.
    let seen = timeout(Duration::from_secs(3), rotations.changed())
        .await
        .expect("a rotation within 3 s")
        .expect("a new version");
    assert_eq!(seen.value.expose_secret(), "two");
    assert_eq!(seen.properties.version(), set.properties.version());
    assert!(Arc::ptr_eq(&seen, &rotations.current()));
    assert!(!format!("{rotations:?}").contains("two"));
    // Deleting the secret ends the watch.
    env.client
        .begin_delete_secret("rotated", common::fast())
        .await
        .unwrap()
        .await
        .unwrap();
    let ended = timeout(Duration::from_secs(3), rotations.changed()).await;
    assert!(
        matches!(ended, Ok(None)),
        "the watch ends when the secret is gone"
    );
}

#[tokio::test]
async fn writes_through_the_cache_invalidate_its_entry() {
    let env = common::start().await;
    let cache = SecretCache::new(env.client.clone(), None);
    cache.set_secret("written", "one", None).await.unwrap();
    assert_eq!(
        cache.get("written").await.unwrap().value.expose_secret(),
        "one"
    );
    cache.set_secret("written", "two", None).await.unwrap();
    assert_eq!(
        cache.get("written").await.unwrap().value.expose_secret(),
        "two"
    );

    let keep = SecretCache::new(
        env.client.clone(),
        Some(SecretCacheOptions {
            invalidate_on_write: false,
            ..Default::default()
        }),
    );
    keep.get("written").await.unwrap();
    keep.set_secret("written", "three", None).await.unwrap();
    assert_eq!(
        keep.get("written").await.unwrap().value.expose_secret(),
        "two"
    );

    cache
        .begin_delete_secret("written", common::fast())
        .await
        .unwrap()
        .await
        .unwrap();
    assert!(cache.get("written").await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn debug_output_shows_no_value() {
    let vault = Loopback::start().await;
    vault.set("db", Answer::Secret("v1", "hunter2"));
    let cache = vault.cache(SecretCacheOptions::default());
    let v = cache.get("db").await.unwrap();
    let shown = format!("{cache:?} {v:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("hits"));
}

// One thread, so that the subscriber set for this thread sees the cache's
// tasks too.
#[tokio::test(flavor = "current_thread")]
async fn refreshes_and_stale_serves_are_traced_without_the_value() {
    let (buffer, _guard) = common::capture_logs();
    let vault = Loopback::start().await;
    // Twice: other tests, on other threads, may register the cache's
    // callsites while this subscriber is being set; after the first round
    // their interest is computed again, with this subscriber known.
    for name in ["warm-up", "traced"] {
        vault.set(name, Answer::Secret("v1", "VALUE-NOT-TO-LOG"));
        let cache = vault.cache(short(100));
        cache.get(name).await.unwrap();
        sleep(Duration::from_millis(150)).await;
        vault.set(name, Answer::Status(503));
        cache.get(name).await.unwrap();
        cache.get(name).await.unwrap();
        tracing::callsite::rebuild_interest_cache();
    }

    let logs = buffer.text();
    assert!(
        logs.contains("secret cache: refreshed secret=traced"),
        "{logs}"
    );
    assert!(logs.contains("refresh failed"), "{logs}");
    assert!(logs.contains("serving the last good value"), "{logs}");
    assert!(!logs.contains("VALUE-NOT-TO-LOG"), "{logs}");
}
