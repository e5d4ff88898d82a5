//! The `/ws/orchestrator` query string: filters, replay position, epoch, token.
//!
//! Parsed completely before the upgrade, so a bad value is an HTTP 400 with a
//! message that names the parameter — not a WebSocket that opens and closes.
//! Unknown parameters are ignored (a cache-buster or a newer client's option
//! must not break the connection); a parameter given twice is an error.

use orchestrator_events::{Filter, StreamId};

/// The parsed query of one WebSocket request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WsQuery {
    /// `types`, `agent`, `run_id`.
    pub filter: Filter,
    /// `since=<id>`: replay everything after this id.
    pub since: Option<StreamId>,
    /// `last=<n>`: replay the newest n matching events.
    pub last: Option<usize>,
    /// `epoch=<e>`: the epoch the client last saw (meaningful with `since`).
    pub epoch: Option<String>,
    /// `token=<t>`: access token (also accepted as `Authorization: Bearer`).
    pub token: Option<String>,
}

/// A parameter that cannot be used; the message is the 400 body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// A parameter appears twice.
    #[error("{0}: given more than once")]
    Repeated(&'static str),
    /// A filter list is unusable.
    #[error(transparent)]
    Filter(#[from] orchestrator_events::filter::FilterError),
    /// `since` is not a stream id.
    #[error("since: {0}")]
    Since(#[from] orchestrator_events::id::InvalidStreamId),
    /// `last` is not a number in range.
    #[error("last: expected a whole number from 0 to {max}, got {got:?}")]
    Last {
        /// The stream's cap.
        max: u64,
        /// What was sent (truncated).
        got: String,
    },
    /// `since` and `last` together.
    #[error("since and last cannot be combined: pick one replay start")]
    SinceAndLast,
    /// `epoch` is not an epoch.
    #[error("epoch: expected 1 to 64 letters, digits, '-' or '_'")]
    Epoch,
}

const PARAMS: [&str; 7] = [
    "types", "agent", "run_id", "since", "last", "epoch", "token",
];

/// Parses `raw` (without the `?`). `stream_maxlen` bounds `last`.
pub fn parse(raw: &str, stream_maxlen: u64) -> Result<WsQuery, QueryError> {
    let mut seen = [false; PARAMS.len()];
    let mut q = WsQuery::default();
    for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        let Some(idx) = PARAMS.iter().position(|p| *p == key) else {
            continue;
        };
        let name = PARAMS[idx];
        if std::mem::replace(&mut seen[idx], true) {
            return Err(QueryError::Repeated(name));
        }
        match name {
            "types" => q.filter.types = Filter::parse_list("types", &value)?,
            "agent" => q.filter.agents = Filter::parse_list("agent", &value)?,
            "run_id" => q.filter.run_ids = Filter::parse_list("run_id", &value)?,
            "since" => q.since = Some(value.trim().parse()?),
            "last" => {
                let bad = || QueryError::Last {
                    max: stream_maxlen,
                    got: value.chars().take(32).collect(),
                };
                let n: u64 = value.trim().parse().map_err(|_| bad())?;
                if n > stream_maxlen {
                    return Err(bad());
                }
                q.last = Some(usize::try_from(n).map_err(|_| bad())?);
            }
            "epoch" => {
                let ok = (1..=64).contains(&value.len())
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !ok {
                    return Err(QueryError::Epoch);
                }
                q.epoch = Some(value.into_owned());
            }
            _ => q.token = Some(value.into_owned()),
        }
    }
    if q.since.is_some() && q.last.is_some() {
        return Err(QueryError::SinceAndLast);
    }
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_everything() {
        let q = parse(
            "types=tool_use,reasoning&agent=planner&run_id=r1&since=5-1&epoch=abc&token=t%2Bx&zzz=1",
            10_000,
        )
        .expect("valid");
        assert_eq!(q.filter.types, vec!["tool_use", "reasoning"]);
        assert_eq!(q.filter.agents, vec!["planner"]);
        assert_eq!(q.filter.run_ids, vec!["r1"]);
        assert_eq!(q.since, Some(StreamId::new(5, 1)));
        assert_eq!(q.epoch.as_deref(), Some("abc"));
        assert_eq!(q.token.as_deref(), Some("t+x"));
        assert_eq!(parse("", 10).expect("empty"), WsQuery::default());
    }

    #[test]
    fn refuses_bad_values_with_the_parameter_named() {
        let err = |raw: &str| parse(raw, 100).expect_err(raw).to_string();
        assert!(err("since=yesterday").starts_with("since:"));
        assert!(err("last=-1").starts_with("last:"));
        assert!(err("last=101").contains("0 to 100"));
        assert!(err("last=1&since=1-0").contains("cannot be combined"));
        assert!(err("types=a b").starts_with("types:"));
        assert!(err("agent=x&agent=y").contains("more than once"));
        assert!(err("epoch=%00").starts_with("epoch:"));
        assert_eq!(parse("last=0", 100).expect("zero").last, Some(0));
    }
}
