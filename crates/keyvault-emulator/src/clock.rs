//! The emulator's clock: wall-clock time plus an offset that tests can move
//! forward, so expiry and purge dates can be reached without waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A clock in whole Unix seconds, shared by every part of one emulator.
///
/// Cloning gives another handle to the same clock.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// A clock that starts at wall-clock time.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current emulated time, in Unix seconds.
    pub fn now(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        wall.saturating_add(self.offset.load(Ordering::SeqCst))
    }

    /// Moves the clock forward by `seconds` (negative values are ignored) and
    /// returns the new time.
    pub fn advance(&self, seconds: i64) -> i64 {
        if seconds > 0 {
            let _ = self
                .offset
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                    Some(o.saturating_add(seconds))
                });
        }
        self.now()
    }

    /// The offset from wall-clock time, in seconds.
    pub fn offset(&self) -> i64 {
        self.offset.load(Ordering::SeqCst)
    }

    /// Sets the offset from wall-clock time (used when state is reloaded).
    pub(crate) fn set_offset(&self, offset: i64) {
        self.offset.store(offset.max(0), Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_forward_only() {
        let clock = Clock::new();
        let before = clock.now();
        let after = clock.advance(3600);
        assert!(after >= before + 3600);
        clock.advance(-100_000);
        assert_eq!(clock.offset(), 3600);
    }
}
