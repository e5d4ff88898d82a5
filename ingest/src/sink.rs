//! The publish queue: what the ingest answered 200 for, on its way to Redis.
//!
//! One bounded queue (`publish queue`, bounded in bytes; gauges
//! `ingest_publish_queue_events` / `_bytes`) and one task that drains it in
//! order through the shared publish script, retrying with backoff while Redis
//! is away. A request is accepted only if its whole batch fits; otherwise it is
//! answered 503 with `Retry-After` and nothing of it is kept, so the exporter's
//! retry cannot duplicate a half. A batch larger than the whole queue could
//! never fit, so it is refused as too large (413, not retried) instead.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use orchestrator_events::Backoff;
use orchestrator_events::publish::{self, Target};
use orchestrator_events::source::RedisSource;
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// Retrying Redis: quick after a blip (what was accepted waits in the queue),
/// at most every 2 s while it is away.
const RETRY: Backoff = Backoff {
    initial: Duration::from_millis(50),
    max: Duration::from_secs(2),
    factor: 2.0,
};

/// Events per publish-script call (the script's arguments are bounded).
pub const CHUNK: usize = 512;

/// Why a request's events were not queued (nothing of them is kept).
#[derive(Debug, thiserror::Error)]
pub enum QueueFull {
    /// The queue is full now (Redis slow or away): retrying later can succeed (503).
    #[error("publish queue full ({queued} bytes waiting, limit {limit})")]
    Full {
        /// Bytes waiting.
        queued: usize,
        /// The bound.
        limit: usize,
    },
    /// The request's events alone exceed the whole queue: no retry can ever
    /// succeed, so it must not be answered with a retryable 503 (413).
    #[error(
        "the request's events ({bytes} bytes) exceed the whole publish queue ({limit} bytes); send smaller batches"
    )]
    NeverFits {
        /// Bytes of the request's events.
        bytes: usize,
        /// The bound.
        limit: usize,
    },
}

#[derive(Debug, Default)]
struct Inner {
    batches: VecDeque<Vec<String>>,
    bytes: usize,
}

/// The producer side, cloned into every handler.
#[derive(Debug, Clone)]
pub struct Sink {
    inner: Arc<Mutex<Inner>>,
    ready: Arc<Notify>,
    limit: usize,
    metrics: Arc<Metrics>,
}

impl Sink {
    /// A queue bounded at `limit_bytes` of event JSON.
    pub fn new(limit_bytes: usize, metrics: Arc<Metrics>) -> Sink {
        Sink {
            inner: Arc::default(),
            ready: Arc::new(Notify::new()),
            limit: limit_bytes,
            metrics,
        }
    }

    /// Queues a request's events, all or nothing.
    pub async fn push(&self, events: Vec<String>) -> Result<(), QueueFull> {
        if events.is_empty() {
            return Ok(());
        }
        let bytes: usize = events.iter().map(String::len).sum();
        if bytes > self.limit {
            return Err(QueueFull::NeverFits {
                bytes,
                limit: self.limit,
            });
        }
        let mut inner = self.inner.lock().await;
        if inner.bytes + bytes > self.limit {
            return Err(QueueFull::Full {
                queued: inner.bytes,
                limit: self.limit,
            });
        }
        inner.bytes += bytes;
        self.metrics.queue_delta(events.len() as i64, bytes as i64);
        inner.batches.push_back(events);
        drop(inner);
        self.ready.notify_one();
        Ok(())
    }

    /// Takes up to [`CHUNK`] events from the head, without removing them.
    async fn peek_chunk(&self) -> Option<Vec<String>> {
        let inner = self.inner.lock().await;
        let head = inner.batches.front()?;
        Some(head.iter().take(CHUNK).cloned().collect())
    }

    /// Removes the `n` events [`Sink::peek_chunk`] returned, once published.
    async fn pop(&self, n: usize) {
        let mut inner = self.inner.lock().await;
        let Some(head) = inner.batches.front_mut() else {
            return;
        };
        let bytes: usize = head.iter().take(n).map(String::len).sum();
        head.drain(..n.min(head.len()));
        if head.is_empty() {
            inner.batches.pop_front();
        }
        inner.bytes -= bytes;
        self.metrics.queue_delta(-(n as i64), -(bytes as i64));
    }

    /// Drains the queue into Redis until `stop`; then keeps draining for at
    /// most `grace` so what was accepted before the signal still lands.
    /// `source` is asked for the current master on every reconnection; any
    /// failed batch (a lost connection, `-READONLY` after a failover) drops
    /// the connection, so the next attempt follows the Sentinels.
    pub async fn run(
        self,
        source: RedisSource,
        target: Target,
        stop: CancellationToken,
        grace: Duration,
    ) {
        let script = publish::script();
        let mut conn: Option<redis::aio::MultiplexedConnection> = None;
        let mut failures = 0u32;
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            if deadline.is_none() && stop.is_cancelled() {
                deadline = Some(tokio::time::Instant::now() + grace);
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                let left = self.metrics.queued_events();
                if left > 0 {
                    tracing::warn!(events = left, "stopping with events not yet published");
                }
                return;
            }
            let Some(chunk) = self.peek_chunk().await else {
                if deadline.is_some() {
                    return;
                }
                tokio::select! {
                    _ = self.ready.notified() => {}
                    _ = stop.cancelled() => {}
                }
                continue;
            };
            if conn.is_none() {
                let connected = match source.client().await {
                    Ok(client) => client.get_multiplexed_async_connection().await,
                    Err(e) => Err(e.into()),
                };
                match connected {
                    Ok(c) => conn = Some(c),
                    Err(e) => {
                        self.failed(&e.to_string(), &mut failures, &stop).await;
                        continue;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            match publish::publish_batch(c, &script, &target, &chunk).await {
                Ok(ids) => {
                    if !self.metrics.redis_up() {
                        tracing::info!("Redis is back; publishing");
                    }
                    self.metrics.redis_state(true);
                    self.metrics.published(ids.len() as u64);
                    self.pop(chunk.len()).await;
                    failures = 0;
                }
                Err(e) => {
                    conn = None;
                    self.failed(&e.to_string(), &mut failures, &stop).await;
                }
            }
        }
    }

    async fn failed(&self, error: &str, failures: &mut u32, stop: &CancellationToken) {
        self.metrics.publish_error();
        if self.metrics.redis_up() || self.metrics.published_total() == 0 {
            tracing::warn!(%error, "Redis publish failed; keeping events and retrying");
        }
        self.metrics.redis_state(false);
        *failures = failures.saturating_add(1);
        tokio::select! {
            _ = tokio::time::sleep(RETRY.delay(*failures)) => {}
            _ = stop.cancelled() => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}
