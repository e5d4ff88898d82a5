//! Bridge memory per idle WebSocket connection.
//!
//! Each run starts a fresh bridge, reads its resident memory (`VmRSS`) once
//! it is ready, opens N connections that each receive their `bridge_hello`
//! and then sit idle, waits until `/healthz` counts all N, lets it settle, and
//! reads `VmRSS` again: (after − before) / N. A fresh process per run keeps
//! allocator reuse from an earlier run from hiding the cost.

use std::time::{Duration, Instant};

use crate::error::BenchError;
use crate::harness::{Kind, Redis, Service, bridge_args};
use crate::measure::{median, rss_kib};
use crate::ws_clients::Pool;

/// What to run.
#[derive(Debug, Clone)]
pub struct MemoryOpts {
    /// Connection counts.
    pub clients: Vec<usize>,
    /// Runs per count.
    pub runs: usize,
}

impl Default for MemoryOpts {
    fn default() -> Self {
        MemoryOpts {
            clients: vec![1000, 5000],
            runs: 5,
        }
    }
}

/// One run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemoryRun {
    /// RSS of the ready bridge with no clients, KiB.
    pub base_kib: u64,
    /// RSS with the clients connected and idle, KiB.
    pub loaded_kib: u64,
    /// (loaded − base) / clients, bytes.
    pub bytes_per_conn: f64,
}

/// All runs at one count.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemoryResult {
    /// Connections.
    pub clients: usize,
    /// The runs.
    pub runs: Vec<MemoryRun>,
}

impl MemoryResult {
    /// Median bytes per connection.
    pub fn median_bytes(&self) -> f64 {
        median(
            &self
                .runs
                .iter()
                .map(|r| r.bytes_per_conn)
                .collect::<Vec<_>>(),
        )
        .unwrap_or(0.0)
    }

    /// Median base RSS, KiB.
    pub fn median_base_kib(&self) -> f64 {
        median(
            &self
                .runs
                .iter()
                .map(|r| r.base_kib as f64)
                .collect::<Vec<_>>(),
        )
        .unwrap_or(0.0)
    }
}

async fn wait_clients(bridge: &Service, n: usize) -> Result<(), BenchError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if bridge.counter("clients").await == n as u64 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(BenchError::Failed(format!(
        "the bridge never counted {n} clients"
    )))
}

/// One fresh bridge, `n` idle clients.
pub async fn one(redis: &Redis, n: usize) -> Result<MemoryRun, BenchError> {
    let mut bridge = Service::start(Kind::Bridge, &bridge_args(&redis.url(), &[])).await?;
    let pid = bridge
        .pid()
        .ok_or_else(|| BenchError::Failed("bridge is not running".into()))?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let base_kib = rss_kib(pid)?;
    let pool = Pool::connect(&bridge.ws_url(""), n, 64).await?;
    wait_clients(&bridge, n).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let loaded_kib = rss_kib(pid)?;
    pool.close().await;
    bridge.terminate(Duration::from_secs(3));
    Ok(MemoryRun {
        base_kib,
        loaded_kib,
        bytes_per_conn: (loaded_kib as f64 - base_kib as f64) * 1024.0 / n as f64,
    })
}

/// Every count in `opts`.
pub async fn run(redis: &Redis, opts: &MemoryOpts) -> Result<Vec<MemoryResult>, BenchError> {
    let mut out = Vec::new();
    for &n in &opts.clients {
        let mut result = MemoryResult {
            clients: n,
            runs: Vec::new(),
        };
        for _ in 0..opts.runs {
            let run = one(redis, n).await?;
            tracing::info!(
                clients = n,
                bytes_per_conn = run.bytes_per_conn as u64,
                "memory run"
            );
            result.runs.push(run);
        }
        out.push(result);
    }
    Ok(out)
}
