//! The agent restarted: while idle (SIGTERM, start again, run), while a run is
//! going (SIGTERM mid-run: the run must end `cancelled` and its events be
//! flushed), and crashed while a run is going (SIGKILL mid-run: what the agent
//! had not yet handed to Redis is gone with it; what it had must arrive).
//!
//! What reached Redis is read back from the stream at the end; the resuming
//! client must have every one of those ids, once. Per run, the stream shows
//! whether the run's `seq`s are complete and how it ended.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use orchestrator_events::StreamId;
use serde_json::{Value, json};

use crate::chaos::{ChaosOpts, ChaosRow, Stack, target};
use crate::error::BenchError;
use crate::harness::{Kind, Service};
use crate::http;

const SHORT: &str = "What tools do you have, and what do they do?";
pub(crate) const LONG: &str =
    "Explain in detail what happens when Redis is restarted in the middle of a run.";

/// One run as stored in the stream.
#[derive(Debug, Default)]
struct StoredRun {
    seqs: BTreeSet<u64>,
    finished: Option<String>,
    events: u64,
}

pub(crate) async fn chat(addr: SocketAddr, message: &str) -> Result<String, BenchError> {
    let r = http::post_json(
        addr,
        "/chat",
        &json!({ "message": message }),
        Duration::from_secs(60),
    )
    .await
    .map_err(|e| BenchError::Failed(e.to_string()))?;
    r.json()
        .and_then(|v| v["run_id"].as_str().map(str::to_string))
        .ok_or_else(|| BenchError::Failed(format!("POST /chat answered {}: {}", r.status, r.body)))
}

/// Reads the whole stream: id → (run_id, seq, type, status).
pub(crate) async fn stream_entries(
    conn: &mut redis::aio::MultiplexedConnection,
) -> Result<Vec<(StreamId, Value)>, BenchError> {
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(&target().stream)
        .arg("-")
        .arg("+")
        .query_async(conn)
        .await?;
    let mut out = Vec::new();
    for entry in reply.ids {
        let Ok(id) = entry.id.parse::<StreamId>() else {
            continue;
        };
        let body = entry
            .map
            .get("event")
            .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .unwrap_or(Value::Null);
        out.push((id, body));
    }
    Ok(out)
}

/// Starts a long run and returns once the client has seen `min_events` of it.
async fn start_long_run(
    agent: &Service,
    client: &crate::resume_client::ResumeClient,
    known: &BTreeSet<String>,
    min_events: usize,
) -> (
    tokio::task::JoinHandle<Result<String, BenchError>>,
    Option<String>,
) {
    let addr = agent.addr();
    let task = tokio::spawn(async move { chat(addr, LONG).await });
    let mut run = None;
    client
        .wait_until(Duration::from_secs(20), |t| {
            t.runs.iter().any(|(id, r)| {
                !known.contains(id) && r.seqs.len() >= min_events && r.finished.is_none()
            })
        })
        .await;
    client.peek(|t| {
        run = t
            .runs
            .iter()
            .find(|(id, r)| !known.contains(*id) && r.finished.is_none())
            .map(|(id, _)| id.clone());
    });
    (task, run)
}

async fn wait_finished(client: &crate::resume_client::ResumeClient, run: &str) -> bool {
    client
        .wait_until(Duration::from_secs(30), |t| {
            t.runs.get(run).is_some_and(|r| r.finished.is_some())
        })
        .await
}

/// Runs the scenario.
pub async fn run(opts: &ChaosOpts) -> Result<ChaosRow, BenchError> {
    let stack = Stack::start(&[]).await?;
    let client = stack.client().await?;
    let agent_args: Vec<String> = [
        "--redis-url".to_string(),
        stack.redis.url(),
        "--pace-ms".into(),
        opts.agent_pace_ms.to_string(),
    ]
    .into();
    let mut agent = Service::start(Kind::Agent, &agent_args).await?;
    let mut notes = Vec::new();

    // 1. Idle restart.
    let clean = agent.terminate(Duration::from_secs(5));
    agent.restart(Duration::from_secs(20)).await?;
    let idle_run = chat(agent.addr(), SHORT).await?;
    let idle_ok = wait_finished(&client, &idle_run).await;
    notes.push(format!(
        "idle restart (SIGTERM, {}): next run {}",
        if clean {
            "clean exit"
        } else {
            "had to be killed"
        },
        if idle_ok {
            "delivered complete"
        } else {
            "NOT complete at the client"
        }
    ));

    // 2. SIGTERM mid-run.
    let known: BTreeSet<String> = client.peek(|t| t.runs.keys().cloned().collect());
    let (task, term_run) = start_long_run(&agent, &client, &known, 5).await;
    let clean = agent.terminate(Duration::from_secs(5));
    let _ = task.await;
    agent.restart(Duration::from_secs(20)).await?;
    let after_term = chat(agent.addr(), SHORT).await?;
    wait_finished(&client, &after_term).await;
    if let Some(r) = &term_run {
        wait_finished(&client, r).await;
    }
    notes.push(format!(
        "SIGTERM mid-run ({}): that run ended {}",
        if clean {
            "clean exit"
        } else {
            "had to be killed"
        },
        term_run
            .as_ref()
            .and_then(|r| client.peek(|t| t.runs.get(r).and_then(|x| x.finished.clone())))
            .unwrap_or_else(|| "without run_finished".into())
    ));

    // 3. SIGKILL mid-run.
    let known: BTreeSet<String> = client.peek(|t| t.runs.keys().cloned().collect());
    let (task, kill_run) = start_long_run(&agent, &client, &known, 5).await;
    agent.kill();
    let _ = task.await;
    agent.restart(Duration::from_secs(20)).await?;
    let after_kill = chat(agent.addr(), SHORT).await?;
    wait_finished(&client, &after_kill).await;
    agent.terminate(Duration::from_secs(5));

    // What reached Redis, and did the client get all of it?
    let mut conn = stack.redis.conn().await?;
    let entries = stream_entries(&mut conn).await?;
    let ids: BTreeSet<StreamId> = entries.iter().map(|(id, _)| *id).collect();
    client
        .wait_until(Duration::from_secs(10), |t| {
            ids.iter().all(|id| t.ids.contains(id))
        })
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let tally = client.stop().await;

    let mut runs: BTreeMap<String, StoredRun> = BTreeMap::new();
    for (_, body) in &entries {
        let Some(run) = body["run_id"].as_str() else {
            continue;
        };
        let r = runs.entry(run.to_string()).or_default();
        r.events += 1;
        if let Some(s) = body["seq"].as_u64() {
            r.seqs.insert(s);
        }
        if body["type"] == "run_finished" {
            r.finished = body["status"].as_str().map(str::to_string);
        }
    }
    let mut cut_off = 0;
    for (id, r) in &runs {
        let contiguous = r.seqs.iter().copied().eq(0..r.seqs.len() as u64);
        if !contiguous || r.finished.is_none() {
            cut_off += 1;
            notes.push(format!(
                "run {id}: {} events in Redis, seqs {}, {} — {}",
                r.events,
                if contiguous { "contiguous from 0" } else { "with holes" },
                r.finished
                    .as_ref()
                    .map_or("no run_finished".to_string(), |s| format!("ended {s}")),
                if Some(id) == kill_run.as_ref() {
                    "the SIGKILLed run, cut off by the kill: whatever the agent had not yet handed to Redis died with it, every event of it that reached Redis was delivered, and nothing tells the client the run will not finish"
                } else {
                    "unexpected"
                }
            ));
        }
    }
    let received = ids.iter().filter(|id| tally.ids.contains(id)).count() as u64;
    notes.push(format!(
        "{} runs in Redis, {} complete with run_finished; agent started {} times",
        runs.len(),
        runs.len() - cut_off,
        agent.starts
    ));
    Ok(ChaosRow {
        scenario: "agent restart idle / SIGTERM / SIGKILL mid-run".into(),
        sent: ids.len() as u64,
        reached_redis: ids.len() as u64,
        received,
        lost: ids.len() as u64 - received,
        duplicated: tally.dup_ids,
        undeliverable: 0,
        undeliverable_reported: true,
        reported: tally.statuses_text(),
        notes,
    })
}
