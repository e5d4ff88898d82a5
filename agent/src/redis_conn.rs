//! Connections to Redis that survive Redis going away.
//!
//! A `MultiplexedConnection` stays broken once its socket dies, so both the
//! publisher and the tools hold an `Option` of one and open a new one after a
//! connection-level error. [`SharedConn`] is that pattern for callers that
//! share one connection (the tools); the publisher keeps its own.

use std::future::Future;
use std::time::Duration;

use orchestrator_events::source::RedisSource;
use redis::RedisError;
use redis::aio::MultiplexedConnection;
use tokio::sync::Mutex;

/// Opens a multiplexed connection to the CURRENT master (asking the
/// Sentinels first for a Sentinel URL) with a connect and response timeout,
/// so a hung Redis is an error after `timeout`, never a hang.
pub async fn connect(
    source: &RedisSource,
    timeout: Duration,
) -> redis::RedisResult<MultiplexedConnection> {
    source.connect(timeout).await
}

/// Whether the error means the connection is gone (as opposed to Redis
/// answering with an error), so the next call must reconnect. `-READONLY`
/// counts as gone: the node was demoted by a failover, and reconnecting asks
/// the Sentinels for the new master.
pub fn is_connection_error(e: &RedisError) -> bool {
    orchestrator_events::source::is_connection_lost(e)
}

/// One lazily (re)opened connection shared by many callers.
#[derive(Debug)]
pub struct SharedConn {
    source: RedisSource,
    timeout: Duration,
    conn: Mutex<Option<MultiplexedConnection>>,
}

impl SharedConn {
    /// Nothing is opened until the first [`SharedConn::run`].
    pub fn new(source: impl Into<RedisSource>, timeout: Duration) -> Self {
        SharedConn {
            source: source.into(),
            timeout,
            conn: Mutex::new(None),
        }
    }

    /// The current connection, opening one if needed, and whether it was just opened.
    async fn current(&self) -> redis::RedisResult<(MultiplexedConnection, bool)> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref() {
            return Ok((conn.clone(), false));
        }
        let conn = connect(&self.source, self.timeout).await?;
        *slot = Some(conn.clone());
        Ok((conn, true))
    }

    /// Runs `command` on the shared connection. When a connection kept from
    /// before turns out dead (Redis restarted since it was last used), the
    /// command runs once more on a new one, so the first call after an outage
    /// does not fail for a socket nobody noticed had closed. Only for commands
    /// that are safe to send twice.
    pub async fn run<T, F, Fut>(&self, mut command: F) -> redis::RedisResult<T>
    where
        F: FnMut(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let (conn, fresh) = self.current().await?;
        let result = command(conn).await;
        self.observe(&result).await;
        match &result {
            Err(e) if !fresh && is_connection_error(e) => {
                let (conn, _) = self.current().await?;
                let again = command(conn).await;
                self.observe(&again).await;
                again
            }
            _ => result,
        }
    }

    /// Reports the outcome of a command; a connection error forgets the connection.
    async fn observe<T>(&self, result: &redis::RedisResult<T>) {
        if let Err(e) = result
            && is_connection_error(e)
        {
            *self.conn.lock().await = None;
        }
    }
}
