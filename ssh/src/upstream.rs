//! The one upstream every session shares: one WebSocket client to the bridge
//! (`orchestrator_tui::spawn_client`, which resumes by stream position with no
//! gap) feeding one bounded [`SharedFeed`], and a bounded broadcast of raw
//! frames for the `plain` / `json` sessions.
//!
//! Nothing here waits for a viewer: the feed is a bounded ring that views read
//! under a short lock, and the broadcast drops the oldest lines for a reader
//! that fell behind (it is told how many).

use std::sync::Arc;
use std::time::Instant;

use orchestrator_tui::app::{Now, SharedFeed, Source};
use orchestrator_tui::client::{ClientConfig, ClientEvent, ConnState, Frame};
use orchestrator_tui::plain::wall_now;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// Lines a stream session may fall behind before the oldest are skipped.
pub const STREAM_BACKLOG: usize = 4096;
/// Most client events applied under one write lock.
const BATCH: usize = 4096;

/// What a `plain` / `json` session prints.
#[derive(Debug, Clone)]
pub enum Line {
    /// An event as received.
    Frame(Arc<Frame>),
    /// The connection changed.
    State(ConnState),
}

/// The shared upstream: the feed for monitors, the broadcast for streams.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// The one event store.
    pub feed: SharedFeed,
    /// Raw lines for stream sessions.
    pub lines: broadcast::Sender<Line>,
    /// The bridge URL as shown (no token).
    pub label: String,
    /// The clock start, so every view measures time the same way.
    pub start: Instant,
}

impl Upstream {
    /// Starts the client task; it runs until `cancel` fires. The one shared
    /// feed holds at most `max_events` events and about `max_bytes` of them.
    pub fn spawn(
        config: ClientConfig,
        max_events: usize,
        max_bytes: usize,
        cancel: CancellationToken,
    ) -> Upstream {
        let label = config.display_url();
        let feed =
            SharedFeed::with_limits(max_events, max_bytes, Source::Live { url: label.clone() });
        let (lines, _) = broadcast::channel(STREAM_BACKLOG);
        let upstream = Upstream {
            feed,
            lines,
            label,
            start: Instant::now(),
        };
        let mut rx = orchestrator_tui::spawn_client(config, cancel);
        let task = upstream.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < BATCH {
                    match rx.try_recv() {
                        Ok(ev) => batch.push(ev),
                        Err(_) => break,
                    }
                }
                if task.lines.receiver_count() > 0 {
                    for ev in &batch {
                        let line = match ev {
                            ClientEvent::Frame(f) => {
                                Line::Frame(Arc::new(Frame::parse(f.text.clone())))
                            }
                            ClientEvent::State(s) => Line::State(s.clone()),
                        };
                        let _ = task.lines.send(line);
                    }
                }
                task.feed.apply_batch(batch, task.now());
            }
            let now = task.now();
            task.feed.update(|f| f.source_ended(now));
            tracing::info!("upstream client ended");
        });
        upstream
    }

    /// The time now, on the shared clock.
    pub fn now(&self) -> Now {
        Now {
            wall: wall_now(),
            mono: self.start.elapsed(),
        }
    }
}
