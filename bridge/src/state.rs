//! What every part of a running bridge shares: settings, hub, store, counters,
//! the Redis link's state and the stop signal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use orchestrator_events::StreamId;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::hub::Hub;
use crate::limits::Limiter;
use crate::metrics::Metrics;
use crate::store::Store;
use crate::stream_usage::UsageCache;

/// The state of one bridge, behind an `Arc`.
#[derive(Debug)]
pub struct Shared {
    /// Settings, fixed for the bridge's life.
    pub config: Config,
    /// Connected clients.
    pub hub: Arc<Hub>,
    /// Counters for `/healthz` and `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Stream reads for replay and `bridge_hello`.
    pub store: Store,
    /// The stream's length and memory for `/healthz`, measured at most every few seconds.
    pub stream_usage: UsageCache,
    /// Whether the subscription is live, and the last epoch seen.
    pub redis: RedisState,
    /// Connection counts and rates per IP.
    pub limiter: Limiter,
    /// Cancelled when the bridge stops.
    pub shutdown: CancellationToken,
    /// Every connection task, so shutdown can wait for their close frames.
    pub tracker: TaskTracker,
    /// Connections before the upgrade: pending now, closed by reason.
    pub http: Arc<orchestrator_serve::ConnStats>,
}

/// The subscription's state as the subscriber last saw it.
#[derive(Debug, Default)]
pub struct RedisState {
    up: AtomicBool,
    epoch: Mutex<Option<String>>,
    /// The newest event id handed to the hub: where a client that connects
    /// while the stream cannot be read stands (everything up to it went out
    /// live before the client came).
    forwarded: Mutex<Option<StreamId>>,
}

impl RedisState {
    /// Whether the subscription is live now.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// The epoch read at the last (re)connection.
    pub fn epoch(&self) -> Option<String> {
        self.epoch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The newest event id the subscriber has handed to the hub, if any.
    pub fn forwarded(&self) -> Option<StreamId> {
        *self
            .forwarded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the newest id of a batch handed to the hub.
    pub fn set_forwarded(&self, id: StreamId) {
        let mut f = self
            .forwarded
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if f.is_none_or(|old| id > old) {
            *f = Some(id);
        }
    }

    /// Records a connection (with its epoch) or a loss.
    pub fn set(&self, up: bool, epoch: Option<String>) {
        if epoch.is_some() {
            let mut current = self.epoch.lock().unwrap_or_else(PoisonError::into_inner);
            if current.is_some() && *current != epoch {
                // A new epoch: ids of the old history say nothing about the new one.
                *self
                    .forwarded
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = None;
            }
            *current = epoch;
        }
        self.up.store(up, Ordering::Relaxed);
    }
}
