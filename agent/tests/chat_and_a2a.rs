//! `/chat` and A2A against a real redis-server over real HTTP: every run's
//! events arrive on the channel in order, match the stream, and the tools
//! have their effects in Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::time::{Duration, Instant};

use common::{Agent, Subscriber, a2a_message, assert_run_sequence, chat, rpc, stream_entries};
use futures_util::StreamExt;
use orchestrator_agent::samples::sse_data;
use redis::AsyncCommands;
use serde_json::{Value, json};
use testkit::RedisServer;

const CHANNEL: &str = "orchestrator_events";
const STREAM: &str = "orchestrator_events:log";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_publishes_the_whole_run_in_order_and_stores_the_plan() {
    let redis = RedisServer::start().expect("redis-server");
    let sub = Subscriber::start(&redis.url(), CHANNEL).await;
    let agent = Agent::start(&redis.url(), |_| {}).await;

    let plan = "Please store this research plan: 1. Survey caching papers\n2. Benchmark the bridge\n3. Write it up";
    let (status, body) = chat(&agent, plan, Some("planner")).await;
    assert_eq!(status, 200, "{body}");
    let run_id = body["run_id"].as_str().expect("run_id").to_string();
    let reply = body["reply"].as_str().expect("reply");

    let events = sub.finished_run(&run_id).await;
    assert_run_sequence(&events);
    assert_eq!(events[0]["input"], plan);
    assert_eq!(events[0]["source"], "chat");
    // The model answering is named for the runs view (the built-in one here).
    assert_eq!(events[0]["model"], "builtin");
    assert_eq!(events[0]["source_agent"], "planner");
    assert!(events.iter().all(|e| e["agent"] == "orchestrator"));
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for kind in ["reasoning", "tool_use", "tool_result", "text_generation"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let last = events.last().unwrap();
    assert_eq!(last["status"], "completed");
    assert!(last["usage"]["output_tokens"].as_u64().unwrap() > 0);

    // The text chunks are the reply, exactly.
    let text: String = events
        .iter()
        .filter(|e| e["type"] == "text_generation")
        .map(|e| e["data"].as_str().unwrap())
        .collect();
    assert_eq!(text, reply);

    // tool_use → tool_result with the same id; the plan is in Redis.
    let tool_use = events.iter().find(|e| e["type"] == "tool_use").unwrap();
    assert_eq!(tool_use["tool_name"], "store_research_plan");
    assert_eq!(tool_use["tool_input"]["source_agent"], "planner");
    let result = events.iter().find(|e| e["type"] == "tool_result").unwrap();
    assert_eq!(result["tool_use_id"], tool_use["tool_use_id"]);
    assert_eq!(result["status"], "success");
    let plan_id = result["output"]["plan_id"].as_str().expect("plan id");
    assert!(reply.contains(plan_id), "reply names the plan: {reply}");
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let stored: Option<String> = conn
        .hget(format!("orchestrator:plans:{plan_id}"), "plan_data")
        .await
        .unwrap();
    assert_eq!(
        stored.as_deref(),
        Some("1. Survey caching papers\n2. Benchmark the bridge\n3. Write it up")
    );

    // Live frames are the stream's entries, byte for byte, with the same ids.
    let live: Vec<String> = sub
        .payloads
        .lock()
        .unwrap()
        .iter()
        .filter(|p| p.contains(&run_id))
        .cloned()
        .collect();
    let stored: Vec<(String, String)> = stream_entries(&redis.url(), STREAM)
        .await
        .into_iter()
        .filter(|(_, e)| e.contains(&run_id))
        .collect();
    assert_eq!(live.len(), stored.len());
    for (frame, (id, entry)) in live.iter().zip(&stored) {
        assert_eq!(frame, entry);
        assert!(frame.starts_with(&format!(r#"{{"id":"{id}""#)));
    }
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_send_returns_a_completed_task_and_tasks_get_finds_it() {
    let redis = RedisServer::start().expect("redis-server");
    let sub = Subscriber::start(&redis.url(), CHANNEL).await;
    let agent = Agent::start(&redis.url(), |_| {}).await;

    let mut message = a2a_message("Please store this research plan: 1. Read\n2. Write");
    message["contextId"] = json!("ctx-42");
    let response = rpc(
        &agent,
        "message/send",
        json!({"message": message, "metadata": {"source_agent": "planner"}}),
    )
    .await;
    let task = &response["result"];
    assert_eq!(response["id"], 7);
    assert_eq!(task["kind"], "task");
    assert_eq!(task["status"]["state"], "completed", "{response}");
    assert_eq!(task["contextId"], "ctx-42");
    let reply = task["artifacts"][0]["parts"][0]["text"]
        .as_str()
        .expect("reply artifact");
    assert!(reply.contains("plan-"));
    assert_eq!(task["history"].as_array().unwrap().len(), 2);

    let run_id = task["metadata"]["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    let events = sub.finished_run(&run_id).await;
    assert_run_sequence(&events);
    assert_eq!(events[0]["source"], "a2a");
    assert_eq!(events[0]["context_id"], "ctx-42");
    assert_eq!(events[0]["source_agent"], "planner");

    let got = rpc(
        &agent,
        "tasks/get",
        json!({"id": task["id"], "historyLength": 1}),
    )
    .await;
    assert_eq!(got["result"]["status"]["state"], "completed");
    assert_eq!(got["result"]["history"].as_array().unwrap().len(), 1);
    let missing = rpc(&agent, "tasks/get", json!({"id": "no-such-task"})).await;
    assert_eq!(missing["error"]["code"], -32001);
    // A finished task cannot be cancelled.
    let late = rpc(&agent, "tasks/cancel", json!({"id": task["id"]})).await;
    assert_eq!(late["error"]["code"], -32002);
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn message_stream_delivers_updates_while_the_run_is_going() {
    let redis = RedisServer::start().expect("redis-server");
    let sub = Subscriber::start(&redis.url(), CHANNEL).await;
    // Paced, so the run takes a while (a long answer is a few hundred chunks).
    let agent = Agent::start(&redis.url(), |c| c.pace = Duration::from_millis(5)).await;

    let body = json!({
        "jsonrpc": "2.0", "id": "s1", "method": "message/stream",
        "params": {"message": a2a_message("Explain how an event travels from the agent to the terminal, step by step.")},
    });
    let response = reqwest::Client::new()
        .post(agent.url("/"))
        .json(&body)
        .send()
        .await
        .expect("stream request");
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let started = Instant::now();
    let mut events = std::pin::pin!(sse_data(response.bytes_stream()));
    let mut updates: Vec<Value> = Vec::new();
    let mut finished_when_first_text_arrived = None;
    while let Some(data) = events.next().await {
        let value: Value = serde_json::from_str(&data).expect("each SSE event is JSON");
        assert_eq!(value["jsonrpc"], "2.0");
        assert_eq!(value["id"], "s1");
        let result = value["result"].clone();
        if result["kind"] == "artifact-update" && finished_when_first_text_arrived.is_none() {
            // The run is still going: its run_finished has not been published.
            let task_run = updates[0]["metadata"]["run_id"]
                .as_str()
                .unwrap()
                .to_string();
            finished_when_first_text_arrived = Some(
                sub.run(&task_run)
                    .iter()
                    .any(|e| e["type"] == "run_finished"),
            );
        }
        updates.push(result);
    }
    assert_eq!(updates[0]["kind"], "task", "first event is the task");
    assert_eq!(updates[0]["status"]["state"], "working");
    assert_eq!(
        finished_when_first_text_arrived,
        Some(false),
        "reply chunks stream before the run ends"
    );
    let chunks: Vec<&Value> = updates
        .iter()
        .filter(|u| u["kind"] == "artifact-update")
        .collect();
    assert!(chunks.len() > 50, "many reply chunks: {}", chunks.len());
    assert_eq!(chunks[0]["append"], false);
    assert_eq!(chunks[1]["append"], true);
    assert!(updates.iter().any(|u| u["kind"] == "status-update"
        && u["status"]["message"]["metadata"]["type"] == "reasoning"));
    let last = updates.last().unwrap();
    assert_eq!(last["kind"], "status-update");
    assert_eq!(last["final"], true);
    assert_eq!(last["status"]["state"], "completed");
    let streamed: String = chunks
        .iter()
        .map(|u| u["artifact"]["parts"][0]["text"].as_str().unwrap())
        .collect();
    assert!(streamed.split_whitespace().count() > 250, "a long answer");
    assert!(started.elapsed() > Duration::from_millis(100));

    // tasks/get agrees with the stream's end.
    let task_id = updates[0]["id"].clone();
    let got = rpc(&agent, "tasks/get", json!({"id": task_id})).await;
    assert_eq!(got["result"]["status"]["state"], "completed");
    assert_eq!(
        got["result"]["artifacts"][0]["parts"][0]["text"],
        streamed.as_str()
    );
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_cancel_stops_a_running_run() {
    let redis = RedisServer::start().expect("redis-server");
    let sub = Subscriber::start(&redis.url(), CHANNEL).await;
    let agent = Agent::start(&redis.url(), |c| c.pace = Duration::from_millis(20)).await;

    let response = rpc(
        &agent,
        "message/send",
        json!({
            "message": a2a_message("Explain in detail what happens when Redis is restarted."),
            "configuration": {"blocking": false},
        }),
    )
    .await;
    let task = &response["result"];
    assert_eq!(task["status"]["state"], "working", "{response}");
    let run_id = task["metadata"]["run_id"].as_str().unwrap().to_string();
    // Cancel once the run is visibly under way.
    let watch = sub.clone();
    let id = run_id.clone();
    common::wait_until(Duration::from_secs(10), move || {
        watch
            .run(&id)
            .iter()
            .any(|e| e["type"] == "text_generation")
    })
    .await;

    let cancelled = rpc(&agent, "tasks/cancel", json!({"id": task["id"]})).await;
    assert_eq!(
        cancelled["result"]["status"]["state"], "canceled",
        "{cancelled}"
    );
    let events = sub.finished_run(&run_id).await;
    assert_run_sequence(&events);
    assert_eq!(events.last().unwrap()["status"], "cancelled");
    let got = rpc(&agent, "tasks/get", json!({"id": task["id"]})).await;
    assert_eq!(got["result"]["status"]["state"], "canceled");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_tool_is_reported_and_the_run_goes_on() {
    let redis = RedisServer::start().expect("redis-server");
    let sub = Subscriber::start(&redis.url(), CHANNEL).await;
    let agent = Agent::start(&redis.url(), |_| {}).await;

    let (status, body) = chat(&agent, "Fetch research plan plan-doesnotexist please", None).await;
    assert_eq!(status, 200);
    let events = sub.finished_run(body["run_id"].as_str().unwrap()).await;
    assert_run_sequence(&events);
    let results: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "tool_result")
        .collect();
    assert_eq!(results[0]["tool_name"], "get_research_plan");
    assert_eq!(results[0]["status"], "error");
    assert!(
        results[0]["output"]
            .as_str()
            .unwrap()
            .contains("no research plan with id plan-doesnotexist")
    );
    // The model recovers by listing what exists.
    assert_eq!(results[1]["tool_name"], "list_research_plans");
    assert_eq!(results[1]["status"], "success");
    assert_eq!(events.last().unwrap()["status"], "completed");
    assert!(
        body["reply"]
            .as_str()
            .unwrap()
            .contains("plan-doesnotexist")
    );
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_agent_card() {
    let redis = RedisServer::start().expect("redis-server");
    let agent = Agent::start(&redis.url(), |c| c.name = "scout".into()).await;
    let client = reqwest::Client::new();
    let health_url = agent.url("/healthz");
    let mut health: Value = Value::Null;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        health = client
            .get(&health_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if health["redis"]["connected"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["agent"], "scout");
    assert_eq!(health["runs"]["in_flight"], 0);
    assert_eq!(health["events"]["queued"], 0);

    let card: Value = client
        .get(agent.url("/.well-known/agent-card.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(card["name"], "scout");
    assert_eq!(card["capabilities"]["streaming"], true);
    assert_eq!(card["url"], agent.url("/"));
    assert!(card["skills"].as_array().unwrap().len() >= 2);

    let missing = client.get(agent.url("/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["kind"], "not_found");
    agent.shutdown().await;
}
