//! The one server-side step that appends events to the stream and publishes them.
//!
//! The agent, the bridge's tests, the benchmarks and the fault suite all publish
//! through this script, so there is exactly one definition of "an event reached
//! Redis": it has a stream id, it is in the stream, and it went out on the
//! channel with that id as its first field.

use redis::aio::ConnectionLike;

use crate::id::StreamId;

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
