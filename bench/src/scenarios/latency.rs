//! Latency from publish to client receipt, at fixed rates with 100 clients.
//!
//! Each event carries `t_ns`, taken on this process's monotonic clock just
//! before its batch is handed to Redis; each client subtracts it from its own
//! receipt time on the same clock. So a figure includes the Redis script,
//! the bridge, the kernel's loopback and the client task being scheduled —
//! everything between "the agent published" and "a client has it". Events of
//! one 1 ms batch share a `t_ns`, so the first of a batch may wait up to the
//! batch's publication, which is part of what a real publisher costs too.

use std::time::Duration;

use crate::error::BenchError;
use crate::harness::Service;
use crate::loadgen::Generator;
use crate::measure::{Percentiles, median};
use crate::scenarios::fanout::trial;
use crate::ws_clients::Pool;

/// What to run.
#[derive(Debug, Clone)]
pub struct LatencyOpts {
    /// Clients.
    pub clients: usize,
    /// Rates, events/s.
    pub rates: Vec<f64>,
    /// Runs per rate.
    pub runs: usize,
    /// Seconds per run.
    pub secs: f64,
}

impl Default for LatencyOpts {
    fn default() -> Self {
        LatencyOpts {
            clients: 100,
            rates: vec![1_000.0, 10_000.0],
            runs: 5,
            secs: 3.0,
        }
    }
}

/// One run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LatencyRun {
    /// Latency percentiles over all clients' events, µs.
    pub micros: Option<Percentiles>,
    /// Events lost, all clients together.
    pub lost: u64,
    /// Events duplicated.
    pub duplicated: u64,
    /// Drop notices.
    pub dropped_notices: u64,
    /// Bridge CPU per delivered frame, ns.
    pub cpu_ns_per_frame: f64,
    /// The generator kept the rate.
    pub on_schedule: bool,
}

/// All runs at one rate.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LatencyResult {
    /// Clients.
    pub clients: usize,
    /// Events/s.
    pub rate: f64,
    /// The runs.
    pub runs: Vec<LatencyRun>,
}

impl LatencyResult {
    fn med(&self, f: impl Fn(&Percentiles) -> u64) -> Option<f64> {
        let v: Vec<f64> = self
            .runs
            .iter()
            .filter_map(|r| r.micros.as_ref().map(|p| f(p) as f64))
            .collect();
        median(&v)
    }

    /// Median over runs of each run's p50, µs.
    pub fn p50(&self) -> Option<f64> {
        self.med(|p| p.p50)
    }

    /// Median over runs of each run's p99, µs.
    pub fn p99(&self) -> Option<f64> {
        self.med(|p| p.p99)
    }

    /// Median over runs of each run's p99.9, µs.
    pub fn p999(&self) -> Option<f64> {
        self.med(|p| p.p999)
    }

    /// Median bridge CPU ns per frame.
    pub fn cpu_ns(&self) -> f64 {
        median(
            &self
                .runs
                .iter()
                .map(|r| r.cpu_ns_per_frame)
                .collect::<Vec<_>>(),
        )
        .unwrap_or(0.0)
    }

    /// Total lost + duplicated + drop notices over every run.
    pub fn faults(&self) -> u64 {
        self.runs
            .iter()
            .map(|r| r.lost + r.duplicated + r.dropped_notices)
            .sum()
    }
}

/// Runs every rate in `opts`.
pub async fn run(
    bridge: &Service,
    generator: &mut Generator,
    opts: &LatencyOpts,
) -> Result<Vec<LatencyResult>, BenchError> {
    let pid = bridge
        .pid()
        .ok_or_else(|| BenchError::Failed("bridge is not running".into()))?;
    let pool = Pool::connect(&bridge.ws_url(""), opts.clients, 64).await?;
    trial(generator, &pool, pid, 1000.0, 0.5, false).await?;
    let mut out = Vec::new();
    for &rate in &opts.rates {
        let mut result = LatencyResult {
            clients: opts.clients,
            rate,
            runs: Vec::new(),
        };
        for _ in 0..opts.runs {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let t = trial(generator, &pool, pid, rate, opts.secs, true).await?;
            let mut samples = pool.take_latencies();
            for s in samples.iter_mut() {
                *s /= 1000;
            }
            let run = LatencyRun {
                micros: Percentiles::of(&mut samples),
                lost: t.tally.lost,
                duplicated: t.tally.duplicated,
                dropped_notices: t.tally.dropped_notices,
                cpu_ns_per_frame: t.cpu_ns_per_frame,
                on_schedule: !t.publish.behind,
            };
            tracing::info!(
                rate,
                p99_us = run.micros.map(|p| p.p99),
                lost = run.lost,
                "latency run"
            );
            result.runs.push(run);
        }
        out.push(result);
    }
    pool.close().await;
    Ok(out)
}
