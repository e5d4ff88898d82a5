//! Wall-clock times for the log's time column.
//!
//! The time zone is injected rather than read inside the drawing code, so
//! snapshot tests draw the same screen on every machine (they use UTC) while
//! the real monitor shows local time.

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

#[cfg(test)]
mod tests {
    use super::*;

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
