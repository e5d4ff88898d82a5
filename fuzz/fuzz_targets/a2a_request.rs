//! The agent's JSON-RPC request parsing: any body in, never a panic, and
//! - an accepted request has a string or number id, a method, and params that
//!   are exactly what the body held (or null);
//! - a refused one is `-32700` (not JSON, id null) or `-32600` (not a request);
//! - every error message is one line, and every response (error or not)
//!   serialises and echoes the request's id unchanged;
//! - typed params (`message/send`, `tasks/get`, `tasks/cancel`) either parse
//!   or are `-32602` with a one-line message; a parsed message's text holds
//!   every text part.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orchestrator_agent::a2a::rpc::{self, INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, RpcError};
use orchestrator_agent::a2a::types::{MessageSendParams, Part, TaskIdParams, TaskQueryParams};
use serde::de::DeserializeOwned;
use serde_json::Value;

fn one_line(err: &RpcError) {
    assert!(
        !err.message.contains(['\n', '\r']),
        "multi-line error message: {:?}",
        err.message
    );
}

/// The response object goes out as JSON and carries the id unchanged.
fn response_echoes(id: &Value, response: Value) {
    let text = serde_json::to_string(&response).expect("a response serialises");
    let back: Value = serde_json::from_str(&text).expect("a response parses");
    assert_eq!(back.get("id"), Some(id), "id changed in {text}");
    assert_eq!(back.get("jsonrpc").and_then(Value::as_str), Some("2.0"));
}

fn typed<T: DeserializeOwned>(id: &Value, params: &Value) -> Option<T> {
    match rpc::params::<T>(params.clone()) {
        Ok(p) => {
            assert!(params.is_object(), "params that are not an object parsed");
            Some(p)
        }
        Err(err) => {
            assert_eq!(err.code, INVALID_PARAMS);
            one_line(&err);
            response_echoes(id, rpc::error(id, err));
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match rpc::parse_request(data) {
        Ok((id, method, params)) => {
            assert!(id.is_string() || id.is_number(), "id {id}");
            let body: Value = serde_json::from_slice(data).expect("an accepted body is JSON");
            assert_eq!(body.get("jsonrpc").and_then(Value::as_str), Some("2.0"));
            assert_eq!(
                body.get("method").and_then(Value::as_str),
                Some(method.as_str())
            );
            assert_eq!(body.get("id"), Some(&id));
            assert_eq!(body.get("params").unwrap_or(&Value::Null), &params);
            response_echoes(&id, rpc::ok(&id, &method));

            if let Some(p) = typed::<MessageSendParams>(&id, &params) {
                let text = p.message.text();
                for part in &p.message.parts {
                    if let Part::Text { text: t, .. } = part {
                        assert!(text.contains(t.as_str()), "text() lost a part");
                    }
                }
            }
            if let Some(p) = typed::<TaskQueryParams>(&id, &params) {
                assert_eq!(
                    params.get("id").and_then(Value::as_str),
                    Some(p.id.as_str())
                );
            }
            if let Some(p) = typed::<TaskIdParams>(&id, &params) {
                assert_eq!(
                    params.get("id").and_then(Value::as_str),
                    Some(p.id.as_str())
                );
            }
        }
        Err(bad) => {
            let (id, err) = *bad;
            assert!(
                err.code == PARSE_ERROR || err.code == INVALID_REQUEST,
                "code {}",
                err.code
            );
            if err.code == PARSE_ERROR {
                assert!(serde_json::from_slice::<Value>(data).is_err());
                assert_eq!(id, Value::Null);
            }
            assert!(id.is_null() || id.is_string() || id.is_number(), "id {id}");
            one_line(&err);
            response_echoes(&id, rpc::error(&id, err));
        }
    }
});
