//! Replay from the stream: `since=`, `last=`, and catching up after Redis returns.
//!
//! A [`Replay`] is a small state machine driven by one client's task. Each step
//! is one Redis round trip ([`Replay::fetch`], side-effect free, so it can be
//! abandoned when a ping or a close wins the race) followed by a pure update
//! ([`Replay::apply`]) that yields the frames to send and any notices (gap,
//! history reset).
//!
//! The seam with live traffic: the client is registered in the hub *before*
//! the first read, so every event published after that is also waiting in its
//! queue. The replay records the last id it handled (`position`); when the
//! stream is exhausted the queued live frames with ids at or below it are
//! skipped as duplicates and the rest are sent — no gap, no duplicate.

use std::time::{Duration, Instant};

use orchestrator_events::{BridgeStatus, Filter, StatusKind, StreamId};

use crate::frame::Frame;
use crate::metrics::{Metrics, ReplayKind};
use crate::queue::Resync;
use crate::store::{Entry, Store, StreamInfo};

/// Replay rounds allowed to restart because live frames overflowed the queue
/// meanwhile; after that the client goes live and is told what it missed.
pub const MAX_ROUNDS: u32 = 3;

/// One client's replay in progress.
#[derive(Debug)]
pub struct Replay {
    /// What started it (for metrics and the closing notice).
    pub kind: ReplayKind,
    phase: Phase,
    /// Frames sent so far.
    pub replayed: u64,
    /// Rounds restarted because the live queue overflowed.
    pub rounds: u32,
    failures: u32,
    retry_at: Option<Instant>,
    /// The epoch to report when a reconnect catch-up ends.
    epoch: Option<String>,
}

#[derive(Debug)]
enum Phase {
    /// `since=`: check the epoch and for trimmed history, then go forward.
    Check {
        since: StreamId,
        epoch: Option<String>,
    },
    /// `last=`: walk back until `remaining` matching entries are found.
    ScanBack {
        remaining: usize,
        before: Option<StreamId>,
    },
    /// Read forward from `next` (inclusive) to the end of the stream.
    Forward { next: StreamId },
}

/// The result of one Redis round trip.
#[derive(Debug)]
pub enum Fetched {
    /// Stream info and current epoch, for `since=` checks.
    Info {
        /// Oldest entry and trimmed ids.
        info: StreamInfo,
        /// The stream's epoch now.
        epoch: String,
    },
    /// A page read backwards (for `last=`).
    Back(Vec<Entry>),
    /// A page read forwards.
    Forward(Vec<Entry>),
}

/// What one step produced.
#[derive(Debug, Default)]
pub struct Applied {
    /// Bridge notices to send first (gap, history reset).
    pub notices: Vec<Frame>,
    /// Replayed events to send, in stream order.
    pub frames: Vec<Frame>,
    /// Events skipped because the client already had them.
    pub duplicates: u64,
    /// The stream is exhausted: time to join the live queue.
    pub round_end: bool,
}

/// The id just before `id`, for backward pages (`XREVRANGE` ends are inclusive).
fn prev(id: StreamId) -> StreamId {
    match id.seq.checked_sub(1) {
        Some(seq) => StreamId::new(id.ms, seq),
        None if id.ms == 0 => StreamId::ZERO,
        None => StreamId::new(id.ms - 1, u64::MAX),
    }
}

/// A `bridge_status` frame.
pub fn notice(status: BridgeStatus) -> Frame {
    Frame::status(status)
}

impl Replay {
    /// `since=<id>` (with the `epoch=` the client last saw, if any).
    pub fn since(since: StreamId, epoch: Option<String>) -> Replay {
        Replay::new(ReplayKind::Since, Phase::Check { since, epoch }, None)
    }

    /// `last=<n>`; `n` is at least 1.
    pub fn last(n: usize) -> Replay {
        Replay::new(
            ReplayKind::Last,
            Phase::ScanBack {
                remaining: n,
                before: None,
            },
            None,
        )
    }

    /// Catching up a connected client after Redis came back. `None` when there is
    /// nothing to catch up from: the client's position is unknown and Redis
    /// kept its history (`bridge_hello` always sets a position, so this is a
    /// safeguard).
    pub fn resync(position: &mut Option<StreamId>, resync: &Resync) -> Option<Replay> {
        let next = if resync.epoch_changed {
            // Every entry in the new epoch is new to the client, whatever its id.
            *position = Some(StreamId::ZERO);
            StreamId::ZERO
        } else {
            position.map(StreamId::next)?
        };
        Some(Replay::new(
            ReplayKind::Reconnect,
            Phase::Forward { next },
            resync.epoch.clone(),
        ))
    }

    fn new(kind: ReplayKind, phase: Phase, epoch: Option<String>) -> Replay {
        Replay {
            kind,
            phase,
            replayed: 0,
            rounds: 0,
            failures: 0,
            retry_at: None,
            epoch,
        }
    }

    /// One Redis round trip for the current phase (after the retry delay, if the
    /// previous one failed). No side effects: safe to drop half-way.
    pub async fn fetch(&self, store: &Store, page: usize) -> redis::RedisResult<Fetched> {
        if let Some(at) = self.retry_at {
            tokio::time::sleep_until(at.into()).await;
        }
        match &self.phase {
            Phase::Check { .. } => {
                let info = store.info().await?;
                let epoch = store.epoch().await?;
                Ok(Fetched::Info { info, epoch })
            }
            Phase::ScanBack { before, .. } => {
                store.rev_range(*before, page).await.map(Fetched::Back)
            }
            Phase::Forward { next } => store.range(*next, page).await.map(Fetched::Forward),
        }
    }

    /// Records a failed fetch; returns `true` on the first failure of a run, so
    /// the client is told once that replay waits for Redis.
    pub fn failed(&mut self) -> bool {
        self.failures += 1;
        let backoff = Duration::from_millis(200u64 << self.failures.min(4));
        self.retry_at = Some(Instant::now() + backoff);
        self.failures == 1
    }

    /// Applies a fetched page: updates the phase and `position` (the last id the
    /// client has, or deliberately skipped) and returns what to send.
    pub fn apply(
        &mut self,
        fetched: Fetched,
        filter: &Filter,
        position: &mut Option<StreamId>,
        page: usize,
        metrics: &Metrics,
    ) -> Applied {
        self.failures = 0;
        self.retry_at = None;
        let mut out = Applied::default();
        match (fetched, &mut self.phase) {
            (Fetched::Info { info, epoch }, Phase::Check { since, epoch: seen }) => {
                let since = *since;
                if seen.as_ref().is_some_and(|e| *e != epoch) {
                    metrics.history_reset();
                    let mut s = BridgeStatus::new(
                        StatusKind::HistoryReset,
                        "the stream's epoch changed: Redis lost its history; replaying the new history from its start",
                    );
                    s.from = Some(since);
                    out.notices.push(notice(s.with_epoch(Some(epoch))));
                    *position = Some(StreamId::ZERO);
                    self.phase = Phase::Forward {
                        next: StreamId::ZERO,
                    };
                } else {
                    if since != StreamId::ZERO && gap_after(since, &info) {
                        metrics.replay_gap();
                        let mut s = BridgeStatus::new(
                            StatusKind::Gap,
                            "events after `since` were trimmed from the stream; replaying what remains",
                        );
                        s.from = Some(since);
                        s.to = info.first;
                        out.notices.push(notice(s));
                    }
                    *position = Some(since);
                    self.phase = Phase::Forward { next: since.next() };
                }
            }
            (Fetched::Back(entries), Phase::ScanBack { remaining, before }) => {
                let short = entries.len() < page;
                let mut start = None;
                for entry in &entries {
                    *before = Some(prev(entry.id));
                    let passes = entry.body.as_ref().is_some_and(|b| {
                        Frame::from_stream(entry.id, b.clone()).is_some_and(|f| f.matches(filter))
                    });
                    if passes {
                        *remaining = remaining.saturating_sub(1);
                        if *remaining == 0 {
                            start = Some(entry.id);
                            break;
                        }
                    }
                }
                let start = match start {
                    Some(id) => Some(id),
                    None if short || *before == Some(StreamId::ZERO) => Some(StreamId::ZERO),
                    None => None,
                };
                if let Some(start) = start {
                    *position = Some(prev(start));
                    self.phase = Phase::Forward { next: start };
                }
            }
            (Fetched::Forward(entries), Phase::Forward { next }) => {
                out.round_end = entries.len() < page;
                for entry in entries {
                    *next = entry.id.next();
                    if position.is_some_and(|p| entry.id <= p) {
                        out.duplicates += 1;
                        continue;
                    }
                    *position = Some(entry.id);
                    let Some(frame) = entry.body.and_then(|b| Frame::from_stream(entry.id, b))
                    else {
                        continue;
                    };
                    if frame.matches(filter) {
                        out.frames.push(frame);
                    }
                }
                self.replayed += out.frames.len() as u64;
            }
            // A page for another phase (cannot happen: fetch reads the current
            // phase, and apply runs right after it). Ignore it; the next fetch
            // reads the right thing.
            _ => {}
        }
        out
    }

    /// The notice that ends the replay: `replay_done`, or `redis_up` after a reconnect.
    pub fn done_notice(&self) -> Frame {
        match self.kind {
            ReplayKind::Reconnect => {
                let mut s = BridgeStatus::new(
                    StatusKind::RedisUp,
                    format!(
                        "Redis is back; caught up {} events from the stream",
                        self.replayed
                    ),
                );
                s.replayed = Some(self.replayed);
                notice(s.with_epoch(self.epoch.clone()))
            }
            ReplayKind::Since | ReplayKind::Last => {
                let mut s = BridgeStatus::new(
                    StatusKind::ReplayDone,
                    format!("replayed {} events; live from here", self.replayed),
                );
                s.replayed = Some(self.replayed);
                notice(s)
            }
        }
    }
}

/// Whether events after `since` were trimmed or deleted.
///
/// `XDEL` is exact (`max-deleted-entry-id`). Trimming removes the oldest
/// entries and Redis does not record which: when entries were removed
/// (`entries-added` > `length`, Redis ≥ 7) and `since` is older than the oldest
/// entry left, the client missed something — unless `since` was exactly the
/// last entry trimmed, which cannot be told apart (a rare false alarm, never a
/// silent loss). Older servers only give the oldest entry.
fn gap_after(since: StreamId, info: &StreamInfo) -> bool {
    if info.max_deleted.is_some_and(|deleted| deleted > since) {
        return true;
    }
    let older_than_oldest = |bound: StreamId| info.first.is_some_and(|first| first > bound);
    match (info.entries_added, info.length) {
        (Some(added), Some(length)) => added > length && older_than_oldest(since),
        _ => older_than_oldest(since.next()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ms: u64, body: &str) -> Entry {
        Entry {
            id: StreamId::new(ms, 0),
            body: Some(body.as_bytes().to_vec()),
        }
    }

    fn ev(ms: u64, kind: &str) -> Entry {
        entry(ms, &format!(r#"{{"id":"{ms}-0","type":"{kind}"}}"#))
    }

    #[test]
    fn prev_steps_back_across_milliseconds() {
        assert_eq!(prev(StreamId::new(5, 2)), StreamId::new(5, 1));
        assert_eq!(prev(StreamId::new(5, 0)), StreamId::new(4, u64::MAX));
        assert_eq!(prev(StreamId::ZERO), StreamId::ZERO);
    }

    #[test]
    fn since_reports_a_gap_and_skips_what_the_client_has() {
        let m = Metrics::new();
        let mut r = Replay::since(StreamId::new(3, 0), None);
        let mut pos = None;
        let info = StreamInfo {
            first: Some(StreamId::new(10, 0)),
            length: Some(5),
            entries_added: Some(9),
            ..StreamInfo::default()
        };
        let a = r.apply(
            Fetched::Info {
                info,
                epoch: "e".into(),
            },
            &Filter::default(),
            &mut pos,
            2,
            &m,
        );
        assert_eq!(a.notices.len(), 1);
        assert!(a.notices[0].as_str().contains(r#""status":"gap""#));
        assert_eq!(pos, Some(StreamId::new(3, 0)));
        let a = r.apply(
            Fetched::Forward(vec![ev(10, "a"), ev(11, "b")]),
            &Filter::default(),
            &mut pos,
            2,
            &m,
        );
        assert_eq!(a.frames.len(), 2);
        assert!(!a.round_end);
        let a = r.apply(
            Fetched::Forward(vec![ev(12, "c")]),
            &Filter::default(),
            &mut pos,
            2,
            &m,
        );
        assert!(a.round_end);
        assert_eq!(pos, Some(StreamId::new(12, 0)));
        assert_eq!(r.replayed, 3);
    }

    #[test]
    fn gaps_are_trims_or_deletions_after_since() {
        let trimmed = StreamInfo {
            first: Some(StreamId::new(10, 0)),
            length: Some(5),
            entries_added: Some(9),
            ..StreamInfo::default()
        };
        assert!(gap_after(StreamId::new(3, 0), &trimmed));
        assert!(!gap_after(StreamId::new(10, 0), &trimmed));
        let untrimmed = StreamInfo {
            entries_added: Some(5),
            ..trimmed.clone()
        };
        assert!(!gap_after(StreamId::new(3, 0), &untrimmed));
        let deleted = StreamInfo {
            max_deleted: Some(StreamId::new(12, 0)),
            ..untrimmed
        };
        assert!(gap_after(StreamId::new(11, 0), &deleted));
        assert!(!gap_after(StreamId::new(12, 0), &deleted));
    }

    #[test]
    fn a_stale_epoch_resets_history() {
        let m = Metrics::new();
        let mut r = Replay::since(StreamId::new(50, 0), Some("old".into()));
        let mut pos = None;
        let a = r.apply(
            Fetched::Info {
                info: StreamInfo::default(),
                epoch: "new".into(),
            },
            &Filter::default(),
            &mut pos,
            10,
            &m,
        );
        assert!(
            a.notices[0]
                .as_str()
                .contains(r#""status":"history_reset""#)
        );
        assert!(a.notices[0].as_str().contains(r#""epoch":"new""#));
        // Entries older than `since` are new history now and are sent.
        let a = r.apply(
            Fetched::Forward(vec![ev(7, "a")]),
            &Filter::default(),
            &mut pos,
            10,
            &m,
        );
        assert_eq!(a.frames.len(), 1);
    }

    #[test]
    fn last_counts_only_matching_entries() {
        let m = Metrics::new();
        let tools = Filter {
            types: vec!["tool_use".into()],
            ..Filter::default()
        };
        let mut r = Replay::last(2);
        let mut pos = None;
        // Newest first: 9 tool, 8 other, 7 tool -> start at 7.
        r.apply(
            Fetched::Back(vec![ev(9, "tool_use"), ev(8, "x"), ev(7, "tool_use")]),
            &tools,
            &mut pos,
            10,
            &m,
        );
        assert!(matches!(r.phase, Phase::Forward { next } if next == StreamId::new(7, 0)));
        let a = r.apply(
            Fetched::Forward(vec![ev(7, "tool_use"), ev(8, "x"), ev(9, "tool_use")]),
            &tools,
            &mut pos,
            10,
            &m,
        );
        assert_eq!(a.frames.len(), 2);
        assert!(a.round_end);
    }

    #[test]
    fn resync_without_a_position_needs_nothing_unless_history_was_lost() {
        let mut pos = None;
        let same = Resync {
            epoch_changed: false,
            epoch: Some("e".into()),
        };
        assert!(Replay::resync(&mut pos, &same).is_none());
        let lost = Resync {
            epoch_changed: true,
            epoch: Some("f".into()),
        };
        assert!(Replay::resync(&mut pos, &lost).is_some());
        assert_eq!(pos, Some(StreamId::ZERO));
    }
}
