//! A real OpenTelemetry SDK as the ingest's client: the Rust `opentelemetry`
//! SDK with its OTLP/HTTP exporter builds a GenAI trace (an `invoke_agent`
//! run with model calls, tools and an agent called as a tool) and exports it,
//! in protobuf and in gzip'd JSON, to an ingest on a private Redis. A bridge on
//! the same Redis delivers the mapped events to a WebSocket client: in order,
//! with stream ids, the nested run under its parent.
//!
//! The spans are exported as a real agent's are: when they end, children
//! before parents. The protobuf test flushes in two requests (the nested run's
//! spans, then the rest), so the ingest must place children whose ancestors
//! it has not seen yet; the JSON test sends the whole trace in one request.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Bridge, Ingest};
use opentelemetry::trace::{Status, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Compression, Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use orchestrator_ingest::Config;
use serde_json::{Value, json};
use testkit::RedisServer;

const TOKEN: &str = "sdk-test-token";
const SERVICE: &str = "sdk-test-service";

/// How the SDK sends the trace.
#[derive(Clone, Copy)]
struct Export {
    protocol: Protocol,
    gzip: bool,
    /// Flush once after the nested agent's span ends (two requests), or only
    /// at the end (one request).
    split: bool,
}

/// What the trace's ids turned out to be.
struct Ids {
    /// The root `invoke_agent planner` run: the trace id alone.
    root_run: String,
    /// The nested `invoke_agent researcher` run: trace id and span id.
    inner_run: String,
    /// Epoch of the trace's times, in ns; span times are offsets in ms.
    base_ns: u64,
}

fn at(base: SystemTime, ms: u64) -> SystemTime {
    base + Duration::from_millis(ms)
}

/// Builds the trace with the SDK and exports it; blocking (the SDK's batch
/// processor and its blocking HTTP client run on their own threads).
///
/// ```text
/// A invoke_agent planner        0..100  usage 30/12, input "plan a trip"
/// ├─ B chat m-large            10..20   reasoning + text (Strands' gen_ai.choice)
/// ├─ C execute_tool search     25..35   call-1
/// ├─ D execute_tool ask_researcher 40..90 call-2
/// │  └─ E invoke_agent researcher 45..85 no usage of its own
/// │     ├─ F chat m-small      50..60   usage 7/3, gen_ai.output.messages
/// │     └─ G execute_tool lookup 62..70 call-3, status error
/// └─ H chat m-large            92..98   text
/// ```
fn export_trace(endpoint: String, how: Export) -> Ids {
    // The blocking client, named: with the agent's async reqwest client also
    // enabled in the workspace, opentelemetry-otlp picks no default at all.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("blocking HTTP client");
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_endpoint(endpoint)
        .with_protocol(how.protocol)
        .with_timeout(Duration::from_secs(10))
        .with_headers(HashMap::from([(
            "authorization".to_string(),
            format!("Bearer {TOKEN}"),
        )]));
    let exporter = if how.gzip {
        exporter.with_compression(Compression::Gzip)
    } else {
        exporter
    };
    let exporter = exporter.build().expect("OTLP exporter");
    // Only explicit flushes export, so the requests are the ones this test means.
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_scheduled_delay(Duration::from_secs(600))
                .build(),
        )
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(Resource::builder_empty().with_service_name(SERVICE).build())
        .build();
    let tracer = provider.tracer("orchestrator-ingest-sdk-test");

    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64;
    let base = UNIX_EPOCH + Duration::from_millis(now_ms);
    let start = |name: &str, ms: u64, parent: &Context, attrs: Vec<KeyValue>| -> Context {
        let span = tracer
            .span_builder(name.to_string())
            .with_start_time(at(base, ms))
            .with_attributes(attrs)
            .start_with_context(&tracer, parent);
        parent.with_span(span)
    };
    let end = |cx: &Context, ms: u64| cx.span().end_with_timestamp(at(base, ms));

    let a = start(
        "invoke_agent planner",
        0,
        &Context::new(),
        vec![
            KeyValue::new("gen_ai.operation.name", "invoke_agent"),
            KeyValue::new("gen_ai.agent.name", "planner"),
            KeyValue::new("gen_ai.request.model", "m-large"),
            KeyValue::new("gen_ai.usage.input_tokens", 30i64),
            KeyValue::new("gen_ai.usage.output_tokens", 12i64),
        ],
    );
    // Strands' event form of the prompt.
    a.span().add_event_with_timestamp(
        "gen_ai.user.message",
        at(base, 0),
        vec![KeyValue::new("content", r#"[{"text":"plan a trip"}]"#)],
    );
    let b = start(
        "chat m-large",
        10,
        &a,
        vec![
            KeyValue::new("gen_ai.operation.name", "chat"),
            KeyValue::new("gen_ai.request.model", "m-large"),
            KeyValue::new("gen_ai.usage.input_tokens", 10i64),
            KeyValue::new("gen_ai.usage.output_tokens", 4i64),
        ],
    );
    b.span().add_event_with_timestamp(
        "gen_ai.choice",
        at(base, 20),
        vec![KeyValue::new(
            "message",
            r#"[{"reasoningContent":{"reasoningText":{"text":"I should ask the researcher"}}},{"text":"Asking the researcher."}]"#,
        )],
    );
    end(&b, 20);
    let c = start(
        "execute_tool search",
        25,
        &a,
        vec![
            KeyValue::new("gen_ai.operation.name", "execute_tool"),
            KeyValue::new("gen_ai.tool.name", "search"),
            KeyValue::new("gen_ai.tool.call.id", "call-1"),
            KeyValue::new("gen_ai.tool.call.arguments", r#"{"q":"trains"}"#),
            KeyValue::new("gen_ai.tool.call.result", r#"{"hits":2}"#),
        ],
    );
    end(&c, 35);
    let d = start(
        "execute_tool ask_researcher",
        40,
        &a,
        vec![
            KeyValue::new("gen_ai.operation.name", "execute_tool"),
            KeyValue::new("gen_ai.tool.name", "ask_researcher"),
            KeyValue::new("gen_ai.tool.call.id", "call-2"),
            KeyValue::new("gen_ai.tool.call.arguments", r#"{"task":"find trains"}"#),
            KeyValue::new("gen_ai.tool.call.result", "two trains"),
        ],
    );
    let e = start(
        "invoke_agent researcher",
        45,
        &d,
        vec![
            KeyValue::new("gen_ai.operation.name", "invoke_agent"),
            KeyValue::new("gen_ai.agent.name", "researcher"),
            KeyValue::new("gen_ai.request.model", "m-small"),
            // The current conventions' form of the prompt.
            KeyValue::new(
                "gen_ai.input.messages",
                r#"[{"role":"user","parts":[{"type":"text","content":"find trains"}]}]"#,
            ),
        ],
    );
    let f = start(
        "chat m-small",
        50,
        &e,
        vec![
            KeyValue::new("gen_ai.operation.name", "chat"),
            KeyValue::new("gen_ai.request.model", "m-small"),
            KeyValue::new("gen_ai.usage.input_tokens", 7i64),
            KeyValue::new("gen_ai.usage.output_tokens", 3i64),
            KeyValue::new(
                "gen_ai.output.messages",
                r#"[{"role":"assistant","parts":[{"type":"text","content":"Found two trains."}]}]"#,
            ),
        ],
    );
    end(&f, 60);
    let g = start(
        "execute_tool lookup",
        62,
        &e,
        vec![
            KeyValue::new("gen_ai.operation.name", "execute_tool"),
            KeyValue::new("gen_ai.tool.name", "lookup"),
            KeyValue::new("gen_ai.tool.call.id", "call-3"),
        ],
    );
    g.span().set_status(Status::error("timetable offline"));
    end(&g, 70);
    end(&e, 85);
    if how.split {
        provider.force_flush().expect("first export accepted");
    }
    end(&d, 90);
    let h = start(
        "chat m-large",
        92,
        &a,
        vec![
            KeyValue::new("gen_ai.operation.name", "chat"),
            KeyValue::new(
                "gen_ai.output.messages",
                r#"[{"role":"assistant","parts":[{"type":"text","content":"Here is your plan."}]}]"#,
            ),
        ],
    );
    end(&h, 98);
    end(&a, 100);
    provider.force_flush().expect("export accepted");
    provider.shutdown().expect("provider shut down");

    let trace = a.span().span_context().trace_id().to_string();
    let inner_span = e.span().span_context().span_id().to_string();
    Ids {
        root_run: format!("otel-{trace}"),
        inner_run: format!("otel-{trace}-{inner_span}"),
        base_ns: now_ms * 1_000_000,
    }
}

/// The events the ingest must publish for the trace, in stream order, each
/// with the span time (ms offset) its timestamp must be. `split`: the first
/// request carries B, C, E, F, G (the root agent still unknown: B and C go to
/// the trace's root run under the service's name), the second D, H, A.
fn expected(ids: &Ids, split: bool) -> Vec<(u64, Value)> {
    let root = ids.root_run.as_str();
    let inner = ids.inner_run.as_str();
    let early_agent = if split { SERVICE } else { "planner" };
    let b_reasoning = (
        20,
        json!({"type": "reasoning", "run_id": root, "agent": early_agent,
               "content": "I should ask the researcher"}),
    );
    let b_text = (
        20,
        json!({"type": "text_generation", "run_id": root, "agent": early_agent,
               "data": "Asking the researcher."}),
    );
    let c_use = (
        25,
        json!({"type": "tool_use", "run_id": root, "agent": early_agent, "tool_name": "search",
               "tool_use_id": "call-1", "tool_input": {"q": "trains"}}),
    );
    let c_result = (
        35,
        json!({"type": "tool_result", "run_id": root, "tool_name": "search",
               "tool_use_id": "call-1", "status": "success", "output": {"hits": 2},
               "duration_ms": 10}),
    );
    let e_started = (
        45,
        json!({"type": "run_started", "run_id": inner, "parent_run_id": root,
               "agent": "researcher", "input": "find trains", "source": "otel",
               "model": "m-small"}),
    );
    let f_text = (
        60,
        json!({"type": "text_generation", "run_id": inner, "parent_run_id": root,
               "agent": "researcher", "data": "Found two trains."}),
    );
    let g_use = (
        62,
        json!({"type": "tool_use", "run_id": inner, "parent_run_id": root,
               "agent": "researcher", "tool_name": "lookup", "tool_use_id": "call-3"}),
    );
    let g_result = (
        70,
        json!({"type": "tool_result", "run_id": inner, "parent_run_id": root, "tool_name": "lookup",
               "tool_use_id": "call-3", "status": "error", "output": "timetable offline",
               "duration_ms": 8}),
    );
    let e_finished = (
        85,
        json!({"type": "run_finished", "run_id": inner, "parent_run_id": root,
               "agent": "researcher", "status": "completed", "duration_ms": 40,
               "usage": {"input_tokens": 7, "output_tokens": 3}}),
    );
    let a_started = (
        0,
        json!({"type": "run_started", "run_id": root, "agent": "planner",
               "input": "plan a trip", "source": "otel", "model": "m-large"}),
    );
    let d_use = (
        40,
        json!({"type": "tool_use", "run_id": root, "agent": "planner",
               "tool_name": "ask_researcher", "tool_use_id": "call-2",
               "tool_input": {"task": "find trains"}}),
    );
    let d_result = (
        90,
        json!({"type": "tool_result", "run_id": root, "tool_use_id": "call-2",
               "status": "success", "output": "two trains", "duration_ms": 50}),
    );
    let h_text = (
        98,
        json!({"type": "text_generation", "run_id": root, "agent": "planner",
               "data": "Here is your plan."}),
    );
    let a_finished = (
        100,
        json!({"type": "run_finished", "run_id": root, "agent": "planner",
               "status": "completed", "duration_ms": 100, "model": "m-large",
               "usage": {"input_tokens": 30, "output_tokens": 12}}),
    );
    if split {
        vec![
            b_reasoning,
            b_text,
            c_use,
            c_result,
            e_started,
            f_text,
            g_use,
            g_result,
            e_finished,
            a_started,
            d_use,
            d_result,
            h_text,
            a_finished,
        ]
    } else {
        vec![
            a_started,
            b_reasoning,
            b_text,
            c_use,
            c_result,
            d_use,
            e_started,
            f_text,
            g_use,
            g_result,
            e_finished,
            d_result,
            h_text,
            a_finished,
        ]
    }
}

/// Every field of `want` is in `got` with the same value.
fn assert_has(got: &Value, want: &Value, i: usize) {
    for (k, v) in want.as_object().expect("expected events are objects") {
        assert_eq!(&got[k], v, "event {i}, field {k}: got {got:#}");
    }
}

async fn sdk_to_monitor(how: Export) {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = Bridge::start(&redis.url()).await;
    let ingest = Ingest::start(Config {
        redis_url: redis.url(),
        token: Some(TOKEN.into()),
        ..Config::default()
    })
    .await;
    let mut ws = bridge.client().await;

    let endpoint = ingest.traces_url();
    let ids = tokio::task::spawn_blocking(move || export_trace(endpoint, how))
        .await
        .expect("the SDK thread did not panic");

    let want = expected(&ids, how.split);
    let got = common::events(&mut ws, want.len()).await;
    for (i, (g, (ms, w))) in got.iter().zip(&want).enumerate() {
        assert_has(g, w, i);
        let ts = g["timestamp"].as_f64().expect("timestamp");
        let span_time = (ids.base_ns + ms * 1_000_000) as f64 / 1e9;
        assert!(
            (ts - span_time).abs() < 1e-3,
            "event {i} timestamp {ts}, span time {span_time}"
        );
        assert_eq!(g["trace_id"].as_str().map(str::len), Some(32), "{g}");
    }
    // Stream ids, strictly increasing: the order the monitor shows and replays.
    let got_ids: Vec<(u64, u64)> = got.iter().map(common::stream_id).collect();
    assert!(got_ids.windows(2).all(|w| w[0] < w[1]), "{got_ids:?}");
    // Every event of the nested run names its parent (docs/protocol.md: "set
    // on every event of the child run"); the root run has none.
    for g in &got {
        if g["run_id"] == ids.root_run.as_str() {
            assert!(g.get("parent_run_id").is_none(), "{g}");
        } else {
            assert_eq!(g["parent_run_id"], ids.root_run.as_str(), "{g}");
        }
    }
    // Nothing more arrives, and the live frames are the stream's entries.
    assert!(
        common::next_frame(&mut ws, Duration::from_millis(300))
            .await
            .is_none_or(|f| f["type"].as_str().is_some_and(|t| t.starts_with("bridge_"))),
        "no extra event"
    );
    let stored = common::stream_entries(&redis.url(), "orchestrator_events:log").await;
    assert_eq!(stored, got, "live frames are the stream's entries");

    let m = ingest
        .metrics(&[("Authorization", &format!("Bearer {TOKEN}"))])
        .await;
    let requests = if how.split { 2.0 } else { 1.0 };
    assert_eq!(
        common::metric(&m, "ingest_requests_ok_total"),
        requests,
        "{m}"
    );
    assert_eq!(
        common::metric(&m, "ingest_spans_accepted_total"),
        8.0,
        "{m}"
    );
    assert_eq!(common::metric(&m, "ingest_spans_mapped_total"), 8.0, "{m}");
    assert_eq!(
        common::metric(&m, "ingest_events_published_total"),
        14.0,
        "{m}"
    );
    ingest.shutdown().await;
    bridge.shutdown().await;
}

/// Protobuf, in two requests: children that arrive before their agents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_protobuf_export_reaches_the_monitor_in_order() {
    sdk_to_monitor(Export {
        protocol: Protocol::HttpBinary,
        gzip: false,
        split: true,
    })
    .await;
}

/// JSON with gzip, the whole trace in one request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_json_gzip_export_reaches_the_monitor_in_order() {
    sdk_to_monitor(Export {
        protocol: Protocol::HttpJson,
        gzip: true,
        split: false,
    })
    .await;
}
