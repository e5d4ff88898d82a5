//! `just chaos`: faults injected into a running pipeline, and the events
//! counted by id at a resuming client ([`crate::resume_client`]).
//!
//! Each scenario returns a [`ChaosRow`]: events sent, how many reached Redis,
//! how many the client received, how many were lost (reached Redis durably
//! and never arrived), duplicated (the same id twice), and what could not be
//! delivered together with what the client was told about it. The target is
//! 0 lost and 0 duplicated, and nothing undeliverable left unreported.
//!
//! - [`redis_kill`]: Redis SIGKILLed mid-run and restarted (empty).
//! - [`failover`]: the master of a Sentinel group SIGKILLed mid-run; the
//!   replica is promoted and agent and bridge follow it.
//! - [`bridge_kill`]: the bridge SIGKILLed mid-run and restarted.
//! - [`agent_restart`]: the agent restarted idle, mid-run (SIGTERM) and crashed mid-run (SIGKILL).
//! - [`slow_client`]: one client stops reading while the others read.
//! - [`malformed`]: malformed messages on the channel amid real events.
//! - [`slowloris`]: thousands of half-open requests from one address while
//!   readers receive a paced stream.
//!
//! Scenarios that kill Redis need a multi-threaded Tokio runtime (the restart
//! waits in a blocking section).

pub mod agent_restart;
pub mod bridge_kill;
pub mod failover;
pub mod malformed;
pub mod redis_kill;
pub mod slow_client;
pub mod slowloris;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use orchestrator_events::publish::Target;

use crate::error::BenchError;
use crate::harness::{Kind, Redis, Service, bridge_args};
use crate::loadgen::Fate;
use crate::report::thousands;
use crate::resume_client::{ResumeClient, Tally};

/// Names of the scenarios (for `--only`), in the order they run.
pub const SCENARIOS: [&str; 7] = [
    "redis_kill",
    "failover",
    "bridge_kill",
    "agent_restart",
    "slow_client",
    "malformed",
    "slowloris",
];

/// Sizes of the scenarios.
#[derive(Debug, Clone)]
pub struct ChaosOpts {
    /// Events per kill run.
    pub events: u64,
    /// Their rate, events/s.
    pub rate: f64,
    /// Malformed messages.
    pub malformed: u64,
    /// Real events amid them.
    pub real_amid_malformed: u64,
    /// Slow-client scenario.
    pub slow: slow_client::SlowOpts,
    /// Slowloris scenario.
    pub slowloris: slowloris::SlowlorisOpts,
    /// The agent's `--pace-ms`.
    pub agent_pace_ms: u64,
}

impl ChaosOpts {
    /// The full suite (`just chaos`).
    pub fn full() -> ChaosOpts {
        ChaosOpts {
            events: 10_000,
            rate: 2_000.0,
            malformed: 10_000,
            real_amid_malformed: 5_000,
            slow: slow_client::SlowOpts::full(),
            slowloris: slowloris::SlowlorisOpts::full(),
            agent_pace_ms: 5,
        }
    }

    /// Small and quick, for the test suite.
    pub fn fast() -> ChaosOpts {
        ChaosOpts {
            events: 2_000,
            rate: 1_000.0,
            malformed: 1_000,
            real_amid_malformed: 500,
            slow: slow_client::SlowOpts::fast(),
            slowloris: slowloris::SlowlorisOpts::fast(),
            agent_pace_ms: 2,
        }
    }
}

/// One scenario's outcome.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ChaosRow {
    /// The scenario.
    pub scenario: String,
    /// Events the publisher tried to send.
    pub sent: u64,
    /// Events Redis acknowledged (or, for the agent, found in the stream).
    pub reached_redis: u64,
    /// Distinct events the resuming client received.
    pub received: u64,
    /// Reached Redis durably, never received: the number that must be 0.
    pub lost: u64,
    /// Received twice with the same id: must be 0.
    pub duplicated: u64,
    /// Could not be delivered and why (did not reach Redis, or reached a Redis
    /// that then crashed without persistence before passing it on).
    pub undeliverable: u64,
    /// What the client was told (`bridge_status` frames).
    pub reported: String,
    /// Whether undeliverable events were reported to the client.
    pub undeliverable_reported: bool,
    /// Anything else worth knowing (timings, re-published events, runs).
    pub notes: Vec<String>,
}

impl ChaosRow {
    /// Meets the target: nothing lost, nothing duplicated, nothing undeliverable unreported.
    pub fn ok(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && (self.undeliverable == 0 || self.undeliverable_reported)
    }
}

/// Runs the scenarios named in `only` (all when empty).
pub async fn run_all(
    opts: &ChaosOpts,
    only: &[String],
) -> Vec<Result<ChaosRow, (String, BenchError)>> {
    let wants = |s: &str| only.is_empty() || only.iter().any(|o| o == s);
    let mut out = Vec::new();
    let tag = |name: &'static str| move |e: BenchError| (name.to_string(), e);
    if wants("redis_kill") {
        tracing::info!("chaos: Redis SIGKILL");
        out.push(redis_kill::run(opts).await.map_err(tag("redis_kill")));
    }
    if wants("failover") {
        tracing::info!("chaos: Sentinel failover");
        out.push(failover::run(opts).await.map_err(tag("failover")));
    }
    if wants("bridge_kill") {
        tracing::info!("chaos: bridge SIGKILL");
        out.push(bridge_kill::run(opts).await.map_err(tag("bridge_kill")));
    }
    if wants("agent_restart") {
        tracing::info!("chaos: agent restarts");
        out.push(agent_restart::run(opts).await.map_err(tag("agent_restart")));
    }
    if wants("slow_client") {
        tracing::info!("chaos: one slow client");
        match slow_client::run(&opts.slow).await {
            Ok(rows) => out.extend(rows.into_iter().map(Ok)),
            Err(e) => out.push(Err(("slow_client".into(), e))),
        }
    }
    if wants("malformed") {
        tracing::info!("chaos: malformed messages");
        out.push(malformed::run(opts).await.map_err(tag("malformed")));
    }
    if wants("slowloris") {
        tracing::info!("chaos: slowloris against the bridge");
        out.push(
            slowloris::run(&opts.slowloris)
                .await
                .map_err(tag("slowloris")),
        );
    }
    out
}

/// The results as a text table.
pub fn table(rows: &[Result<ChaosRow, (String, BenchError)>]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<34} {:>8} {:>8} {:>8} {:>5} {:>5} {:>7}  {:<6} reported to the client",
        "scenario", "sent", "in Redis", "received", "lost", "dup", "undeliv", "result"
    );
    for r in rows {
        match r {
            Ok(row) => {
                let _ = writeln!(
                    out,
                    "{:<34} {:>8} {:>8} {:>8} {:>5} {:>5} {:>7}  {:<6} {}",
                    row.scenario,
                    thousands(row.sent as f64),
                    thousands(row.reached_redis as f64),
                    thousands(row.received as f64),
                    row.lost,
                    row.duplicated,
                    row.undeliverable,
                    if row.ok() { "ok" } else { "FAIL" },
                    row.reported
                );
                for n in &row.notes {
                    let _ = writeln!(out, "    - {n}");
                }
            }
            Err((name, e)) => {
                let _ = writeln!(out, "{name:<34} could not run: {e}");
            }
        }
    }
    out
}

/// The results as a Markdown table.
pub fn markdown(rows: &[Result<ChaosRow, (String, BenchError)>]) -> String {
    let mut out = String::from(
        "| scenario | sent | reached Redis | received | lost | duplicated | undeliverable | reported to the client | result |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut notes = String::new();
    for r in rows {
        match r {
            Ok(row) => {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    row.scenario,
                    thousands(row.sent as f64),
                    thousands(row.reached_redis as f64),
                    thousands(row.received as f64),
                    row.lost,
                    row.duplicated,
                    row.undeliverable,
                    row.reported,
                    if row.ok() { "ok" } else { "**FAIL**" }
                );
                for n in &row.notes {
                    let _ = writeln!(notes, "- {}: {n}", row.scenario);
                }
            }
            Err((name, e)) => {
                let _ = writeln!(
                    out,
                    "| {name} | could not run: {e} | | | | | | | **FAIL** |"
                );
            }
        }
    }
    format!("{out}\n{notes}")
}

/// Redis and a bridge on it.
pub struct Stack {
    /// The private Redis.
    pub redis: Redis,
    /// The bridge binary.
    pub bridge: Service,
}

impl Stack {
    /// Starts both; `extra` goes to the bridge.
    pub async fn start(extra: &[&str]) -> Result<Stack, BenchError> {
        let redis = Redis::start()?;
        let bridge = Service::start(Kind::Bridge, &bridge_args(&redis.url(), extra)).await?;
        Ok(Stack { redis, bridge })
    }

    /// A resuming client, connected and greeted.
    pub async fn client(&self) -> Result<ResumeClient, BenchError> {
        self.client_with(None).await
    }

    /// A resuming client with a set socket receive buffer, connected and greeted.
    pub async fn client_with(&self, recv_buffer: Option<u32>) -> Result<ResumeClient, BenchError> {
        let client = ResumeClient::start_with(&self.bridge.ws_url(""), recv_buffer);
        if !client
            .wait_until(Duration::from_secs(10), |t| {
                t.connections >= 1 && t.epoch.is_some()
            })
            .await
        {
            return Err(BenchError::Failed(
                "the resuming client never got bridge_hello".into(),
            ));
        }
        Ok(client)
    }
}

/// The stream target of the fault suite: the default channel and stream with
/// a cap far above any run, so replay never hits trimmed history.
pub fn target() -> Target {
    Target {
        maxlen: 1_000_000,
        ..Target::default()
    }
}

/// Bench seqs from `first` for `fates.len()` events, split by what happened to
/// them at `tally`'s client: (received, lost-by-predicate, undeliverable).
pub fn classify(
    first: u64,
    fates: &[Fate],
    tally: &Tally,
    durable: impl Fn(u64) -> bool,
) -> (u64, u64, u64) {
    let mut received = 0;
    let mut lost = 0;
    let mut undeliverable = 0;
    for (i, fate) in fates.iter().enumerate() {
        let seq = first + i as u64;
        if tally.bench.contains_key(&seq) {
            received += 1;
            continue;
        }
        match fate {
            Fate::Acked(t) if durable(*t) => lost += 1,
            _ => undeliverable += 1,
        }
    }
    (received, lost, undeliverable)
}

/// Seqs from `first` that arrived with more than one id (the publisher sent
/// them twice after a failure whose outcome it could not know).
pub fn republished(first: u64, count: u64, tally: &Tally) -> u64 {
    (first..first + count)
        .filter(|s| tally.bench.get(s).is_some_and(|n| *n > 1))
        .count() as u64
}

/// Waits until the client has every seq in `first..first+count` for which
/// `expect` holds, up to `timeout`.
pub async fn wait_received(
    client: &ResumeClient,
    first: u64,
    fates: &[Fate],
    expect: impl Fn(&Fate) -> bool,
    timeout: Duration,
) -> bool {
    let wanted: Vec<u64> = fates
        .iter()
        .enumerate()
        .filter(|(_, f)| expect(f))
        .map(|(i, _)| first + i as u64)
        .collect();
    client
        .wait_until(timeout, |t| wanted.iter().all(|s| t.bench.contains_key(s)))
        .await
}

/// A paced run of `opts.events` bench events published in the background
/// (surviving the faults), for the scenarios that kill something mid-run:
/// start it, wait for a random point, inject the fault, then [`PacedRun::finish`].
pub struct PacedRun {
    /// The `seq` of the run's first event.
    pub first: u64,
    progress: std::sync::Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<(crate::loadgen::PublishReport, Vec<crate::loadgen::Fate>)>,
}

impl PacedRun {
    /// Starts publishing to `stack`'s Redis at `opts.rate`; the publisher gives
    /// up `slack` after the run should have ended (3× its nominal length).
    pub async fn start(
        stack: &Stack,
        opts: &ChaosOpts,
        slack: Duration,
    ) -> Result<PacedRun, BenchError> {
        let mut generator =
            crate::loadgen::Generator::connect(&stack.redis.url(), target(), "chaos").await?;
        let first = generator.next_seq();
        let (n, rate) = (opts.events, opts.rate);
        let progress = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let p = progress.clone();
        let deadline = Instant::now() + Duration::from_secs_f64(n as f64 / rate * 3.0) + slack;
        let task = tokio::spawn(async move {
            generator
                .resilient(rate, n, deadline, move |k| {
                    p.store(k, std::sync::atomic::Ordering::Relaxed)
                })
                .await
        });
        Ok(PacedRun {
            first,
            progress,
            task,
        })
    }

    /// Waits until a random 20–70 % of the run has been acknowledged (or twice
    /// the run's nominal length + 10 s pass) and returns how many were.
    pub async fn reach_random_point(&self, opts: &ChaosOpts) -> u64 {
        use rand::Rng;
        use std::sync::atomic::Ordering;
        let at = ((opts.events as f64 * rand::rng().random_range(0.2..0.7)) as u64).max(1);
        let timeout = Duration::from_secs_f64(opts.events as f64 / opts.rate * 2.0 + 10.0);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline && self.progress.load(Ordering::Relaxed) < at {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.progress.load(Ordering::Relaxed)
    }

    /// Waits for the publisher to end: what it sent and each event's fate.
    pub async fn finish(
        self,
    ) -> Result<(crate::loadgen::PublishReport, Vec<crate::loadgen::Fate>), BenchError> {
        self.task
            .await
            .map_err(|e| BenchError::Failed(format!("publisher task: {e}")))
    }
}
