//! What `--min-replicas` costs the agent's publisher: the same batches with
//! 0 (the master's answer) and 1 (`WAIT 1` after each batch) against a real
//! master and one `redis-server --replicaof` replica on this host.
//!
//! Latency: one batch of `batch_events` events handed to the publisher, then
//! `wait_idle` until it is confirmed; one batch at a time, so each figure is
//! a full round (script call, and with 1 the replica's acknowledgement).
//! Throughput: `events` published at once, until all are confirmed (batches
//! then grow by themselves while the previous one is in flight or waiting).
//! The two modes alternate run by run so both see the same box.

use std::time::{Duration, Instant};

use orchestrator_agent::{Publisher, PublisherOptions};
use orchestrator_events::publish::Target;
use testkit::RedisServer;

use crate::error::BenchError;
use crate::measure::median;

/// What to run.
#[derive(Debug, Clone)]
pub struct ReplicasOpts {
    /// Sequential batches timed per run.
    pub batches: usize,
    /// Events in each timed batch.
    pub batch_events: usize,
    /// Events of the throughput run.
    pub events: usize,
    /// Runs of each mode.
    pub runs: usize,
}

impl Default for ReplicasOpts {
    fn default() -> Self {
        ReplicasOpts {
            batches: 300,
            batch_events: 50,
            events: 50_000,
            runs: 3,
        }
    }
}

/// One run of one mode.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplicasRun {
    /// `--min-replicas`.
    pub min_replicas: usize,
    /// Median time from handing over a batch to its confirmation, µs.
    pub batch_median_us: f64,
    /// 99th percentile of the same, µs.
    pub batch_p99_us: f64,
    /// Confirmed events per second when publishing `events` at once.
    pub events_per_sec: f64,
    /// Script calls of the throughput run (mean batch = events ÷ this).
    pub batches: u64,
    /// `WAIT`s short of replicas over the whole run (should stay 0).
    pub shortfalls: u64,
}

/// All runs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplicasResult {
    /// The runs, modes alternating.
    pub runs: Vec<ReplicasRun>,
}

impl ReplicasResult {
    /// Median of one figure over the runs of one mode.
    pub fn med(&self, min_replicas: usize, f: impl Fn(&ReplicasRun) -> f64) -> f64 {
        let v: Vec<f64> = self
            .runs
            .iter()
            .filter(|r| r.min_replicas == min_replicas)
            .map(f)
            .collect();
        median(&v).unwrap_or(0.0)
    }
}

fn event(i: usize) -> String {
    format!(
        r#"{{"type":"text_generation","agent":"bench","run_id":"run-{}","seq":{},"data":"streamed reply chunk {i}: the bridge fans out one encoded frame to all clients"}}"#,
        i / 50,
        i % 50
    )
}

/// Waits until the replica has synced (a `WAIT 1` on the master says 1).
async fn replica_synced(master: &RedisServer) -> Result<(), BenchError> {
    let client = redis::Client::open(master.url())?;
    // The crate's default answer timeout (500 ms) would cut the WAIT short.
    let config =
        redis::AsyncConnectionConfig::new().set_response_timeout(Some(Duration::from_secs(5)));
    let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let target = Target::default();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        orchestrator_events::publish::replication_probe(&mut conn, &target).await?;
        let n =
            orchestrator_events::publish::wait_replicas(&mut conn, 1, Duration::from_millis(500))
                .await?;
        if n >= 1 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(BenchError::Failed("the replica never synced".into()));
        }
    }
}

async fn one_run(
    master: &RedisServer,
    min_replicas: usize,
    opts: &ReplicasOpts,
) -> Result<ReplicasRun, BenchError> {
    let mut options = PublisherOptions::new(Target::default(), "bench");
    options.min_replicas = min_replicas;
    options.buffer_limit = opts.events * 2;
    let publisher = Publisher::start(redis::Client::open(master.url())?, options);
    let handle = publisher.handle();
    let idle = |what: &'static str| {
        let handle = handle.clone();
        async move {
            if handle.wait_idle(Duration::from_secs(120)).await {
                Ok(())
            } else {
                Err(BenchError::Failed(format!(
                    "min_replicas {min_replicas}: {what} not confirmed: {:?}",
                    handle.status()
                )))
            }
        }
    };
    for i in 0..1000 {
        handle.publish(event(i));
    }
    idle("warm-up").await?;
    let mut samples = Vec::with_capacity(opts.batches);
    for b in 0..opts.batches {
        let t = Instant::now();
        for i in 0..opts.batch_events {
            handle.publish(event(b * opts.batch_events + i));
        }
        idle("a timed batch").await?;
        samples.push(t.elapsed().as_nanos() as u64);
    }
    samples.sort_unstable();
    let pick = |p: f64| crate::measure::percentile_sorted(&samples, p).unwrap_or(0) as f64 / 1000.0;
    let before = handle.status();
    let t = Instant::now();
    for i in 0..opts.events {
        handle.publish(event(i));
    }
    idle("the throughput run").await?;
    let secs = t.elapsed().as_secs_f64();
    let after = handle.status();
    publisher.shutdown(Duration::from_secs(5)).await;
    Ok(ReplicasRun {
        min_replicas,
        batch_median_us: pick(50.0),
        batch_p99_us: pick(99.0),
        events_per_sec: opts.events as f64 / secs,
        batches: after.batches - before.batches,
        shortfalls: after.replication_shortfalls,
    })
}

/// Runs both modes against one master and its replica.
pub async fn run(opts: &ReplicasOpts) -> Result<ReplicasResult, BenchError> {
    let master = RedisServer::start().map_err(crate::harness::HarnessError::from)?;
    let _replica =
        RedisServer::start_replica_of(master.port()).map_err(crate::harness::HarnessError::from)?;
    replica_synced(&master).await?;
    let mut runs = Vec::new();
    for _ in 0..opts.runs {
        for min_replicas in [0, 1] {
            let r = one_run(&master, min_replicas, opts).await?;
            tracing::info!(
                min_replicas,
                batch_median_us = r.batch_median_us as u64,
                eps = r.events_per_sec as u64,
                "min-replicas run"
            );
            runs.push(r);
        }
    }
    Ok(ReplicasResult { runs })
}
