//! Retry policy details: which statuses are retried, how long to wait.

use std::time::Duration;

use http::{HeaderMap, StatusCode};
use time::{OffsetDateTime, format_description::well_known::Rfc2822};

use crate::{RetryMode, RetryOptions};

/// The statuses azure-core retries: 408, 429, 500, 502, 503, 504 and 506
/// to 599 (not 501 Not Implemented nor 505 HTTP Version Not Supported).
pub(crate) fn is_retriable_status(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        408 | 429 | 500 | 502 | 503 | 504 | 506..=599
    )
}

/// Whether a response asks to be tried again: a retriable status, or any
/// failure status that says when to come back (`Retry-After`,
/// `retry-after-ms`, `x-ms-retry-after-ms`), such as 413.
pub(crate) fn should_retry(status: StatusCode, headers: &HeaderMap) -> bool {
    is_retriable_status(status)
        || (status.as_u16() >= 400
            && ["retry-after", "retry-after-ms", "x-ms-retry-after-ms"]
                .iter()
                .any(|h| headers.contains_key(*h)))
}

/// Statuses that say the request was not processed, so even a
/// non-idempotent request may be sent again.
pub(crate) fn not_processed(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 413 | 429 | 503)
}

/// Exponential backoff with jitter: `initial * 2^(attempt-1)`, capped at
/// `max_delay`, multiplied by a random factor in `[0.8, 1.2)` (still capped,
/// so a `max_delay` of [`Duration::MAX`] cannot overflow).
/// In [`RetryMode::Fixed`], `initial_delay` (capped) every time.
pub(crate) fn backoff(opts: &RetryOptions, attempt: u32) -> Duration {
    if opts.mode == RetryMode::Fixed {
        return opts.initial_delay.min(opts.max_delay);
    }
    let exp = attempt.saturating_sub(1).min(20);
    let base = opts
        .initial_delay
        .saturating_mul(1u32 << exp)
        .min(opts.max_delay);
    let bits = crate::random::next_u64();
    let factor = 0.8 + 0.4 * (bits as f64 / u64::MAX as f64);
    seconds(base.as_secs_f64() * factor).min(opts.max_delay)
}

/// `secs` seconds (finite and not negative), saturating at [`Duration::MAX`]
/// where [`Duration::from_secs_f64`] would panic.
fn seconds(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

/// The delay the service asked for: `x-ms-retry-after-ms`, `retry-after-ms`,
/// then `Retry-After` in seconds or as an HTTP date. A delay too large for a
/// [`Duration`] is [`Duration::MAX`]: longer than any budget.
pub(crate) fn retry_after(headers: &HeaderMap, now: OffsetDateTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    for name in ["x-ms-retry-after-ms", "retry-after-ms"] {
        if let Some(ms) = text(name).and_then(|v| v.parse::<f64>().ok())
            && ms.is_finite()
            && ms >= 0.0
        {
            return Some(seconds(ms / 1000.0));
        }
    }
    let v = text("retry-after")?;
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| seconds(secs));
    }
    let at = OffsetDateTime::parse(v, &Rfc2822).ok()?;
    let wait = at - now;
    Some(if wait.is_negative() {
        Duration::ZERO
    } else {
        Duration::try_from(wait).unwrap_or(Duration::ZERO)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use time::macros::datetime;

    #[test]
    fn retry_after_forms() {
        let now = datetime!(2015-10-21 07:28:00 UTC);
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(3)));
        h.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:05 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(5)));
        h.insert("x-ms-retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_millis(250)));
        let mut bad = HeaderMap::new();
        bad.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&bad, now), None);
        bad.insert("retry-after", HeaderValue::from_static("-1"));
        assert_eq!(retry_after(&bad, now), None);
    }

    #[test]
    fn huge_retry_after_saturates_instead_of_panicking() {
        let now = datetime!(2015-10-21 07:28:00 UTC);
        for (name, value) in [
            ("retry-after", "1e300"),
            ("retry-after", "18446744073709551616"),
            ("x-ms-retry-after-ms", "1e300"),
            ("retry-after-ms", "1e30"),
        ] {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(value));
            assert_eq!(retry_after(&h, now), Some(Duration::MAX), "{name}: {value}");
        }
    }

    #[test]
    fn backoff_with_an_unbounded_maximum_does_not_overflow() {
        let o = RetryOptions {
            initial_delay: Duration::MAX,
            max_delay: Duration::MAX,
            ..Default::default()
        };
        for attempt in [1, 2, 40] {
            assert!(
                backoff(&o, attempt) >= Duration::MAX.mul_f64(0.5),
                "{attempt}"
            );
        }
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let o = RetryOptions {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            ..Default::default()
        };
        let d1 = backoff(&o, 1);
        assert!(d1 >= Duration::from_millis(80) && d1 <= Duration::from_millis(120));
        let d3 = backoff(&o, 3);
        assert!(d3 >= Duration::from_millis(320) && d3 <= Duration::from_millis(480));
        assert!(backoff(&o, 30) <= Duration::from_millis(500));
    }

    #[test]
    fn status_classes() {
        assert!(is_retriable_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(!is_retriable_status(StatusCode::NOT_FOUND));
        assert!(is_retriable_status(StatusCode::from_u16(508).unwrap()));
        assert!(!is_retriable_status(StatusCode::NOT_IMPLEMENTED));
        assert!(!is_retriable_status(StatusCode::HTTP_VERSION_NOT_SUPPORTED));
        assert!(not_processed(StatusCode::SERVICE_UNAVAILABLE));
        assert!(not_processed(StatusCode::PAYLOAD_TOO_LARGE));
        assert!(!not_processed(StatusCode::BAD_GATEWAY));
        let mut h = HeaderMap::new();
        assert!(!should_retry(StatusCode::PAYLOAD_TOO_LARGE, &h));
        h.insert("retry-after", HeaderValue::from_static("1"));
        assert!(should_retry(StatusCode::PAYLOAD_TOO_LARGE, &h));
        assert!(!should_retry(StatusCode::ACCEPTED, &h));
    }

    #[test]
    fn fixed_mode_keeps_the_delay() {
        let o = RetryOptions {
            mode: RetryMode::Fixed,
            initial_delay: Duration::from_millis(300),
            ..Default::default()
        };
        assert_eq!(backoff(&o, 1), Duration::from_millis(300));
        assert_eq!(backoff(&o, 7), Duration::from_millis(300));
    }
}

#[cfg(test)]
mod properties {
    use http::HeaderValue;
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;

    fn with(name: &'static str, value: &str) -> Option<HeaderMap> {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).ok()?);
        Some(h)
    }

    proptest! {
        #[test]
        fn any_value_parses_without_panicking(
            name in prop::sample::select(vec!["retry-after", "retry-after-ms", "x-ms-retry-after-ms"]),
            value in any::<String>(),
        ) {
            if let Some(h) = with(name, &value) {
                let _ = retry_after(&h, datetime!(2024-01-01 0:00 UTC));
            }
        }

        #[test]
        fn seconds_and_milliseconds_read_back(n in 0u64..10_000_000) {
            let now = datetime!(2024-01-01 0:00 UTC);
            let secs = with("retry-after", &n.to_string()).unwrap();
            prop_assert_eq!(retry_after(&secs, now), Some(Duration::from_secs(n)));
            let ms = with("retry-after-ms", &n.to_string()).unwrap();
            prop_assert_eq!(retry_after(&ms, now), Some(Duration::from_millis(n)));
        }

        #[test]
        fn an_http_date_reads_back_as_the_wait_until_it(ahead in -1_000_000i64..100_000_000) {
            let now = datetime!(2024-01-01 0:00 UTC);
            let at = now + time::Duration::seconds(ahead);
            let text = at.format(&Rfc2822).unwrap();
            let h = with("retry-after", &text).unwrap();
            let want = Duration::from_secs(ahead.max(0).unsigned_abs());
            prop_assert_eq!(retry_after(&h, now), Some(want));
        }
    }
}
