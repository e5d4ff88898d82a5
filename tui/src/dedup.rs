//! Which event ids the client already holds, so a resumed replay that overlaps
//! what arrived before is not shown twice.
//!
//! Why a set and not a high-water mark: after the bridge reports `dropped`, the
//! client asks again from `resume_from`, and that replay carries both ids it
//! never saw (the hole, below the newest id it holds) and ids it already has.
//! The set is bounded: when it is full its smallest ids are forgotten and
//! everything at or below them counts as seen (a replay never reaches that far
//! back in practice, and memory must stay bounded).

use std::collections::BTreeSet;

use orchestrator_events::StreamId;

/// A bounded set of seen stream ids.
#[derive(Debug, Clone)]
pub struct Dedup {
    seen: BTreeSet<StreamId>,
    /// Ids at or below this were forgotten and count as seen.
    floor: Option<StreamId>,
    capacity: usize,
}

/// Default number of ids remembered.
pub const DEFAULT_DEDUP_CAPACITY: usize = 65_536;

impl Default for Dedup {
    fn default() -> Self {
        Dedup::new(DEFAULT_DEDUP_CAPACITY)
    }
}

impl Dedup {
    /// A set remembering at most `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        Dedup {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_repeats_and_accepts_holes_below_the_newest() {
        let mut d = Dedup::new(10);
        assert!(d.insert(StreamId::new(5, 0)));
        assert!(d.insert(StreamId::new(9, 0)));
        assert!(!d.insert(StreamId::new(5, 0)));
        // A hole being filled: older than the newest, never seen.
        assert!(d.insert(StreamId::new(7, 0)));
        assert!(!d.insert(StreamId::new(7, 0)));
    }

    #[test]
    fn stays_bounded_and_treats_forgotten_ids_as_seen() {
        let mut d = Dedup::new(3);
        for ms in 1..=5 {
            assert!(d.insert(StreamId::new(ms, 0)));
        }
        assert_eq!(d.len(), 3);
        assert!(!d.insert(StreamId::new(1, 0)));
        assert!(!d.insert(StreamId::new(2, 0)));
        assert!(d.insert(StreamId::new(6, 0)));
        d.clear();
        assert!(d.insert(StreamId::new(1, 0)));
    }
}
