//! Formatting Unix times, one way for every binary (on chrono): RFC 3339 for
//! A2A, `HH:MM:SS.mmm` (UTC) for `orchestrator-listen`, and `HH:MM:SS` in a
//! chosen zone for the TUI's time column.
//!
//! The TUI's time zone is injected rather than read inside the drawing code, so
//! snapshot tests draw the same screen on every machine (they use UTC) while
//! the real monitor shows local time. The agent's formats are UTC only, on
//! purpose: the same instant reads the same on every machine of a multi-host demo.

use chrono::{DateTime, FixedOffset, Local, Offset, Utc};

/// Which zone times are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// The machine's local zone (`TZ`, `/etc/localtime`).
    Local,
    /// A fixed offset (UTC in tests).
    Fixed(FixedOffset),
}

impl Zone {
    /// UTC, for tests and for people who prefer it.
    pub fn utc() -> Zone {
        Zone::Fixed(Utc.fix())
    }

    /// `HH:MM:SS` of `unix_secs` in this zone; `--:--:--` for impossible times.
    pub fn hms(self, unix_secs: f64) -> String {
        let Some(utc) = to_utc(unix_secs) else {
            return "--:--:--".into();
        };
        match self {
            Zone::Local => utc.with_timezone(&Local).format("%H:%M:%S").to_string(),
            Zone::Fixed(off) => utc.with_timezone(&off).format("%H:%M:%S").to_string(),
        }
    }
}

fn to_utc(unix_secs: f64) -> Option<DateTime<Utc>> {
    if !unix_secs.is_finite() {
        return None;
    }
    let ms = (unix_secs * 1000.0).round();
    if ms.abs() > 8.0e15 {
        return None;
    }
    DateTime::<Utc>::from_timestamp_millis(ms as i64)
}

/// `2026-11-25T15:58:41.123Z` for seconds since the epoch (the epoch itself
/// for a time chrono cannot represent, e.g. NaN).
pub fn rfc3339(secs: f64) -> String {
    to_utc(secs)
        .unwrap_or(DateTime::UNIX_EPOCH)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// The current time as RFC 3339.
pub fn now_rfc3339() -> String {
    rfc3339(crate::clock::now_secs_f64())
}

/// `15:58:41.123` (UTC) for seconds since the epoch.
pub fn clock(secs: f64) -> String {
    to_utc(secs)
        .unwrap_or(DateTime::UNIX_EPOCH)
        .format("%H:%M:%S%.3f")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1703123456.789), "2023-12-21T01:50:56.789Z");
        assert_eq!(rfc3339(951782400.0), "2000-02-29T00:00:00.000Z");
        assert_eq!(clock(1703123456.789), "01:50:56.789");
    }

    #[test]
    fn formats_in_the_given_zone() {
        assert_eq!(Zone::utc().hms(1_703_123_456.789), "01:50:56");
        let cet = FixedOffset::east_opt(3600)
            .map(Zone::Fixed)
            .expect("valid offset");
        assert_eq!(cet.hms(1_703_123_456.0), "02:50:56");
        assert_eq!(Zone::utc().hms(f64::NAN), "--:--:--");
        assert_eq!(Zone::utc().hms(1e300), "--:--:--");
    }
}
