//! The publish queue: what the ingest answered 200 for, on its way to Redis.
//!
//! One bounded queue (`publish queue`, bounded in bytes; gauges
//! `ingest_publish_queue_events` / `_bytes`) and one task that drains it in
//! order through the shared publish script, retrying with backoff while Redis
//! is away. A request is accepted only if its whole batch fits; otherwise it is
//! answered 503 with `Retry-After` and nothing of it is kept, so the exporter's
//! retry cannot duplicate a half. A batch larger than the whole queue could
//! never fit, so it is refused as too large (413, not retried) instead.
//!
//! With `--min-replicas N` a chunk leaves the queue only once `WAIT N` says N
//! replicas hold it. A shortfall keeps it (counted in
//! `ingest_replication_shortfalls_total`) and retries `WAIT` alone, since the
//! chunk is already on this master; after a lost connection the stream's tail
//! on the (maybe new) master is checked first, so only what it lacks is sent.

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

/// How long one `WAIT` for replicas may take before it counts as a shortfall.
pub const REPLICA_WAIT: Duration = Duration::from_secs(1);

/// Time beyond the longest `WAIT` a command may take to be answered.
const IO_SLACK: Duration = Duration::from_secs(2);

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
    /// With `min_replicas > 0` a chunk counts as published only once that
    /// many replicas acknowledged it (see the module doc).
    pub async fn run(
        self,
        source: RedisSource,
        target: Target,
        min_replicas: usize,
        stop: CancellationToken,
        grace: Duration,
    ) {
        self.metrics.set_min_replicas(min_replicas);
        let mut replicated = Replicated::default();
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
                // Long enough for a `WAIT` of REPLICA_WAIT to be answered.
                let connected = source.connect(REPLICA_WAIT * 3 + IO_SLACK).await;
                match connected {
                    Ok(c) => conn = Some(c),
                    Err(e) => {
                        self.failed(&e.to_string(), &mut failures, &stop).await;
                        continue;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            if min_replicas > 0 {
                match replicated
                    .step(c, &script, &target, &chunk, min_replicas)
                    .await
                {
                    Ok(acked) if acked >= min_replicas => {
                        self.metrics.replicas_acked(acked, true);
                        self.metrics.redis_state(true);
                        self.metrics.published(chunk.len() as u64);
                        self.pop(chunk.len()).await;
                        failures = 0;
                    }
                    Ok(acked) => {
                        // Redis answers; too few replicas: keep the chunk, retry WAIT.
                        if self.metrics.replicas_acked(acked, false) {
                            tracing::warn!(
                                acked,
                                min_replicas,
                                "too few replicas acknowledged; keeping events until they do"
                            );
                        }
                        self.metrics.redis_state(true);
                        self.retry_later(&mut failures, &stop).await;
                    }
                    Err(e) => {
                        conn = None;
                        self.failed(&e.to_string(), &mut failures, &stop).await;
                    }
                }
                continue;
            }
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
        self.retry_later(failures, stop).await;
    }

    async fn retry_later(&self, failures: &mut u32, stop: &CancellationToken) {
        *failures = failures.saturating_add(1);
        tokio::select! {
            _ = tokio::time::sleep(RETRY.delay(*failures)) => {}
            _ = stop.cancelled() => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// Where the head chunk stands with `--min-replicas`: how much of it the
/// current master holds, and whether that is known or must be checked.
#[derive(Debug, Default)]
struct Replicated {
    /// Leading events of the chunk known to be on the master.
    landed: usize,
    /// All of the chunk is on the master through this connection; only
    /// `WAIT` remains.
    written: bool,
    /// The connection was lost with the chunk (maybe) on a master: check the
    /// stream before sending anything.
    in_doubt: bool,
}

impl Replicated {
    /// One attempt: check (after a lost connection), write what is missing,
    /// `WAIT`: the replicas that acknowledged (the chunk is done when they
    /// are enough, else it stays); `Err`: the connection is no good (the
    /// chunk is in doubt on the next one).
    async fn step(
        &mut self,
        conn: &mut redis::aio::MultiplexedConnection,
        script: &redis::Script,
        target: &Target,
        chunk: &[String],
        min_replicas: usize,
    ) -> redis::RedisResult<usize> {
        let result = self
            .try_step(conn, script, target, chunk, min_replicas)
            .await;
        match &result {
            Ok(acked) if *acked >= min_replicas => *self = Replicated::default(),
            Ok(_) => {}
            Err(_) => {
                self.written = false;
                self.in_doubt = true;
            }
        }
        result
    }

    async fn try_step(
        &mut self,
        conn: &mut redis::aio::MultiplexedConnection,
        script: &redis::Script,
        target: &Target,
        chunk: &[String],
        min_replicas: usize,
    ) -> redis::RedisResult<usize> {
        let deadline = REPLICA_WAIT * 3;
        let timed_out = || {
            redis::RedisError::from((
                redis::ErrorKind::Io,
                "timed out",
                "WAIT for replicas".into(),
            ))
        };
        if self.in_doubt {
            let landed = publish::landed_prefix(conn, &target.stream, chunk, 2000);
            self.landed = tokio::time::timeout(deadline, landed)
                .await
                .map_err(|_| timed_out())??;
            self.in_doubt = false;
        }
        if !self.written {
            let rest = &chunk[self.landed.min(chunk.len())..];
            if rest.is_empty() {
                // On the master through an earlier connection: a write on
                // this one makes its WAIT cover them.
                let probe = publish::replication_probe(conn, target);
                tokio::time::timeout(deadline, probe)
                    .await
                    .map_err(|_| timed_out())??;
            } else {
                // A failure here leaves the outcome unknown: in doubt.
                let sent = publish::publish_batch(conn, script, target, rest);
                tokio::time::timeout(deadline, sent)
                    .await
                    .map_err(|_| timed_out())??;
            }
            self.written = true;
            self.landed = chunk.len();
        }
        let wait = publish::wait_replicas(conn, min_replicas, REPLICA_WAIT);
        let acked = tokio::time::timeout(deadline, wait)
            .await
            .map_err(|_| timed_out())??;
        Ok(acked)
    }
}
