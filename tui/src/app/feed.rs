//! The feed: everything the monitor knows about the event stream, held once
//! per process and shared by every viewer.
//!
//! A [`Feed`] is the event store (the entry ring and its coalesced rows), the
//! connection as the client and the bridge reported it, and the event rate.
//! It changes only through [`Feed::apply`]; a [`View`](super::view::View)
//! reads it and keeps its own index of what it shows in step with
//! [`View::sync`](super::view::View::sync), so one feed can serve any number
//! of views (the terminal, or every session of an SSH server).
//!
//! [`SharedFeed`] is that one feed behind a lock, with a version counter that
//! viewers can await. Why a `std::sync::RwLock` and not a channel of events
//! per viewer: the store is large (up to `--max-events` events) and drawing
//! reads a few dozen rows of it, so copying it per viewer would cost memory
//! per viewer for nothing; many viewers draw at once under the read lock, and
//! the one writer (the client task) takes the write lock once per batch of
//! frames. No lock is ever held across an `.await`. Why a `watch` for the
//! version: a slow viewer only needs "something changed since version N",
//! never every intermediate change, so the notification cannot queue up.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use orchestrator_events::frame::StatusKind;
use orchestrator_events::{EventKind, Filter};
use tokio::sync::watch;

use super::rate::RateMeter;
use super::runs::Runs;
use super::store::{Store, ViewMode};
use super::{Connection, Now, Source};
use crate::client::{ClientEvent, ConnState, Frame};

/// The shared state of the stream: store, connection, rate.
#[derive(Debug)]
pub struct Feed {
    pub(crate) store: Store,
    pub(crate) conn: Connection,
    pub(crate) rate: RateMeter,
    pub(crate) received: u64,
    /// Runs and tools, aggregated as events arrive.
    pub(crate) runs: Runs,
    /// Bumped by every change; views compare it to decide to redraw.
    version: u64,
}

impl Feed {
    /// An empty feed holding at most `max_events` events and
    /// [`DEFAULT_MAX_MEMORY`](super::DEFAULT_MAX_MEMORY) bytes of them.
    pub fn new(max_events: usize, source: Source) -> Feed {
        Feed::with_limits(max_events, super::DEFAULT_MAX_MEMORY, source)
    }

    /// An empty feed holding at most `max_events` events and about
    /// `max_bytes` of them (`--max-memory`; see [`super::store::entry_bytes`]).
    pub fn with_limits(max_events: usize, max_bytes: usize, source: Source) -> Feed {
        Feed {
            store: Store::with_max_bytes(max_events, max_bytes),
            conn: Connection {
                state: match source {
                    Source::Live { .. } => ConnState::Connecting { attempt: 1 },
                    Source::Replay { .. } => ConnState::Replaying,
                },
                source,
                since: std::time::Duration::ZERO,
                redis: None,
                bridge_version: None,
                server_filter: Filter::default(),
                dropped: 0,
                gaps: 0,
                last_gap: None,
                history_reset: false,
                last_id: None,
            },
            rate: RateMeter::default(),
            received: 0,
            runs: Runs::default(),
            version: 0,
        }
    }

    /// Changes so far: differs from an earlier value exactly when something
    /// changed since.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The event store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The connection as the status bar shows it.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Runs and tool statistics.
    pub fn runs(&self) -> &Runs {
        &self.runs
    }

    /// The event-rate meter.
    pub fn rate(&self) -> &RateMeter {
        &self.rate
    }

    /// Frames received in total (including evicted ones).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Applies what the client reported, at time `now`.
    pub fn apply(&mut self, event: ClientEvent, now: Now) {
        self.version += 1;
        match event {
            ClientEvent::State(state) => {
                if state != ConnState::Live {
                    // Redis as seen through a bridge we are not connected to is unknown.
                    self.conn.redis = None;
                }
                self.conn.state = state;
                self.conn.since = now.mono;
            }
            ClientEvent::Frame(frame) => self.ingest(frame, now),
        }
    }

    /// The client's channel closed. After `failed` or the end of a replay that
    /// is expected; otherwise the connection task stopped and the screen must
    /// not go on saying "live".
    pub fn source_ended(&mut self, now: Now) {
        if matches!(
            self.conn.state,
            ConnState::Live
                | ConnState::Connecting { .. }
                | ConnState::Reconnecting { .. }
                | ConnState::Replaying
        ) {
            self.apply(
                ClientEvent::State(ConnState::Failed {
                    reason: "the connection task stopped".into(),
                }),
                now,
            );
        }
    }

    /// Adds one received frame (and evicts what no longer fits).
    pub fn ingest(&mut self, frame: Frame, now: Now) {
        self.version += 1;
        self.received += 1;
        self.rate.record(now.mono);
        if let Ok(event) = &frame.event {
            self.note_bridge(&event.kind);
            if let Some(id) = event.id {
                self.conn.last_id = Some(id);
            }
            let ts = event
                .time_secs()
                .filter(|t| t.is_finite())
                .unwrap_or(now.wall);
            self.runs.observe(event, self.store.end(ViewMode::Raw), ts);
        }
        self.store.ingest(frame, now.wall);
        self.evict();
    }

    /// The one place events leave: the ring drops its oldest beyond either
    /// bound (count or bytes), and the runs made only of dropped events go
    /// with them.
    fn evict(&mut self) {
        if self.store.evict() {
            self.runs.evict(self.store.base(ViewMode::Raw));
        }
    }

    fn note_bridge(&mut self, kind: &EventKind) {
        match kind {
            EventKind::BridgeHello(hello) => {
                self.conn.redis = hello.redis;
                self.conn.bridge_version = Some(hello.version.clone());
                self.conn.server_filter = hello.filter.clone();
            }
            EventKind::BridgeStatus(status) => match status.status {
                StatusKind::RedisDown => self.conn.redis = Some(false),
                StatusKind::RedisUp => self.conn.redis = Some(true),
                StatusKind::Dropped => self.conn.dropped += status.dropped.unwrap_or(0),
                StatusKind::Gap => {
                    self.conn.gaps += 1;
                    self.conn.last_gap = Some(match (status.from, status.to) {
                        (Some(from), Some(to)) => format!("{from}..{to}"),
                        _ => status.message.clone(),
                    });
                }
                StatusKind::HistoryReset => self.conn.history_reset = true,
                StatusKind::ReplayDone | StatusKind::Unknown => {}
            },
            _ => {}
        }
    }
}

/// One [`Feed`] shared by many viewers: a lock plus a version they can await.
///
/// ```no_run
/// # use orchestrator_tui::app::{feed::SharedFeed, Source, Now};
/// let shared = SharedFeed::new(50_000, Source::Live { url: "ws://h/ws".into() });
/// let mut changed = shared.subscribe();
/// // writer: shared.apply_batch(events, now);   viewers: changed.changed().await
/// ```
#[derive(Debug, Clone)]
pub struct SharedFeed {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    feed: RwLock<Feed>,
    version: watch::Sender<u64>,
}

impl SharedFeed {
    /// An empty shared feed.
    pub fn new(max_events: usize, source: Source) -> SharedFeed {
        SharedFeed::from_feed(Feed::new(max_events, source))
    }

    /// An empty shared feed bounded in count and bytes (see [`Feed::with_limits`]).
    pub fn with_limits(max_events: usize, max_bytes: usize, source: Source) -> SharedFeed {
        SharedFeed::from_feed(Feed::with_limits(max_events, max_bytes, source))
    }

    /// Shares an existing feed.
    pub fn from_feed(feed: Feed) -> SharedFeed {
        let (version, _) = watch::channel(feed.version());
        SharedFeed {
            inner: Arc::new(Shared {
                feed: RwLock::new(feed),
                version,
            }),
        }
    }

    /// Reads the feed (to sync or draw a view). Keep the guard short: never
    /// across an `.await`. A writer that panicked leaves a consistent store
    /// (every change is one call), so a poisoned lock is read through.
    pub fn read(&self) -> RwLockReadGuard<'_, Feed> {
        self.inner.feed.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Feed> {
        self.inner.feed.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies a batch of client events under one write lock and wakes the viewers once.
    pub fn apply_batch(&self, events: impl IntoIterator<Item = ClientEvent>, now: Now) {
        let version = {
            let mut feed = self.write();
            for ev in events {
                feed.apply(ev, now);
            }
            feed.version()
        };
        self.inner.version.send_replace(version);
    }

    /// Runs `f` on the feed under the write lock, then wakes the viewers.
    pub fn update<T>(&self, f: impl FnOnce(&mut Feed) -> T) -> T {
        let (out, version) = {
            let mut feed = self.write();
            let out = f(&mut feed);
            (out, feed.version())
        };
        self.inner.version.send_replace(version);
        out
    }

    /// A receiver that wakes when the feed's version changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.version.subscribe()
    }
}
