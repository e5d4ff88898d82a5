//! Reading the replay stream and its epoch from Redis.
//!
//! One multiplexed, self-reconnecting connection ([`ConnectionManager`]) is
//! shared by every client's replay: requests pipeline on it, and none of them
//! holds a lock. Every call has a deadline, so a hung Redis turns into an error
//! the caller retries, never a stuck client.
//!
//! Behind Sentinel the master can move, and a `ConnectionManager` reconnects
//! to the address it was built for only. So with a Sentinel URL the store keeps
//! a plain multiplexed connection instead, drops it on a lost connection or a
//! `-READONLY` reply, and asks the Sentinels for the master on the next call.

use std::sync::Arc;
use std::time::Duration;

use orchestrator_events::StreamId;
use orchestrator_events::config::epoch_key;
use orchestrator_events::source::{RedisSource, is_connection_lost};
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Value};

/// Deadline of one store call, including a reconnect attempt.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// One stream entry: its id and the `event` field (the frame as published).
#[derive(Debug)]
pub struct Entry {
    /// The entry id.
    pub id: StreamId,
    /// The `event` field; `None` when the entry has no such field.
    pub body: Option<Vec<u8>>,
}

/// What a `since=` replay needs to know about the stream before it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamInfo {
    /// Oldest entry still in the stream.
    pub first: Option<StreamId>,
    /// Newest id removed by `XDEL` (Redis ≥ 7; trimming does not set it).
    pub max_deleted: Option<StreamId>,
    /// Entries in the stream now.
    pub length: Option<u64>,
    /// Entries ever added (Redis ≥ 7): more than `length` means some were removed.
    pub entries_added: Option<u64>,
}

/// The stream's newest id and epoch, for `bridge_hello`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Newest entry (`None`: empty stream).
    pub newest: Option<StreamId>,
    /// The epoch (created when absent).
    pub epoch: String,
}

/// Reads from the stream and its epoch key.
#[derive(Clone)]
pub struct Store {
    conn: Conn,
    source: RedisSource,
    stream: String,
    epoch_key: String,
}

/// How the store reaches Redis.
#[derive(Clone)]
enum Conn {
    /// A plain URL: the self-reconnecting manager, as always.
    Fixed(ConnectionManager),
    /// A Sentinel URL: a connection to the master last named, re-resolved after a loss.
    Following(Arc<tokio::sync::Mutex<Option<MultiplexedConnection>>>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// A store over `source`; connects lazily, so Redis may be down now.
    pub fn new(source: &RedisSource, stream: &str) -> redis::RedisResult<Store> {
        let conn = if source.is_sentinel() {
            Conn::Following(Arc::new(tokio::sync::Mutex::new(None)))
        } else {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(1)))
                .set_response_timeout(Some(Duration::from_secs(2)))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(500));
            // A plain source resolves at once, without I/O.
            let client = source
                .direct_client()
                .ok_or_else(|| redis::RedisError::from((redis::ErrorKind::Io, "no client")))?;
            Conn::Fixed(client.get_connection_manager_lazy(config)?)
        };
        Ok(Store {
            conn,
            source: source.clone(),
            stream: stream.to_string(),
            epoch_key: epoch_key(stream),
        })
    }

    /// Where Redis is: the master in use and the failovers followed.
    pub fn source(&self) -> &RedisSource {
        &self.source
    }

    async fn call<T: redis::FromRedisValue>(
        &self,
        req: impl FnOnce(&mut redis::Pipeline),
    ) -> redis::RedisResult<T> {
        let mut pipe = redis::pipe();
        req(&mut pipe);
        let attempt = async {
            match &self.conn {
                Conn::Fixed(conn) => pipe.query_async(&mut conn.clone()).await,
                Conn::Following(slot) => {
                    let (mut conn, fresh) = self.following(slot).await?;
                    let result = pipe.query_async(&mut conn).await;
                    match result {
                        Err(e) if is_connection_lost(&e) => {
                            *slot.lock().await = None;
                            if fresh {
                                return Err(e);
                            }
                            // A connection kept from before the failover: once
                            // more on the master the Sentinels name now.
                            let (mut conn, _) = self.following(slot).await?;
                            let again = pipe.query_async(&mut conn).await;
                            if matches!(&again, Err(e) if is_connection_lost(e)) {
                                *slot.lock().await = None;
                            }
                            again
                        }
                        other => other,
                    }
                }
            }
        };
        match tokio::time::timeout(CALL_TIMEOUT, attempt).await {
            Ok(result) => result,
            Err(_) => {
                if let Conn::Following(slot) = &self.conn {
                    *slot.lock().await = None;
                }
                Err(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "Redis did not answer in time",
                )))
            }
        }
    }

    /// The connection to the current master, opened (after asking the
    /// Sentinels) when there is none; and whether it was just opened.
    async fn following(
        &self,
        slot: &tokio::sync::Mutex<Option<MultiplexedConnection>>,
    ) -> redis::RedisResult<(MultiplexedConnection, bool)> {
        let mut slot = slot.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok((conn.clone(), false));
        }
        let client = self.source.client().await?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        let conn = client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        *slot = Some(conn.clone());
        Ok((conn, true))
    }

    /// The epoch, created (a random id) when absent. Concurrent creators agree:
    /// `SET NX` lets one win and everyone reads the winner.
    pub async fn epoch(&self) -> redis::RedisResult<String> {
        let fresh = new_epoch();
        let (epoch,): (String,) = self
            .call(|p| {
                p.cmd("SET")
                    .arg(&self.epoch_key)
                    .arg(&fresh)
                    .arg("NX")
                    .ignore()
                    .cmd("GET")
                    .arg(&self.epoch_key);
            })
            .await?;
        Ok(epoch)
    }

    /// The stream's length and its memory as Redis measures it (`MEMORY
    /// USAGE` over `samples` nested entries: cheap, approximate). `None`
    /// memory when the stream does not exist.
    pub async fn usage(&self, samples: u32) -> redis::RedisResult<(u64, Option<u64>)> {
        self.call(|p| {
            p.cmd("XLEN")
                .arg(&self.stream)
                .cmd("MEMORY")
                .arg("USAGE")
                .arg(&self.stream)
                .arg("SAMPLES")
                .arg(samples);
        })
        .await
    }

    /// Newest id and epoch in one round trip.
    pub async fn head(&self) -> redis::RedisResult<Head> {
        let fresh = new_epoch();
        let (epoch, newest): (String, Value) = self
            .call(|p| {
                p.cmd("SET")
                    .arg(&self.epoch_key)
                    .arg(&fresh)
                    .arg("NX")
                    .ignore()
                    .cmd("GET")
                    .arg(&self.epoch_key)
                    .cmd("XREVRANGE")
                    .arg(&self.stream)
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(1);
            })
            .await?;
        let newest = parse_entries(newest)?.first().map(|e| e.id);
        Ok(Head { newest, epoch })
    }

    /// The oldest entry and the newest trimmed id. An absent stream is empty.
    pub async fn info(&self) -> redis::RedisResult<StreamInfo> {
        let result: redis::RedisResult<(Value,)> = self
            .call(|p| {
                p.cmd("XINFO").arg("STREAM").arg(&self.stream);
            })
            .await;
        match result {
            Ok((value,)) => Ok(parse_info(value)),
            Err(e) if e.to_string().contains("no such key") => Ok(StreamInfo::default()),
            Err(e) => Err(e),
        }
    }

    /// Up to `count` entries from `start` (inclusive), oldest first.
    pub async fn range(&self, start: StreamId, count: usize) -> redis::RedisResult<Vec<Entry>> {
        let (value,): (Value,) = self
            .call(|p| {
                p.cmd("XRANGE")
                    .arg(&self.stream)
                    .arg(start.to_string())
                    .arg("+")
                    .arg("COUNT")
                    .arg(count);
            })
            .await?;
        parse_entries(value)
    }

    /// Up to `count` entries from `end` (inclusive; `None`: the newest) backwards.
    pub async fn rev_range(
        &self,
        end: Option<StreamId>,
        count: usize,
    ) -> redis::RedisResult<Vec<Entry>> {
        let end = end.map_or_else(|| "+".to_string(), |id| id.to_string());
        let (value,): (Value,) = self
            .call(|p| {
                p.cmd("XREVRANGE")
                    .arg(&self.stream)
                    .arg(&end)
                    .arg("-")
                    .arg("COUNT")
                    .arg(count);
            })
            .await?;
        parse_entries(value)
    }
}

/// A fresh random epoch: 16 hex digits.
pub fn new_epoch() -> String {
    format!("{:016x}", rand::random::<u64>())
}

fn parse_error(what: &'static str) -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::Parse, what))
}

fn as_id(v: &Value) -> Option<StreamId> {
    match v {
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        Value::SimpleString(s) => s.parse().ok(),
        _ => None,
    }
}

/// Key/value pairs of a RESP2 flat array or a RESP3 map.
fn pairs(v: Value) -> Vec<(Value, Value)> {
    match v {
        Value::Map(m) => m,
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len() / 2);
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                out.push((k, v));
            }
            out
        }
        _ => Vec::new(),
    }
}

fn is_key(k: &Value, name: &str) -> bool {
    match k {
        Value::BulkString(b) => b == name.as_bytes(),
        Value::SimpleString(s) => s == name,
        _ => false,
    }
}

/// Parses an `XRANGE`/`XREVRANGE` reply, moving the bodies out (no copy).
fn parse_entries(value: Value) -> redis::RedisResult<Vec<Entry>> {
    let items = match value {
        Value::Array(items) => items,
        Value::Nil => return Ok(Vec::new()),
        _ => return Err(parse_error("XRANGE reply is not an array")),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Array(mut parts) = item else {
            return Err(parse_error("XRANGE entry is not an array"));
        };
        if parts.len() != 2 {
            return Err(parse_error("XRANGE entry is not [id, fields]"));
        }
        let fields = parts.pop().unwrap_or(Value::Nil);
        let id = parts
            .pop()
            .as_ref()
            .and_then(as_id)
            .ok_or_else(|| parse_error("XRANGE entry id is not a stream id"))?;
        let body = pairs(fields)
            .into_iter()
            .find(|(k, _)| is_key(k, orchestrator_events::publish::STREAM_FIELD))
            .and_then(|(_, v)| match v {
                Value::BulkString(b) => Some(b),
                Value::SimpleString(s) => Some(s.into_bytes()),
                _ => None,
            });
        out.push(Entry { id, body });
    }
    Ok(out)
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Int(n) => u64::try_from(*n).ok(),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

fn parse_info(value: Value) -> StreamInfo {
    let mut info = StreamInfo::default();
    for (k, v) in pairs(value) {
        if is_key(&k, "first-entry") {
            if let Value::Array(parts) = v {
                info.first = parts.first().and_then(as_id);
            }
        } else if is_key(&k, "max-deleted-entry-id") {
            info.max_deleted = as_id(&v).filter(|id| *id != StreamId::ZERO);
        } else if is_key(&k, "length") {
            info.length = as_u64(&v);
        } else if is_key(&k, "entries-added") {
            info.entries_added = as_u64(&v);
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn parses_entries_and_skips_foreign_fields() {
        let reply = Value::Array(vec![
            Value::Array(vec![
                bulk("5-0"),
                Value::Array(vec![bulk("event"), bulk(r#"{"id":"5-0"}"#)]),
            ]),
            Value::Array(vec![
                bulk("6-1"),
                Value::Array(vec![bulk("other"), bulk("x")]),
            ]),
        ]);
        let entries = parse_entries(reply).expect("parses");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].id, StreamId::new(5, 0));
        assert_eq!(entries[0].body.as_deref(), Some(&br#"{"id":"5-0"}"#[..]));
        assert_eq!(entries[1].body, None);
        assert!(parse_entries(Value::Int(3)).is_err());
    }

    #[test]
    fn parses_xinfo() {
        let reply = Value::Array(vec![
            bulk("length"),
            Value::Int(2),
            bulk("entries-added"),
            Value::Int(7),
            bulk("max-deleted-entry-id"),
            bulk("4-0"),
            bulk("first-entry"),
            Value::Array(vec![bulk("5-0"), Value::Array(vec![])]),
        ]);
        let info = parse_info(reply);
        assert_eq!(info.first, Some(StreamId::new(5, 0)));
        assert_eq!(info.max_deleted, Some(StreamId::new(4, 0)));
        assert_eq!((info.length, info.entries_added), (Some(2), Some(7)));
        let untouched = parse_info(Value::Array(vec![
            bulk("max-deleted-entry-id"),
            bulk("0-0"),
        ]));
        assert_eq!(untouched.max_deleted, None);
    }
}
