//! Bad and hostile input, each allowed and refused case with its status:
//! body limit (413), malformed bodies (400), JSON-RPC error codes, the
//! concurrent-run limit (busy, not a hang), the bearer token (401), and a
//! Redis password that never shows.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::time::Duration;

use common::{Agent, a2a_message, health_until};
use serde_json::{Value, json};
use testkit::RedisServer;

async fn post_raw(agent: &Agent, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(agent.url(path))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_refused_with_413() {
    let redis = RedisServer::start().expect("redis-server");
    let agent = Agent::start(&redis.url(), |c| c.body_limit = 1024).await;
    let big = json!({"message": "x".repeat(2000)}).to_string();

    let (status, body) = post_raw(&agent, "/chat", big.clone()).await;
    assert_eq!(status, 413);
    assert_eq!(body["kind"], "payload_too_large");
    let (status, _) = post_raw(&agent, "/", big.clone()).await;
    assert_eq!(status, 413);
    // A body far over the limit still gets its 413 (not a broken pipe).
    let (status, _) = post_raw(&agent, "/chat", "x".repeat(3 * 1024 * 1024)).await;
    assert_eq!(status, 413);
    // Without Content-Length (chunked), the limit still holds.
    let chunks: Vec<Result<String, std::io::Error>> = big
        .as_bytes()
        .chunks(100)
        .map(|c| Ok(String::from_utf8_lossy(c).into_owned()))
        .collect();
    let (status, _) = post_raw(
        &agent,
        "/chat",
        reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)),
    )
    .await;
    assert_eq!(status, 413);
    // Just under the limit is fine.
    let (status, body) = post_raw(&agent, "/chat", json!({"message": "hello"}).to_string()).await;
    assert_eq!(status, 200, "{body}");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_chat_bodies_get_400_with_a_reason() {
    let redis = RedisServer::start().expect("redis-server");
    let agent = Agent::start(&redis.url(), |_| {}).await;
    for (body, kind, says) in [
        ("{not json", "invalid_json", "not valid JSON"),
        ("[1,2]", "invalid_request", "JSON object"),
        ("{}", "invalid_request", "\"message\" is required"),
        (r#"{"message": 5}"#, "invalid_request", "must be a string"),
        (
            r#"{"message": "  "}"#,
            "invalid_request",
            "must not be empty",
        ),
        (
            r#"{"message": "hi", "source_agent": 7}"#,
            "invalid_request",
            "source_agent",
        ),
    ] {
        let (status, answer) = post_raw(&agent, "/chat", body).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer["kind"], kind, "{body}");
        assert!(
            answer["error"].as_str().unwrap().contains(says),
            "{body} → {answer}"
        );
    }
    // Wrong method on a known path.
    let response = reqwest::Client::new()
        .get(agent.url("/chat"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_rpc_errors_use_the_spec_codes() {
    let redis = RedisServer::start().expect("redis-server");
    let agent = Agent::start(&redis.url(), |_| {}).await;
    let cases = [
        ("{bad json", -32700, Value::Null),
        ("[]", -32600, Value::Null),
        ("42", -32600, Value::Null),
        (
            r#"{"jsonrpc":"2.0","method":"tasks/get","params":{}}"#,
            -32600,
            Value::Null,
        ),
        (
            r#"{"jsonrpc":"1.0","id":1,"method":"tasks/get"}"#,
            -32600,
            json!(1),
        ),
        (
            r#"{"jsonrpc":"2.0","id":"a","method":7}"#,
            -32600,
            json!("a"),
        ),
        (
            r#"{"jsonrpc":"2.0","id":2,"method":"tasks/explode"}"#,
            -32601,
            json!(2),
        ),
        (
            r#"{"jsonrpc":"2.0","id":3,"method":"tasks/get"}"#,
            -32602,
            json!(3),
        ),
        (
            r#"{"jsonrpc":"2.0","id":4,"method":"tasks/get","params":{"id":5}}"#,
            -32602,
            json!(4),
        ),
        (
            r#"{"jsonrpc":"2.0","id":5,"method":"message/send","params":{"message":{"parts":"x"}}}"#,
            -32602,
            json!(5),
        ),
        (
            r#"{"jsonrpc":"2.0","id":6,"method":"message/send","params":{"message":{"parts":[{"kind":"text","text":" "}]}}}"#,
            -32602,
            json!(6),
        ),
        (
            r#"{"jsonrpc":"2.0","id":7,"method":"message/send","params":{"message":{"parts":[{"kind":"video"}]}}}"#,
            -32602,
            json!(7),
        ),
        (
            r#"{"jsonrpc":"2.0","id":8,"method":"message/stream","params":[]}"#,
            -32602,
            json!(8),
        ),
        (
            r#"{"jsonrpc":"2.0","id":9,"method":"tasks/cancel","params":{"id":"nope"}}"#,
            -32001,
            json!(9),
        ),
        (
            r#"{"jsonrpc":"2.0","id":10,"method":"tasks/pushNotificationConfig/set","params":{}}"#,
            -32003,
            json!(10),
        ),
    ];
    for (body, code, id) in cases {
        let (status, answer) = post_raw(&agent, "/", body).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(answer["jsonrpc"], "2.0");
        assert_eq!(answer["error"]["code"], code, "{body} → {answer}");
        assert_eq!(answer["id"], id, "{body} → {answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert!(answer.get("result").is_none());
    }
    // And an allowed call.
    let answer = common::rpc(
        &agent,
        "message/send",
        json!({"message": a2a_message("hello")}),
    )
    .await;
    assert_eq!(answer["result"]["status"]["state"], "completed", "{answer}");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_runs_requests_are_refused_as_busy_not_queued() {
    let redis = RedisServer::start().expect("redis-server");
    let agent = Agent::start(&redis.url(), |c| {
        c.max_runs = 1;
        c.pace = Duration::from_millis(10);
    })
    .await;
    let slow = {
        let url = agent.url("/chat");
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({"message": "Explain how the agent loop works."}))
                .send()
                .await
                .expect("chat")
                .status()
                .as_u16()
        })
    };
    health_until(&agent, Duration::from_secs(10), |h| {
        h["runs"]["in_flight"] == 1
    })
    .await;

    let response = reqwest::Client::new()
        .post(agent.url("/chat"))
        .json(&json!({"message": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["kind"], "busy");
    let answer = common::rpc(
        &agent,
        "message/send",
        json!({"message": a2a_message("hi")}),
    )
    .await;
    assert_eq!(answer["error"]["code"], -32000, "{answer}");
    assert_eq!(answer["error"]["data"]["limit"], 1);

    assert_eq!(slow.await.unwrap(), 200);
    health_until(&agent, Duration::from_secs(10), |h| {
        h["runs"]["in_flight"] == 0
    })
    .await;
    let (status, _) = common::chat(&agent, "hi", None).await;
    assert_eq!(status, 200, "a slot is free again");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_token_is_required_on_the_post_routes() {
    let redis = RedisServer::start().expect("redis-server");
    let agent = Agent::start(&redis.url(), |c| c.token = Some("s3cret-token".into())).await;
    let client = reqwest::Client::new();
    let chat = |auth: Option<&'static str>| {
        let mut request = client
            .post(agent.url("/chat"))
            .json(&json!({"message": "hi"}));
        if let Some(a) = auth {
            request = request.header("authorization", a);
        }
        request.send()
    };
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Bearer s3cret-toke"),
        Some("Basic s3cret-token"),
    ] {
        let response = chat(auth).await.unwrap();
        assert_eq!(response.status(), 401, "{auth:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["kind"], "unauthorized");
    }
    assert_eq!(
        chat(Some("Bearer s3cret-token")).await.unwrap().status(),
        200
    );

    // Refused before the body is read: over the (1 MiB) limit without a token is 401, not 413.
    let response = client
        .post(agent.url("/"))
        .body("x".repeat(2 * 1024 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = client
        .post(agent.url("/"))
        .bearer_auth("s3cret-token")
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tasks/get", "params": {"id": "x"}})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Health and the card stay open; the card says a token is needed.
    assert_eq!(
        client
            .get(agent.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let card: Value = client
        .get(agent.url("/.well-known/agent-card.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(card["securitySchemes"]["bearer"]["scheme"], "bearer");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_password_works_and_is_never_shown() {
    let redis = RedisServer::start_with_password("hunter2-secret").expect("redis-server");
    let agent = Agent::start(&redis.url(), |_| {}).await;
    let h = health_until(&agent, Duration::from_secs(10), |h| {
        h["redis"]["connected"] == true
    })
    .await;
    let url = h["redis"]["url"].as_str().unwrap();
    assert!(url.contains(":***@"), "{url}");
    assert!(!h.to_string().contains("hunter2"));
    let (status, _) = common::chat(&agent, "hello", None).await;
    assert_eq!(status, 200);
    agent.shutdown().await;
}
