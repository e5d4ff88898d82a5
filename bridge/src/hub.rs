//! Who is connected, and handing each batch of frames to all of them.
//!
//! The subscriber calls [`Hub::publish`] once per batch of channel messages. It
//! takes a read lock on the registry (std `RwLock`: held for a loop of
//! non-blocking pushes, never across an await), and for each client queues the
//! frames its filter passes. A slow client's full queue costs it frames, never
//! the others time: pushing never waits.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use orchestrator_events::Filter;

use crate::frame::Frame;
use crate::metrics::Metrics;
use crate::queue::{ClientQueue, Item};

/// One registered client: its queue and its filter.
#[derive(Debug)]
pub struct Slot {
    id: u64,
    /// Frames waiting for the client's writer.
    pub queue: ClientQueue,
    /// The filter from its query string, applied before queuing.
    pub filter: Filter,
}

/// The registry of connected clients.
#[derive(Debug)]
pub struct Hub {
    clients: RwLock<Vec<Arc<Slot>>>,
    next_id: AtomicU64,
    metrics: Arc<Metrics>,
}

/// A client's place in the hub; leaving is dropping it.
#[derive(Debug)]
pub struct Registration {
    hub: Arc<Hub>,
    slot: Arc<Slot>,
}

impl Registration {
    /// The client's slot (queue and filter).
    pub fn slot(&self) -> &Slot {
        &self.slot
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut clients = self
            .hub
            .clients
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(pos) = clients.iter().position(|s| s.id == self.slot.id) {
            clients.swap_remove(pos);
        }
    }
}

impl Hub {
    /// An empty hub reporting drops to `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Hub {
            clients: RwLock::new(Vec::new()),
            next_id: AtomicU64::new(1),
            metrics,
        }
    }

    /// Adds a client. From now on every published frame its filter passes is
    /// queued for it — which is what makes a replay's seam gapless: register
    /// first, read the stream after.
    pub fn register(
        self: &Arc<Self>,
        filter: Filter,
        max_frames: usize,
        max_bytes: usize,
    ) -> Registration {
        let slot = Arc::new(Slot {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            queue: ClientQueue::new(max_frames, max_bytes),
            filter,
        });
        self.clients
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(slot.clone());
        Registration {
            hub: self.clone(),
            slot,
        }
    }

    /// Queues a batch of frames for every client whose filter passes them.
    pub fn publish(&self, frames: &[Frame]) {
        if frames.is_empty() {
            return;
        }
        let clients = self.clients.read().unwrap_or_else(PoisonError::into_inner);
        let mut dropped = 0;
        for slot in clients.iter() {
            dropped += slot.queue.push_events(frames, &slot.filter);
        }
        drop(clients);
        self.metrics.dropped(dropped);
    }

    /// Queues a notice or a resync for every client, whatever its filter or lag.
    pub fn broadcast(&self, item: &Item) {
        let clients = self.clients.read().unwrap_or_else(PoisonError::into_inner);
        for slot in clients.iter() {
            slot.queue.push_control(item.clone());
        }
    }

    /// Clients registered now.
    pub fn len(&self) -> usize {
        self.clients
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Frames and bytes waiting in all queues together (for `/metrics`).
    pub fn queued(&self) -> (usize, usize) {
        let clients = self.clients.read().unwrap_or_else(PoisonError::into_inner);
        clients.iter().fold((0, 0), |(f, b), slot| {
            let (sf, sb) = slot.queue.depth();
            (f + sf, b + sb)
        })
    }

    /// Whether nobody is connected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn frame(kind: &str) -> Frame {
        Frame::from_channel(format!(r#"{{"type":"{kind}"}}"#).as_bytes(), 1024).expect("valid")
    }

    #[test]
    fn publishes_to_each_filter_and_forgets_on_drop() {
        let hub = Arc::new(Hub::new(Arc::new(Metrics::new())));
        let all = hub.register(Filter::default(), 10, 1 << 20);
        let tools = hub.register(
            Filter {
                types: vec!["tool_use".into()],
                ..Filter::default()
            },
            10,
            1 << 20,
        );
        hub.publish(&[frame("tool_use"), frame("reasoning")]);
        assert_eq!(all.slot().queue.depth().0, 2);
        assert_eq!(tools.slot().queue.depth().0, 1);
        drop(tools);
        assert_eq!(hub.len(), 1);
        hub.publish(&[frame("tool_use")]);
        let mut out = VecDeque::new();
        all.slot().queue.take(&mut out);
        assert_eq!(out.len(), 3);
    }
}
