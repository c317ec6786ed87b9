//! What the soak tests under faults share: how many operations to run, the
//! fault plan, client options that retry quickly, a seeded random source
//! and a count of the retries the client pipeline made.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keyvault_core::{ClientOptions, RetryOptions};
use keyvault_emulator::FaultPlan;
use tracing::field::{Field, Visit};
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// The environment variable that sets the number of operations of the
/// secrets soak (the administration soak runs a tenth of it).
pub const OPS_VAR: &str = "KEYVAULT_SOAK_OPS";

/// The operations to run: [`OPS_VAR`] when set, else `default` (the bounded
/// count CI runs).
///
/// # Panics
/// When [`OPS_VAR`] is set to something other than a positive number.
pub fn ops(default: usize) -> usize {
    match std::env::var(OPS_VAR) {
        Ok(v) => match v.trim().parse() {
            Ok(n) if n > 0 => n,
            _ => panic!("{OPS_VAR} must be a positive number, not {v:?}"),
        },
        Err(_) => default,
    }
}

/// 10% of the service requests get a fault, spread over the six kinds:
/// `Retry-After: 1`, 100 ms of latency, bodies that stall for 4 s.
pub fn plan(seed: u64) -> FaultPlan {
    FaultPlan::new(seed)
        .with_rate(0.1)
        .retry_after(Duration::from_secs(1))
        .latency(Duration::from_millis(100))
        .stall(Duration::from_secs(4))
}

/// Client options for the emulator whose CA is `ca_pem`: the default retry
/// counts, a first retry after 50 ms (rather than 800 ms) so a soak spends
/// its time on operations, and a read timeout of two seconds, which a
/// stalled body runs into.
pub fn client_options(ca_pem: &str) -> ClientOptions {
    ClientOptions {
        retry: RetryOptions {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
            ..Default::default()
        },
        read_timeout: Some(Duration::from_secs(2)),
        ..ClientOptions::emulator(Some(ca_pem.as_bytes()))
    }
}

/// A small seeded random source (xorshift64*), so a soak's choices repeat.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A source seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// Counts the retries of keyvault-core's pipeline: its DEBUG events that
/// say it is retrying. Futures run under [`dispatch`](Self::dispatch)
/// (with `tracing::instrument::WithSubscriber`) are counted.
#[derive(Clone)]
pub struct Retries {
    count: Arc<AtomicU64>,
    dispatch: Dispatch,
}

impl Default for Retries {
    fn default() -> Self {
        let count = Arc::new(AtomicU64::new(0));
        let layer = Counter(count.clone());
        let dispatch = Dispatch::new(tracing_subscriber::registry().with(layer));
        Self { count, dispatch }
    }
}

impl Retries {
    /// The subscriber that counts.
    pub fn dispatch(&self) -> Dispatch {
        self.dispatch.clone()
    }

    /// The retries counted so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }
}

struct Counter(Arc<AtomicU64>);

impl<S: Subscriber> Layer<S> for Counter {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if !event.metadata().target().starts_with("keyvault_core") {
            return;
        }
        let mut retrying = Retrying(false);
        event.record(&mut retrying);
        if retrying.0 {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

struct Retrying(bool);

impl Visit for Retrying {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}").starts_with("retrying");
        }
    }
}

/// The figures of a soak, summed over its tasks.
#[derive(Debug, Default)]
pub struct Tally {
    calls: AtomicU64,
    unknown: AtomicU64,
    earlier_try: AtomicU64,
    resent: AtomicU64,
    errors: std::sync::Mutex<Vec<String>>,
}

impl Tally {
    /// One client call made.
    pub fn call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// A call whose outcome could not be known (no answer to a request the
    /// client does not send again), read back.
    pub fn unknown(&self) {
        self.unknown.fetch_add(1, Ordering::Relaxed);
    }

    /// A retried call that met the effect of its own earlier try (a 404 or
    /// 409 after more than one try), checked.
    pub fn earlier_try(&self) {
        self.earlier_try.fetch_add(1, Ordering::Relaxed);
    }

    /// A call the caller sent again after reading that it was not applied.
    pub fn resent(&self) {
        self.resent.fetch_add(1, Ordering::Relaxed);
    }

    /// Something read that the model does not allow.
    pub fn violation(&self, what: String) {
        self.lock().push(format!("model: {what}"));
    }

    /// An error none of the above explains.
    pub fn error(&self, what: &str, e: &keyvault_core::Error) {
        self.lock().push(format!("{what}: {e}"));
    }

    /// The calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The errors and model violations so far.
    pub fn errors(&self) -> Vec<String> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.errors.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The figures as one line: calls, requests, faults by kind, retries,
    /// outcomes read back, errors surfaced.
    pub fn report(
        &self,
        what: &str,
        elapsed: Duration,
        faults: &keyvault_emulator::FaultCounts,
        retries: u64,
    ) -> String {
        let kinds: Vec<String> = (keyvault_emulator::FaultKind::ALL.iter())
            .map(|k| format!("{k}: {}", faults.injected(*k)))
            .collect();
        format!(
            "soak ({what}): {} calls in {:.1}s; {} requests, {} faults injected ({}); {retries} \
             retries; outcome unknown and read back: {}; retried calls that met their earlier \
             try: {}; calls sent again by the caller: {}; errors surfaced: {}",
            self.calls(),
            elapsed.as_secs_f64(),
            faults.requests,
            faults.total(),
            kinds.join(", "),
            self.unknown.load(Ordering::Relaxed),
            self.earlier_try.load(Ordering::Relaxed),
            self.resent.load(Ordering::Relaxed),
            self.lock().len(),
        )
    }
}

/// Whether a call got no answer (a transport failure or a timeout), so its
/// outcome is unknown when the client did not send it again.
pub fn no_answer(e: &keyvault_core::Error) -> bool {
    matches!(
        e.kind(),
        keyvault_core::ErrorKind::Io | keyvault_core::ErrorKind::Timeout
    )
}

/// Whether a retried call met the effect of its own earlier try: a 404 or
/// 409 after more than one try.
pub fn met_its_earlier_try(e: &keyvault_core::Error) -> bool {
    (e.is_not_found() || e.is_conflict()) && e.attempts() > 1
}
