//! The replay stream's length and memory for `/healthz`, cached.
//!
//! Why cached: `MEMORY USAGE` walks part of the stream, and `/healthz` is
//! polled by probes and dashboards at any rate. One measurement is reused for
//! [`REFRESH`]; concurrent callers while it is stale share one query (the
//! lock is held across it), and a Redis that does not answer costs a caller
//! at most the store's deadline.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Mutex;

use crate::store::Store;

/// How long a measurement is reused.
pub const REFRESH: Duration = Duration::from_secs(5);
/// Entries `MEMORY USAGE` samples (Redis' default is 5).
pub const SAMPLES: u32 = 5;

/// One measurement, as `/healthz` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StreamUsage {
    /// `XLEN` of the stream.
    pub length: u64,
    /// `MEMORY USAGE … SAMPLES n` in bytes; `None` when the stream is absent.
    pub memory_bytes: Option<u64>,
    /// Seconds since it was measured.
    pub age_secs: u64,
}

/// The cache.
#[derive(Debug, Default)]
pub struct UsageCache {
    last: Mutex<Option<(Instant, u64, Option<u64>)>>,
}

impl UsageCache {
    /// The last measurement if younger than [`REFRESH`], else a new one;
    /// when Redis cannot answer, the last one (with its age), if any.
    pub async fn get(&self, store: &Store) -> Option<StreamUsage> {
        let mut last = self.last.lock().await;
        let fresh = last.is_some_and(|(at, _, _)| at.elapsed() < REFRESH);
        if !fresh {
            match store.usage(SAMPLES).await {
                Ok((length, memory)) => *last = Some((Instant::now(), length, memory)),
                Err(e) => tracing::debug!(error = %e, "stream usage not measured"),
            }
        }
        last.map(|(at, length, memory_bytes)| StreamUsage {
            length,
            memory_bytes,
            age_secs: at.elapsed().as_secs(),
        })
    }
}
