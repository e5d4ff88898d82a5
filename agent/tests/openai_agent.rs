//! The whole agent with `--model openai`, pointed at a local fake endpoint
//! speaking the real streaming format, publishing to a private
//! `redis-server`: what the published events say about reasoning, text, tool
//! calls (good and malformed), usage, `--max-steps`, a failing endpoint and a
//! cancelled task.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod openai_fake;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use openai_fake::{End, FakeServer, Framing, Reply, delta, done, finish, tool_fragment, usage};
use orchestrator_agent::model::openai::OpenAiConfig;
use orchestrator_agent::{Config, ModelChoice};
use serde_json::{Value, json};
use testkit::RedisServer;
use tokio_util::sync::CancellationToken;

/// An agent serving on a free port; stopped when dropped.
struct Agent {
    addr: SocketAddr,
    stop: CancellationToken,
    redis: RedisServer,
    http: reqwest::Client,
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Agent {
    async fn start(server: &FakeServer, max_steps: usize) -> Agent {
        let redis = RedisServer::start().expect("start a private redis-server");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the agent");
        let addr = listener.local_addr().expect("agent address");
        let config = Config {
            redis_url: redis.url(),
            model: ModelChoice::OpenAi(OpenAiConfig {
                base_url: server.base_url(),
                api_key: Some("sk-e2e".into()),
                model: "fake-model".into(),
                timeout: Duration::from_secs(10),
                max_retries: 0,
            }),
            max_steps,
            ..Config::default()
        };
        let stop = CancellationToken::new();
        tokio::spawn(orchestrator_agent::run(listener, config, stop.clone()));
        Agent {
            addr,
            stop,
            redis,
            http: reqwest::Client::new(),
        }
    }

    /// `POST /chat`; returns the HTTP status and the JSON answer.
    async fn chat(&self, message: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("http://{}/chat", self.addr))
            .json(&json!({"message": message, "source_agent": "planner"}))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("the agent answers /chat");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON answer"))
    }

    /// One A2A JSON-RPC call; returns the `result`.
    async fn rpc(&self, method: &str, params: Value) -> Value {
        let answer: Value = self
            .http
            .post(format!("http://{}/", self.addr))
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("the agent answers JSON-RPC")
            .json()
            .await
            .expect("a JSON-RPC answer");
        answer
            .get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{method} failed: {answer}"))
    }

    /// The published events of the run that ended with `run_finished`,
    /// waiting until that event is in the stream.
    async fn events(&self, run_id: Option<&str>) -> Vec<Value> {
        let client = redis::Client::open(self.redis.url()).expect("redis url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect to redis");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let entries: Vec<(String, HashMap<String, String>)> = redis::cmd("XRANGE")
                .arg(orchestrator_events::config::DEFAULT_STREAM)
                .arg("-")
                .arg("+")
                .query_async(&mut conn)
                .await
                .expect("XRANGE");
            let events: Vec<Value> = entries
                .iter()
                .filter_map(|(_, fields)| serde_json::from_str(fields.get("event")?).ok())
                .filter(|event: &Value| run_id.is_none_or(|id| event["run_id"] == id))
                .collect();
            if events.iter().any(|e| e["type"] == "run_finished") {
                return events;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no run_finished published; got {events:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

#[tokio::test]
async fn a_run_publishes_reasoning_text_tools_and_usage_and_feeds_errors_back() {
    let server = FakeServer::start(vec![
        Reply::sse(vec![
            delta(json!({"role": "assistant", "reasoning_content": "The user wants "})),
            delta(json!({"reasoning_content": "the plan list."})),
            delta(json!({"content": "Checking "})),
            delta(json!({"content": "the plans."})),
            tool_fragment(0, Some("call_list"), Some("list_research_plans"), ""),
            tool_fragment(
                1,
                Some("call_bad"),
                Some("get_research_plan"),
                "{\"plan_id\": ",
            ),
            tool_fragment(0, None, None, "{}"),
            tool_fragment(1, None, None, "\"p-1"),
            finish("tool_calls"),
            usage(100, 20),
            done(),
        ]),
        Reply::sse(vec![
            delta(json!({"reasoning": "Nothing stored yet."})),
            delta(json!({"content": "There are no plans yet."})),
            finish("stop"),
            usage(150, 8),
            done(),
        ]),
    ])
    .await;
    let agent = Agent::start(&server, 8).await;

    let (status, answer) = agent.chat("Which research plans are stored?").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["reply"],
        "Checking the plans.\n\nThere are no plans yet."
    );
    let run_id = answer["run_id"].as_str().expect("a run id");
    let events = agent.events(Some(run_id)).await;

    let reasoning: Vec<&str> = of_type(&events, "reasoning")
        .iter()
        .filter_map(|e| e["content"].as_str())
        .collect();
    assert_eq!(
        reasoning,
        ["The user wants ", "the plan list.", "Nothing stored yet."]
    );
    let text: String = of_type(&events, "text_generation")
        .iter()
        .filter_map(|e| e["data"].as_str())
        .collect();
    assert_eq!(text, "Checking the plans.\n\nThere are no plans yet.");

    let uses = of_type(&events, "tool_use");
    assert_eq!(uses.len(), 2, "{uses:#?}");
    assert_eq!(uses[0]["tool_name"], "list_research_plans");
    assert_eq!(uses[0]["tool_use_id"], "call_list");
    assert_eq!(uses[0]["tool_input"], json!({}));
    assert_eq!(uses[1]["tool_name"], "get_research_plan");
    assert_eq!(uses[1]["tool_use_id"], "call_bad");
    let results = of_type(&events, "tool_result");
    assert_eq!(results.len(), 2, "{results:#?}");
    assert_eq!(
        (&results[0]["tool_use_id"], &results[0]["status"]),
        (&json!("call_list"), &json!("success"))
    );
    assert_eq!(
        (&results[1]["tool_use_id"], &results[1]["status"]),
        (&json!("call_bad"), &json!("error"))
    );
    assert!(
        results[1]["output"]
            .as_str()
            .is_some_and(|o| o.contains("not valid JSON")),
        "{}",
        results[1]
    );

    let finished = of_type(&events, "run_finished");
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0]["status"], "completed");
    assert_eq!(
        finished[0]["usage"],
        json!({"input_tokens": 250, "output_tokens": 28})
    );
    assert!(of_type(&events, "error").is_empty());

    // The second model turn saw both results, the malformed call's as an error.
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].headers.get("authorization").map(String::as_str),
        Some("Bearer sk-e2e")
    );
    let tool_names: Vec<&str> = requests[0].body["tools"]
        .as_array()
        .expect("tools sent")
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert!(
        tool_names.contains(&"list_research_plans") && tool_names.contains(&"get_research_plan"),
        "{tool_names:?}"
    );
    let messages = requests[1].body["messages"]
        .as_array()
        .expect("messages")
        .clone();
    let assistant = messages
        .iter()
        .find(|m| m["role"] == "assistant")
        .expect("the first turn in the history");
    assert_eq!(assistant["content"], "Checking the plans.");
    assert_eq!(assistant["tool_calls"][0]["id"], "call_list");
    assert_eq!(assistant["tool_calls"][1]["id"], "call_bad");
    let bad = messages
        .iter()
        .find(|m| m["role"] == "tool" && m["tool_call_id"] == "call_bad")
        .expect("the error went back");
    assert!(
        bad["content"]
            .as_str()
            .is_some_and(|c| c.contains("not valid JSON")),
        "{bad}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m["role"] == "tool" && m["tool_call_id"] == "call_list")
    );
}

#[tokio::test]
async fn max_steps_reached_fails_the_run_with_the_reason() {
    let turn = || {
        Reply::sse(vec![
            tool_fragment(0, Some("call_x"), Some("list_research_plans"), "{}"),
            finish("tool_calls"),
            done(),
        ])
    };
    let server = FakeServer::start(vec![turn(), turn(), turn()]).await;
    let agent = Agent::start(&server, 2).await;

    let (status, answer) = agent.chat("loop forever").await;
    assert_eq!(status, 502, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("max-steps")),
        "{answer}"
    );
    let events = agent.events(answer["run_id"].as_str()).await;
    assert_eq!(server.requests().len(), 2, "no third turn");
    assert_eq!(of_type(&events, "tool_result").len(), 2);
    let errors = of_type(&events, "error");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["kind"], "max_steps");
    assert_eq!(of_type(&events, "run_finished")[0]["status"], "failed");
}

#[tokio::test]
async fn an_endpoint_error_fails_the_run_and_the_agent_keeps_serving() {
    let server = FakeServer::start(vec![
        Reply::status(
            401,
            json!({"error": {"message": "Incorrect API key provided"}}),
        ),
        Reply::sse(vec![
            delta(json!({"content": "back"})),
            finish("stop"),
            done(),
        ]),
    ])
    .await;
    let agent = Agent::start(&server, 8).await;

    let (status, answer) = agent.chat("hello").await;
    assert_eq!(status, 502, "{answer}");
    let events = agent.events(answer["run_id"].as_str()).await;
    let errors = of_type(&events, "error");
    assert_eq!(errors.len(), 1, "{events:#?}");
    assert_eq!(errors[0]["kind"], "model_status");
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("401") && m.contains("Incorrect API key"))
    );
    assert!(
        !errors[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("sk-e2e")
    );
    assert_eq!(of_type(&events, "run_finished")[0]["status"], "failed");

    let (status, answer) = agent.chat("hello again").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["reply"], "back");
}

#[tokio::test]
async fn cancelling_the_task_stops_the_model_stream() {
    let server = FakeServer::start(vec![Reply::Sse {
        pieces: vec![delta(json!({"content": "This will take a while"}))],
        delay: Duration::from_millis(5),
        framing: Framing::Chunked,
        end: End::Hang,
    }])
    .await;
    let agent = Agent::start(&server, 8).await;

    let message = json!({"role": "user", "parts": [{"kind": "text", "text": "write a long essay"}], "messageId": "m-1"});
    let task = agent
        .rpc(
            "message/send",
            json!({"message": message, "configuration": {"blocking": false}}),
        )
        .await;
    let task_id = task["id"].as_str().expect("a task id").to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while server.requests().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the model was never asked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let cancelled = agent.rpc("tasks/cancel", json!({"id": task_id})).await;
    assert_eq!(cancelled["status"]["state"], "canceled", "{cancelled}");
    assert!(
        server.client_closed(Duration::from_secs(10)).await,
        "the model connection was closed"
    );
    let events = agent.events(None).await;
    assert_eq!(of_type(&events, "run_finished")[0]["status"], "cancelled");
}
