//! Default names, addresses and limits from the contract (`docs/protocol.md`).
//!
//! Kept in one place so that the agent, the bridge, the TUI, the scripts and the
//! tests cannot drift apart on a channel name or a port.

/// Redis URL used when `REDIS_URL` is not set.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
/// Pub/sub channel every event is published on (`ORCH_CHANNEL`).
pub const DEFAULT_CHANNEL: &str = "orchestrator_events";
/// Capped stream every event is appended to, for replay (`ORCH_STREAM`).
pub const DEFAULT_STREAM: &str = "orchestrator_events:log";
/// Approximate cap of the replay stream (`ORCH_STREAM_MAXLEN`).
pub const DEFAULT_STREAM_MAXLEN: u64 = 10_000;
/// Agent HTTP address (`ORCH_AGENT_LISTEN`).
pub const DEFAULT_AGENT_LISTEN: &str = "127.0.0.1:9001";
/// Bridge HTTP and WebSocket address (`ORCH_BRIDGE_LISTEN`).
pub const DEFAULT_BRIDGE_LISTEN: &str = "127.0.0.1:8000";
/// Where the TUI connects by default (`ORCH_WS_URL`).
pub const DEFAULT_WS_URL: &str = "ws://127.0.0.1:8000/ws/orchestrator";
/// WebSocket path served by the bridge.
pub const WS_PATH: &str = "orchestrator";
/// Default agent name, the `agent` field of every event (`ORCH_AGENT_NAME`).
pub const DEFAULT_AGENT_NAME: &str = "orchestrator";

/// The key that holds the stream's epoch: a random id created beside the stream
/// when absent. When Redis loses its data the epoch changes, which tells a
/// resuming client that history was reset rather than silently incomplete.
pub fn epoch_key(stream: &str) -> String {
    format!("{stream}:epoch")
}

/// Removes the password from a Redis URL so it can be logged or shown in
/// `/healthz`: `redis://user:secret@host` becomes `redis://user:***@host`,
/// and a Sentinel URL's `?sentinel_password=secret` becomes `=***`.
pub fn redact_url(url: &str) -> String {
    let redacted = redact_userinfo(url);
    match redacted.find("sentinel_password=") {
        Some(at) => {
            let start = at + "sentinel_password=".len();
            let end = redacted[start..]
                .find(['&', '#'])
                .map_or(redacted.len(), |i| start + i);
            format!("{}***{}", &redacted[..start], &redacted[end..])
        }
        None => redacted,
    }
}

fn redact_userinfo(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let userinfo = &authority[..at];
    let redacted = match userinfo.find(':') {
        Some(colon) => format!("{}:***", &userinfo[..colon]),
        None => "***".to_string(),
    };
    format!("{}{}@{}", &url[..scheme_end + 3], redacted, &rest[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(
            redact_url("redis://user:s3cret@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(redact_url("rediss://:pw@host"), "rediss://:***@host");
        assert_eq!(redact_url("redis://token@host"), "redis://***@host");
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(
            redact_url("redis+sentinel://u:pw@h1:1,h2:2/m?sentinel_password=s3&db=1"),
            "redis+sentinel://u:***@h1:1,h2:2/m?sentinel_password=***&db=1"
        );
    }

    #[test]
    fn epoch_key_sits_beside_the_stream() {
        assert_eq!(epoch_key(DEFAULT_STREAM), "orchestrator_events:log:epoch");
    }
}

/// Parses a duration flag: `250ms`, `2s`, `1m` or a bare number of seconds
/// (fractions allowed). The one syntax of every duration flag of every binary.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 500ms, 20s, 1m)"))?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit {unit:?} (use ms, s or m)")),
    };
    std::time::Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

#[cfg(test)]
mod duration_tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5h").is_err());
    }
}
