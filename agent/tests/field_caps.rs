//! Large values are capped at the producer (`--max-field-bytes`): a 1 MB
//! `/chat` costs the stream and every viewer at most the cap per event, says
//! what it cut, and the run and its reply are as before. Real redis-server,
//! real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use common::{Agent, Subscriber, assert_run_sequence, chat, stream_entries};
use orchestrator_agent::config::{
    EVENT_ENVELOPE_BYTES, STREAM_ENTRY_OVERHEAD_BYTES, STREAM_NODE_OVERHEAD_BYTES,
    STREAM_TRIM_SLACK_ENTRIES,
};
use redis::AsyncCommands;
use serde_json::Value;
use testkit::RedisServer;

const CHANNEL: &str = "orchestrator_events";
const STREAM: &str = "orchestrator_events:log";
const CAP: usize = 16 * 1024;

/// About `bytes` bytes of plan text with multi-byte characters, so cuts must
/// find a character boundary.
fn big_plan(bytes: usize) -> String {
    let unit = "étape € 1: survey the caching papers 😀\n";
    let mut s = String::with_capacity(bytes + unit.len());
    while s.len() < bytes {
        s.push_str(unit);
    }
    s
}

/// The stream's memory as Redis measures it, every node counted (`SAMPLES 0`).
async fn stream_memory(conn: &mut redis::aio::MultiplexedConnection) -> u64 {
    redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(STREAM)
        .arg("SAMPLES")
        .arg(0)
        .query_async(conn)
        .await
        .unwrap()
}

fn raw_len(events: &[Value]) -> Vec<usize> {
    events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap().len())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_megabyte_chat_is_capped_in_every_event_and_the_reply_is_unchanged() {
    let redis = RedisServer::start().expect("redis-server");
    let sub = Subscriber::start(&redis.url(), CHANNEL).await;
    let capped = Agent::start(&redis.url(), |c| c.max_field_bytes = CAP).await;

    let message = format!("Please store this research plan: {}", big_plan(1_000_000));
    assert!(message.len() >= 1_000_000);
    let (status, body) = chat(&capped, &message, Some("planner")).await;
    assert_eq!(status, 200, "{body}");
    let run_id = body["run_id"].as_str().expect("run_id").to_string();
    let events = sub.finished_run(&run_id).await;
    assert_run_sequence(&events);
    assert_eq!(events.last().unwrap()["status"], "completed");

    // Every event, as stored in the stream, is at most the cap plus the envelope.
    let stored: Vec<String> = stream_entries(&redis.url(), STREAM)
        .await
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| e.contains(&run_id))
        .collect();
    assert_eq!(stored.len(), events.len());
    for e in &stored {
        assert!(
            e.len() <= CAP + EVENT_ENVELOPE_BYTES as usize,
            "{} bytes: {}",
            e.len(),
            &e[..200.min(e.len())]
        );
    }

    // run_started: input cut on a character boundary, named with its size.
    let started = &events[0];
    let input = started["input"].as_str().expect("input");
    assert!(
        input.len() <= CAP && input.len() > CAP - 4,
        "{}",
        input.len()
    );
    assert!(message.starts_with(input));
    assert_eq!(started["truncated"]["input"], message.len());

    // tool_use: the plan in tool_input is cut; the original size of the
    // value's JSON is named.
    let tool_use = events.iter().find(|e| e["type"] == "tool_use").unwrap();
    let original = tool_use["truncated"]["tool_input"]
        .as_u64()
        .expect("tool_input named in truncated");
    assert!(original > 1_000_000, "{original}");
    let leaves = tool_use["tool_input"]["plan_data"].as_str().unwrap().len()
        + tool_use["tool_input"]["source_agent"]
            .as_str()
            .map_or(0, str::len);
    assert!(leaves <= CAP);
    // Events with nothing over the cap carry no `truncated`.
    for e in &events {
        if e["type"] == "run_finished" || e["type"] == "text_generation" {
            assert!(e.get("truncated").is_none(), "{e}");
        }
    }

    // The same message to an agent without a practical cap: the reply is the
    // same (the HTTP reply is never cut), and its events are big.
    let uncapped = Agent::start(&redis.url(), |c| c.max_field_bytes = u32::MAX as usize).await;
    let (status2, body2) = chat(&uncapped, &message, Some("planner")).await;
    assert_eq!(status2, 200);
    assert_eq!(body["reply"], body2["reply"]);
    let uncapped_run = sub
        .finished_run(body2["run_id"].as_str().expect("run_id"))
        .await;
    assert!(raw_len(&uncapped_run)[0] > 1_000_000);
    assert!(uncapped_run.iter().all(|e| e.get("truncated").is_none()));
    uncapped.shutdown().await;
    capped.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_store_keeps_the_whole_plan_the_event_shows_its_start() {
    let redis = RedisServer::start().expect("redis-server");
    let sub = Subscriber::start(&redis.url(), CHANNEL).await;
    let agent = Agent::start(&redis.url(), |c| c.max_field_bytes = 1024).await;

    // Under the tool's own limit, over the event cap.
    let plan = big_plan(40_000);
    let (status, body) = chat(
        &agent,
        &format!("Please store this research plan: {plan}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let events = sub
        .finished_run(body["run_id"].as_str().expect("run_id"))
        .await;
    let result = events.iter().find(|e| e["type"] == "tool_result").unwrap();
    assert_eq!(result["status"], "success", "{result}");
    let plan_id = result["output"]["plan_id"].as_str().expect("plan id");
    let tool_use = events.iter().find(|e| e["type"] == "tool_use").unwrap();
    assert!(tool_use["truncated"]["tool_input"].as_u64().unwrap() > 40_000);

    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let stored: Option<String> = conn
        .hget(format!("orchestrator:plans:{plan_id}"), "plan_data")
        .await
        .unwrap();
    let stored = stored.expect("plan stored");
    assert!(
        stored.len() >= 40_000,
        "whole plan stored: {}",
        stored.len()
    );
    assert!(plan.trim().starts_with(stored.trim()) || stored.trim() == plan.trim());
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_memory_stays_under_the_stated_worst_case_after_many_big_runs() {
    let redis = RedisServer::start().expect("redis-server");
    let maxlen = 30u64;
    let agent = Agent::start(&redis.url(), |c| {
        c.max_field_bytes = CAP;
        c.stream_maxlen = maxlen;
    })
    .await;
    let config = orchestrator_agent::Config {
        max_field_bytes: CAP,
        stream_maxlen: maxlen,
        ..orchestrator_agent::Config::default()
    };
    let message = format!("Please store this research plan: {}", big_plan(1_000_000));
    let runs = 25;
    for _ in 0..runs {
        let (status, body) = chat(&agent, &message, None).await;
        assert_eq!(status, 200, "{body}");
    }
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    // Wait for the publisher to have written every run's last event.
    let mut len: u64 = 0;
    for _ in 0..500 {
        len = conn.xlen(STREAM).await.unwrap();
        let entries = stream_entries(&redis.url(), STREAM).await;
        let finished = entries
            .iter()
            .filter(|(_, e)| e.contains(r#""type":"run_finished""#))
            .count();
        if finished > 0 && len > 0 {
            let last = &entries.last().unwrap().1;
            if last.contains("run_finished") {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let memory = stream_memory(&mut conn).await;
    let worst = config.stream_memory_worst_case();
    eprintln!(
        "stream: {len} entries, MEMORY USAGE {memory} bytes; stated worst case {worst} \
         (maxlen {maxlen} + trim slack {STREAM_TRIM_SLACK_ENTRIES}, × (cap {CAP} + envelope {EVENT_ENVELOPE_BYTES} + entry \
         overhead {STREAM_ENTRY_OVERHEAD_BYTES}, rounded to jemalloc's class, + node {STREAM_NODE_OVERHEAD_BYTES}))"
    );
    assert!(len >= maxlen, "runs published {len} entries");
    assert!(memory <= worst, "{memory} > {worst}");
    // Without the cap the same runs would hold megabytes per run.
    assert!(memory < runs as u64 * 1_000_000 / 4);
    agent.shutdown().await;
}

/// The events of one run as the agent publishes them for a 1 MB plan: the
/// input in `run_started`, the plan again in `tool_use`, the tool's refusal,
/// a reply chunk and the end.
fn big_run(run: usize, plan: &str, message: &str) -> Vec<orchestrator_events::Event> {
    use orchestrator_events::event::{
        RunFinished, RunStarted, RunStatus, TextGeneration, ToolResult, ToolStatus, ToolUse,
    };
    use orchestrator_events::{Event, EventKind};
    let tool_use_id = format!("tool-{run}");
    let kinds = vec![
        EventKind::RunStarted(RunStarted {
            input: message.to_string(),
            source: "chat".into(),
            context_id: None,
        }),
        EventKind::ToolUse(ToolUse {
            tool_name: "store_research_plan".into(),
            tool_input: serde_json::json!({"plan_data": plan, "source_agent": "planner"}),
            tool_use_id: Some(tool_use_id.clone()),
        }),
        EventKind::ToolResult(ToolResult {
            tool_use_id,
            tool_name: "store_research_plan".into(),
            status: ToolStatus::Error,
            output: serde_json::json!("plan_data is longer than 64000 characters"),
            duration_ms: 1,
        }),
        EventKind::TextGeneration(TextGeneration {
            data: "The plan is too long to store; please send a summary.".into(),
        }),
        EventKind::RunFinished(RunFinished {
            status: RunStatus::Completed,
            duration_ms: 12,
            usage: None,
            reason: None,
        }),
    ];
    kinds
        .into_iter()
        .enumerate()
        .map(|(seq, kind)| {
            let mut e = Event::new(kind);
            e.agent = Some("orchestrator".into());
            e.run_id = Some(format!("run-{run:05}-7f3e9c1a2b4d"));
            e.seq = Some(seq as u64);
            e.timestamp = Some(1_764_086_400.0 + run as f64);
            e
        })
        .collect()
}

/// The issue's figure at full size: 10,000 runs with 1 MB inputs through the
/// agent's publisher (the same cap and script as `/chat`, without 10 GB of
/// HTTP) into a stream capped at the default 10,000 entries. Redis' own
/// `MEMORY USAGE` must stay under the worst case the README states.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_one_megabyte_runs_stay_under_the_stated_stream_memory() {
    use orchestrator_agent::{Publisher, PublisherOptions};
    use orchestrator_events::publish::Target;

    let redis = RedisServer::start().expect("redis-server");
    let config = orchestrator_agent::Config::default();
    assert_eq!(config.max_field_bytes, CAP);
    let maxlen = config.stream_maxlen;
    let mut options = PublisherOptions::new(Target::default(), "orchestrator");
    options.max_field_bytes = config.max_field_bytes;
    assert_eq!(options.target.maxlen, maxlen);
    let client = redis::Client::open(redis.url()).unwrap();
    let publisher = Publisher::start(client.clone(), options);
    let handle = publisher.handle();

    let plan = big_plan(1_000_000);
    let message = format!("Please store this research plan: {plan}");
    let runs = 10_000;
    let mut biggest = 0usize;
    for run in 0..runs {
        for event in big_run(run, &plan, &message) {
            handle.publish_event(&event);
        }
        if run % 500 == 499 {
            assert!(handle.wait_idle(std::time::Duration::from_secs(120)).await);
        }
    }
    assert!(handle.wait_idle(std::time::Duration::from_secs(120)).await);
    let status = handle.status();
    assert_eq!(status.published, runs as u64 * 5, "{status:?}");

    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let len: u64 = conn.xlen(STREAM).await.unwrap();
    let memory = stream_memory(&mut conn).await;
    let newest: Vec<(String, String)> = stream_entries(&redis.url(), STREAM).await;
    for (_, e) in &newest {
        biggest = biggest.max(e.len());
    }
    let worst = config.stream_memory_worst_case();
    eprintln!(
        "{runs} runs of {} bytes: stream {len} entries, MEMORY USAGE {memory} bytes \
         ({} per entry); largest entry {biggest} bytes; stated worst case {worst}",
        message.len(),
        memory / len.max(1)
    );
    assert!(
        len >= maxlen && len <= maxlen + STREAM_TRIM_SLACK_ENTRIES,
        "{len}"
    );
    assert!(biggest <= CAP + EVENT_ENVELOPE_BYTES as usize, "{biggest}");
    assert!(memory <= worst, "{memory} > {worst}");
    // The newest run is whole at the end of the stream, its input cut.
    let last_run = format!("run-{:05}", runs - 1);
    let tail: Vec<&String> = newest.iter().rev().take(5).map(|(_, e)| e).collect();
    assert!(
        tail.iter().all(|e| e.contains(&last_run)),
        "{:?}",
        &tail[0][..120]
    );
    assert!(
        tail[4].contains(r#""truncated":{"input":"#),
        "{}",
        &tail[4][..200]
    );
    publisher.shutdown(std::time::Duration::from_secs(5)).await;
}

/// The bound is not vacuous: a stream of nothing but the largest event (a
/// capped 1 MB input) comes close to it, and stays under. Redis rounds each
/// such entry up to jemalloc's 20 KiB class, which the bound counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_only_the_largest_event_comes_close_to_the_bound() {
    use orchestrator_agent::{Publisher, PublisherOptions};
    use orchestrator_events::publish::Target;

    let redis = RedisServer::start().expect("redis-server");
    let maxlen = 1_000u64;
    let mut options = PublisherOptions::new(
        Target {
            maxlen,
            ..Target::default()
        },
        "orchestrator",
    );
    options.max_field_bytes = CAP;
    let client = redis::Client::open(redis.url()).unwrap();
    let publisher = Publisher::start(client.clone(), options);
    let handle = publisher.handle();
    let plan = big_plan(1_000_000);
    let message = format!("Please store this research plan: {plan}");
    let mut started = big_run(0, &plan, &message).remove(0);
    for run in 0..maxlen + 50 {
        started.run_id = Some(format!("run-{run:05}-7f3e9c1a2b4d"));
        handle.publish_event(&started);
    }
    assert!(handle.wait_idle(std::time::Duration::from_secs(60)).await);
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let len: u64 = conn.xlen(STREAM).await.unwrap();
    let memory = stream_memory(&mut conn).await;
    let worst = orchestrator_events::stream_memory::worst_case(len, CAP);
    eprintln!(
        "{len} entries of the largest event: MEMORY USAGE {memory} bytes ({} per entry), bound for \
         {len} entries {worst} ({} per entry)",
        memory / len,
        worst / (len + STREAM_TRIM_SLACK_ENTRIES)
    );
    // Against the bound for the entries actually there (the slack counted
    // once more is what makes it the bound for `maxlen`).
    let per_entry_bound = orchestrator_events::stream_memory::entry_worst_case(CAP);
    assert!(
        memory <= len * per_entry_bound,
        "{memory} > {len} × {per_entry_bound}"
    );
    assert!(
        memory * 10 >= len * per_entry_bound * 9,
        "the bound is loose: {memory} vs {len} × {per_entry_bound}"
    );
    publisher.shutdown(std::time::Duration::from_secs(5)).await;
}
