//! The OpenAI backend against a local server speaking the real streaming
//! format: what it sends, and how text, reasoning, split and parallel tool
//! calls, the usage chunk and `[DONE]` become deltas.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod openai_fake;

use std::time::Duration;

use futures_util::StreamExt;
use openai_fake::{FakeServer, Framing, Reply, data, delta, done, finish, tool_fragment, usage};
use orchestrator_agent::model::openai::{OpenAiConfig, OpenAiModel};
use orchestrator_agent::model::{
    Delta, Message, Model, ModelError, ToolCall, ToolSpec, TurnRequest,
};
use orchestrator_events::event::Usage;
use serde_json::json;

fn model(server: &FakeServer, api_key: Option<&str>) -> OpenAiModel {
    OpenAiModel::new(OpenAiConfig {
        base_url: server.base_url(),
        api_key: api_key.map(str::to_owned),
        model: "fake-model".into(),
        timeout: Duration::from_secs(5),
        max_retries: 0,
    })
    .expect("valid config")
}

fn request() -> TurnRequest {
    TurnRequest {
        messages: vec![
            Message::System("be brief".into()),
            Message::User("store my plan".into()),
        ],
        tools: vec![ToolSpec {
            name: "store_research_plan".into(),
            description: "Stores a plan".into(),
            parameters: json!({"type": "object", "properties": {"plan_data": {"type": "string"}}}),
        }],
    }
}

async fn collect(model: &OpenAiModel, request: TurnRequest) -> Vec<Result<Delta, ModelError>> {
    tokio::time::timeout(
        Duration::from_secs(20),
        model.turn(request).collect::<Vec<_>>(),
    )
    .await
    .expect("the turn ends")
}

fn ok(items: Vec<Result<Delta, ModelError>>) -> Vec<Delta> {
    items
        .into_iter()
        .map(|item| item.expect("no error"))
        .collect()
}

fn call(id: &str, name: &str, arguments: &str) -> Delta {
    Delta::ToolCall(ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
    })
}

#[tokio::test]
async fn text_deltas_arrive_in_order_with_usage_and_done() {
    let server = FakeServer::start(vec![Reply::sse(vec![
        delta(json!({"role": "assistant", "content": ""})),
        delta(json!({"content": "Hel"})),
        delta(json!({"content": "lo"})),
        finish("stop"),
        usage(21, 2),
        done(),
    ])])
    .await;
    let got = ok(collect(&model(&server, None), request()).await);
    assert_eq!(
        got,
        vec![
            Delta::Text("Hel".into()),
            Delta::Text("lo".into()),
            Delta::Usage(Usage {
                input_tokens: 21,
                output_tokens: 2
            }),
        ]
    );
}

#[tokio::test]
async fn the_request_carries_model_messages_tools_stream_options_and_key() {
    let server = FakeServer::start(vec![Reply::sse(vec![finish("stop"), done()])]).await;
    let mut turn = request();
    turn.messages.push(Message::Assistant {
        text: String::new(),
        tool_calls: vec![ToolCall {
            id: "c1".into(),
            name: "store_research_plan".into(),
            arguments: "{}".into(),
        }],
    });
    turn.messages.push(Message::Tool {
        tool_call_id: "c1".into(),
        name: "store_research_plan".into(),
        content: "stored".into(),
    });
    ok(collect(&model(&server, Some("sk-test")), turn).await);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.request_line, "POST /v1/chat/completions HTTP/1.1");
    assert_eq!(
        sent.headers.get("authorization").map(String::as_str),
        Some("Bearer sk-test")
    );
    assert_eq!(
        sent.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    let body = &sent.body;
    assert_eq!(body["model"], "fake-model");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {
            "name": "store_research_plan",
            "description": "Stores a plan",
            "parameters": {"type": "object", "properties": {"plan_data": {"type": "string"}}},
        }}])
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "store my plan"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "store_research_plan", "arguments": "{}"}},
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "stored"},
        ])
    );
}

#[tokio::test]
async fn no_key_means_no_authorization_header() {
    let server = FakeServer::start(vec![Reply::sse(vec![finish("stop"), done()])]).await;
    ok(collect(&model(&server, None), request()).await);
    assert!(!server.requests()[0].headers.contains_key("authorization"));
}

#[tokio::test]
async fn reasoning_comes_from_reasoning_content_and_from_reasoning() {
    let server = FakeServer::start(vec![Reply::sse(vec![
        delta(json!({"reasoning_content": "First, "})),
        delta(json!({"reasoning": "then "})),
        delta(json!({"reasoning_content": null, "content": "answer"})),
        finish("stop"),
        done(),
    ])])
    .await;
    let got = ok(collect(&model(&server, None), request()).await);
    assert_eq!(
        got,
        vec![
            Delta::Reasoning("First, ".into()),
            Delta::Reasoning("then ".into()),
            Delta::Text("answer".into())
        ]
    );
}

#[tokio::test]
async fn split_tool_call_arguments_are_assembled_into_one_call() {
    let mut pieces = vec![tool_fragment(
        0,
        Some("call_1"),
        Some("store_research_plan"),
        "",
    )];
    for piece in ["{\"pla", "n_data\": \"st", "ep 1\\nstep ", "2\"}"] {
        pieces.push(tool_fragment(0, None, None, piece));
    }
    pieces.extend([finish("tool_calls"), usage(30, 12), done()]);
    let server = FakeServer::start(vec![Reply::sse(pieces)]).await;
    let got = ok(collect(&model(&server, None), request()).await);
    assert_eq!(
        got,
        vec![
            call(
                "call_1",
                "store_research_plan",
                "{\"plan_data\": \"step 1\\nstep 2\"}"
            ),
            Delta::Usage(Usage {
                input_tokens: 30,
                output_tokens: 12
            }),
        ]
    );
}

#[tokio::test]
async fn parallel_tool_calls_come_out_whole_and_in_index_order() {
    let server = FakeServer::start(vec![Reply::sse(vec![
        delta(json!({"content": "Doing both."})),
        tool_fragment(0, Some("call_a"), Some("get_plan"), "{\"id\":"),
        tool_fragment(1, Some("call_b"), Some("list_plans"), "{"),
        tool_fragment(1, None, None, "}"),
        tool_fragment(0, None, None, " \"p1\"}"),
        finish("tool_calls"),
        done(),
    ])])
    .await;
    let got = ok(collect(&model(&server, None), request()).await);
    assert_eq!(
        got,
        vec![
            Delta::Text("Doing both.".into()),
            call("call_a", "get_plan", "{\"id\": \"p1\"}"),
            call("call_b", "list_plans", "{}"),
        ]
    );
}

#[tokio::test]
async fn events_split_mid_json_across_writes_and_crlf_keepalives_are_handled() {
    let whole = [
        delta(json!({"content": "split"})),
        finish("stop"),
        usage(1, 1),
        done(),
    ]
    .concat();
    let mut pieces = vec![": keep-alive\r\n\r\n".to_owned()];
    let bytes = whole.replace("\n", "\r\n");
    let (a, b) = bytes.split_at(17);
    let (b, c) = b.split_at(40);
    pieces.extend([a.to_owned(), b.to_owned(), c.to_owned()]);
    let server = FakeServer::start(vec![Reply::Sse {
        pieces,
        delay: Duration::from_millis(20),
        framing: Framing::Close,
        end: openai_fake::End::Complete,
    }])
    .await;
    let got = ok(collect(&model(&server, None), request()).await);
    assert_eq!(
        got,
        vec![
            Delta::Text("split".into()),
            Delta::Usage(Usage {
                input_tokens: 1,
                output_tokens: 1
            })
        ]
    );
}

#[tokio::test]
async fn a_server_that_ignores_stream_true_is_still_understood() {
    let answer = json!({
        "id": "chatcmpl-1", "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "ok",
            "tool_calls": [{"id": "c9", "type": "function", "function": {"name": "list_plans", "arguments": "{}"}}],
        }}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 3},
    });
    let server = FakeServer::start(vec![Reply::status(200, answer)]).await;
    let got = ok(collect(&model(&server, None), request()).await);
    assert_eq!(
        got,
        vec![
            Delta::Text("ok".into()),
            call("c9", "list_plans", "{}"),
            Delta::Usage(Usage {
                input_tokens: 4,
                output_tokens: 3
            }),
        ]
    );
}

#[tokio::test]
async fn an_error_event_inside_the_stream_ends_the_turn_with_its_message() {
    let server = FakeServer::start(vec![Reply::sse(vec![
        delta(json!({"content": "par"})),
        data(json!({"error": {"message": "model overloaded", "type": "server_error"}})),
    ])])
    .await;
    let got = collect(&model(&server, None), request()).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        matches!(&got[0], Ok(Delta::Text(text)) if text == "par"),
        "{got:?}"
    );
    assert!(
        matches!(&got[1], Err(ModelError::Protocol(m)) if m.contains("model overloaded")),
        "{got:?}"
    );
}
