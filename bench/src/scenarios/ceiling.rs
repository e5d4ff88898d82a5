//! The reference ceiling, measured on the same box in the same run: how fast
//! Redis itself delivers to one subscriber, with nothing of ours in between.
//!
//! - plain `PUBLISH`, pipelined flat out, to one redis-rs subscriber (the same
//!   client library the bridge subscribes with): the figure the issue asks for;
//! - the publish script (`XADD` + `PUBLISH`), the way our events really go out:
//!   what any consumer of our stream could get at most;
//! - the same plain `PUBLISH` flat out, but consumed through the bridge by one
//!   WebSocket client: the bridge's own ceiling under the same publisher.

use std::time::Duration;

use futures_util::StreamExt;
use orchestrator_events::publish::Target;

use crate::error::BenchError;
use crate::harness::{Redis, Service};
use crate::loadgen::{PublishReport, blast_publish, blast_script};
use crate::measure::{median, now_ns};
use crate::payload;
use crate::ws_clients::Pool;

/// How much to send.
#[derive(Debug, Clone)]
pub struct CeilingOpts {
    /// Runs of each measurement.
    pub runs: usize,
    /// Messages per plain-PUBLISH run.
    pub publish_count: u64,
    /// Events per script run.
    pub script_count: u64,
    /// Commands per pipeline / events per script call.
    pub pipeline: usize,
}

impl Default for CeilingOpts {
    fn default() -> Self {
        CeilingOpts {
            runs: 5,
            publish_count: 300_000,
            script_count: 100_000,
            pipeline: 500,
        }
    }
}

/// One flat-out run: how many arrived and how fast.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BlastRun {
    /// Why messages were lost, when they were (bridge runs only).
    pub loss_cause: Option<String>,
    /// Messages sent.
    pub sent: u64,
    /// Messages the subscriber received.
    pub received: u64,
    /// Received per second, first send to last receipt.
    pub delivered_per_sec: f64,
    /// What the publisher achieved alone.
    pub publish: PublishReport,
}

/// All ceiling measurements.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CeilingResult {
    /// Commands per pipeline / events per script call.
    pub pipeline: usize,
    /// Plain PUBLISH → one redis-rs subscriber.
    pub publish: Vec<BlastRun>,
    /// Publish script → one redis-rs subscriber.
    pub script: Vec<BlastRun>,
    /// Plain PUBLISH → bridge → one WebSocket client.
    pub bridge: Vec<BlastRun>,
}

/// Median delivered rate of the runs that lost nothing.
pub fn median_rate(runs: &[BlastRun]) -> f64 {
    median(
        &runs
            .iter()
            .filter(|r| r.received == r.sent)
            .map(|r| r.delivered_per_sec)
            .collect::<Vec<_>>(),
    )
    .unwrap_or(0.0)
}

/// Runs that lost nothing / all runs.
pub fn lossless(runs: &[BlastRun]) -> (usize, usize) {
    (
        runs.iter().filter(|r| r.received == r.sent).count(),
        runs.len(),
    )
}

/// Total messages lost over some runs.
pub fn total_lost(runs: &[BlastRun]) -> u64 {
    runs.iter().map(|r| r.sent.saturating_sub(r.received)).sum()
}

/// A subscription to `channel`, ready before anything is published.
async fn subscriber(redis: &Redis, channel: &str) -> Result<redis::aio::PubSub, BenchError> {
    let mut ps = redis.client()?.get_async_pubsub().await?;
    ps.subscribe(channel).await?;
    Ok(ps)
}

/// Counts messages with `seq >= lo` until `expected` arrived or `timeout`;
/// returns (received, time of the last).
async fn count_messages(
    ps: redis::aio::PubSub,
    lo: u64,
    expected: u64,
    timeout: Duration,
) -> (u64, u64) {
    let mut stream = ps.into_on_message();
    let mut got = 0;
    let mut last = 0;
    let deadline = tokio::time::Instant::now() + timeout;
    while got < expected {
        let Ok(Some(msg)) = tokio::time::timeout_at(deadline, stream.next()).await else {
            break;
        };
        let Ok(text) = std::str::from_utf8(msg.get_payload_bytes()) else {
            continue;
        };
        if payload::field_u64(text, "seq").is_some_and(|s| s >= lo) {
            got += 1;
            last = now_ns();
        }
    }
    (got, last)
}

/// Waits until the bridge is subscribed (after a run that overflowed Redis's
/// output buffer, it reconnects with backoff).
async fn wait_subscribed(bridge: &Service) -> Result<(), BenchError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        if bridge.health().await.is_some_and(|v| v["redis"] == "up") {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(BenchError::Failed(
        "the bridge did not resubscribe to Redis".into(),
    ))
}

fn finish(report: PublishReport, received: u64, last_ns: u64) -> BlastRun {
    let secs = last_ns.saturating_sub(report.started_ns) as f64 / 1e9;
    BlastRun {
        loss_cause: None,
        sent: report.sent,
        received,
        delivered_per_sec: if secs > 0.0 {
            received as f64 / secs
        } else {
            0.0
        },
        publish: report,
    }
}

/// Runs the three ceilings. `bridge` must be subscribed to `Target::default()`'s
/// channel on `redis`; the reference channel is a different one, so the bridge
/// sees none of the reference traffic.
pub async fn run(
    redis: &Redis,
    bridge: &Service,
    opts: &CeilingOpts,
    seq_base: &mut u64,
) -> Result<CeilingResult, BenchError> {
    let mut out = CeilingResult {
        pipeline: opts.pipeline,
        ..CeilingResult::default()
    };
    let mut conn = redis.conn().await?;
    let reference = "bench_reference";
    let timeout = Duration::from_secs(30);

    for _ in 0..opts.runs {
        let ps = subscriber(redis, reference).await?;
        let lo = *seq_base;
        let counter = tokio::spawn(count_messages(ps, lo, opts.publish_count, timeout));
        let report =
            blast_publish(&mut conn, reference, lo, opts.publish_count, opts.pipeline).await?;
        *seq_base += opts.publish_count;
        let (got, last) = counter
            .await
            .map_err(|e| BenchError::Failed(e.to_string()))?;
        out.publish.push(finish(report, got, last));
    }

    let target = Target {
        channel: reference.into(),
        stream: "bench_reference:log".into(),
        ..Target::default()
    };
    for _ in 0..opts.runs {
        let ps = subscriber(redis, reference).await?;
        let lo = *seq_base;
        let counter = tokio::spawn(count_messages(ps, lo, opts.script_count, timeout));
        let report = blast_script(&mut conn, &target, lo, opts.script_count, opts.pipeline).await?;
        *seq_base += opts.script_count;
        let (got, last) = counter
            .await
            .map_err(|e| BenchError::Failed(e.to_string()))?;
        out.script.push(finish(report, got, last));
    }
    let _: () = redis::cmd("DEL")
        .arg(&target.stream)
        .query_async(&mut conn)
        .await?;

    let pool = Pool::connect(&bridge.ws_url(""), 1, 1).await?;
    let channel = Target::default().channel;
    for _ in 0..opts.runs {
        wait_subscribed(bridge).await?;
        let reconnects0 = bridge.counter("redis_reconnects").await;
        let dropped0 = bridge.counter("frames_dropped").await;
        let lo = *seq_base;
        pool.begin_run(lo, false);
        let report =
            blast_publish(&mut conn, &channel, lo, opts.publish_count, opts.pipeline).await?;
        *seq_base += opts.publish_count;
        pool.wait_all(opts.publish_count, Duration::from_secs(5))
            .await;
        let t = pool.tally(opts.publish_count);
        let mut run = finish(report, t.delivered, t.last_recv_ns);
        if run.received < run.sent {
            let reconnects = bridge.counter("redis_reconnects").await - reconnects0;
            let dropped = bridge.counter("frames_dropped").await - dropped0;
            run.loss_cause = Some(format!(
                "the bridge lost its Redis subscription {reconnects}× (Redis's pub/sub output-buffer limit) and dropped {dropped} frames from the client's queue"
            ));
        }
        out.bridge.push(run);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    pool.close().await;
    Ok(out)
}
