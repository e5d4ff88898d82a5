//! The whole pipeline, as a user runs it: redis-server, the agent and bridge
//! binaries, and the TUI's own client code (headless). A chat message and an
//! A2A message each produce a complete, ordered, id-stamped run at the client;
//! the bridge is SIGKILLed mid-run and restarted, and the client ends up with
//! every event exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use common::Pipeline;
use orchestrator_events::{Event, EventKind, StatusKind, StreamId};
use orchestrator_tui::client::{ClientConfig, ClientEvent, ConnState, spawn_client};
use serde_json::{Value, json};
use tokio::sync::mpsc::Receiver;
use tokio_util::sync::CancellationToken;

/// What the client has received so far.
#[derive(Default)]
struct Seen {
    /// Agent events by id (a duplicate id fails the test at once).
    events: BTreeMap<StreamId, Event>,
    /// Ids in arrival order.
    order: Vec<StreamId>,
    states: Vec<ConnState>,
    /// Events the bridge said it replayed (`replay_done`), per connection.
    replayed: Vec<u64>,
}

impl Seen {
    fn absorb(&mut self, event: ClientEvent) {
        match event {
            ClientEvent::State(state) => self.states.push(state),
            ClientEvent::Frame(frame) => {
                let event = frame.event.expect("every frame is a valid event");
                if event.kind.is_bridge_frame() {
                    if let EventKind::BridgeStatus(s) = &event.kind
                        && s.status == StatusKind::ReplayDone
                    {
                        self.replayed.push(s.replayed.unwrap_or(0));
                    }
                    return;
                }
                let id = event.id.expect("agent events carry their stream id");
                assert!(
                    self.events.insert(id, event).is_none(),
                    "event {id} delivered twice"
                );
                self.order.push(id);
            }
        }
    }

    /// The run's events in id order.
    fn run(&self, run_id: &str) -> Vec<&Event> {
        self.events
            .values()
            .filter(|e| e.run_id.as_deref() == Some(run_id))
            .collect()
    }

    fn finished(&self, run_id: &str) -> bool {
        self.run(run_id)
            .iter()
            .any(|e| matches!(e.kind, EventKind::RunFinished(_)))
    }
}

/// Reads client events until `done` holds or the deadline passes.
async fn pump_until(
    rx: &mut Receiver<ClientEvent>,
    seen: &mut Seen,
    what: &str,
    done: impl Fn(&Seen) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done(seen) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(event)) => seen.absorb(event),
            Ok(None) => panic!("client stopped while waiting for {what}"),
            Err(_) => panic!(
                "timed out waiting for {what}; {} events seen, states {:?}",
                seen.events.len(),
                seen.states
            ),
        }
    }
}

/// Asserts a run is complete and well-formed: starts with `run_started`, ends
/// with `run_finished`, `seq` is 0..n, ids increase, and it is exactly the run's
/// entries in the Redis stream.
fn assert_complete_run(seen: &Seen, run_id: &str, stream: &[Event], source: &str) {
    let got = seen.run(run_id);
    assert!(got.len() >= 4, "run {run_id} too short: {}", got.len());
    match &got[0].kind {
        EventKind::RunStarted(s) => assert_eq!(s.source, source),
        other => panic!("run {run_id} does not start with run_started: {other:?}"),
    }
    assert!(matches!(got[got.len() - 1].kind, EventKind::RunFinished(_)));
    for (i, e) in got.iter().enumerate() {
        assert_eq!(e.seq, Some(i as u64), "seq of run {run_id} not contiguous");
        assert_eq!(e.agent.as_deref(), Some("orchestrator"));
    }
    assert!(got.windows(2).all(|w| w[0].id < w[1].id));
    let expected: Vec<&Event> = stream
        .iter()
        .filter(|e| e.run_id.as_deref() == Some(run_id))
        .collect();
    assert_eq!(got, expected, "client's run differs from the stream's");
}

async fn chat(http: &reqwest::Client, base: &str, message: &str) -> String {
    let reply: Value = http
        .post(format!("{base}/chat"))
        .json(&json!({"message": message, "source_agent": "planner"}))
        .send()
        .await
        .expect("POST /chat")
        .error_for_status()
        .expect("/chat status")
        .json()
        .await
        .expect("/chat json");
    reply["run_id"].as_str().expect("run_id").to_string()
}

async fn stream_events(pipeline: &Pipeline) -> Vec<Event> {
    pipeline
        .stream_events()
        .await
        .iter()
        .map(|text| Event::parse(text).expect("stored event parses"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_and_a2a_runs_arrive_complete_and_survive_a_bridge_kill() {
    let mut pipeline = Pipeline::start();
    let http = reqwest::Client::new();
    let cancel = CancellationToken::new();
    let mut config = ClientConfig::new(&pipeline.ws_url()).expect("client config");
    config.backoff.initial = Duration::from_millis(50);
    config.backoff.max = Duration::from_millis(500);
    let mut rx = spawn_client(config, cancel.clone());
    let mut seen = Seen::default();
    pump_until(&mut rx, &mut seen, "live", |s| {
        s.states.contains(&ConnState::Live)
    })
    .await;

    // 1. A chat message that stores a plan (a tool call with a real effect).
    let chat_run = chat(
        &http,
        &pipeline.agent_url(),
        "Please store this research plan.\nPlan: E2E\n1. Build\n2. Measure",
    )
    .await;
    pump_until(&mut rx, &mut seen, "the chat run", |s| {
        s.finished(&chat_run)
    })
    .await;
    let tools: Vec<&str> = seen
        .run(&chat_run)
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ToolUse(t) => Some(t.tool_name.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        tools.contains(&"store_research_plan"),
        "tools used: {tools:?}"
    );

    // 2. An A2A message/send.
    let a2a: Value = http
        .post(format!("{}/", pipeline.agent_url()))
        .json(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "message/send",
            "params": {"message": {
                "kind": "message", "role": "user", "messageId": "m-e2e-1",
                "contextId": "ctx-e2e",
                "parts": [{"kind": "text", "text": "What tools do you have, and what do they do?"}]
            }}
        }))
        .send()
        .await
        .expect("POST /")
        .json()
        .await
        .expect("json-rpc reply");
    assert!(a2a.get("error").is_none(), "A2A error: {a2a}");
    pump_until(&mut rx, &mut seen, "the A2A run", |s| {
        s.events.values().any(|e| {
            matches!(&e.kind, EventKind::RunStarted(r) if r.source == "a2a")
                && s.finished(e.run_id.as_deref().unwrap_or_default())
        })
    })
    .await;
    let a2a_run = seen
        .events
        .values()
        .find_map(|e| match &e.kind {
            EventKind::RunStarted(r) if r.source == "a2a" => {
                assert_eq!(r.context_id.as_deref(), Some("ctx-e2e"));
                e.run_id.clone()
            }
            _ => None,
        })
        .expect("a2a run");

    let stream = stream_events(&pipeline).await;
    assert_complete_run(&seen, &chat_run, &stream, "chat");
    assert_complete_run(&seen, &a2a_run, &stream, "a2a");
    assert!(
        seen.order.windows(2).all(|w| w[0] < w[1]),
        "ids arrive in order"
    );

    // 3. A long run; the bridge is SIGKILLed while it streams, then restarted.
    let http2 = http.clone();
    let base = pipeline.agent_url();
    let long = tokio::spawn(async move {
        chat(
            &http2,
            &base,
            "Explain in detail what happens when Redis is restarted in the middle of a run.",
        )
        .await
    });
    let before = seen.events.len();
    pump_until(&mut rx, &mut seen, "the long run to start", |s| {
        s.events.len() >= before + 5
    })
    .await;
    pipeline.restart_bridge();
    let long_run = long.await.expect("chat task");
    pump_until(&mut rx, &mut seen, "the long run after the restart", |s| {
        s.finished(&long_run)
    })
    .await;

    let reconnects = seen
        .states
        .iter()
        .filter(|s| matches!(s, ConnState::Reconnecting { .. }))
        .count();
    assert!(
        reconnects >= 1,
        "the client noticed the kill: {:?}",
        seen.states
    );
    let stream = stream_events(&pipeline).await;
    assert_complete_run(&seen, &long_run, &stream, "chat");
    assert!(
        seen.order.windows(2).all(|w| w[0] < w[1]),
        "ids arrive in order across the kill and the resume"
    );
    assert!(
        seen.replayed.iter().any(|&n| n > 0),
        "the resumed connection replayed what was published while the bridge was down: {:?}",
        seen.replayed
    );
    // Every agent event in the stream reached the client exactly once (insert
    // panics on a duplicate), and nothing else did.
    let stream_ids: Vec<StreamId> = stream.iter().filter_map(|e| e.id).collect();
    let client_ids: Vec<StreamId> = seen.events.keys().copied().collect();
    assert_eq!(client_ids, stream_ids);
    let per_run: HashMap<&str, usize> = seen.events.values().fold(HashMap::new(), |mut m, e| {
        *m.entry(e.run_id.as_deref().unwrap_or("-")).or_default() += 1;
        m
    });
    assert_eq!(per_run.len(), 3, "three runs: {per_run:?}");
    cancel.cancel();
}
