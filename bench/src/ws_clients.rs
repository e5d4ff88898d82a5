//! Many WebSocket clients that count what they receive: the fan-out and
//! latency benchmarks' consumers.
//!
//! Each client is one task reading one connection. It does as little as it
//! can per frame — scan for `seq` and `t_ns` ([`crate::payload`]), compare with
//! the number it expects, bump atomics — so that on a 2-core box most of the
//! CPU goes to the bridge being measured. Per run, a client knows the first
//! `seq` of the run and checks every number after it: a number seen twice is a
//! duplicate, a skipped one a gap, and the count tells loss. With latency on,
//! each event's publish-to-receipt time is recorded.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::measure::now_ns;
use crate::payload;

/// Why the pool could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// Some connections failed.
    #[error("{failed} of {wanted} WebSocket connections failed (first error: {first})")]
    Connect {
        /// How many were wanted.
        wanted: usize,
        /// How many failed.
        failed: usize,
        /// The first error.
        first: String,
    },
    /// Connected, but not every client got its `bridge_hello` in time.
    #[error("only {got} of {wanted} clients received bridge_hello within {timeout:?}")]
    Hello {
        /// How many were wanted.
        wanted: usize,
        /// How many got it.
        got: usize,
        /// The wait.
        timeout: Duration,
    },
}

/// What every client of a pool shares: the current run.
#[derive(Debug, Default)]
struct RunCtl {
    /// First `seq` of the current run; earlier ones are stale.
    lo: AtomicU64,
    /// Record latencies.
    record: AtomicBool,
}

/// One client's counters for the current run.
#[derive(Debug, Default)]
struct Stats {
    hello: AtomicBool,
    events: AtomicU64,
    dups: AtomicU64,
    gaps: AtomicU64,
    stale: AtomicU64,
    dropped_notices: AtomicU64,
    other: AtomicU64,
    last_recv_ns: AtomicU64,
    closed: AtomicBool,
    latencies: Mutex<Vec<u64>>,
}

impl Stats {
    fn reset(&self) {
        for a in [
            &self.events,
            &self.dups,
            &self.gaps,
            &self.stale,
            &self.dropped_notices,
            &self.other,
            &self.last_recv_ns,
        ] {
            a.store(0, Ordering::Relaxed);
        }
        self.latencies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// A set of connected clients.
pub struct Pool {
    ctl: Arc<RunCtl>,
    stats: Vec<Arc<Stats>>,
    tasks: Vec<JoinHandle<()>>,
}

/// What the clients of a pool saw in one run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunTally {
    /// Clients.
    pub clients: usize,
    /// Distinct in-run events received, all clients together.
    pub delivered: u64,
    /// Events expected but not received, all clients together.
    pub lost: u64,
    /// Events received more than once.
    pub duplicated: u64,
    /// Numbers skipped (seen as jumps in `seq`).
    pub gaps: u64,
    /// `bridge_status` `dropped` frames received.
    pub dropped_notices: u64,
    /// Frames that were neither bench events nor the bridge's.
    pub other: u64,
    /// Clients whose connection ended.
    pub closed: usize,
    /// Receipt time of the last event at the slowest client ([`now_ns`]).
    pub last_recv_ns: u64,
}

impl Pool {
    /// Opens `n` connections to `url` (at most `concurrency` handshakes at a
    /// time) and waits until each has its `bridge_hello`.
    pub async fn connect(url: &str, n: usize, concurrency: usize) -> Result<Pool, PoolError> {
        let ctl = Arc::new(RunCtl {
            lo: AtomicU64::new(u64::MAX),
            record: AtomicBool::new(false),
        });
        let results: Vec<_> = stream::iter(0..n)
            .map(|_| async {
                match tokio::time::timeout(
                    Duration::from_secs(10),
                    tokio_tungstenite::connect_async(url.to_string()),
                )
                .await
                {
                    Ok(r) => r.map_err(|e| e.to_string()),
                    Err(_) => Err("handshake timed out after 10 s".to_string()),
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        let mut pool = Pool {
            ctl,
            stats: Vec::with_capacity(n),
            tasks: Vec::with_capacity(n),
        };
        let mut first_err = None;
        let mut failed = 0;
        for r in results {
            match r {
                Ok((ws, _)) => {
                    let stats = Arc::new(Stats::default());
                    pool.stats.push(stats.clone());
                    pool.tasks
                        .push(tokio::spawn(read_loop(ws, stats, pool.ctl.clone())));
                }
                Err(e) => {
                    failed += 1;
                    first_err.get_or_insert(e);
                }
            }
        }
        if failed > 0 {
            return Err(PoolError::Connect {
                wanted: n,
                failed,
                first: first_err.unwrap_or_default(),
            });
        }
        let timeout = Duration::from_secs(30);
        let deadline = Instant::now() + timeout;
        loop {
            let got = pool
                .stats
                .iter()
                .filter(|s| s.hello.load(Ordering::Relaxed))
                .count();
            if got == n {
                return Ok(pool);
            }
            if Instant::now() >= deadline {
                return Err(PoolError::Hello {
                    wanted: n,
                    got,
                    timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Clients in the pool.
    pub fn len(&self) -> usize {
        self.stats.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.stats.is_empty()
    }

    /// Starts a run whose first event has `seq = first_seq`; clears the counters.
    pub fn begin_run(&self, first_seq: u64, record_latency: bool) {
        for s in &self.stats {
            s.reset();
        }
        self.ctl.record.store(record_latency, Ordering::Relaxed);
        self.ctl.lo.store(first_seq, Ordering::Release);
    }

    /// Waits until every client has `count` events of the run, up to `timeout`;
    /// returns whether they all did.
    pub async fn wait_all(&self, count: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let done = self
                .stats
                .iter()
                .all(|s| s.events.load(Ordering::Relaxed) >= count);
            if done {
                return true;
            }
            let all_closed = self.stats.iter().all(|s| s.closed.load(Ordering::Relaxed));
            if all_closed || Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// The run's tally, given how many events each client should have had.
    pub fn tally(&self, expected: u64) -> RunTally {
        let mut t = RunTally {
            clients: self.stats.len(),
            ..RunTally::default()
        };
        for s in &self.stats {
            let got = s.events.load(Ordering::Relaxed);
            t.delivered += got;
            t.lost += expected.saturating_sub(got);
            t.duplicated += s.dups.load(Ordering::Relaxed);
            t.gaps += s.gaps.load(Ordering::Relaxed);
            t.dropped_notices += s.dropped_notices.load(Ordering::Relaxed);
            t.other += s.other.load(Ordering::Relaxed);
            t.closed += usize::from(s.closed.load(Ordering::Relaxed));
            t.last_recv_ns = t.last_recv_ns.max(s.last_recv_ns.load(Ordering::Relaxed));
        }
        t
    }

    /// Takes the latencies recorded in this run (ns), all clients together.
    pub fn take_latencies(&self) -> Vec<u64> {
        self.take_latencies_of(0..self.stats.len())
    }

    /// Takes the latencies recorded by the clients at `range`.
    pub fn take_latencies_of(&self, range: std::ops::Range<usize>) -> Vec<u64> {
        let mut all = Vec::new();
        for s in &self.stats[range] {
            let mut l = s.latencies.lock().unwrap_or_else(PoisonError::into_inner);
            all.append(&mut l);
        }
        all
    }

    /// Disconnects every client.
    pub async fn close(mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn read_loop(mut ws: Ws, stats: Arc<Stats>, ctl: Arc<RunCtl>) {
    // Last in-run seq seen; below `lo` means "from an earlier run".
    let mut last: u64 = 0;
    let mut last_lo = u64::MAX;
    while let Some(msg) = ws.next().await {
        let text = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => continue,
        };
        let text = text.as_str();
        if payload::is_bridge_frame(text) {
            if text.starts_with(r#"{"type":"bridge_hello""#) {
                stats.hello.store(true, Ordering::Relaxed);
            } else if text.contains(r#""status":"dropped""#) {
                stats.dropped_notices.fetch_add(1, Ordering::Relaxed);
            }
            continue;
        }
        let Some(seq) = payload::field_u64(text, "seq") else {
            stats.other.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let lo = ctl.lo.load(Ordering::Acquire);
        if seq < lo {
            stats.stale.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if lo != last_lo {
            last_lo = lo;
            last = lo.wrapping_sub(1);
        }
        let expected = last.wrapping_add(1);
        if seq < expected {
            stats.dups.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if seq > expected {
            stats.gaps.fetch_add(seq - expected, Ordering::Relaxed);
        }
        last = seq;
        let now = now_ns();
        stats.events.fetch_add(1, Ordering::Relaxed);
        stats.last_recv_ns.store(now, Ordering::Relaxed);
        if ctl.record.load(Ordering::Relaxed)
            && let Some(t) = payload::field_u64(text, "t_ns")
        {
            stats
                .latencies
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(now.saturating_sub(t));
        }
    }
    stats.closed.store(true, Ordering::Relaxed);
}
