//! Fan-out: the highest publish rate the bridge sustains with zero loss, for a
//! number of WebSocket clients, and what it costs the bridge per frame.
//!
//! A *trial* publishes at a fixed rate for a fixed time through the publish
//! script ([`Generator::paced`]) while every client counts its events. It
//! passes when every client received every event exactly once, no client was
//! told of drops or disconnected, the generator kept its schedule, and the
//! last event reached the slowest client within [`MAX_LAG`] of its publication
//! (so the bridge kept up, rather than queueing a backlog to drain later).
//!
//! The search doubles the rate while trials pass and halves it while they fail,
//! then bisects between the last pass and the first fail until they are within
//! 15 % — at most `max_trials` trials. The rate found is then re-run
//! `confirm_runs` times; the table quotes the medians of those runs.
//!
//! The bridge's CPU time over each trial (from `/proc/<pid>/stat`) divided by
//! the frames delivered is the figure that does not depend on the load
//! generator sharing the box.

use std::time::Duration;

use crate::error::BenchError;
use crate::harness::Service;
use crate::loadgen::{Generator, PublishReport};
use crate::measure::{cpu_time, median};
use crate::ws_clients::{Pool, RunTally};

/// The slowest client must have the last event this soon after its publication.
pub const MAX_LAG: Duration = Duration::from_millis(250);

/// How hard to search.
#[derive(Debug, Clone)]
pub struct FanoutOpts {
    /// Client counts to measure.
    pub clients: Vec<usize>,
    /// Length of a search trial.
    pub search_secs: f64,
    /// Length of a confirmation run.
    pub confirm_secs: f64,
    /// Confirmation runs (medians are quoted over these).
    pub confirm_runs: usize,
    /// Confirmation runs at 1,000 clients or more (they are the slow ones).
    pub confirm_runs_large: usize,
    /// Trials per client count at most.
    pub max_trials: usize,
    /// First rate tried for one client.
    pub start_rate: f64,
    /// Highest rate tried.
    pub max_rate: f64,
}

impl Default for FanoutOpts {
    fn default() -> Self {
        FanoutOpts {
            clients: vec![1, 10, 100, 1000],
            search_secs: 2.0,
            confirm_secs: 3.0,
            confirm_runs: 5,
            confirm_runs_large: 5,
            max_trials: 8,
            start_rate: 16_000.0,
            max_rate: 400_000.0,
        }
    }
}

/// One trial.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Trial {
    /// Events per second asked of the generator.
    pub rate: f64,
    /// The generator's report.
    pub publish: PublishReport,
    /// The clients' tally.
    pub tally: RunTally,
    /// Bridge CPU seconds over the trial.
    pub bridge_cpu_secs: f64,
    /// Last receipt at the slowest client minus the last publication, ms.
    pub lag_ms: f64,
    /// Delivered events per second (per client), first publish to last receipt.
    pub delivered_eps: f64,
    /// Frames per second delivered, all clients together.
    pub frames_per_sec: f64,
    /// Bridge CPU per delivered frame, ns.
    pub cpu_ns_per_frame: f64,
    /// Whether it met every condition.
    pub pass: bool,
    /// Why not, when it did not.
    pub why: String,
}

/// The result for one client count.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FanoutResult {
    /// Clients.
    pub clients: usize,
    /// Highest rate that passed in the search (events/s); 0 when none did.
    pub sustained_rate: f64,
    /// Why the next rate up failed (the limit's nature: loss, lag, or the
    /// publisher falling behind because the box is saturated).
    pub limit: String,
    /// The search trials.
    pub search: Vec<Trial>,
    /// Re-runs at `sustained_rate`.
    pub confirm: Vec<Trial>,
}

impl FanoutResult {
    fn med(&self, f: impl Fn(&Trial) -> f64) -> f64 {
        median(&self.confirm.iter().map(f).collect::<Vec<_>>()).unwrap_or(0.0)
    }

    /// Median delivered events/s over the confirmation runs.
    pub fn median_eps(&self) -> f64 {
        self.med(|t| t.delivered_eps)
    }

    /// Median frames/s over the confirmation runs.
    pub fn median_fps(&self) -> f64 {
        self.med(|t| t.frames_per_sec)
    }

    /// Median bridge CPU ns per frame over the confirmation runs.
    pub fn median_cpu_ns(&self) -> f64 {
        self.med(|t| t.cpu_ns_per_frame)
    }

    /// Confirmation runs with zero loss / all of them.
    pub fn zero_loss_runs(&self) -> (usize, usize) {
        let ok = self
            .confirm
            .iter()
            .filter(|t| {
                t.tally.lost == 0 && t.tally.duplicated == 0 && t.tally.dropped_notices == 0
            })
            .count();
        (ok, self.confirm.len())
    }
}

/// One trial at `rate` for `secs` with `pool` connected to the bridge `pid`.
pub async fn trial(
    generator: &mut Generator,
    pool: &Pool,
    bridge_pid: u32,
    rate: f64,
    secs: f64,
    record_latency: bool,
) -> Result<Trial, BenchError> {
    pool.begin_run(generator.next_seq(), record_latency);
    let cpu0 = cpu_time(bridge_pid)?;
    let publish = generator.paced(rate, Duration::from_secs_f64(secs)).await?;
    let all = pool.wait_all(publish.sent, Duration::from_secs(5)).await;
    let cpu1 = cpu_time(bridge_pid)?;
    let tally = pool.tally(publish.sent);
    let lag_ms = tally.last_recv_ns.saturating_sub(publish.finished_ns) as f64 / 1e6;
    let span = tally.last_recv_ns.saturating_sub(publish.started_ns) as f64 / 1e9;
    let bridge_cpu_secs = (cpu1 - cpu0).as_secs_f64();
    let mut why = Vec::new();
    if publish.behind {
        why.push(format!(
            "publisher behind schedule ({:.0} ev/s of {rate:.0}; 2 cores saturated)",
            publish.rate()
        ));
    }
    if tally.lost > 0 || !all {
        why.push(format!("lost {}", tally.lost));
    }
    if tally.duplicated > 0 {
        why.push(format!("duplicated {}", tally.duplicated));
    }
    if tally.dropped_notices > 0 {
        why.push(format!("{} drop notices", tally.dropped_notices));
    }
    if tally.closed > 0 {
        why.push(format!("{} clients disconnected", tally.closed));
    }
    if lag_ms > MAX_LAG.as_secs_f64() * 1e3 {
        why.push(format!("lag {lag_ms:.0} ms"));
    }
    Ok(Trial {
        rate,
        delivered_eps: if span > 0.0 {
            tally.delivered as f64 / pool.len().max(1) as f64 / span
        } else {
            0.0
        },
        frames_per_sec: if span > 0.0 {
            tally.delivered as f64 / span
        } else {
            0.0
        },
        cpu_ns_per_frame: if tally.delivered > 0 {
            bridge_cpu_secs * 1e9 / tally.delivered as f64
        } else {
            0.0
        },
        pass: why.is_empty(),
        why: why.join("; "),
        publish,
        tally,
        bridge_cpu_secs,
        lag_ms,
    })
}

/// Lets queues drain between trials.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Searches the sustained rate for `clients` clients, starting at `guess` and
/// never above `cap`, then confirms it.
pub async fn measure(
    bridge: &Service,
    generator: &mut Generator,
    clients: usize,
    guess: f64,
    cap: f64,
    opts: &FanoutOpts,
) -> Result<FanoutResult, BenchError> {
    let pid = bridge
        .pid()
        .ok_or_else(|| BenchError::Failed("bridge is not running".into()))?;
    let pool = Pool::connect(&bridge.ws_url(""), clients, 64).await?;
    // Warm-up: connections, buffers and the script cache.
    trial(generator, &pool, pid, guess.min(1000.0), 0.3, false).await?;
    settle().await;

    let mut result = FanoutResult {
        clients,
        sustained_rate: 0.0,
        limit: String::new(),
        search: Vec::new(),
        confirm: Vec::new(),
    };
    let mut pass: Option<f64> = None;
    let mut fail: Option<f64> = None;
    let mut rate = guess.min(cap);
    for _ in 0..opts.max_trials {
        let t = trial(generator, &pool, pid, rate, opts.search_secs, false).await?;
        tracing::info!(clients, rate = rate as u64, pass = t.pass, why = %t.why, cpu_ns = t.cpu_ns_per_frame as u64, "fan-out trial");
        let ok = t.pass;
        result.search.push(t);
        settle().await;
        if ok {
            pass = Some(rate);
        } else {
            fail = Some(rate);
        }
        rate = match (pass, fail) {
            (Some(p), None) if p >= cap => break,
            (Some(p), None) => (p * 2.0).min(cap),
            (None, Some(f)) if f < 100.0 => break,
            (None, Some(f)) => f / 2.0,
            (Some(p), Some(f)) if f / p < 1.15 => break,
            (Some(p), Some(f)) => (p * f).sqrt(),
            (None, None) => break,
        };
    }
    // The lowest failing rate above the sustained one says what the limit is.
    result.limit = result
        .search
        .iter()
        .filter(|t| !t.pass && pass.is_none_or(|p| t.rate > p))
        .min_by(|a, b| a.rate.total_cmp(&b.rate))
        .map(|t| format!("at {} ev/s: {}", t.rate.round(), t.why))
        .unwrap_or_else(|| "— none: the search stopped before a rate failed".into());
    if let Some(p) = pass {
        result.sustained_rate = p;
        let runs = if clients >= 1000 {
            opts.confirm_runs_large
        } else {
            opts.confirm_runs
        };
        for _ in 0..runs {
            let t = trial(generator, &pool, pid, p, opts.confirm_secs, false).await?;
            tracing::info!(clients, rate = p as u64, pass = t.pass, why = %t.why, "fan-out confirmation");
            result.confirm.push(t);
            settle().await;
        }
    }
    pool.close().await;
    Ok(result)
}

/// Runs [`measure`] for every client count in `opts`, each starting from what
/// the previous count reached.
pub async fn run(
    bridge: &Service,
    generator: &mut Generator,
    opts: &FanoutOpts,
) -> Result<Vec<FanoutResult>, BenchError> {
    let mut out: Vec<FanoutResult> = Vec::new();
    for &clients in &opts.clients {
        let (guess, cap) = match out.last() {
            None => (opts.start_rate, opts.max_rate),
            Some(prev) if prev.sustained_rate > 0.0 => {
                let frames = prev.sustained_rate * prev.clients as f64;
                let guess = (4.0 * frames / clients as f64).min(prev.sustained_rate);
                // Allow a little headroom over the previous count: more
                // clients can batch better.
                (
                    guess.max(100.0),
                    (prev.sustained_rate * 1.5).min(opts.max_rate),
                )
            }
            Some(_) => (opts.start_rate / clients as f64, opts.max_rate),
        };
        out.push(measure(bridge, generator, clients, guess, cap, opts).await?);
    }
    Ok(out)
}
