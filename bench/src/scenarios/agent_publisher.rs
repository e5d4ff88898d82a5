//! The agent's publisher: how many events per second it gets into Redis, and
//! what publishing one costs the agent.
//!
//! The publisher is the agent's own ([`orchestrator_agent::Publisher`]), on a
//! private Redis. A run hands it N ready-made events through
//! [`PublisherHandle::publish_event`] as fast as a loop can (serialisation and
//! the queue push are what the agent's run pays per event: timed per call),
//! then waits until Redis has confirmed all of them. Throughput is N over that
//! whole time. CPU per event comes from `/proc`: this process (caller and
//! publisher task; nothing else runs meanwhile) and Redis (script execution).

use std::time::{Duration, Instant};

use orchestrator_agent::{Publisher, PublisherOptions};
use orchestrator_events::event::TextGeneration;
use orchestrator_events::publish::Target;
use orchestrator_events::{DEFAULT_MAX_FIELD_BYTES, Event, EventKind, capped_json};

use crate::error::BenchError;
use crate::harness::{Redis, info_field};
use crate::measure::{cpu_time, median, self_cpu_time};

/// What to run.
#[derive(Debug, Clone)]
pub struct AgentOpts {
    /// Events per run.
    pub events: usize,
    /// Runs.
    pub runs: usize,
}

impl Default for AgentOpts {
    fn default() -> Self {
        AgentOpts {
            events: 100_000,
            runs: 5,
        }
    }
}

/// One run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentRun {
    /// Events confirmed by Redis.
    pub published: u64,
    /// Events dropped by the publisher (buffer full).
    pub dropped: u64,
    /// Script calls.
    pub batches: u64,
    /// Confirmed events per second, first call to last confirmation.
    pub events_per_sec: f64,
    /// Caller time per `publish_event`, ns.
    pub call_ns: f64,
    /// This process's CPU per event (caller + publisher task), ns.
    pub agent_cpu_ns: f64,
    /// Redis CPU per event, ns.
    pub redis_cpu_ns: f64,
    /// Mean serialized event size, bytes.
    pub event_bytes: usize,
    /// `Event::to_json` alone per event, ns (the cost before field caps).
    pub serialize_ns: f64,
    /// `capped_json` per event when nothing is cut, ns: what the agent pays
    /// now (the cap's check plus the same serialisation).
    pub serialize_capped_ns: f64,
}

/// All runs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentResult {
    /// The runs.
    pub runs: Vec<AgentRun>,
}

impl AgentResult {
    /// Median of one figure.
    pub fn med(&self, f: impl Fn(&AgentRun) -> f64) -> f64 {
        median(&self.runs.iter().map(f).collect::<Vec<_>>()).unwrap_or(0.0)
    }
}

fn events(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            let mut e = Event::new(EventKind::TextGeneration(TextGeneration {
                data: format!(
                    "streamed reply chunk {i}: the bridge fans out one encoded frame to all clients"
                ),
            }));
            e.agent = Some("orchestrator".into());
            e.run_id = Some(format!("run-{}", i / 50));
            e.seq = Some((i % 50) as u64);
            e.timestamp = Some(1_764_086_400.0 + i as f64 * 0.001);
            e
        })
        .collect()
}

async fn redis_cpu(redis: &Redis, pid: Option<u32>) -> Duration {
    if let Some(pid) = pid
        && let Ok(d) = cpu_time(pid)
    {
        return d;
    }
    // Fallback: Redis's own account.
    let info = redis.info("cpu").await.unwrap_or_default();
    let f = |k| {
        info_field(&info, k)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Duration::from_secs_f64(f("used_cpu_user") + f("used_cpu_sys"))
}

/// Runs the publisher benchmark on a fresh private Redis.
pub async fn run(opts: &AgentOpts) -> Result<AgentResult, BenchError> {
    let redis = Redis::start()?;
    let redis_pid = redis.pid().await.ok();
    let mut options = PublisherOptions::new(Target::default(), "bench");
    options.buffer_limit = opts.events * 2;
    let publisher = Publisher::start(redis.client()?, options);
    let handle = publisher.handle();
    // Warm-up: connection and script cache.
    for e in events(1000) {
        handle.publish_event(&e);
    }
    if !handle.wait_idle(Duration::from_secs(30)).await {
        return Err(BenchError::Failed(
            "the agent publisher did not drain its warm-up".into(),
        ));
    }
    let mut result = AgentResult { runs: Vec::new() };
    for _ in 0..opts.runs {
        let batch = events(opts.events);
        let event_bytes = batch
            .iter()
            .take(1000)
            .map(|e| e.to_json().len())
            .sum::<usize>()
            / 1000;
        // The field cap's cost when nothing is cut: the same events
        // serialised with and without it, back to back.
        let t = Instant::now();
        let plain: usize = batch.iter().map(|e| e.to_json().len()).sum();
        let serialize = t.elapsed();
        let t = Instant::now();
        let capped: usize = batch
            .iter()
            .map(|e| capped_json(e, DEFAULT_MAX_FIELD_BYTES).len())
            .sum();
        let serialize_capped = t.elapsed();
        if plain != capped {
            return Err(BenchError::Failed(
                "capped_json changed events that are under the cap".into(),
            ));
        }
        let before = handle.status();
        let cpu0 = self_cpu_time()?;
        let rcpu0 = redis_cpu(&redis, redis_pid).await;
        let started = Instant::now();
        for e in &batch {
            handle.publish_event(e);
        }
        let calls = started.elapsed();
        let idle = handle.wait_idle(Duration::from_secs(120)).await;
        let total = started.elapsed();
        let cpu1 = self_cpu_time()?;
        let rcpu1 = redis_cpu(&redis, redis_pid).await;
        let after = handle.status();
        if !idle {
            return Err(BenchError::Failed(format!(
                "the agent publisher still had {} events queued after 120 s",
                after.queued
            )));
        }
        let n = opts.events as f64;
        let run = AgentRun {
            published: after.published - before.published,
            dropped: after.dropped - before.dropped,
            batches: after.batches - before.batches,
            events_per_sec: n / total.as_secs_f64(),
            call_ns: calls.as_secs_f64() * 1e9 / n,
            agent_cpu_ns: (cpu1 - cpu0).as_secs_f64() * 1e9 / n,
            redis_cpu_ns: (rcpu1.saturating_sub(rcpu0)).as_secs_f64() * 1e9 / n,
            event_bytes,
            serialize_ns: serialize.as_secs_f64() * 1e9 / n,
            serialize_capped_ns: serialize_capped.as_secs_f64() * 1e9 / n,
        };
        tracing::info!(
            eps = run.events_per_sec as u64,
            call_ns = run.call_ns as u64,
            "agent publisher run"
        );
        result.runs.push(run);
    }
    publisher.shutdown(Duration::from_secs(5)).await;
    Ok(result)
}
