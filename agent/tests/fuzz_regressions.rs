//! Inputs found by the fuzzer (`fuzz/`, target `a2a_request`), kept so that
//! CI checks them without it: the pure parsing path, and the same bodies
//! through the real HTTP surface of an agent in this process.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use common::Agent;
use orchestrator_agent::a2a::rpc::{self, INVALID_PARAMS, METHOD_NOT_FOUND};
use orchestrator_agent::a2a::types::MessageSendParams;
use serde_json::Value;
use testkit::RedisServer;

/// An unknown part kind with a newline in it: serde echoes the kind as it
/// came, so the `-32602` message was two lines.
const NEWLINE_IN_PART_KIND: &str = r#"{"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{"kind":"message","mEssageId":"m1","0role":"user","parts":[{"kind":"texRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR\nRRRRRRRRt","text":"hello"}]}}}"#;

/// The same for the method name, which the `-32601` message quotes.
const NEWLINE_IN_METHOD: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tasks/\r\nX-Injected: 1"}"#;

fn one_line(message: &str) {
    assert!(
        !message.contains(['\n', '\r']),
        "multi-line message: {message:?}"
    );
}

#[test]
fn a_newline_in_a_client_value_keeps_the_params_error_on_one_line() {
    let (id, method, params) = rpc::parse_request(NEWLINE_IN_PART_KIND.as_bytes()).expect("valid");
    assert_eq!((id, method.as_str()), (Value::from(1), "message/send"));
    let err = rpc::params::<MessageSendParams>(params).expect_err("unknown part kind");
    assert_eq!(err.code, INVALID_PARAMS);
    one_line(&err.message);
    assert!(
        err.message.contains(r"RRR\nRRR"),
        "escaped, not dropped: {}",
        err.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http_every_error_message_is_one_line() {
    let redis = RedisServer::start().expect("redis-server");
    let agent = Agent::start(&redis.url(), |_| {}).await;
    for (body, code) in [
        (NEWLINE_IN_PART_KIND, INVALID_PARAMS),
        (NEWLINE_IN_METHOD, METHOD_NOT_FOUND),
    ] {
        let answer: Value = reqwest::Client::new()
            .post(agent.url("/"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON body");
        assert_eq!(answer["error"]["code"], code, "{answer}");
        one_line(answer["error"]["message"].as_str().expect("message"));
    }
    agent.shutdown().await;
}
