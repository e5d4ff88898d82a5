//! One client's bounded outbound queue: the only place a slow client costs memory.
//!
//! The hub pushes shared [`Frame`]s (a pointer each) under a short,
//! uncontended lock that is never held across an await; the client's writer
//! swaps the whole queue out in one go and writes it as one batch.
//!
//! Slow-client policy: the queue holds at most `max_frames` frames and
//! `max_bytes` bytes. When a frame does not fit, the client is *lagging*: that
//! frame and every later one are dropped (and counted) until the writer drains
//! the queue. The writer then sends a `bridge_status` `dropped` frame with the
//! count and the id to resume from (the last id the client received), so the
//! loss is one contiguous, announced run — never silent. A client that stops
//! reading altogether is closed by the writer's timeout (see `client.rs`).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

use orchestrator_events::Filter;
use tokio::sync::Notify;

use crate::frame::Frame;

/// What the hub hands a client.
#[derive(Debug, Clone)]
pub enum Item {
    /// An event or bridge notice to send.
    Frame(Frame),
    /// Redis came back: catch this client up from the stream before going on.
    Resync(Resync),
}

/// Why and how a connected client must be caught up after Redis returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resync {
    /// The stream's epoch differs from before the loss: Redis lost its data, so
    /// every entry now in the stream is new to the client.
    pub epoch_changed: bool,
    /// The current epoch, told to the client.
    pub epoch: Option<String>,
}

/// A client's queue.
#[derive(Debug)]
pub struct ClientQueue {
    state: Mutex<State>,
    notify: Notify,
    max_frames: usize,
    max_bytes: usize,
}

#[derive(Debug, Default)]
struct State {
    items: VecDeque<Item>,
    bytes: usize,
    /// Frames dropped since the writer last drained; non-zero means lagging.
    dropped: u64,
}

impl ClientQueue {
    /// An empty queue with these bounds.
    pub fn new(max_frames: usize, max_bytes: usize) -> Self {
        ClientQueue {
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            max_frames,
            max_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues the frames `filter` lets through; returns how many were dropped
    /// because the queue was full. Never waits.
    pub fn push_events(&self, frames: &[Frame], filter: &Filter) -> u64 {
        let mut st = self.lock();
        let was_idle = st.items.is_empty() && st.dropped == 0;
        let mut dropped = 0;
        for frame in frames {
            if !frame.matches(filter) {
                continue;
            }
            let full = st.items.len() >= self.max_frames
                || (st.bytes + frame.len() > self.max_bytes && !st.items.is_empty());
            if st.dropped > 0 || full {
                st.dropped += 1;
                dropped += 1;
                continue;
            }
            st.bytes += frame.len();
            st.items.push_back(Item::Frame(frame.clone()));
        }
        let wake = was_idle && (!st.items.is_empty() || st.dropped > 0);
        drop(st);
        if wake {
            self.notify.notify_one();
        }
        dropped
    }

    /// Queues a notice or a resync, regardless of bounds (they are rare and small,
    /// and a lagging client must still hear that Redis went down).
    pub fn push_control(&self, item: Item) {
        let mut st = self.lock();
        let was_idle = st.items.is_empty() && st.dropped == 0;
        st.items.push_back(item);
        drop(st);
        if was_idle {
            self.notify.notify_one();
        }
    }

    /// Moves everything queued into `into` (which should be empty, and keeps its
    /// capacity for the next swap) and returns how many frames were dropped since
    /// the last call. The lag ends here.
    pub fn take(&self, into: &mut VecDeque<Item>) -> u64 {
        let mut st = self.lock();
        std::mem::swap(&mut st.items, into);
        st.bytes = 0;
        std::mem::take(&mut st.dropped)
    }

    /// Resolves when something was queued since the last [`ClientQueue::take`]
    /// (or spuriously; callers take and find nothing).
    pub async fn notified(&self) {
        self.notify.notified().await;
    }

    /// Frames and bytes waiting now.
    pub fn depth(&self) -> (usize, usize) {
        let st = self.lock();
        (st.items.len(), st.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(i: u64) -> Frame {
        let text = format!(r#"{{"id":"{i}-0","type":"reasoning","content":"0123456789"}}"#);
        Frame::from_channel(text.as_bytes(), 1 << 20).expect("valid")
    }

    #[test]
    fn overflow_drops_a_contiguous_run_until_drained() {
        let q = ClientQueue::new(3, 1 << 20);
        let frames: Vec<Frame> = (1..=5).map(frame).collect();
        assert_eq!(q.push_events(&frames, &Filter::default()), 2);
        // Still lagging: even one more frame is dropped, though it would fit after a drain.
        assert_eq!(q.push_events(&[frame(6)], &Filter::default()), 1);
        let mut out = VecDeque::new();
        assert_eq!(q.take(&mut out), 3);
        assert_eq!(out.len(), 3);
        assert_eq!(q.push_events(&[frame(7)], &Filter::default()), 0);
        out.clear();
        assert_eq!(q.take(&mut out), 0);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn byte_bound_applies_but_one_frame_always_fits() {
        let f = frame(1);
        let q = ClientQueue::new(100, f.len() + 1);
        assert_eq!(q.push_events(&[frame(1), frame(2)], &Filter::default()), 1);
        let big = ClientQueue::new(100, 1);
        assert_eq!(big.push_events(&[frame(1)], &Filter::default()), 0);
        assert_eq!(big.depth().0, 1);
    }

    #[test]
    fn filter_applies_and_control_items_bypass_bounds() {
        let q = ClientQueue::new(1, 1 << 20);
        let only_tools = Filter {
            types: vec!["tool_use".into()],
            ..Filter::default()
        };
        assert_eq!(q.push_events(&[frame(1)], &only_tools), 0);
        assert_eq!(q.depth().0, 0);
        q.push_events(&[frame(1)], &Filter::default());
        q.push_control(Item::Resync(Resync {
            epoch_changed: false,
            epoch: None,
        }));
        assert_eq!(q.depth().0, 2);
    }

    #[tokio::test]
    async fn a_push_wakes_the_writer() {
        let q = std::sync::Arc::new(ClientQueue::new(10, 1 << 20));
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.notified().await });
        q.push_events(&[frame(1)], &Filter::default());
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("joined");
    }
}
