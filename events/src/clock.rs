//! The one wall clock: Unix seconds now, for event timestamps, `server_time`
//! in frames and anything else that stamps a time. A clock before 1970 reads
//! as 0 rather than failing: a timestamp is informative, never a reason to
//! drop an event.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Seconds since the Unix epoch, full precision.
pub fn now_secs_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Seconds since the Unix epoch with millisecond precision: the `timestamp`
/// of an event, as the original Python system wrote it.
pub fn now_secs() -> f64 {
    now_millis() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millisecond_seconds_have_at_most_three_decimals() {
        let s = now_secs();
        assert!(s > 1_600_000_000.0);
        assert_eq!((s * 1000.0).round() / 1000.0, s);
        assert!((now_secs_f64() - s).abs() < 5.0);
    }
}
