//! Shared by the agent's integration tests: an agent started in-process on
//! port 0 against a private redis-server, a channel subscriber, and waiting
//! for conditions with a deadline (never sleeping as an assertion).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use orchestrator_agent::Config;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// An agent serving in this process.
pub struct Agent {
    pub addr: SocketAddr,
    pub stop: CancellationToken,
    pub task: JoinHandle<Result<(), orchestrator_agent::AgentError>>,
}

impl Agent {
    /// Starts an agent on 127.0.0.1:0 with the builtin model at pace 0,
    /// then `tweak`s the config.
    pub async fn start(redis_url: &str, tweak: impl FnOnce(&mut Config)) -> Agent {
        let mut config = Config {
            redis_url: redis_url.to_string(),
            pace: Duration::ZERO,
            shutdown_grace: Duration::from_secs(2),
            ..Config::default()
        };
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = CancellationToken::new();
        let task = tokio::spawn(orchestrator_agent::run(listener, config, stop.clone()));
        Agent { addr, stop, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops it and waits for it to finish.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

/// Everything published on a channel, as raw payloads, in arrival order.
#[derive(Clone)]
pub struct Subscriber {
    pub payloads: Arc<Mutex<Vec<String>>>,
}

impl Subscriber {
    /// Subscribes (confirmed by Redis before returning).
    pub async fn start(redis_url: &str, channel: &str) -> Subscriber {
        let client = redis::Client::open(redis_url).expect("url");
        let mut pubsub = client.get_async_pubsub().await.expect("pubsub");
        pubsub.subscribe(channel).await.expect("subscribe");
        let payloads = Arc::new(Mutex::new(Vec::new()));
        let sink = payloads.clone();
        tokio::spawn(async move {
            let mut messages = pubsub.into_on_message();
            while let Some(msg) = messages.next().await {
                if let Ok(p) = msg.get_payload::<String>() {
                    sink.lock().unwrap().push(p);
                }
            }
        });
        Subscriber { payloads }
    }

    pub fn events(&self) -> Vec<Value> {
        self.payloads
            .lock()
            .unwrap()
            .iter()
            .map(|p| serde_json::from_str(p).expect("every payload is JSON"))
            .collect()
    }

    /// The events of one run, in arrival order.
    pub fn run(&self, run_id: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["run_id"] == run_id)
            .collect()
    }

    /// Waits until the run's `run_finished` has arrived; returns its events.
    pub async fn finished_run(&self, run_id: &str) -> Vec<Value> {
        let this = self.clone();
        let id = run_id.to_string();
        wait_until(Duration::from_secs(20), move || {
            this.run(&id).iter().any(|e| e["type"] == "run_finished")
        })
        .await;
        self.run(run_id)
    }
}

/// Polls `cond` every 10 ms until it holds; panics after `timeout`.
pub async fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "condition not met within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Asserts the run's events form one well-ordered sequence: `run_started`
/// first, `run_finished` last, `seq` 0,1,2,… and ids strictly increasing.
pub fn assert_run_sequence(events: &[Value]) {
    assert!(!events.is_empty());
    assert_eq!(events[0]["type"], "run_started", "{events:#?}");
    assert_eq!(events.last().unwrap()["type"], "run_finished");
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], json!(i), "seq contiguous at {i}: {e}");
    }
    let ids: Vec<orchestrator_events::StreamId> = events
        .iter()
        .map(|e| e["id"].as_str().expect("id").parse().expect("stream id"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids strictly increase");
}

/// The stream's entries as (id, event JSON).
pub async fn stream_entries(redis_url: &str, stream: &str) -> Vec<(String, String)> {
    let client = redis::Client::open(redis_url).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("conn");
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .expect("xrange");
    reply
        .ids
        .into_iter()
        .map(|e| {
            let event: String = e.get("event").expect("event field");
            (e.id, event)
        })
        .collect()
}

/// POST /chat.
pub async fn chat(agent: &Agent, message: &str, source_agent: Option<&str>) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(agent.url("/chat"))
        .json(&json!({"message": message, "source_agent": source_agent}))
        .send()
        .await
        .expect("chat request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// One JSON-RPC call; returns the whole response object.
pub async fn rpc(agent: &Agent, method: &str, params: Value) -> Value {
    reqwest::Client::new()
        .post(agent.url("/"))
        .json(&json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}))
        .send()
        .await
        .expect("rpc request")
        .json()
        .await
        .expect("JSON body")
}

/// An A2A user message.
pub fn a2a_message(text: &str) -> Value {
    json!({
        "kind": "message",
        "messageId": uuid::Uuid::new_v4().to_string(),
        "role": "user",
        "parts": [{"kind": "text", "text": text}],
    })
}

/// GET /healthz.
pub async fn health(agent: &Agent) -> Value {
    reqwest::Client::new()
        .get(agent.url("/healthz"))
        .send()
        .await
        .expect("healthz")
        .json()
        .await
        .expect("JSON")
}

/// Polls /healthz until `cond` holds on it; returns that answer.
pub async fn health_until(
    agent: &Agent,
    timeout: Duration,
    cond: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let h = health(agent).await;
        if cond(&h) {
            return h;
        }
        assert!(
            Instant::now() < deadline,
            "healthz never satisfied the condition: {h}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
