//! A Sentinel failover mid-stream (issue 16): master + replica + three
//! Sentinels, the agent and bridge on `redis+sentinel://`, chats sent one
//! after the other, and the master SIGKILLed at a random point while a run
//! streams. The Sentinels promote the replica; the services follow.
//!
//! Counted at the resuming client against the new master's stream:
//!
//! - **lost**: a `seq` of a run that the client never received, up to the
//!   run's last `seq` (at the client or in the new stream) — a hole (must be 0);
//! - **duplicated**: the same id twice (must be 0);
//! - **time to recover**: from the kill to the first event delivered from the
//!   new master (the first after `redis_down`), with the promotion, the
//!   `redis_down` and the `redis_up` times beside it.
//!
//! Replication is asynchronous (no `--min-replicas` yet), so an event the old
//! master acknowledged in its last instant may never reach the replica: such
//! events are counted in a note (received from the old master, absent from
//! the new stream), and as lost when the client missed them too.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rand::Rng;
use testkit::SentinelGroup;
use tokio_util::sync::CancellationToken;

use crate::chaos::agent_restart::{LONG, chat, stream_entries};
use crate::chaos::{ChaosOpts, ChaosRow};
use crate::error::BenchError;
use crate::harness::{HarnessError, Kind, Service, bridge_args};
use crate::resume_client::{ResumeClient, Tally};

/// Whole runs that must go through after the client recovered.
const RUNS_AFTER: usize = 3;

const WAIT: Duration = Duration::from_secs(60);

fn failed(what: &str) -> BenchError {
    BenchError::Failed(what.to_string())
}

fn finished(t: &Tally) -> usize {
    t.runs.values().filter(|r| r.finished.is_some()).count()
}

/// Runs the scenario (needs a multi-threaded runtime).
pub async fn run(opts: &ChaosOpts) -> Result<ChaosRow, BenchError> {
    let mut group =
        tokio::task::block_in_place(SentinelGroup::start).map_err(HarnessError::from)?;
    let (old, new) = (group.master_port(), group.replica_port());
    let url = group.url();
    if !tokio::task::block_in_place(|| group.wait_master_is(old, WAIT)) {
        return Err(failed("the Sentinels never named the first master"));
    }
    let bridge = Service::start(Kind::Bridge, &bridge_args(&url, &[])).await?;
    let agent_args: Vec<String> = [
        "--redis-url".to_string(),
        url,
        "--pace-ms".into(),
        opts.agent_pace_ms.to_string(),
    ]
    .into();
    let agent = Service::start(Kind::Agent, &agent_args).await?;
    let client = ResumeClient::start_with(&bridge.ws_url(""), None);
    if !client
        .wait_until(WAIT, |t| t.connections >= 1 && t.epoch.is_some())
        .await
    {
        return Err(failed("the resuming client never got bridge_hello"));
    }

    let stop = CancellationToken::new();
    let addr = agent.addr();
    let chatting = stop.clone();
    let chats = tokio::spawn(async move {
        let (mut runs, mut errors) = (Vec::new(), Vec::new());
        while !chatting.is_cancelled() {
            match chat(addr, LONG).await {
                Ok(run) => runs.push(run),
                Err(e) => errors.push(e.to_string()),
            }
        }
        (runs, errors)
    });

    // A random point mid-stream: some runs done, one streaming now.
    let runs_before = rand::rng().random_range(2..6);
    client
        .wait_until(WAIT, |t| {
            finished(t) >= runs_before && t.runs.values().any(|r| r.finished.is_none())
        })
        .await;
    let killed = Instant::now();
    tokio::task::block_in_place(|| group.kill_master());
    // Kept alive to the end (dropping it stops every node).
    let group = std::sync::Arc::new(group);
    let watching = group.clone();
    let promotion = tokio::task::spawn_blocking(move || {
        watching.wait_master_is(new, WAIT).then(|| killed.elapsed())
    });

    // Time to recover: the first event delivered after `redis_down`.
    let (mut down, mut recovered, mut up) = (None, None, None);
    let mut ids_at_down = 0;
    while recovered.is_none() || up.is_none() {
        if killed.elapsed() > WAIT * 2 {
            break;
        }
        client.peek(|t| {
            if down.is_none() && t.status("redis_down") > 0 {
                down = Some(killed.elapsed());
                ids_at_down = t.ids.len();
            }
            if up.is_none() && down.is_some() && t.status("redis_up") > 0 {
                up = Some(killed.elapsed());
            }
            if recovered.is_none() && down.is_some() && t.ids.len() > ids_at_down {
                recovered = Some(killed.elapsed());
            }
        });
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let promoted = promotion.await.ok().flatten();
    let done_at_recovery = client.peek(finished);
    client
        .wait_until(WAIT, |t| finished(t) >= done_at_recovery + RUNS_AFTER)
        .await;
    stop.cancel();
    let (sent_runs, chat_errors) = chats
        .await
        .map_err(|e| BenchError::Failed(format!("chat task: {e}")))?;
    client
        .wait_until(WAIT, |t| {
            sent_runs
                .iter()
                .all(|r| t.runs.get(r).is_some_and(|x| x.finished.is_some()))
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let tally = client.stop().await;

    // The new master's stream: the ground truth after the failover.
    let mut conn = redis::Client::open(format!("redis://127.0.0.1:{new}"))?
        .get_multiplexed_async_connection()
        .await?;
    let entries = stream_entries(&mut conn).await?;
    let mut stored: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for (_, body) in &entries {
        if let (Some(run), Some(seq)) = (body["run_id"].as_str(), body["seq"].as_u64()) {
            stored.entry(run.to_string()).or_default().insert(seq);
        }
    }
    let stream_ids: BTreeSet<_> = entries.iter().map(|(id, _)| *id).collect();
    let mut lost = 0u64;
    let mut events = 0u64;
    let mut incomplete = Vec::new();
    let names: BTreeSet<&String> = tally.runs.keys().chain(stored.keys()).collect();
    for run in names {
        let seen = tally.runs.get(run).map(|r| &r.seqs);
        let kept = stored.get(run);
        let last = seen
            .and_then(|s| s.last())
            .max(kept.and_then(|s| s.last()))
            .copied()
            .unwrap_or(0);
        events += last + 1;
        let missing = (0..=last)
            .filter(|s| !seen.is_some_and(|x| x.contains(s)))
            .count() as u64;
        lost += missing;
        let done = tally.runs.get(run).is_some_and(|r| r.finished.is_some());
        if missing > 0 || !done {
            incomplete.push(format!("{run}: {missing} missing, finished {done}"));
        }
    }
    let not_replicated = tally
        .ids
        .iter()
        .filter(|id| !stream_ids.contains(id))
        .count();
    let ms =
        |d: Option<Duration>| d.map_or("never".to_string(), |d| format!("{} ms", d.as_millis()));
    let mut notes = vec![
        format!(
            "master SIGKILLed after {runs_before}+ runs, mid-run; promoted {}, redis_down {}, redis_up {}; time to recover (kill → first event from the new master): {}",
            ms(promoted),
            ms(down),
            ms(up),
            ms(recovered)
        ),
        format!(
            "{} runs sent, {} runs in the new master's stream, {} incomplete at the client; {} connections",
            sent_runs.len(),
            stored.len(),
            incomplete.len(),
            tally.connections
        ),
    ];
    if not_replicated > 0 {
        notes.push(format!(
            "{not_replicated} events received from the old master are not in the new one's stream (asynchronous replication)"
        ));
    }
    notes.extend(incomplete.into_iter().take(5));
    notes.extend(
        chat_errors
            .into_iter()
            .take(3)
            .map(|e| format!("chat failed: {e}")),
    );
    if recovered.is_none() {
        lost = lost.max(1); // never recovered: a failure, whatever was counted
    }
    Ok(ChaosRow {
        scenario: "Sentinel failover (master SIGKILL)".into(),
        sent: events,
        reached_redis: entries.len() as u64,
        received: tally.ids.len() as u64,
        lost,
        duplicated: tally.dup_ids,
        undeliverable: 0,
        undeliverable_reported: true,
        reported: tally.statuses_text(),
        notes,
    })
}
