//! Formatting Unix times without a date library: RFC 3339 for A2A, and
//! `HH:MM:SS.mmm` for one-line event listings. UTC only, on purpose: the
//! same instant reads the same on every machine of a multi-host demo.

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2026-11-25T15:58:41.123Z` for seconds since the epoch.
pub fn rfc3339(secs: f64) -> String {
    let ms = (secs * 1000.0).round() as i64;
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// The current time as RFC 3339.
pub fn now_rfc3339() -> String {
    rfc3339(orchestrator_events::clock::now_secs_f64())
}

/// `15:58:41.123` (UTC) for seconds since the epoch.
pub fn clock(secs: f64) -> String {
    rfc3339(secs)[11..23].to_string()
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
}
