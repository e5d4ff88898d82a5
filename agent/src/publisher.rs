//! Getting events to Redis without ever holding up the agent.
//!
//! [`PublisherHandle::publish`] pushes one event (a JSON object without `id`)
//! onto a bounded in-memory queue and returns at once: it never waits for
//! Redis. One task drains the queue and sends everything waiting in ONE
//! [`publish_batch`] call (the Lua script that does `XADD` + `PUBLISH`), so
//! under load batches grow by themselves while the previous one is in flight.
//!
//! When Redis is unreachable the task keeps the events in order, reconnects
//! with exponential backoff and flushes them in order once Redis is back. The
//! queue is bounded ([`PublisherOptions::buffer_limit`]): past the bound the
//! OLDEST queued events are dropped (the stream is a capped log too, so the
//! newest are the ones worth keeping), and the drop is reported by an `error`
//! event of kind `events_dropped`, placed exactly where the gap is.
//!
//! A batch whose outcome is unknown (the connection broke or timed out after
//! it was sent) is not blindly re-sent: the stream's tail is read first, and
//! whatever part of the batch is already there is not published twice.
//!
//! With [`PublisherOptions::min_replicas`] `N > 0` a batch counts as
//! published only once `WAIT N` says N replicas have it: an acknowledged
//! event then survives the master's death. Until then it stays in flight (and
//! the queue behind it waits, bounded, in order, as during an outage): a
//! shortfall retries `WAIT` alone with backoff, never the batch, since it is
//! already on this master; a lost connection makes the batch in doubt, so the
//! next master (after a failover) is checked and gets only what it lacks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use orchestrator_events::event::ErrorEvent;
use orchestrator_events::publish::{Target, publish_batch, script};
use orchestrator_events::source::RedisSource;
use orchestrator_events::{Backoff, Event, EventKind};
use redis::aio::MultiplexedConnection;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::redis_conn::{self, is_connection_error};

mod replication;

/// How often an idle publisher checks that Redis is still there.
const IDLE_PING: Duration = Duration::from_secs(2);

/// How the publisher behaves; [`PublisherOptions::new`] gives sane defaults.
#[derive(Debug, Clone)]
pub struct PublisherOptions {
    /// Channel, stream and cap.
    pub target: Target,
    /// The agent name put on `events_dropped` reports.
    pub agent: String,
    /// Events kept while Redis is unreachable (oldest dropped beyond).
    pub buffer_limit: usize,
    /// Most events sent in one script call.
    pub batch_max: usize,
    /// Time allowed to connect, and to get an answer to one batch.
    pub io_timeout: Duration,
    /// First reconnection delay; doubles up to `backoff_max`.
    pub backoff_min: Duration,
    /// Longest reconnection delay.
    pub backoff_max: Duration,
    /// Cap on each large field of a published event, in bytes (see
    /// `orchestrator_events::truncate`): one pasted document must not cost
    /// the stream and every viewer its full size.
    pub max_field_bytes: usize,
    /// Replicas that must hold a batch before it counts as published (`WAIT`);
    /// 0 confirms on the master's answer alone. Each `WAIT` lasts at most half
    /// of `io_timeout`, so it stays within the connection's response deadline.
    pub min_replicas: usize,
}

impl PublisherOptions {
    /// Defaults for `target`: 100 000 buffered events, batches of up to 512,
    /// 3 s I/O timeout, backoff from 50 ms to 2 s.
    pub fn new(target: Target, agent: impl Into<String>) -> Self {
        PublisherOptions {
            target,
            agent: agent.into(),
            buffer_limit: crate::config::DEFAULT_EVENT_BUFFER,
            batch_max: 512,
            io_timeout: Duration::from_secs(3),
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
            max_field_bytes: orchestrator_events::DEFAULT_MAX_FIELD_BYTES,
            min_replicas: 0,
        }
    }
}

/// A snapshot of the publisher, for `/healthz`, logs and benchmarks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PublisherStatus {
    /// Whether the last attempt to reach Redis succeeded.
    pub connected: bool,
    /// The last connection or publish error, while disconnected.
    pub last_error: Option<String>,
    /// Events accepted but not yet confirmed by Redis.
    pub queued: usize,
    /// Events confirmed by Redis since start.
    pub published: u64,
    /// Events dropped because the buffer was full, since start.
    pub dropped: u64,
    /// Script calls made (successful batches), since start.
    pub batches: u64,
    /// The buffer bound.
    pub buffer_limit: usize,
    /// Replicas a batch must reach before it counts as published.
    pub min_replicas: usize,
    /// Replicas the last `WAIT` reported (None before the first, or with
    /// `min_replicas` 0).
    pub replicas_acked: Option<usize>,
    /// `WAIT`s that reported fewer than `min_replicas`, since start.
    pub replication_shortfalls: u64,
    /// Why the batch in flight is not confirmed yet although Redis answers
    /// (too few replicas); None once they acknowledge.
    pub replication_error: Option<String>,
}

/// The running publisher: owns its task. Dropping it leaves the task running
/// until [`Publisher::shutdown`] or the process ends; call `shutdown` to flush.
#[derive(Debug)]
pub struct Publisher {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

/// A cheap, cloneable way to publish; what the agent's runs hold.
#[derive(Debug, Clone)]
pub struct PublisherHandle {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the task when events arrive.
    wake: Notify,
    /// Wakes [`PublisherHandle::wait_idle`] callers when a batch lands.
    progress: Notify,
    /// Events taken from the queue and not yet confirmed.
    in_flight: AtomicUsize,
    published: AtomicU64,
    batches: AtomicU64,
    connected: AtomicBool,
    last_error: Mutex<Option<String>>,
    /// Set by `shutdown`: flush what is queued, then stop.
    closing: CancellationToken,
    buffer_limit: usize,
    max_field_bytes: usize,
    min_replicas: usize,
    /// The last `WAIT` answer, `u64::MAX` before the first.
    replicas_acked: AtomicU64,
    shortfalls: AtomicU64,
    replication_error: Mutex<Option<String>>,
}

#[derive(Debug, Default)]
struct Queue {
    events: VecDeque<String>,
    /// Dropped since start (for status).
    dropped_total: u64,
    /// Dropped since the last report was queued.
    dropped_unreported: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave a VecDeque half-updated in a
    // way that matters here; keep publishing rather than poisoning the agent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Publisher {
    /// Starts the publishing task for `client`. Never fails: an unreachable
    /// Redis is retried in the background.
    /// `source` is asked for the current master on every reconnection, so a
    /// Sentinel failover is followed; a plain `redis::Client` converts.
    pub fn start(source: impl Into<RedisSource>, options: PublisherOptions) -> Publisher {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            progress: Notify::new(),
            in_flight: AtomicUsize::new(0),
            published: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            connected: AtomicBool::new(false),
            last_error: Mutex::new(Some("not connected yet".into())),
            closing: CancellationToken::new(),
            buffer_limit: options.buffer_limit.max(1),
            max_field_bytes: options.max_field_bytes,
            min_replicas: options.min_replicas,
            replicas_acked: AtomicU64::new(u64::MAX),
            shortfalls: AtomicU64::new(0),
            replication_error: Mutex::new(None),
        });
        let worker = Worker {
            shared: shared.clone(),
            source: source.into(),
            script: script(),
            options,
            conn: None,
            in_flight: Vec::new(),
            in_doubt: false,
            landed: 0,
            unreplicated: false,
            failures: 0,
            down_since: None,
        };
        let task = tokio::spawn(worker.run());
        Publisher { shared, task }
    }

    /// A handle for publishing.
    pub fn handle(&self) -> PublisherHandle {
        PublisherHandle {
            shared: self.shared.clone(),
        }
    }

    /// Flushes what is queued for up to `grace`, then stops the task. Returns
    /// the final status; `queued > 0` means those events were not delivered.
    pub async fn shutdown(self, grace: Duration) -> PublisherStatus {
        self.shared.closing.cancel();
        let handle = self.handle();
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
            let _ = task.await;
        }
        handle.status()
    }
}

impl PublisherHandle {
    /// Queues one event (a JSON object without `id`). Never blocks and never
    /// fails: when the buffer is full the oldest queued event is dropped.
    pub fn publish(&self, json: String) {
        {
            let mut q = lock(&self.shared.queue);
            q.events.push_back(json);
            if q.events.len() > self.shared.buffer_limit {
                q.events.pop_front();
                q.dropped_total += 1;
                q.dropped_unreported += 1;
            }
        }
        self.shared.wake.notify_one();
    }

    /// Queues an event (its `id` must be unset: the script assigns it).
    /// Its large fields are capped at [`PublisherOptions::max_field_bytes`].
    pub fn publish_event(&self, event: &Event) {
        self.publish(orchestrator_events::capped_json(
            event,
            self.shared.max_field_bytes,
        ));
    }

    /// A snapshot of the counters.
    pub fn status(&self) -> PublisherStatus {
        let (queued, dropped) = {
            let q = lock(&self.shared.queue);
            (q.events.len(), q.dropped_total)
        };
        PublisherStatus {
            connected: self.shared.connected.load(Ordering::Relaxed),
            last_error: lock(&self.shared.last_error).clone(),
            queued: queued + self.shared.in_flight.load(Ordering::Relaxed),
            published: self.shared.published.load(Ordering::Relaxed),
            dropped,
            batches: self.shared.batches.load(Ordering::Relaxed),
            buffer_limit: self.shared.buffer_limit,
            min_replicas: self.shared.min_replicas,
            replicas_acked: match self.shared.replicas_acked.load(Ordering::Relaxed) {
                u64::MAX => None,
                n => Some(n as usize),
            },
            replication_shortfalls: self.shared.shortfalls.load(Ordering::Relaxed),
            replication_error: lock(&self.shared.replication_error).clone(),
        }
    }

    /// Waits until nothing is queued or in flight, up to `timeout`; returns
    /// whether that happened. For tests, benchmarks and shutdown.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let progress = self.shared.progress.notified();
            if self.status().queued == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, progress).await.is_err() {
                return self.status().queued == 0;
            }
        }
    }
}

/// The publishing task's state.
struct Worker {
    shared: Arc<Shared>,
    source: RedisSource,
    script: redis::Script,
    options: PublisherOptions,
    conn: Option<MultiplexedConnection>,
    /// The batch being sent (oldest events), kept until Redis confirms it.
    in_flight: Vec<String>,
    /// The last attempt to send `in_flight` may have reached Redis.
    in_doubt: bool,
    /// Leading events of `in_flight` known to be on the current master
    /// (found by `resolve_doubt`); only the rest is sent.
    landed: usize,
    /// All of `in_flight` is on the master through `conn`, but fewer than
    /// `min_replicas` replicas have acknowledged it: only `WAIT` is retried.
    unreplicated: bool,
    /// Failed attempts since Redis last answered: the backoff's attempt number.
    failures: u32,
    down_since: Option<Instant>,
}

impl Worker {
    async fn run(mut self) {
        loop {
            // Connect first, even when idle, so `/healthz` tells the truth;
            // and take nothing from the queue while disconnected, so the
            // buffer bound applies to everything waiting.
            if self.conn.is_none() && !self.connect().await {
                if self.shared.closing.is_cancelled() && self.nothing_pending() {
                    return;
                }
                self.sleep_backoff().await;
                continue;
            }
            if self.in_flight.is_empty() && !self.take_batch() {
                if self.shared.closing.is_cancelled() {
                    return;
                }
                tokio::select! {
                    _ = self.shared.wake.notified() => {}
                    _ = self.shared.closing.cancelled() => {}
                    _ = tokio::time::sleep(IDLE_PING) => self.ping().await,
                }
                continue;
            }
            if self.in_doubt && !self.resolve_doubt().await {
                self.sleep_backoff().await;
                continue;
            }
            if self.unreplicated {
                if !self.await_replicas().await {
                    self.sleep_backoff().await;
                }
                continue;
            }
            if !self.send().await {
                self.sleep_backoff().await;
            }
        }
    }

    fn nothing_pending(&self) -> bool {
        self.in_flight.is_empty() && {
            let q = lock(&self.shared.queue);
            q.events.is_empty() && q.dropped_unreported == 0
        }
    }

    /// While idle, checks the connection now and then so a dead Redis is
    /// noticed (and reported) before the next event needs it.
    async fn ping(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let result: redis::RedisResult<String> = redis::cmd("PING").query_async(conn).await;
        if let Err(e) = result {
            self.fail(&e.to_string(), is_connection_error(&e));
        } else if !self.shared.connected.load(Ordering::Relaxed) {
            self.confirm(0, false);
        }
    }

    /// Moves the oldest queued events into `in_flight`, preceded by a drop
    /// report when events were dropped since the last batch. Returns whether
    /// there is anything to send.
    fn take_batch(&mut self) -> bool {
        let mut q = lock(&self.shared.queue);
        if q.events.is_empty() && q.dropped_unreported == 0 {
            return false;
        }
        if q.dropped_unreported > 0 {
            let dropped = std::mem::take(&mut q.dropped_unreported);
            self.in_flight.push(self.drop_report(dropped));
        }
        let n = q.events.len().min(self.options.batch_max.max(1));
        self.in_flight.extend(q.events.drain(..n));
        self.shared
            .in_flight
            .store(self.in_flight.len(), Ordering::Relaxed);
        true
    }

    fn drop_report(&self, dropped: u64) -> String {
        let mut event = Event::new(EventKind::Error(ErrorEvent {
            message: format!(
                "{dropped} events were dropped while Redis was unreachable \
                 (the agent buffers at most {} events)",
                self.shared.buffer_limit
            ),
            kind: "events_dropped".into(),
        }));
        event.agent = Some(self.options.agent.clone());
        event.timestamp = Some(orchestrator_events::clock::now_secs());
        event.extra.insert("dropped".into(), dropped.into());
        event
            .extra
            .insert("buffer_limit".into(), self.shared.buffer_limit.into());
        event.to_json()
    }

    async fn connect(&mut self) -> bool {
        match redis_conn::connect(&self.source, self.options.io_timeout).await {
            Ok(conn) => {
                self.conn = Some(conn);
                if self.in_flight.is_empty() {
                    // Nothing pending: being connected is the news.
                    self.confirm(0, false);
                }
                true
            }
            Err(e) => {
                self.mark_down(&e.to_string());
                false
            }
        }
    }

    /// Reads the stream's tail to learn how much of `in_flight` already
    /// reached the current master: with `min_replicas` 0 that part is
    /// confirmed and dropped; otherwise it is kept (as `landed`) until `WAIT`
    /// says enough replicas have it. Returns false when Redis could not be asked.
    async fn resolve_doubt(&mut self) -> bool {
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        // Other agents may have appended after our batch: look a bit further back.
        let reply = tokio::time::timeout(
            self.options.io_timeout,
            orchestrator_events::publish::landed_prefix(
                conn,
                &self.options.target.stream,
                &self.in_flight,
                2000,
            ),
        )
        .await;
        let n = match reply {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                self.fail(&e.to_string(), is_connection_error(&e));
                return false;
            }
            Err(_) => {
                self.fail("timed out reading the stream tail", true);
                return false;
            }
        };
        if self.options.min_replicas == 0 {
            if n > 0 {
                self.in_flight.drain(..n);
                self.confirm(n as u64, false);
            }
        } else {
            self.landed = n;
        }
        self.in_doubt = false;
        true
    }

    /// Sends what of `in_flight` is not on the master yet in one script
    /// call, then (with `min_replicas`) waits for the replicas. Returns false
    /// on failure.
    async fn send(&mut self) -> bool {
        if self.in_flight.is_empty() {
            return true;
        }
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        self.in_doubt = true;
        let rest = &self.in_flight[self.landed.min(self.in_flight.len())..];
        let result = if rest.is_empty() {
            // All of it is on this master already, written through an earlier
            // connection: a write on this one makes its `WAIT` cover them.
            tokio::time::timeout(
                self.options.io_timeout,
                orchestrator_events::publish::replication_probe(conn, &self.options.target),
            )
            .await
            .map(|r| r.map(|()| Vec::new()))
        } else {
            tokio::time::timeout(
                self.options.io_timeout,
                publish_batch(conn, &self.script, &self.options.target, rest),
            )
            .await
        };
        match result {
            Ok(Ok(ids)) => {
                self.in_doubt = false;
                debug_assert_eq!(ids.len(), rest.len());
                if self.options.min_replicas > 0 {
                    self.landed = self.in_flight.len();
                    self.unreplicated = true;
                    return self.await_replicas().await;
                }
                let n = self.in_flight.len() as u64;
                self.in_flight.clear();
                self.landed = 0;
                self.confirm(n, true);
                true
            }
            Ok(Err(e)) => {
                self.fail(&e.to_string(), is_connection_error(&e));
                false
            }
            Err(_) => {
                self.fail("timed out waiting for Redis to confirm a batch", true);
                false
            }
        }
    }

    fn confirm(&mut self, n: u64, batch: bool) {
        self.shared.published.fetch_add(n, Ordering::Relaxed);
        if batch {
            self.shared.batches.fetch_add(1, Ordering::Relaxed);
        }
        self.shared
            .in_flight
            .store(self.in_flight.len(), Ordering::Relaxed);
        self.failures = 0;
        self.mark_up();
        self.shared.progress.notify_waiters();
    }

    /// Redis answers: clears the error and says so once.
    fn mark_up(&mut self) {
        if !self.shared.connected.swap(true, Ordering::Relaxed) {
            *lock(&self.shared.last_error) = None;
            match self.down_since.take() {
                Some(since) => tracing::info!(
                    down_for_ms = since.elapsed().as_millis() as u64,
                    "Redis is reachable again; flushing buffered events in order"
                ),
                None => tracing::info!("connected to Redis; publishing events"),
            }
        }
    }

    fn fail(&mut self, error: &str, connection_lost: bool) {
        if connection_lost {
            self.conn = None;
        }
        self.mark_down(error);
    }

    fn mark_down(&mut self, error: &str) {
        let was_up = self.shared.connected.swap(false, Ordering::Relaxed);
        if was_up || self.down_since.is_none() {
            self.down_since = Some(Instant::now());
            tracing::warn!(
                error,
                "cannot publish to Redis; buffering events and retrying"
            );
        } else {
            tracing::debug!(error, "still cannot publish to Redis");
        }
        *lock(&self.shared.last_error) = Some(error.to_string());
    }

    async fn sleep_backoff(&mut self) {
        self.failures = self.failures.saturating_add(1);
        let backoff = Backoff {
            initial: self.options.backoff_min,
            max: self.options.backoff_max,
            factor: 2.0,
        };
        // Jitter (±20 %) keeps several agents from reconnecting in lockstep.
        let delay = backoff.spread(self.failures, 0.2);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            // While closing, still retry until `shutdown`'s grace runs out.
            _ = self.shared.closing.cancelled(), if !self.shared.closing.is_cancelled() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn full_buffer_drops_the_oldest_and_counts() {
        let client = redis::Client::open("redis://127.0.0.1:1").expect("url parses");
        let mut options = PublisherOptions::new(Target::default(), "t");
        options.buffer_limit = 3;
        let publisher = Publisher::start(client, options);
        let handle = publisher.handle();
        for i in 0..10 {
            handle.publish(format!(r#"{{"type":"x","i":{i}}}"#));
        }
        let status = handle.status();
        // Nothing is taken from the queue while Redis is unreachable.
        assert_eq!(status.queued, 3, "bounded: {status:?}");
        assert_eq!(status.dropped, 7, "drops counted: {status:?}");
        assert!(!status.connected);
        let end = publisher.shutdown(Duration::from_millis(50)).await;
        assert_eq!(end.published, 0);
    }
}
