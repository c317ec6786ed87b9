//! Emulator-only routes under `/_emulator/`, not part of Key Vault's API and
//! not behind authentication:
//!
//! * `GET /_emulator/clock` answers `{"now": <unix seconds>, "offsetSeconds": <n>}`.
//! * `POST /_emulator/clock/advance` with `{"seconds": <n>}` moves the virtual
//!   clock forward by `n` seconds, purges what became due, and answers like
//!   `GET /_emulator/clock`.
//! * `GET /_emulator/export` answers the import document of the current
//!   state (secret values and key material included), see `seed`. It takes
//!   the service's authentication and, with RBAC enforced, the right to
//!   start a full backup of every HSM.
//! * `GET`, `PUT` and `DELETE /_emulator/faults`: the fault plan and its
//!   counters, see `faults`.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::clock::Clock;
use crate::error::{ServiceError, json_response};
use crate::faults::{self, Faults};
use crate::server::{HttpResponse, Request};
use crate::store::{META, Op, Store};

/// The path prefix of the admin routes.
pub(crate) const PREFIX: &str = "/_emulator/";
/// The export route, which needs the service's authentication.
pub(crate) const EXPORT: &str = "/_emulator/export";

/// A task run after the clock moves and every 30 seconds (purging what is
/// due).
type Sweeper = Box<dyn Fn() + Send + Sync>;

/// What `GET /_emulator/export` answers: the state of every service.
pub(crate) type Exporter = Box<dyn Fn() -> Value + Send + Sync>;

/// Who, of the authenticated callers (by object id), may read the export.
pub(crate) type ExportGuard = Box<dyn Fn(Option<&str>) -> Result<(), ServiceError> + Send + Sync>;

/// The clock and what depends on it.
pub(crate) struct Admin {
    pub(crate) clock: Clock,
    store: Arc<Store>,
    sweepers: Mutex<Vec<Sweeper>>,
    exporter: std::sync::OnceLock<Exporter>,
    /// Set when RBAC is enforced: the export holds every key.
    export_guard: std::sync::OnceLock<ExportGuard>,
    /// Held while the clock moves, so offsets are stored in order.
    advancing: Mutex<()>,
    /// The fault plan of every endpoint.
    pub(crate) faults: Arc<Faults>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").field("clock", &self.clock).finish()
    }
}

impl Admin {
    /// Restores a persisted clock offset.
    pub(crate) fn new(clock: Clock, store: Arc<Store>) -> Result<Self, crate::Error> {
        if let Some(raw) = store.get(META, "clock_offset")?
            && let Some(offset) = std::str::from_utf8(&raw).ok().and_then(|s| s.parse().ok())
            && offset > clock.offset()
        {
            clock.set_offset(offset);
        }
        Ok(Self {
            clock,
            store,
            sweepers: Mutex::new(Vec::new()),
            exporter: std::sync::OnceLock::new(),
            export_guard: std::sync::OnceLock::new(),
            advancing: Mutex::new(()),
            faults: Arc::default(),
        })
    }

    /// Registers a task to run after every clock move and sweep.
    pub(crate) fn on_advance(&self, sweeper: Sweeper) {
        self.sweepers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(sweeper);
    }

    /// Limits `GET /_emulator/export` to the callers `guard` lets through
    /// (once).
    pub(crate) fn guard_export(&self, guard: ExportGuard) {
        let _ = self.export_guard.set(guard);
    }

    /// Whether `caller` (authenticated) may read the export.
    pub(crate) fn may_export(&self, caller: Option<&str>) -> Result<(), ServiceError> {
        self.export_guard
            .get()
            .map_or(Ok(()), |guard| guard(caller))
    }

    /// Sets what `GET /_emulator/export` answers (once).
    pub(crate) fn set_exporter(&self, exporter: Exporter) {
        let _ = self.exporter.set(exporter);
    }

    /// Stores the new clock offset, then moves the clock forward and runs
    /// the sweepers. When the offset cannot be stored the clock stays where
    /// it was (an answered move is never lost on a restart).
    pub(crate) fn advance(&self, seconds: i64) -> Result<i64, ServiceError> {
        let _one = self.advancing.lock().unwrap_or_else(|e| e.into_inner());
        let seconds = seconds.max(0);
        let offset = self.clock.offset().saturating_add(seconds);
        let offset = offset.to_string().into_bytes();
        (self.store).save(vec![Op::Put(META, "clock_offset".into(), offset)])?;
        let now = self.clock.advance(seconds);
        self.sweep();
        Ok(now)
    }

    /// Runs the sweepers (after a clock move, and every 30 seconds).
    pub(crate) fn sweep(&self) {
        for sweep in self
            .sweepers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            sweep();
        }
    }

    fn clock_body(&self) -> Value {
        json!({"now": self.clock.now(), "offsetSeconds": self.clock.offset()})
    }

    /// Serves an admin request (the path starts with [`PREFIX`]).
    pub(crate) fn handle(&self, req: &Request) -> HttpResponse {
        let path = req.path.trim_end_matches('/');
        match (req.method.as_str(), path) {
            (_, faults::ROUTE) => self.faults.handle(req),
            ("GET", "/_emulator/clock") => json_response(200, &self.clock_body()),
            ("GET", "/_emulator/export") => match self.exporter.get() {
                Some(export) => json_response(200, &export()),
                None => ServiceError::not_found("Nothing to export.").into_response(),
            },
            ("POST", "/_emulator/clock/advance") => {
                match parse_seconds(&req.body).and_then(|s| self.advance(s)) {
                    Ok(_) => json_response(200, &self.clock_body()),
                    Err(e) => e.into_response(),
                }
            }
            (_, "/_emulator/clock" | "/_emulator/clock/advance" | "/_emulator/export") => {
                ServiceError::new(405, "MethodNotAllowed", "Method not allowed.").into_response()
            }
            _ => ServiceError::not_found("Unknown emulator route.").into_response(),
        }
    }
}

/// Reads `{"seconds": n}` (or a bare integer); `n` from 0 to 100 years.
fn parse_seconds(body: &[u8]) -> Result<i64, ServiceError> {
    let bad = || {
        ServiceError::bad_parameter(
            "The body must be {\"seconds\": <non-negative integer, at most 100 years>}.",
        )
    };
    let v: Value = serde_json::from_slice(body).map_err(|_| bad())?;
    let n = match &v {
        Value::Object(m) => m.get("seconds").and_then(Value::as_i64),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
    .ok_or_else(bad)?;
    if !(0..=100 * 366 * 86_400).contains(&n) {
        return Err(bad());
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_body() {
        assert_eq!(parse_seconds(br#"{"seconds": 60}"#).unwrap(), 60);
        assert_eq!(parse_seconds(b"60").unwrap(), 60);
        assert!(parse_seconds(br#"{"seconds": -1}"#).is_err());
        assert!(parse_seconds(br#"{"seconds": "1"}"#).is_err());
        assert!(parse_seconds(b"").is_err());
    }

    #[test]
    fn a_move_that_cannot_be_stored_does_not_happen() {
        let store = Arc::new(Store::in_memory());
        let admin = Admin::new(Clock::new(), store.clone()).unwrap();
        store.fail_commits(true);
        assert_eq!(admin.advance(60).unwrap_err().status, 500);
        assert_eq!(admin.clock.offset(), 0);
        store.fail_commits(false);
        admin.advance(60).unwrap();
        assert_eq!(admin.clock.offset(), 60);
    }
}
