//! When to ask again: which answers are worth a retry (429 and 5xx), and how
//! long to wait first — the server's `Retry-After` when it gives one,
//! exponential backoff otherwise, never more than [`MAX_WAIT`].

use std::time::Duration;

use orchestrator_events::Backoff;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

/// The longest wait before a retry, whatever the server asks for: a run that
/// would sit silent for minutes is worse than one that fails and says why.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// First backoff step; doubled for each further attempt.
const BASE_WAIT: Duration = Duration::from_millis(500);

/// Whether an answer with this status may succeed if asked again: rate limits
/// and server errors. Other 4xx are the request's fault and would fail again.
pub fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// How long to wait before retry number `attempt` (0 for the first retry).
pub fn wait(attempt: u32, headers: &HeaderMap) -> Duration {
    let backoff = Backoff {
        initial: BASE_WAIT,
        max: MAX_WAIT,
        factor: 2.0,
    };
    let wait = retry_after(headers).unwrap_or_else(|| backoff.ceiling(attempt.saturating_add(1)));
    wait.min(MAX_WAIT)
}

/// The server's requested wait: `retry-after-ms` (OpenAI) or `Retry-After` in
/// seconds. The HTTP-date form of `Retry-After` is not read (backoff applies).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| -> Option<f64> {
        let value = headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()?;
        (value.is_finite() && value >= 0.0).then_some(value)
    };
    if let Some(ms) = number("retry-after-ms") {
        return Some(Duration::from_secs_f64(
            (ms / 1000.0).min(MAX_WAIT.as_secs_f64()),
        ));
    }
    number("retry-after").map(|secs| Duration::from_secs_f64(secs.min(MAX_WAIT.as_secs_f64())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_rate_limits_and_server_errors_are_retried() {
        assert!(retryable(StatusCode::TOO_MANY_REQUESTS));
        assert!(retryable(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(retryable(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!retryable(StatusCode::BAD_REQUEST));
        assert!(!retryable(StatusCode::UNAUTHORIZED));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let none = HeaderMap::new();
        assert_eq!(wait(0, &none), Duration::from_millis(500));
        assert_eq!(wait(1, &none), Duration::from_secs(1));
        assert_eq!(wait(3, &none), Duration::from_secs(4));
        assert_eq!(wait(40, &none), MAX_WAIT);
    }

    #[test]
    fn the_servers_retry_after_wins_within_the_cap() {
        assert_eq!(
            wait(5, &headers(&[("retry-after", "2")])),
            Duration::from_secs(2)
        );
        assert_eq!(
            wait(0, &headers(&[("retry-after", "0.25")])),
            Duration::from_millis(250)
        );
        assert_eq!(wait(0, &headers(&[("retry-after", "3600")])), MAX_WAIT);
        assert_eq!(
            wait(
                0,
                &headers(&[("retry-after-ms", "120"), ("retry-after", "9")])
            ),
            Duration::from_millis(120)
        );
        let date = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
        assert_eq!(wait(0, &date), Duration::from_millis(500));
        assert_eq!(
            wait(0, &headers(&[("retry-after", "-1")])),
            Duration::from_millis(500)
        );
    }
}
