//! Fault injection: a [`FaultPlan`] says which fraction of the service
//! requests (vault and Managed HSM routes; never `/_emulator/` nor the
//! identity endpoints) is answered `429` with `Retry-After`, `503`, loses its
//! connection before or after it is processed, is delayed, or gets a
//! response body that stalls and then breaks.
//!
//! Decisions are deterministic: the `n`th service request since the plan was
//! set gets the fault that a hash of the seed and `n` picks, so a run with
//! the same seed and the same order of requests meets the same faults.
//!
//! The plan is set with `--faults SPEC`, [`EmulatorBuilder::faults`] or
//! `PUT /_emulator/faults`; `GET /_emulator/faults` answers it with the
//! counters of what was injected, by kind; `DELETE` turns injection off.
//!
//! [`EmulatorBuilder::faults`]: crate::EmulatorBuilder::faults

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use http::HeaderValue;
use serde_json::{Map, Value, json};

use crate::error::{ServiceError, json_response};
use crate::server::{Handler, HttpResponse, Request};
use delivery::Delivery;

pub(crate) mod delivery;

/// A kind of fault the emulator can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FaultKind {
    /// `429 Too Many Requests` with `Retry-After`; the request is not processed.
    Throttle,
    /// `503 Service Unavailable`; the request is not processed.
    Unavailable,
    /// The connection (an HTTP/2 stream) is reset once the request is read,
    /// before it is processed.
    DropBefore,
    /// The request is processed (its change applied), then the connection
    /// (an HTTP/2 stream) is reset instead of answering.
    DropAfter,
    /// The request is processed after an added delay.
    Latency,
    /// The request is processed; the answer's body sends half of its bytes,
    /// stalls, then breaks.
    Stall,
}

impl FaultKind {
    /// Every kind, in the order decisions are drawn.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::Throttle,
        FaultKind::Unavailable,
        FaultKind::DropBefore,
        FaultKind::DropAfter,
        FaultKind::Latency,
        FaultKind::Stall,
    ];

    /// The kind's key in a spec and in `/_emulator/faults`: `429`, `503`,
    /// `drop-before`, `drop-after`, `latency` or `stall`.
    pub const fn key(self) -> &'static str {
        match self {
            FaultKind::Throttle => "429",
            FaultKind::Unavailable => "503",
            FaultKind::DropBefore => "drop-before",
            FaultKind::DropAfter => "drop-after",
            FaultKind::Latency => "latency",
            FaultKind::Stall => "stall",
        }
    }

    const fn index(self) -> usize {
        match self {
            FaultKind::Throttle => 0,
            FaultKind::Unavailable => 1,
            FaultKind::DropBefore => 2,
            FaultKind::DropAfter => 3,
            FaultKind::Latency => 4,
            FaultKind::Stall => 5,
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// What fraction of service requests gets each fault, from which seed, and
/// the faults' timings.
///
/// Written as a spec (`--faults`, [`FromStr`]): comma-separated `key=value`
/// pairs, e.g. `seed=42,rate=0.1` or `seed=7,429=0.05,drop-after=0.02,retry-after=0`:
///
/// | key | value |
/// | --- | --- |
/// | `seed` | the seed of the decisions (default 0) |
/// | `rate` | a fraction spread evenly over the six kinds; the kinds named below override their share |
/// | `429`, `503`, `drop-before`, `drop-after`, `latency`, `stall` | the fraction of requests given that fault (see [`FaultKind`]) |
/// | `retry-after` | seconds in the `Retry-After` of a 429 (default 1, at most 3600) |
/// | `latency-ms` | the added delay (default 200, at most 60000) |
/// | `stall-ms` | how long a stalled body waits before breaking (default 10000, at most 600000) |
///
/// Fractions are 0 to 1 and add up to 1 at most.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use keyvault_emulator::{FaultKind, FaultPlan};
///
/// let plan: FaultPlan = "seed=42,rate=0.12,stall=0".parse()?;
/// assert_eq!(plan.fraction(FaultKind::Throttle), 0.02);
/// assert_eq!(plan.fraction(FaultKind::Stall), 0.0);
///
/// let same = FaultPlan::new(42)
///     .with_rate(0.12)
///     .with(FaultKind::Stall, 0.0)
///     .retry_after(Duration::from_secs(1));
/// assert_eq!(plan, same);
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FaultPlan {
    seed: u64,
    fractions: [f64; 6],
    retry_after: Duration,
    latency: Duration,
    stall: Duration,
}

const MAX_RETRY_AFTER_S: u64 = 3_600;
const MAX_LATENCY_MS: u64 = 60_000;
const MAX_STALL_MS: u64 = 600_000;

impl FaultPlan {
    /// A plan with this seed and no faults yet; the timings are the
    /// defaults (`Retry-After: 1`, 200 ms of latency, 10 s of stall).
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            fractions: [0.0; 6],
            retry_after: Duration::from_secs(1),
            latency: Duration::from_millis(200),
            stall: Duration::from_secs(10),
        }
    }

    /// Spreads `rate` evenly over every kind (each gets `rate / 6`).
    #[must_use]
    pub fn with_rate(mut self, rate: f64) -> Self {
        self.fractions = [rate / 6.0; 6];
        self
    }

    /// Gives `fraction` of the requests the fault `kind`.
    #[must_use]
    pub fn with(mut self, kind: FaultKind, fraction: f64) -> Self {
        self.fractions[kind.index()] = fraction;
        self
    }

    /// The `Retry-After` of a 429, in whole seconds (default 1).
    #[must_use]
    pub fn retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Duration::from_secs(delay.as_secs());
        self
    }

    /// The delay added by a [`FaultKind::Latency`] fault (default 200 ms).
    #[must_use]
    pub fn latency(mut self, delay: Duration) -> Self {
        self.latency = delay;
        self
    }

    /// How long a stalled body waits before it breaks (default 10 s).
    #[must_use]
    pub fn stall(mut self, delay: Duration) -> Self {
        self.stall = delay;
        self
    }

    /// The seed of the decisions.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The fraction of requests given the fault `kind`.
    pub fn fraction(&self, kind: FaultKind) -> f64 {
        self.fractions[kind.index()]
    }

    /// The fraction of requests given any fault.
    pub fn total(&self) -> f64 {
        self.fractions.iter().sum()
    }

    /// Checks the fractions and timings; the message says what is wrong.
    pub(crate) fn check(&self) -> Result<(), String> {
        for kind in FaultKind::ALL {
            let f = self.fraction(kind);
            if !(0.0..=1.0).contains(&f) {
                return Err(format!("the fraction of {kind} must be 0 to 1, not {f}"));
            }
        }
        if self.total() > 1.0 + 1e-9 {
            return Err(format!(
                "the fractions add up to {}, more than 1",
                self.total()
            ));
        }
        let limits = [
            (
                "retry-after",
                self.retry_after.as_secs(),
                MAX_RETRY_AFTER_S,
                "s",
            ),
            ("latency-ms", millis(self.latency), MAX_LATENCY_MS, "ms"),
            ("stall-ms", millis(self.stall), MAX_STALL_MS, "ms"),
        ];
        for (key, value, max, unit) in limits {
            if value > max {
                return Err(format!("{key} must be at most {max} {unit}, not {value}"));
            }
        }
        Ok(())
    }

    /// Reads `key=value` pairs: `rate` first, then the rest in any order.
    fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Result<Self, String> {
        let mut plan = Self::new(0);
        let mut seen: Vec<&str> = Vec::new();
        let mut rest = Vec::new();
        for (key, value) in pairs {
            if seen.contains(&key) {
                return Err(format!("`{key}` is given twice"));
            }
            seen.push(key);
            if key == "rate" {
                plan = plan.with_rate(fraction(key, &value)?);
            } else {
                rest.push((key, value));
            }
        }
        for (key, value) in rest {
            let whole = |max: u64| -> Result<u64, String> {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| {
                        format!("`{key}` must be a whole number 0 to {max}, not `{value}`")
                    })
            };
            plan = match key {
                "seed" => Self {
                    seed: value
                        .parse()
                        .map_err(|_| format!("`seed` must be a whole number, not `{value}`"))?,
                    ..plan
                },
                "retry-after" => plan.retry_after(Duration::from_secs(whole(MAX_RETRY_AFTER_S)?)),
                "latency-ms" => plan.latency(Duration::from_millis(whole(MAX_LATENCY_MS)?)),
                "stall-ms" => plan.stall(Duration::from_millis(whole(MAX_STALL_MS)?)),
                _ => match FaultKind::ALL.into_iter().find(|k| k.key() == key) {
                    Some(kind) => plan.with(kind, fraction(key, &value)?),
                    None => return Err(format!("unknown key `{key}`; the keys are {KEYS}")),
                },
            };
        }
        plan.check()?;
        Ok(plan)
    }

    /// The plan as `/_emulator/faults` shows it (the keys of a spec).
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("seed".into(), self.seed.into());
        for kind in FaultKind::ALL {
            m.insert(kind.key().into(), self.fraction(kind).into());
        }
        m.insert("retry-after".into(), self.retry_after.as_secs().into());
        m.insert("latency-ms".into(), millis(self.latency).into());
        m.insert("stall-ms".into(), millis(self.stall).into());
        Value::Object(m)
    }

    /// The plan of a `PUT /_emulator/faults` body: a spec as a JSON string,
    /// or an object of the same keys with numbers.
    fn from_json(body: &[u8]) -> Result<Self, String> {
        let v: Value = serde_json::from_slice(body).map_err(|_| {
            "the body must be a JSON object of a fault plan, or a spec string".to_owned()
        })?;
        match v {
            Value::String(spec) => spec.parse(),
            Value::Object(m) => {
                let mut pairs = Vec::new();
                for (key, value) in &m {
                    let Value::Number(n) = value else {
                        return Err(format!("`{key}` must be a number"));
                    };
                    pairs.push((key.as_str(), n.to_string()));
                }
                Self::from_pairs(pairs)
            }
            _ => Err("the body must be a JSON object of a fault plan, or a spec string".to_owned()),
        }
    }
}

const KEYS: &str = "seed, rate, 429, 503, drop-before, drop-after, latency, stall, retry-after, latency-ms, stall-ms";

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn fraction(key: &str, value: &str) -> Result<f64, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|f| (0.0..=1.0).contains(f))
        .ok_or_else(|| format!("`{key}` must be a fraction 0 to 1, not `{value}`"))
}

impl FromStr for FaultPlan {
    type Err = String;

    /// Parses a spec; see [`FaultPlan`].
    fn from_str(spec: &str) -> Result<Self, String> {
        let mut pairs = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not key=value"))?;
            pairs.push((key.trim(), value.trim().to_owned()));
        }
        if pairs.is_empty() {
            return Err(format!(
                "the fault spec is empty; give key=value pairs of {KEYS}"
            ));
        }
        Self::from_pairs(pairs)
    }
}

/// What was injected since the plan was set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultCounts {
    /// Service requests seen (with or without a fault).
    pub requests: u64,
    injected: [u64; 6],
}

impl FaultCounts {
    /// How many requests got the fault `kind`.
    pub fn injected(&self, kind: FaultKind) -> u64 {
        self.injected[kind.index()]
    }

    /// How many requests got a fault.
    pub fn total(&self) -> u64 {
        self.injected.iter().sum()
    }
}

/// The plan in force and the counters; one per emulator, shared by every
/// endpoint.
#[derive(Default)]
pub(crate) struct Faults {
    plan: RwLock<Option<Arc<FaultPlan>>>,
    requests: AtomicU64,
    injected: [AtomicU64; 6],
}

/// The path of the admin route.
pub(crate) const ROUTE: &str = "/_emulator/faults";

impl Faults {
    /// Replaces the plan (`None`: no faults) and resets the counters.
    pub(crate) fn set(&self, plan: Option<FaultPlan>) {
        let mut slot = self.plan.write().unwrap_or_else(|e| e.into_inner());
        *slot = plan.map(Arc::new);
        self.requests.store(0, Ordering::SeqCst);
        for c in &self.injected {
            c.store(0, Ordering::SeqCst);
        }
    }

    /// The counters so far.
    pub(crate) fn counts(&self) -> FaultCounts {
        FaultCounts {
            requests: self.requests.load(Ordering::SeqCst),
            injected: std::array::from_fn(|i| self.injected[i].load(Ordering::SeqCst)),
        }
    }

    fn plan(&self) -> Option<Arc<FaultPlan>> {
        self.plan.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The fault of a service request, if any: counts it and draws from
    /// the seed and its number.
    fn decide(&self) -> Option<(FaultKind, Arc<FaultPlan>)> {
        // Numbered under the plan's lock, so that a request never pairs the
        // new plan with the old sequence.
        let (n, plan) = {
            let plan = self.plan.read().unwrap_or_else(|e| e.into_inner());
            (self.requests.fetch_add(1, Ordering::SeqCst), plan.clone())
        };
        let plan = plan?;
        let kind = pick(&plan, n)?;
        self.injected[kind.index()].fetch_add(1, Ordering::SeqCst);
        tracing::debug!(target: "keyvault_emulator::faults", request = n, fault = %kind, "fault injected");
        Some((kind, plan))
    }

    /// `handler` with this emulator's faults injected into its requests,
    /// except those `spared` says are not service requests.
    pub(crate) fn wrap(
        self: &Arc<Self>,
        handler: Handler,
        spared: fn(&Request) -> bool,
    ) -> Handler {
        let faults = self.clone();
        Arc::new(move |req: Request| {
            let decision = if spared(&req) { None } else { faults.decide() };
            let handler = handler.clone();
            Box::pin(async move {
                let Some((kind, plan)) = decision else {
                    return handler(req).await;
                };
                let delivered = |mut resp: HttpResponse, how| {
                    resp.extensions_mut().insert(how);
                    resp
                };
                match kind {
                    FaultKind::Throttle => {
                        let mut resp = ServiceError::new(
                            429,
                            "Throttled",
                            "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
                        )
                        .into_response();
                        resp.headers_mut().insert(
                            http::header::RETRY_AFTER,
                            HeaderValue::from(plan.retry_after.as_secs()),
                        );
                        resp
                    }
                    FaultKind::Unavailable => ServiceError::new(
                        503,
                        "ServiceUnavailable",
                        "The service is temporarily unavailable; try again later.",
                    )
                    .into_response(),
                    FaultKind::DropBefore => {
                        delivered(crate::error::empty_response(500), Delivery::Drop)
                    }
                    FaultKind::DropAfter => delivered(handler(req).await, Delivery::Drop),
                    FaultKind::Latency => {
                        tokio::time::sleep(plan.latency).await;
                        handler(req).await
                    }
                    FaultKind::Stall => delivered(handler(req).await, Delivery::Stall(plan.stall)),
                }
            })
        })
    }

    /// Serves `/_emulator/faults`.
    pub(crate) fn handle(&self, req: &Request) -> HttpResponse {
        match req.method.as_str() {
            "GET" => json_response(200, &self.report()),
            "PUT" => match FaultPlan::from_json(&req.body) {
                Ok(plan) => {
                    self.set(Some(plan));
                    json_response(200, &self.report())
                }
                Err(message) => ServiceError::bad_parameter(format!("Bad fault plan: {message}."))
                    .into_response(),
            },
            "DELETE" => {
                let mut slot = self.plan.write().unwrap_or_else(|e| e.into_inner());
                slot.take();
                drop(slot);
                json_response(200, &self.report())
            }
            _ => {
                let mut resp = ServiceError::new(405, "MethodNotAllowed", "Method not allowed.")
                    .into_response();
                resp.headers_mut().insert(
                    http::header::ALLOW,
                    HeaderValue::from_static("GET, PUT, DELETE"),
                );
                resp
            }
        }
    }

    fn report(&self) -> Value {
        let counts = self.counts();
        let injected: Map<String, Value> = FaultKind::ALL
            .iter()
            .map(|k| (k.key().to_owned(), counts.injected(*k).into()))
            .collect();
        json!({
            "plan": self.plan().map(|p| p.to_json()),
            "requests": counts.requests,
            "injected": injected,
            "total": counts.total(),
        })
    }
}

/// The fault of the `n`th request: a uniform draw from the seed and `n`
/// against the plan's cumulative fractions.
fn pick(plan: &FaultPlan, n: u64) -> Option<FaultKind> {
    let bits = splitmix64(plan.seed ^ splitmix64(n));
    let draw = (bits >> 11) as f64 / (1u64 << 53) as f64;
    let mut edge = 0.0;
    for kind in FaultKind::ALL {
        edge += plan.fraction(kind);
        if draw < edge {
            return Some(kind);
        }
    }
    None
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        let plan: FaultPlan = "seed=42, rate=0.6".parse().unwrap();
        assert_eq!(plan.seed(), 42);
        for kind in FaultKind::ALL {
            assert!((plan.fraction(kind) - 0.1).abs() < 1e-12, "{kind}");
        }
        let plan: FaultPlan = "429=0.5,rate=0.06,retry-after=0,latency-ms=5,stall-ms=7"
            .parse()
            .unwrap();
        assert_eq!(plan.fraction(FaultKind::Throttle), 0.5);
        assert!((plan.fraction(FaultKind::Stall) - 0.01).abs() < 1e-12);
        assert_eq!(plan.retry_after, Duration::ZERO);
        assert_eq!(plan.latency, Duration::from_millis(5));
        assert_eq!(plan.stall, Duration::from_millis(7));
        assert_eq!(plan.seed(), 0);
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for (spec, says) in [
            ("", "empty"),
            ("seed", "`seed` is not key=value"),
            ("seed=x", "`seed` must be a whole number"),
            ("rate=2", "`rate` must be a fraction 0 to 1, not `2`"),
            ("503=-0.1", "`503` must be a fraction"),
            ("stall=NaN", "`stall` must be a fraction"),
            ("boom=0.1", "unknown key `boom`; the keys are seed, rate"),
            ("429=0.1,429=0.2", "`429` is given twice"),
            ("429=0.7,503=0.7", "add up to"),
            (
                "retry-after=3601",
                "`retry-after` must be a whole number 0 to 3600",
            ),
            ("latency-ms=1.5", "`latency-ms` must be a whole number"),
            ("stall-ms=-1", "`stall-ms`"),
        ] {
            let err = spec.parse::<FaultPlan>().unwrap_err();
            assert!(err.contains(says), "{spec}: {err}");
        }
        let built = FaultPlan::new(1).with(FaultKind::Latency, 1.5);
        assert!(
            built
                .check()
                .unwrap_err()
                .contains("latency must be 0 to 1")
        );
        let slow = FaultPlan::new(1).latency(Duration::from_secs(61));
        assert!(
            slow.check()
                .unwrap_err()
                .contains("latency-ms must be at most 60000")
        );
    }

    #[test]
    fn json_bodies() {
        let plan = FaultPlan::from_json(br#"{"seed": 3, "rate": 0.3, "stall-ms": 10}"#).unwrap();
        assert_eq!(plan.seed(), 3);
        assert_eq!(plan.stall, Duration::from_millis(10));
        let again = FaultPlan::from_json(plan.to_json().to_string().as_bytes()).unwrap();
        assert_eq!((again.seed, again.stall), (plan.seed, plan.stall));
        for kind in FaultKind::ALL {
            assert!((again.fraction(kind) - plan.fraction(kind)).abs() < 1e-12);
        }
        assert_eq!(
            FaultPlan::from_json(br#""seed=3,503=1""#)
                .unwrap()
                .fraction(FaultKind::Unavailable),
            1.0
        );
        assert!(
            FaultPlan::from_json(br#"{"seed": "3"}"#)
                .unwrap_err()
                .contains("`seed` must be a number")
        );
        assert!(
            FaultPlan::from_json(b"[1]")
                .unwrap_err()
                .contains("JSON object")
        );
        assert!(
            FaultPlan::from_json(b"{")
                .unwrap_err()
                .contains("JSON object")
        );
    }

    #[test]
    fn decisions_follow_the_seed_and_the_fractions() {
        let plan = FaultPlan::new(42).with_rate(0.6);
        let draws: Vec<_> = (0..10_000).map(|n| pick(&plan, n)).collect();
        let again: Vec<_> = (0..10_000).map(|n| pick(&plan, n)).collect();
        assert_eq!(draws, again);
        let other: Vec<_> = (0..10_000)
            .map(|n| pick(&FaultPlan::new(43).with_rate(0.6), n))
            .collect();
        assert_ne!(draws, other);
        for kind in FaultKind::ALL {
            let share = draws.iter().filter(|d| **d == Some(kind)).count() as f64 / 10_000.0;
            assert!((share - 0.1).abs() < 0.02, "{kind}: {share}");
        }
        let none = draws.iter().filter(|d| d.is_none()).count() as f64 / 10_000.0;
        assert!((none - 0.4).abs() < 0.03, "{none}");
        assert!((0..1000).all(|n| pick(&FaultPlan::new(1), n).is_none()));
    }
}
