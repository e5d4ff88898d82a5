//! The loop's edge cases, with a scripted model backend standing in for an
//! LLM (the one thing tests may fake): malformed tool arguments, invalid
//! tool inputs, the step limit, model errors, and usage accounting — all
//! observed as the events that reach a real Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::sync::{Arc, Mutex};

use common::{Agent, Subscriber, assert_run_sequence, chat};
use orchestrator_agent::ModelChoice;
use orchestrator_agent::model::{
    Delta, DeltaStream, Message, Model, ModelError, ToolCall, TurnRequest,
};
use orchestrator_events::event::Usage;
use serde_json::Value;
use testkit::RedisServer;

/// Plays back one scripted turn per call; the last turn repeats. Records
/// every request so tests can check what the model was told.
struct Scripted {
    turns: Vec<Vec<Result<Delta, ModelError>>>,
    seen: Mutex<Vec<TurnRequest>>,
}

impl Scripted {
    fn new(turns: Vec<Vec<Result<Delta, ModelError>>>) -> Arc<Scripted> {
        Arc::new(Scripted {
            turns,
            seen: Mutex::new(Vec::new()),
        })
    }
}

impl Model for Scripted {
    fn turn(&self, request: TurnRequest) -> DeltaStream {
        let mut seen = self.seen.lock().unwrap();
        let i = seen.len().min(self.turns.len() - 1);
        seen.push(request);
        Box::pin(futures_util::stream::iter(self.turns[i].clone()))
    }

    fn describe(&self) -> String {
        "scripted".into()
    }
}

fn call(id: &str, name: &str, arguments: &str) -> Result<Delta, ModelError> {
    Ok(Delta::ToolCall(ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
    }))
}

fn text(t: &str) -> Result<Delta, ModelError> {
    Ok(Delta::Text(t.into()))
}

async fn setup(model: Arc<Scripted>, max_steps: usize) -> (RedisServer, Subscriber, Agent) {
    let redis = RedisServer::start().expect("redis-server");
    let sub = Subscriber::start(&redis.url(), "orchestrator_events").await;
    let agent = Agent::start(&redis.url(), |c| {
        c.model = ModelChoice::Custom(model);
        c.max_steps = max_steps;
    })
    .await;
    (redis, sub, agent)
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_that_are_not_json_become_a_tool_error_the_model_is_told_about() {
    let model = Scripted::new(vec![
        vec![call(
            "c1",
            "store_research_plan",
            r#"{"plan_data": "unterminated"#,
        )],
        vec![text("Sorry, let me fix that.")],
    ]);
    let (_redis, sub, agent) = setup(model.clone(), 8).await;
    let (status, body) = chat(&agent, "store it", None).await;
    assert_eq!(status, 200, "{body}");
    let events = sub.finished_run(body["run_id"].as_str().unwrap()).await;
    assert_run_sequence(&events);

    let uses = of_type(&events, "tool_use");
    assert_eq!(uses.len(), 1);
    assert_eq!(
        uses[0]["tool_input"], r#"{"plan_data": "unterminated"#,
        "raw text kept"
    );
    let results = of_type(&events, "tool_result");
    assert_eq!(results[0]["status"], "error");
    assert_eq!(results[0]["tool_use_id"], "c1");
    assert!(
        results[0]["output"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert_eq!(events.last().unwrap()["status"], "completed");

    // The second turn saw the error as the tool's answer.
    let seen = model.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    match seen[1].messages.last() {
        Some(Message::Tool {
            tool_call_id,
            content,
            ..
        }) => {
            assert_eq!(tool_call_id, "c1");
            assert!(content.contains("not valid JSON"), "{content}");
        }
        other => panic!("expected a tool message, got {other:?}"),
    }
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_tool_inputs_get_clear_errors_and_the_run_goes_on() {
    let model = Scripted::new(vec![
        vec![
            call("c1", "get_research_plan", r#"{"plan_id": 5}"#),
            call("c2", "get_research_plan", r#"{"plan_id": "../etc/passwd"}"#),
            call(
                "c3",
                "store_research_plan",
                r#"{"plan_data": "x", "colour": "red"}"#,
            ),
            call("c4", "list_research_plans", r#"{"limit": 1000}"#),
            call("c5", "launch_missiles", "{}"),
            call("c6", "list_research_plans", ""),
        ],
        vec![text("Done.")],
    ]);
    let (_redis, sub, agent) = setup(model, 8).await;
    let (status, body) = chat(&agent, "do things", None).await;
    assert_eq!(status, 200, "{body}");
    let events = sub.finished_run(body["run_id"].as_str().unwrap()).await;
    let results = of_type(&events, "tool_result");
    let outputs: Vec<String> = results.iter().map(|r| r["output"].to_string()).collect();
    assert!(
        outputs[0].contains("plan_id: must be a string, got a number"),
        "{}",
        outputs[0]
    );
    assert!(
        outputs[1].contains("plan_id: must look like plan-"),
        "{}",
        outputs[1]
    );
    assert!(
        outputs[2].contains("unknown field(s) colour"),
        "{}",
        outputs[2]
    );
    assert!(
        outputs[3].contains("limit: must be an integer from 1 to 100"),
        "{}",
        outputs[3]
    );
    assert!(
        outputs[4].contains("unknown tool \\\"launch_missiles\\\""),
        "{}",
        outputs[4]
    );
    for r in &results[..5] {
        assert_eq!(r["status"], "error");
    }
    // An empty argument string means "no arguments": allowed.
    assert_eq!(results[5]["status"], "success");
    assert_eq!(events.last().unwrap()["status"], "completed");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_never_stops_calling_tools_is_stopped_at_max_steps() {
    let model = Scripted::new(vec![vec![call("c", "list_research_plans", "{}")]]);
    let (_redis, sub, agent) = setup(model, 3).await;
    let (status, body) = chat(&agent, "loop forever", None).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["status"], "failed");
    assert!(body["error"].as_str().unwrap().contains("3 model turns"));
    let events = sub.finished_run(body["run_id"].as_str().unwrap()).await;
    assert_run_sequence(&events);
    assert_eq!(of_type(&events, "tool_use").len(), 3);
    let errors = of_type(&events, "error");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["kind"], "max_steps");
    let finished = events.last().unwrap();
    assert_eq!(finished["status"], "failed");
    assert_eq!(
        finished["reason"], errors[0]["message"],
        "run_finished says why: {finished}"
    );
    assert!(
        finished["reason"]
            .as_str()
            .unwrap()
            .contains("3 model turns")
    );
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_error_ends_the_run_with_its_kind() {
    let model = Scripted::new(vec![vec![
        Ok(Delta::Reasoning("thinking".into())),
        text("partial "),
        Err(ModelError::Timeout(5)),
    ]]);
    let (_redis, sub, agent) = setup(model, 8).await;
    let (status, body) = chat(&agent, "hi", None).await;
    assert_eq!(status, 502);
    assert_eq!(body["reply"], "partial ");
    let events = sub.finished_run(body["run_id"].as_str().unwrap()).await;
    assert_run_sequence(&events);
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "run_started",
            "reasoning",
            "text_generation",
            "error",
            "run_finished"
        ]
    );
    assert_eq!(events[3]["kind"], "model_timeout");
    assert_eq!(events[4]["status"], "failed");

    // And the agent keeps serving.
    let (status, _) = chat(&agent, "again", None).await;
    assert_eq!(status, 502);
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_is_summed_across_turns_and_text_turns_are_joined() {
    let usage = |i, o| {
        Ok(Delta::Usage(Usage {
            input_tokens: i,
            output_tokens: o,
        }))
    };
    let model = Scripted::new(vec![
        vec![
            text("Let me look."),
            call("c1", "list_research_plans", "{}"),
            usage(10, 5),
        ],
        vec![text("Nothing stored."), usage(20, 7)],
    ]);
    let (_redis, sub, agent) = setup(model, 8).await;
    let (status, body) = chat(&agent, "what is stored?", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["usage"]["input_tokens"], 30);
    assert_eq!(body["usage"]["output_tokens"], 12);
    assert_eq!(body["reply"], "Let me look.\n\nNothing stored.");
    let events = sub.finished_run(body["run_id"].as_str().unwrap()).await;
    let last = events.last().unwrap();
    assert_eq!(last["usage"]["input_tokens"], 30);
    assert_eq!(last["usage"]["output_tokens"], 12);
    let text: String = of_type(&events, "text_generation")
        .iter()
        .map(|e| e["data"].as_str().unwrap())
        .collect();
    assert_eq!(text, body["reply"].as_str().unwrap());
    agent.shutdown().await;
}
