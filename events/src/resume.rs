//! The client half of gapless resume, as a pure state machine.
//!
//! The bridge's half (`bridge/src/replay.rs`) guarantees that each connection
//! delivers ids in order: replay, then live, no gap and no duplicate at the
//! seam. This half is what a client does with that across connections: where
//! it stands in the stream ([`Position`], centrifuge's `StreamPosition`), what
//! to do with each frame ([`Resumer::on_frame`] → [`Verdict`]) and what to ask
//! for when it reconnects ([`Resumer::query`]). It does no I/O, so the TUI's
//! client, the fault suite's witness and any future client share it, and its
//! promise — every id delivered once, in order, across any number of
//! reconnects — is tested here without a socket (see `docs/protocol.md`,
//! "Resuming").
//!
//! How a client uses it:
//!
//! 1. [`Resumer::query`] gives the parameters of the next connection (`since`
//!    and `epoch`, or the first connection's [`Start`]).
//! 2. [`Resumer::on_connect`] when the WebSocket is open.
//! 3. [`Resumer::on_frame`] for every text frame, in order; the verdict says
//!    whether to hand it on, skip it as a duplicate, or hand it on and then
//!    reconnect at once from the position (the bridge dropped frames).
//! 4. On any disconnect: back to 1.

use std::collections::BTreeSet;

use crate::event::{Event, EventKind};
use crate::frame::{BridgeStatus, StatusKind};
use crate::id::StreamId;

/// Where a client stands in the stream: the last id it holds with nothing
/// missing before it, and the epoch of the stream that id belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// The last id delivered (or deliberately skipped by the bridge).
    pub id: StreamId,
    /// The stream's epoch (`None`: not told yet, e.g. a `--since` from a
    /// previous session).
    pub epoch: Option<String>,
}

/// Where the first connection starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Start {
    /// Live events only (no query parameter).
    #[default]
    Live,
    /// `since=<id>`: everything after `id`, then live.
    Since(StreamId),
    /// `last=<n>`: the newest `n` matching events, then live.
    Last(usize),
}

/// The replay parameters of one connection attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// No replay parameter.
    Live,
    /// `since=<id>` and, when known, `epoch=<epoch>`.
    Since(Position),
    /// `last=<n>`.
    Last(usize),
}

impl Query {
    /// The query pairs, in the order they go on the URL.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        match self {
            Query::Live => Vec::new(),
            Query::Since(p) => {
                let mut out = vec![("since", p.id.to_string())];
                if let Some(epoch) = &p.epoch {
                    out.push(("epoch", epoch.clone()));
                }
                out
            }
            Query::Last(n) => vec![("last", n.to_string())],
        }
    }
}

/// What to do with one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Hand the frame on.
    Deliver,
    /// An event already delivered (an overlapping replay): skip it.
    Duplicate,
    /// Hand the frame on (a `dropped` status), then close this connection and
    /// reconnect at once: [`Resumer::query`] now asks from `from`.
    Reconnect {
        /// Where the next connection resumes.
        from: StreamId,
        /// Frames the bridge reported dropped.
        dropped: u64,
    },
}

/// Default number of ids remembered for deduplication.
pub const DEFAULT_SEEN_CAPACITY: usize = 65_536;

/// Which event ids the client already holds, so a resumed replay that overlaps
/// what arrived before is not delivered twice.
///
/// Why a set and not a high-water mark: after the bridge reports `dropped`, the
/// client asks again from `resume_from`, and that replay carries both ids it
/// never saw (the hole, below the newest id it holds) and ids it already has.
/// The set is bounded: when it is full its smallest ids are forgotten and
/// everything at or below them counts as seen (a replay never reaches that far
/// back in practice, and memory must stay bounded).
#[derive(Debug, Clone)]
pub struct SeenIds {
    seen: BTreeSet<StreamId>,
    /// Ids at or below this were forgotten and count as seen.
    floor: Option<StreamId>,
    capacity: usize,
}

impl Default for SeenIds {
    fn default() -> Self {
        SeenIds::new(DEFAULT_SEEN_CAPACITY)
    }
}

impl SeenIds {
    /// A set remembering at most `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        SeenIds {
            seen: BTreeSet::new(),
            floor: None,
            capacity: capacity.max(1),
        }
    }

    /// Records `id`; returns `false` when it was seen before (a duplicate).
    pub fn insert(&mut self, id: StreamId) -> bool {
        if self.floor.is_some_and(|floor| id <= floor) {
            return false;
        }
        if !self.seen.insert(id) {
            return false;
        }
        while self.seen.len() > self.capacity {
            self.floor = self.seen.pop_first();
        }
        true
    }

    /// Forgets everything: the stream's history was reset, ids start over.
    pub fn clear(&mut self) {
        self.seen.clear();
        self.floor = None;
    }

    /// How many ids are remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

/// The client's resume state across connections.
#[derive(Debug, Clone)]
pub struct Resumer {
    /// How the first connection starts (until a position is known).
    start: Start,
    /// The last id with nothing missing before it.
    id: Option<StreamId>,
    /// The stream's epoch as last told.
    epoch: Option<String>,
    seen: SeenIds,
    /// After a `dropped` report, later frames on the same connection no longer
    /// prove that nothing before them is missing, so they must not move the
    /// position.
    contiguous: bool,
}

impl Resumer {
    /// A resumer whose first connection starts at `start`, remembering up to
    /// `capacity` ids for deduplication.
    pub fn new(start: Start, capacity: usize) -> Self {
        Resumer {
            id: match start {
                Start::Since(id) => Some(id),
                Start::Live | Start::Last(_) => None,
            },
            start,
            epoch: None,
            seen: SeenIds::new(capacity),
            contiguous: true,
        }
    }

    /// Where the client stands, once it knows.
    pub fn position(&self) -> Option<Position> {
        self.id.map(|id| Position {
            id,
            epoch: self.epoch.clone(),
        })
    }

    /// The stream's epoch as last told.
    pub fn epoch(&self) -> Option<&str> {
        self.epoch.as_deref()
    }

    /// What the next connection asks for: `since` (and `epoch`) once a
    /// position is known, else the first connection's start.
    pub fn query(&self) -> Query {
        match (self.position(), &self.start) {
            (Some(p), _) => Query::Since(p),
            (None, Start::Last(n)) => Query::Last(*n),
            (None, _) => Query::Live,
        }
    }

    /// A new connection is open: it delivers ids in order again.
    pub fn on_connect(&mut self) {
        self.contiguous = true;
    }

    /// Judges one parsed frame. Frames that do not parse are not events and
    /// are always delivered (the caller need not call this for them).
    pub fn on_frame(&mut self, event: &Event) -> Verdict {
        if let Some(id) = event.id {
            if !self.seen.insert(id) {
                return Verdict::Duplicate;
            }
            if self.contiguous {
                self.id = Some(id);
            }
        }
        match &event.kind {
            EventKind::BridgeHello(hello) => {
                // A changed epoch is followed by a `history_reset` when this
                // connection resumed with the old one; adopting it here is
                // what the next `since` must name either way.
                if hello.epoch.is_some() {
                    self.epoch.clone_from(&hello.epoch);
                }
                Verdict::Deliver
            }
            EventKind::BridgeStatus(status) => self.on_status(status),
            _ => Verdict::Deliver,
        }
    }

    fn on_status(&mut self, status: &BridgeStatus) -> Verdict {
        match status.status {
            StatusKind::HistoryReset => {
                // Redis lost its history: ids start over, a seen id may come
                // again as a new event.
                self.seen.clear();
                self.adopt_epoch(status);
                Verdict::Deliver
            }
            StatusKind::RedisUp => {
                // The bridge caught this connection up itself; it names the
                // stream's current epoch.
                self.adopt_epoch(status);
                Verdict::Deliver
            }
            StatusKind::Dropped => {
                self.contiguous = false;
                match status.resume_from {
                    Some(from) => {
                        self.id = Some(from);
                        Verdict::Reconnect {
                            from,
                            dropped: status.dropped.unwrap_or(0),
                        }
                    }
                    // No position to refill from: keep the connection, and
                    // keep resuming from the last contiguous id.
                    None => Verdict::Deliver,
                }
            }
            // Gap: the events are gone from the stream, nothing to refill.
            // ReplayDone, RedisDown: news for people; the position is unchanged.
            StatusKind::Gap
            | StatusKind::ReplayDone
            | StatusKind::RedisDown
            | StatusKind::Unknown => Verdict::Deliver,
        }
    }

    fn adopt_epoch(&mut self, status: &BridgeStatus) {
        if status.epoch.is_some() {
            self.epoch.clone_from(&status.epoch);
        }
    }
}

impl Default for Resumer {
    fn default() -> Self {
        Resumer::new(Start::Live, DEFAULT_SEEN_CAPACITY)
    }
}

#[cfg(test)]
mod tests;
