//! Redis going away: the agent keeps answering, buffers events in order,
//! reconnects and flushes them — none lost, none duplicated — and reports
//! any drop beyond its buffer.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::{Agent, Subscriber, chat, health_until, stream_entries, wait_until};
use orchestrator_events::StreamId;
use serde_json::Value;
use testkit::RedisServer;

const CHANNEL: &str = "orchestrator_events";
const STREAM: &str = "orchestrator_events:log";

fn parse(entries: &[(String, String)]) -> Vec<Value> {
    entries
        .iter()
        .map(|(_, e)| serde_json::from_str(e).expect("JSON"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_restart_during_a_run_loses_and_duplicates_nothing() {
    let mut redis = RedisServer::start().expect("redis-server");
    let url = redis.url();
    let sub = Subscriber::start(&url, CHANNEL).await;
    // ~400 chunks at 5 ms: the run lasts a couple of seconds.
    let agent = Agent::start(&url, |c| c.pace = Duration::from_millis(5)).await;

    let request = {
        let url = agent.url("/chat");
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .json(&serde_json::json!({"message": "Explain in detail how events travel through Redis to the terminal."}))
                .send()
                .await
                .expect("chat")
                .json::<Value>()
                .await
                .expect("JSON")
        })
    };
    // Kill Redis once the run is well under way.
    let watch = sub.clone();
    wait_until(Duration::from_secs(10), move || watch.events().len() >= 30).await;
    redis.kill();
    let before = sub.events();
    let run_id = before[0]["run_id"].as_str().expect("run id").to_string();
    assert!(before.iter().all(|e| e["run_id"] == run_id.as_str()));

    // The agent notices, keeps running and buffers.
    health_until(&agent, Duration::from_secs(10), |h| {
        h["redis"]["connected"] == false && h["events"]["queued"].as_u64() > Some(0)
    })
    .await;
    redis.restart().expect("restart on the same port");

    // It kept answering: the reply is complete.
    let body = tokio::time::timeout(Duration::from_secs(30), request)
        .await
        .expect("chat answered")
        .expect("task");
    assert_eq!(body["status"], "completed", "{body}");
    assert_eq!(body["run_id"], run_id.as_str());

    // Everything not seen before the kill is in the new stream, in order.
    let mut after = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !after.iter().any(|e: &Value| e["type"] == "run_finished") {
        assert!(
            std::time::Instant::now() < deadline,
            "run_finished never reached the new Redis"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = parse(&stream_entries(&url, STREAM).await);
    }
    health_until(&agent, Duration::from_secs(10), |h| {
        h["events"]["queued"] == 0
    })
    .await;

    let all: Vec<&Value> = before.iter().chain(after.iter()).collect();
    let seqs: Vec<u64> = all.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (0..seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "every event exactly once, in order");
    let unique: HashSet<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(unique.len(), all.len(), "ids unique");
    let ids: Vec<StreamId> = all
        .iter()
        .map(|e| e["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids increase across the restart"
    );
    assert!(
        after.iter().all(|e| e["type"] != "error"),
        "nothing was dropped"
    );

    // The text of the reply, across the outage, is the reply.
    let text: String = all
        .iter()
        .filter(|e| e["type"] == "text_generation")
        .map(|e| e["data"].as_str().unwrap())
        .collect();
    assert_eq!(text, body["reply"].as_str().unwrap());
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_buffer_drops_the_oldest_and_says_so_once_redis_is_back() {
    let mut redis = RedisServer::start().expect("redis-server");
    let url = redis.url();
    let agent = Agent::start(&url, |c| c.event_buffer = 10).await;
    health_until(&agent, Duration::from_secs(10), |h| {
        h["redis"]["connected"] == true
    })
    .await;
    redis.kill();
    health_until(&agent, Duration::from_secs(10), |h| {
        h["redis"]["connected"] == false
    })
    .await;

    // A run while Redis is down: answered anyway (the tool fails, the run goes on).
    let (status, body) = chat(&agent, "Explain how the agent loop works.", None).await;
    assert_eq!(status, 200, "{body}");
    let h = common::health(&agent).await;
    assert_eq!(h["events"]["queued"], 10, "bounded: {h}");
    let dropped = h["events"]["dropped"].as_u64().unwrap();
    assert!(dropped > 0);

    redis.restart().expect("restart");
    let mut events = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while events.len() < 11 {
        assert!(
            std::time::Instant::now() < deadline,
            "buffer never flushed: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        events = parse(&stream_entries(&url, STREAM).await);
    }
    assert_eq!(events.len(), 11, "the report and the 10 newest events");
    let report = &events[0];
    assert_eq!(report["type"], "error");
    assert_eq!(report["kind"], "events_dropped");
    assert_eq!(report["agent"], "orchestrator");
    assert_eq!(report["dropped"], dropped);
    assert_eq!(report["buffer_limit"], 10);
    assert!(
        report["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{dropped} events"))
    );
    // The survivors are the newest, contiguous, ending with run_finished.
    let seqs: Vec<u64> = events[1..]
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs[0], dropped);
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
    assert_eq!(events[10]["type"], "run_finished");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_at_startup_is_not_fatal() {
    let mut redis = RedisServer::start().expect("redis-server");
    let url = redis.url();
    redis.kill();
    let agent = Agent::start(&url, |_| {}).await;
    let h = health_until(&agent, Duration::from_secs(10), |h| {
        h["redis"]["last_error"].is_string()
    })
    .await;
    assert_eq!(h["status"], "degraded");
    assert_eq!(h["redis"]["connected"], false);

    // The plan tool cannot work without Redis: a tool error, and an answer anyway.
    let (status, body) = chat(
        &agent,
        "Please store this research plan: 1. a\n2. b",
        Some("planner"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["reply"].as_str().unwrap().contains("unavailable"),
        "{body}"
    );

    redis.restart().expect("start");
    health_until(&agent, Duration::from_secs(15), |h| {
        h["redis"]["connected"] == true && h["events"]["queued"] == 0
    })
    .await;
    let events = parse(&stream_entries(&url, STREAM).await);
    assert_eq!(events[0]["type"], "run_started");
    let result = events.iter().find(|e| e["type"] == "tool_result").unwrap();
    assert_eq!(result["status"], "error");
    assert!(
        result["output"]
            .as_str()
            .unwrap()
            .starts_with("unavailable: Redis")
    );
    assert_eq!(events.last().unwrap()["type"], "run_finished");
    agent.shutdown().await;
}

/// The tools share one connection; after Redis restarts, that connection is
/// dead although nobody has used it yet. The first tool call after the restart
/// must still succeed (the store retries once on a new connection), and a call
/// while Redis is down fails with a clear "unavailable" error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_tool_call_after_a_redis_restart_succeeds() {
    use std::sync::Arc;

    use orchestrator_agent::redis_conn::SharedConn;
    use orchestrator_agent::tools::Toolbox;
    use orchestrator_agent::tools::plans::PlanStore;
    use serde_json::json;

    let mut redis = RedisServer::start().expect("redis-server");
    let client = redis::Client::open(redis.url()).expect("url");
    let store = PlanStore::new(
        Arc::new(SharedConn::new(client, Duration::from_secs(2))),
        "test:plans",
    );
    let tools = store
        .tools()
        .into_iter()
        .fold(Toolbox::new(), |t, tool| t.with(tool));
    let plan = json!({"plan_data": "Survey\n1. read\n2. write", "source_agent": "planner"});
    tools
        .call("store_research_plan", plan.clone())
        .await
        .expect("stored while Redis is up");

    redis.kill();
    let down = tools
        .call("list_research_plans", json!({}))
        .await
        .expect_err("Redis is down");
    assert!(down.to_string().contains("Redis"), "{down}");

    redis.restart().expect("restart on the same port");
    // Open a connection, then restart again so the kept one is dead but unused.
    tools
        .call("list_research_plans", json!({}))
        .await
        .expect("listing after the first restart");
    redis.kill();
    redis.restart().expect("second restart");

    let stored = tools
        .call("store_research_plan", plan)
        .await
        .expect("the first call after the restart succeeds");
    let id = stored["plan_id"].as_str().expect("plan id").to_string();
    let got = tools
        .call("get_research_plan", json!({"plan_id": id}))
        .await
        .expect("read back");
    assert_eq!(got["source_agent"], "planner");
    let listed = tools
        .call("list_research_plans", json!({}))
        .await
        .expect("listed");
    assert_eq!(
        listed["count"], 1,
        "the restarted Redis is empty but for the new plan: {listed}"
    );
}
