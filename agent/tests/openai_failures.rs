//! Failures of the OpenAI backend are errors, never hangs: error statuses
//! (with the server's message), retries of 5xx and 429 (honouring
//! `Retry-After`), a stream cut short, a slow or silent server, a refused
//! connection — and dropping the stream closes the connection.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod openai_fake;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use openai_fake::{End, FakeServer, Framing, Reply, delta, done, finish, tool_fragment};
use orchestrator_agent::model::openai::{OpenAiConfig, OpenAiModel};
use orchestrator_agent::model::{Delta, Message, Model, ModelError, TurnRequest};
use serde_json::json;

fn config(base_url: String, timeout: Duration, max_retries: u32) -> OpenAiConfig {
    OpenAiConfig {
        base_url,
        api_key: Some("sk-test".into()),
        model: "fake-model".into(),
        timeout,
        max_retries,
    }
}

fn model(server: &FakeServer, timeout: Duration, max_retries: u32) -> OpenAiModel {
    OpenAiModel::new(config(server.base_url(), timeout, max_retries)).expect("valid config")
}

fn request() -> TurnRequest {
    TurnRequest {
        messages: vec![Message::User("hi".into())],
        tools: vec![],
    }
}

async fn collect(model: &OpenAiModel) -> Vec<Result<Delta, ModelError>> {
    tokio::time::timeout(
        Duration::from_secs(30),
        model.turn(request()).collect::<Vec<_>>(),
    )
    .await
    .expect("the turn ends instead of hanging")
}

/// The turn's error, after checking it is the last item.
fn last_error(items: &[Result<Delta, ModelError>]) -> &ModelError {
    match items.last() {
        Some(Err(error)) => error,
        other => panic!("expected the turn to end in an error, got {other:?} in {items:?}"),
    }
}

fn success() -> Reply {
    Reply::sse(vec![
        delta(json!({"content": "fine"})),
        finish("stop"),
        done(),
    ])
}

#[tokio::test]
async fn a_400_is_reported_with_the_servers_message_and_not_retried() {
    let server = FakeServer::start(vec![Reply::status(
        400,
        json!({"error": {"message": "This model's maximum context length is 8192 tokens", "type": "invalid_request_error"}}),
    )])
    .await;
    let items = collect(&model(&server, Duration::from_secs(5), 3)).await;
    assert_eq!(items.len(), 1);
    match last_error(&items) {
        ModelError::Status { status, message } => {
            assert_eq!(*status, 400);
            assert_eq!(
                message,
                "This model's maximum context length is 8192 tokens"
            );
        }
        other => panic!("expected a status error, got {other:?}"),
    }
    assert_eq!(
        server.requests().len(),
        1,
        "a 4xx other than 429 is not retried"
    );
}

#[tokio::test]
async fn an_ollama_style_error_string_is_read_too() {
    let server = FakeServer::start(vec![Reply::status(
        404,
        json!({"error": "model \"llama9\" not found"}),
    )])
    .await;
    let items = collect(&model(&server, Duration::from_secs(5), 0)).await;
    assert!(
        matches!(last_error(&items), ModelError::Status { status: 404, message } if message == "model \"llama9\" not found"),
        "{items:?}"
    );
}

#[tokio::test]
async fn a_500_is_retried_and_the_retry_succeeds() {
    let server = FakeServer::start(vec![
        Reply::status(500, json!({"error": {"message": "boom"}})),
        success(),
    ])
    .await;
    let items = collect(&model(&server, Duration::from_secs(5), 2)).await;
    let deltas: Vec<Delta> = items
        .into_iter()
        .map(|item| item.expect("no error after the retry"))
        .collect();
    assert_eq!(deltas, vec![Delta::Text("fine".into())]);
    assert_eq!(server.requests().len(), 2);
    assert_eq!(
        server.requests()[0].body,
        server.requests()[1].body,
        "the retry sends the same request"
    );
}

#[tokio::test]
async fn retries_are_bounded_then_the_status_is_the_error() {
    let busy = || Reply::status(503, json!({"error": {"message": "overloaded"}}));
    let server = FakeServer::start(vec![busy(), busy(), busy(), success()]).await;
    let items = collect(&model(&server, Duration::from_secs(5), 1)).await;
    assert!(
        matches!(last_error(&items), ModelError::Status { status: 503, message } if message == "overloaded"),
        "{items:?}"
    );
    assert_eq!(
        server.requests().len(),
        2,
        "one try plus max_retries = 1 retry"
    );
}

#[tokio::test]
async fn a_429_waits_for_retry_after_then_retries() {
    let limited = Reply::status(429, json!({"error": {"message": "rate limited"}}))
        .with_header("retry-after", "1");
    let server = FakeServer::start(vec![limited, success()]).await;
    let started = Instant::now();
    let items = collect(&model(&server, Duration::from_secs(5), 2)).await;
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    assert_eq!(server.requests().len(), 2);
    // Without the header the first backoff would be 0.5 s: Retry-After was honoured.
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited only {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_stream_closed_before_done_is_cut_short() {
    for framing in [Framing::Close, Framing::Chunked] {
        let server = FakeServer::start(vec![Reply::Sse {
            pieces: vec![
                delta(json!({"content": "Once upon"})),
                tool_fragment(0, Some("c"), Some("f"), "{\"a\":"),
            ],
            delay: Duration::from_millis(5),
            framing,
            end: End::Cut,
        }])
        .await;
        let items = collect(&model(&server, Duration::from_secs(5), 0)).await;
        assert!(
            matches!(&items[0], Ok(Delta::Text(text)) if text == "Once upon"),
            "{framing:?}: {items:?}"
        );
        assert_eq!(
            items.len(),
            2,
            "the partial tool call is not released: {items:?}"
        );
        assert!(
            matches!(last_error(&items), ModelError::Protocol(m) if m.contains("cut short")),
            "{framing:?}: {items:?}"
        );
    }
}

#[tokio::test]
async fn a_server_that_stalls_mid_stream_times_out() {
    let server = FakeServer::start(vec![Reply::Sse {
        pieces: vec![delta(json!({"content": "thinking..."}))],
        delay: Duration::from_millis(5),
        framing: Framing::Chunked,
        end: End::Hang,
    }])
    .await;
    // 1 s, not less: the first chunk must beat the timeout even on a loaded machine.
    let items = collect(&model(&server, Duration::from_secs(1), 0)).await;
    assert!(matches!(&items[0], Ok(Delta::Text(_))), "{items:?}");
    assert!(
        matches!(last_error(&items), ModelError::Timeout(1)),
        "{items:?}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let server = FakeServer::start(vec![Reply::Silent]).await;
    let items = collect(&model(&server, Duration::from_millis(300), 2)).await;
    assert_eq!(items.len(), 1);
    assert!(
        matches!(last_error(&items), ModelError::Timeout(_)),
        "{items:?}"
    );
    assert_eq!(server.requests().len(), 1, "a timeout is not retried");
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let port = testkit::free_port().expect("a free port");
    let model = OpenAiModel::new(config(
        format!("http://127.0.0.1:{port}/v1"),
        Duration::from_secs(5),
        2,
    ))
    .expect("valid config");
    let items = tokio::time::timeout(
        Duration::from_secs(30),
        model.turn(request()).collect::<Vec<_>>(),
    )
    .await
    .expect("the turn ends");
    assert_eq!(items.len(), 1);
    match last_error(&items) {
        ModelError::Connect(message) => {
            assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
            assert!(
                !message.contains("sk-test"),
                "the key never appears in errors"
            );
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
}

#[tokio::test]
async fn dropping_the_stream_mid_way_closes_the_connection() {
    let server = FakeServer::start(vec![Reply::Sse {
        pieces: vec![delta(json!({"content": "a long answer"}))],
        delay: Duration::from_millis(5),
        framing: Framing::Chunked,
        end: End::Hang,
    }])
    .await;
    let model = model(&server, Duration::from_secs(30), 0);
    let mut stream = model.turn(request());
    let first = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("a first delta");
    assert!(matches!(first, Some(Ok(Delta::Text(_)))), "{first:?}");
    assert!(
        !server.client_closed(Duration::from_millis(100)).await,
        "still open while the stream lives"
    );
    drop(stream);
    assert!(
        server.client_closed(Duration::from_secs(10)).await,
        "dropping the stream closed the connection"
    );
}
