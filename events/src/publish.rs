//! The one server-side step that appends events to the stream and publishes them.
//!
//! The agent, the bridge's tests, the benchmarks and the fault suite all publish
//! through this script, so there is exactly one definition of "an event reached
//! Redis": it has a stream id, it is in the stream, and it went out on the
//! channel with that id as its first field.

use redis::aio::ConnectionLike;

use crate::id::StreamId;

/// The stream entry field that holds an event's frame (written by `publish.lua`).
pub const STREAM_FIELD: &str = "event";

/// The Lua source (see `publish.lua` for the contract).
pub const PUBLISH_LUA: &str = include_str!("publish.lua");

/// Where events go: channel, stream and cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Pub/sub channel (`ORCH_CHANNEL`).
    pub channel: String,
    /// Replay stream (`ORCH_STREAM`).
    pub stream: String,
    /// Approximate cap of the stream (`ORCH_STREAM_MAXLEN`).
    pub maxlen: u64,
}

impl Default for Target {
    fn default() -> Self {
        Target {
            channel: crate::config::DEFAULT_CHANNEL.into(),
            stream: crate::config::DEFAULT_STREAM.into(),
            maxlen: crate::config::DEFAULT_STREAM_MAXLEN,
        }
    }
}

/// The script, loaded once and invoked by hash (`EVALSHA`, falling back to
/// `EVAL` after a Redis restart flushed the script cache).
pub fn script() -> redis::Script {
    redis::Script::new(PUBLISH_LUA)
}

/// Publishes a batch of events (JSON objects without `id`) in one round trip and
/// returns their stream ids, in order. An empty batch does nothing.
pub async fn publish_batch<C: ConnectionLike>(
    conn: &mut C,
    script: &redis::Script,
    target: &Target,
    events: &[String],
) -> redis::RedisResult<Vec<StreamId>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut invocation = script.key(&target.stream);
    invocation.arg(&target.channel).arg(target.maxlen);
    for event in events {
        invocation.arg(event);
    }
    let ids: Vec<String> = invocation.invoke_async(conn).await?;
    ids.iter()
        .map(|s| {
            s.parse().map_err(|e: crate::id::InvalidStreamId| {
                redis::RedisError::from((
                    redis::ErrorKind::Parse,
                    "publish script returned a bad id",
                    e.to_string(),
                ))
            })
        })
        .collect()
}

/// The inverse of the script's splice: a frame as stored or published
/// (`{"id":"…",REST`) back to the body as it was handed to [`publish_batch`]
/// (`{REST`), so a sender can tell which of its events landed. `None` when the
/// frame does not start with the id the script writes (someone else's entry).
/// Kept beside `publish.lua` so the frame's shape is defined in one place.
pub fn strip_id(frame: &str) -> Option<String> {
    let rest = frame.strip_prefix("{\"id\":\"")?;
    let end = rest.find('"')?;
    let after = &rest[end + 1..];
    if after == "}" {
        return Some("{}".into());
    }
    after.strip_prefix(',').map(|tail| format!("{{{tail}"))
}

/// Which end of the stream [`read_stream`] starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEnd {
    /// `XRANGE`: oldest first.
    Oldest,
    /// `XREVRANGE`: newest first.
    Newest,
}

/// Reads stored events: up to `count` entries (all when `None`) from the `from`
/// end, in that order. Each is `(entry id, frame)`, the frame byte-for-byte what
/// went out live. Entries without [`STREAM_FIELD`] (written by someone else) are
/// skipped. The one reader of what [`publish_batch`] writes, so the field name
/// and the entry shape are defined in one place.
pub async fn read_stream<C: ConnectionLike>(
    conn: &mut C,
    stream: &str,
    from: StreamEnd,
    count: Option<u64>,
) -> redis::RedisResult<Vec<(StreamId, String)>> {
    let mut cmd = match from {
        StreamEnd::Oldest => {
            let mut c = redis::cmd("XRANGE");
            c.arg(stream).arg("-").arg("+");
            c
        }
        StreamEnd::Newest => {
            let mut c = redis::cmd("XREVRANGE");
            c.arg(stream).arg("+").arg("-");
            c
        }
    };
    if let Some(count) = count {
        cmd.arg("COUNT").arg(count);
    }
    let reply: redis::streams::StreamRangeReply = cmd.query_async(conn).await?;
    Ok(reply
        .ids
        .into_iter()
        .filter_map(|entry| {
            let id = entry.id.parse::<StreamId>().ok()?;
            let frame = entry.get::<String>(STREAM_FIELD)?;
            Some((id, frame))
        })
        .collect())
}

/// How many of `batch` (oldest first, bodies as handed to [`publish_batch`])
/// are already in `stream`: the length of the prefix up to the newest of them
/// found among the stream's newest `batch.len() + lookback` entries (others
/// may have appended after it). What a sender whose call's outcome is unknown
/// (a lost connection, a timeout, a replica shortfall) checks before sending
/// again, so nothing is published twice.
pub async fn landed_prefix<C: ConnectionLike>(
    conn: &mut C,
    stream: &str,
    batch: &[String],
    lookback: u64,
) -> redis::RedisResult<usize> {
    if batch.is_empty() {
        return Ok(0);
    }
    let count = batch.len() as u64 + lookback;
    let tail = read_stream(conn, stream, StreamEnd::Newest, Some(count)).await?;
    let stored: std::collections::HashSet<String> = tail
        .iter()
        .filter_map(|(_, frame)| strip_id(frame))
        .collect();
    Ok(batch
        .iter()
        .rposition(|body| stored.contains(body))
        .map_or(0, |i| i + 1))
}

/// `WAIT replicas timeout`: how many replicas acknowledged every write made
/// so far on THIS connection, waiting at most `timeout` (never 0, which would
/// mean forever). A fresh connection has written nothing, so its answer says
/// nothing about earlier writes: write on it first ([`replication_probe`]).
pub async fn wait_replicas<C: ConnectionLike>(
    conn: &mut C,
    replicas: usize,
    timeout: std::time::Duration,
) -> redis::RedisResult<usize> {
    let ms = timeout.as_millis().clamp(1, u64::MAX as u128) as u64;
    redis::cmd("WAIT")
        .arg(replicas)
        .arg(ms)
        .query_async(conn)
        .await
}

/// A write with no effect on any key (a `PUBLISH` on `<channel>:replication`,
/// which replicas receive like any write), so that a following
/// [`wait_replicas`] on this connection covers everything the master holds
/// now, including a batch written on an earlier connection.
pub async fn replication_probe<C: ConnectionLike>(
    conn: &mut C,
    target: &Target,
) -> redis::RedisResult<()> {
    let _: i64 = redis::cmd("PUBLISH")
        .arg(format!("{}:replication", target.channel))
        .arg("probe")
        .query_async(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_id_gives_back_the_body_as_sent() {
        assert_eq!(
            strip_id(r#"{"id":"1-0","type":"x","a":1}"#).as_deref(),
            Some(r#"{"type":"x","a":1}"#)
        );
        assert_eq!(strip_id(r#"{"id":"1-0"}"#).as_deref(), Some("{}"));
        assert_eq!(strip_id(r#"{"type":"x"}"#), None);
    }
}
