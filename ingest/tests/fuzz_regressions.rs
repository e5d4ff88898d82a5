//! The `otlp_decode` fuzz target's body (`fuzz/fuzz_targets/otlp_decode_body.rs`)
//! on its seeds and on inputs made here, so CI checks decode + mapping the way
//! the fuzzer does without cargo-fuzz: valid requests in both encodings, gzip,
//! truncations of each, deep nesting and a gzip bomb.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

#[path = "../../fuzz/fuzz_targets/otlp_decode_body.rs"]
mod body;

use std::io::Write;
use std::path::Path;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

const PROTOBUF: u8 = 0;
const JSON: u8 = 1;
const GZIP: u8 = 2;

fn with(selector: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![selector];
    v.extend_from_slice(body);
    v
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).expect("gzip into a Vec");
    enc.finish().expect("gzip into a Vec")
}

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
    }
}

fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.into())
}

/// A run with a tool, a model call, a nested agent, a cycle of parents and
/// attributes of every type, 20 spans deep.
fn request() -> ExportTraceServiceRequest {
    let trace = vec![9u8; 16];
    let mut spans = Vec::new();
    for i in 0..20u8 {
        let op = ["invoke_agent", "execute_tool", "chat", "other"][usize::from(i % 4)];
        spans.push(Span {
            trace_id: trace.clone(),
            span_id: vec![i + 1; 8],
            // Span 1's parent is span 20: a cycle the ancestry walk must survive.
            parent_span_id: vec![if i == 0 { 20 } else { i }; 8],
            name: format!("{op} x{i}"),
            start_time_unix_nano: u64::from(i),
            end_time_unix_nano: u64::from(i) * 3,
            attributes: vec![
                kv("gen_ai.operation.name", s(op)),
                kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(-5)),
                kv("gen_ai.usage.output_tokens", any_value::Value::DoubleValue(2.5)),
                kv("gen_ai.tool.call.arguments", s("{\"a\":[1,2,{\"b\":null}]}")),
                kv("gen_ai.output.messages", s("[{\"role\":\"assistant\",\"parts\":[{\"type\":\"text\",\"content\":\"hi\"}]}]")),
                kv(
                    "gen_ai.tool.call.result",
                    any_value::Value::ArrayValue(ArrayValue {
                        values: vec![AnyValue { value: Some(s("x")) }],
                    }),
                ),
                kv("gen_ai.agent.name", any_value::Value::BytesValue(vec![0xff, 0])),
            ],
            ..Default::default()
        });
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[test]
fn the_seeds_run_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/otlp_decode");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/seeds/otlp_decode") {
        let path = entry.expect("seed").path();
        let data = std::fs::read(&path).expect("read seed");
        let events = body::run(&data);
        if !path.ends_with("json_bad_ids") {
            assert!(events > 0, "{path:?} maps to events");
        }
        // Truncations and the gzip'd form of every seed.
        for cut in [1, data.len() / 3, data.len() / 2, data.len() - 1] {
            body::run(&data[..cut]);
        }
        body::run(&with(data[0] | GZIP, &gzip(&data[1..])));
        n += 1;
    }
    assert!(n >= 3, "only {n} seeds");
}

#[test]
fn made_inputs_run_clean() {
    let req = request();
    let pb = req.encode_to_vec();
    let json = serde_json::to_vec(&req).expect("OTLP JSON");
    for (selector, body) in [(PROTOBUF, &pb), (JSON, &json)] {
        let events = body::run(&with(selector, body));
        assert!(events >= 20, "{events} events from 20 GenAI-ish spans");
        assert_eq!(body::run(&with(selector | GZIP, &gzip(body))), events);
        for cut in (0..body.len()).step_by(97) {
            body::run(&with(selector, &body[..cut]));
        }
    }
    // NaN is not JSON, but protobuf carries it.
    let mut nan = request();
    nan.resource_spans[0].scope_spans[0].spans[2]
        .attributes
        .push(kv(
            "gen_ai.usage.input_tokens",
            any_value::Value::DoubleValue(f64::NAN),
        ));
    assert!(body::run(&with(PROTOBUF, &nan.encode_to_vec())) > 0);
    // Deeply nested JSON content in an attribute, and nested AnyValue arrays.
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let mut nested = AnyValue {
        value: Some(s("leaf")),
    };
    for _ in 0..20 {
        nested = AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: vec![nested],
            })),
        };
    }
    let mut r = request();
    for span in &mut r.resource_spans[0].scope_spans[0].spans {
        span.attributes.push(kv("gen_ai.output.messages", s(&deep)));
        span.attributes.push(KeyValue {
            key: "gen_ai.tool.call.arguments".into(),
            value: Some(nested.clone()),
        });
    }
    assert!(body::run(&with(PROTOBUF, &r.encode_to_vec())) > 0);
    // Past prost's recursion limit the body does not decode (400), no overflow.
    let mut too_deep = AnyValue {
        value: Some(s("leaf")),
    };
    for _ in 0..200 {
        too_deep = AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: vec![too_deep],
            })),
        };
    }
    let mut r = request();
    r.resource_spans[0].scope_spans[0].spans[0]
        .attributes
        .push(KeyValue {
            key: "deep".into(),
            value: Some(too_deep),
        });
    assert_eq!(body::run(&with(PROTOBUF, &r.encode_to_vec())), 0);
    // A gzip bomb: cut at the target's limit, never inflated whole.
    assert_eq!(body::run(&with(GZIP, &gzip(&vec![0u8; 8 << 20]))), 0);
    // Garbage of every selector.
    for selector in 0..4u8 {
        body::run(&with(selector, &[0xff; 40]));
        body::run(&[selector]);
    }
    body::run(&[]);
}
