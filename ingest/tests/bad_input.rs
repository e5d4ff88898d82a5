//! Bad input against a real ingest over real sockets: bodies that do not
//! decode, bodies too large before or after gzip, wrong types and tokens,
//! spans without ids, one request of 100,000 spans, and Redis going away and
//! coming back. Each gets the status code and body OTLP/HTTP asks for, and the
//! process stays up: a good request afterwards is served and published.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{Answer, Ingest, metric, request};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use orchestrator_events::publish::Target;
use orchestrator_ingest::Config;
use orchestrator_ingest::decode::RpcStatus;
use prost::Message;
use serde_json::Value;
use testkit::RedisServer;

const PB: (&str, &str) = ("Content-Type", "application/x-protobuf");
const JSON: (&str, &str) = ("Content-Type", "application/json");
const STREAM: &str = "orchestrator_events:log";

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
    }
}

/// A `chat` span whose reply is `text`: one `text_generation` event.
fn chat(trace: u64, id: u64, text: &str) -> Span {
    let mut trace_id = [0u8; 16];
    trace_id[8..].copy_from_slice(&trace.to_be_bytes());
    trace_id[0] = 1;
    let start = 1_700_000_000_000_000_000 + id * 1_000;
    Span {
        trace_id: trace_id.to_vec(),
        span_id: (id + 1).to_be_bytes().to_vec(),
        name: "chat m".into(),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 500,
        attributes: vec![
            kv("gen_ai.operation.name", "chat"),
            kv("llm.output_messages.0.message.content", text),
        ],
        ..Default::default()
    }
}

fn export(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "bad-input")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// `n` chat spans whose texts are `"{tag}-{i}"`, protobuf.
fn batch(tag: &str, trace: u64, n: u64) -> Vec<u8> {
    export(
        (0..n)
            .map(|i| chat(trace, i, &format!("{tag}-{i}")))
            .collect(),
    )
    .encode_to_vec()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip into a Vec");
    enc.finish().expect("gzip into a Vec")
}

async fn post(ingest: &Ingest, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    request(ingest.addr, "POST", "/v1/traces", headers, body).await
}

/// The `google.rpc.Status` of an error answer, in the encoding asked for.
fn rpc_status(a: &Answer) -> (i32, String) {
    match a.header("content-type") {
        Some("application/x-protobuf") => {
            let s = RpcStatus::decode(a.body.as_slice()).expect("protobuf google.rpc.Status");
            (s.code, s.message)
        }
        Some("application/json") => {
            let v = a.json();
            (
                v["code"].as_i64().expect("code") as i32,
                v["message"].as_str().expect("message").to_string(),
            )
        }
        other => panic!("error body of type {other:?}: {}", a.text()),
    }
}

fn config(redis_url: &str) -> Config {
    Config {
        redis_url: redis_url.into(),
        ..Config::default()
    }
}

/// Waits until `n` events reached Redis (by the ingest's own count).
async fn wait_published(ingest: &Ingest, n: u64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let published = ingest.health().await["events_published"]
            .as_u64()
            .unwrap_or(0);
        if published >= n {
            assert_eq!(published, n, "more published than accepted");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {published} of {n} events published"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `data` of every `text_generation` in the stream, in stream order.
async fn texts(redis_url: &str) -> Vec<String> {
    common::stream_entries(redis_url, STREAM)
        .await
        .iter()
        .filter(|e| e["type"] == "text_generation")
        .map(|e| e["data"].as_str().expect("data").to_string())
        .collect()
}

/// A good request is still served and published: the process is up.
async fn still_serves(ingest: &Ingest, redis_url: &str, tag: &str) {
    assert!(ingest.is_running(), "the ingest task ended");
    let before = ingest.health().await["events_published"]
        .as_u64()
        .unwrap_or(0);
    let a = post(ingest, &[PB], &batch(tag, 999, 1)).await;
    assert_eq!(a.status, 200, "{}", a.text());
    wait_published(ingest, before + 1, Duration::from_secs(15)).await;
    let all = texts(redis_url).await;
    assert_eq!(
        all.last().map(String::as_str),
        Some(format!("{tag}-0").as_str())
    );
}

/// What, content type, content encoding, body, a word the error must contain.
type Case<'a> = (
    &'a str,
    (&'a str, &'a str),
    Option<&'a str>,
    Vec<u8>,
    &'a str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_do_not_decode_are_400_in_the_request_encoding() {
    let redis = RedisServer::start().expect("redis-server");
    let ingest = Ingest::start(config(&redis.url())).await;
    let good = batch("good", 1, 3);
    let truncated = &good[..good.len() / 2];
    let cases: Vec<Case> = vec![
        ("garbage protobuf", PB, None, vec![0xff; 64], "protobuf"),
        (
            "truncated protobuf",
            PB,
            None,
            truncated.to_vec(),
            "protobuf",
        ),
        (
            "invalid JSON",
            JSON,
            None,
            br#"{"resourceSpans": [{"scopeSpans": [{"#.to_vec(),
            "JSON",
        ),
        (
            "JSON of the wrong shape",
            JSON,
            None,
            br#"{"resourceSpans": "not a list"}"#.to_vec(),
            "JSON",
        ),
        (
            "broken gzip",
            PB,
            Some("gzip"),
            b"\x1f\x8b\x08\x00 not really gzip".to_vec(),
            "gzip",
        ),
        (
            "gzip of garbage",
            PB,
            Some("gzip"),
            gzip(&[0xff; 64]),
            "protobuf",
        ),
    ];
    for (what, ct, encoding, body, says) in &cases {
        let mut headers = vec![*ct];
        if let Some(e) = encoding {
            headers.push(("Content-Encoding", e));
        }
        let a = post(&ingest, &headers, body).await;
        assert_eq!(a.status, 400, "{what}: {}", a.text());
        assert_eq!(a.header("content-type"), Some(ct.1), "{what}");
        let (code, message) = rpc_status(&a);
        assert_eq!(code, 3, "{what}: INVALID_ARGUMENT");
        assert!(message.contains(says), "{what}: {message}");
    }
    let m = ingest.metrics(&[]).await;
    assert_eq!(
        metric(&m, "ingest_requests_refused_total{reason=\"bad_body\"}"),
        cases.len() as f64,
        "{m}"
    );
    assert_eq!(metric(&m, "ingest_events_published_total"), 0.0, "{m}");
    still_serves(&ingest, &redis.url(), "after-400").await;
    ingest.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_counts_decompressed_bytes_and_a_gzip_bomb_is_413() {
    const LIMIT: usize = 1024 * 1024;
    let redis = RedisServer::start().expect("redis-server");
    let ingest = Ingest::start(Config {
        body_limit: LIMIT,
        ..config(&redis.url())
    })
    .await;

    // 64 MiB of JSON whitespace in about 64 KiB of gzip.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(b"{\"resourceSpans\":[").expect("gzip");
    let spaces = vec![b' '; 1024 * 1024];
    for _ in 0..64 {
        enc.write_all(&spaces).expect("gzip");
    }
    enc.write_all(b"]}").expect("gzip");
    let bomb = enc.finish().expect("gzip");
    assert!(bomb.len() < 200 * 1024, "bomb is {} bytes", bomb.len());
    let a = post(&ingest, &[JSON, ("Content-Encoding", "gzip")], &bomb).await;
    assert_eq!(a.status, 413, "{}", a.text());
    let (code, message) = rpc_status(&a);
    assert_eq!(code, 8, "RESOURCE_EXHAUSTED");
    assert!(message.contains(&LIMIT.to_string()), "{message}");

    // Over the limit as sent.
    let over = vec![b' '; LIMIT + 1];
    let a = post(&ingest, &[JSON], &over).await;
    assert_eq!(a.status, 413, "{}", a.text());
    assert_eq!(rpc_status(&a).0, 8);

    // Exactly the limit, sent plain and inflated from gzip, is accepted.
    let mut exact = b"{\"resourceSpans\":[]}".to_vec();
    exact.resize(LIMIT, b' ');
    let a = post(&ingest, &[JSON], &exact).await;
    assert_eq!(a.status, 200, "{}", a.text());
    let a = post(
        &ingest,
        &[JSON, ("Content-Encoding", "gzip")],
        &gzip(&exact),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text());
    let mut one_more = exact.clone();
    one_more.push(b' ');
    let a = post(
        &ingest,
        &[JSON, ("Content-Encoding", "gzip")],
        &gzip(&one_more),
    )
    .await;
    assert_eq!(a.status, 413, "{}", a.text());

    let m = ingest.metrics(&[]).await;
    assert_eq!(
        metric(&m, "ingest_requests_refused_total{reason=\"too_large\"}"),
        3.0,
        "{m}"
    );
    still_serves(&ingest, &redis.url(), "after-413").await;
    ingest.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_content_types_and_encodings_are_415() {
    let redis = RedisServer::start().expect("redis-server");
    let ingest = Ingest::start(config(&redis.url())).await;
    let body = batch("x", 1, 1);
    for headers in [
        vec![("Content-Type", "text/plain")],
        vec![("Content-Type", "application/grpc")],
        vec![],
        vec![PB, ("Content-Encoding", "br")],
    ] {
        let a = post(&ingest, &headers, &body).await;
        assert_eq!(a.status, 415, "{headers:?}: {}", a.text());
        assert_eq!(rpc_status(&a).0, 3, "{headers:?}");
    }
    // Parameters do not matter.
    let a = post(
        &ingest,
        &[("Content-Type", "application/json; charset=utf-8")],
        br#"{"resourceSpans":[]}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text());
    let m = ingest.metrics(&[]).await;
    assert_eq!(
        metric(
            &m,
            "ingest_requests_refused_total{reason=\"unsupported_type\"}"
        ),
        4.0,
        "{m}"
    );
    assert_eq!(metric(&m, "ingest_events_published_total"), 0.0, "{m}");
    still_serves(&ingest, &redis.url(), "after-415").await;
    ingest.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_token_it_is_401_before_anything_else() {
    let redis = RedisServer::start().expect("redis-server");
    let ingest = Ingest::start(Config {
        token: Some("right-token".into()),
        ..config(&redis.url())
    })
    .await;
    let body = batch("auth", 1, 1);
    for (what, headers) in [
        ("no token", vec![PB]),
        (
            "wrong token",
            vec![PB, ("Authorization", "Bearer wrong-token")],
        ),
        (
            "a prefix of it",
            vec![PB, ("Authorization", "Bearer right")],
        ),
        (
            "another scheme",
            vec![PB, ("Authorization", "Basic right-token")],
        ),
        // 401 comes before 415: an unauthenticated peer learns nothing.
        ("no token, wrong type", vec![("Content-Type", "text/plain")]),
    ] {
        let a = post(&ingest, &headers, &body).await;
        assert_eq!(a.status, 401, "{what}: {}", a.text());
        assert_eq!(a.header("www-authenticate"), Some("Bearer"), "{what}");
        assert_eq!(rpc_status(&a).0, 16, "{what}: UNAUTHENTICATED");
    }
    let a = request(ingest.addr, "GET", "/metrics", &[], b"").await;
    assert_eq!(a.status, 401);
    let m = ingest
        .metrics(&[("Authorization", "Bearer right-token")])
        .await;
    assert_eq!(
        metric(&m, "ingest_requests_refused_total{reason=\"unauthorized\"}"),
        5.0,
        "{m}"
    );
    assert_eq!(metric(&m, "ingest_events_published_total"), 0.0, "{m}");
    let a = post(
        &ingest,
        &[PB, ("Authorization", "bearer right-token")],
        &body,
    )
    .await;
    assert_eq!(a.status, 200, "scheme is case-insensitive: {}", a.text());
    wait_published(&ingest, 1, Duration::from_secs(15)).await;
    assert_eq!(texts(&redis.url()).await, ["auth-0"]);
    ingest.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_without_ids_are_a_partial_success_not_an_error() {
    let redis = RedisServer::start().expect("redis-server");
    let ingest = Ingest::start(config(&redis.url())).await;

    // JSON: one good span, one without ids, one with all-zero ids.
    let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[
        {"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708",
         "name":"chat m","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000500000000",
         "attributes":[{"key":"llm.output_messages.0.message.content","value":{"stringValue":"kept"}}]},
        {"name":"chat m","attributes":[{"key":"llm.output_messages.0.message.content","value":{"stringValue":"no ids"}}]},
        {"traceId":"00000000000000000000000000000000","spanId":"0000000000000000","name":"chat zero"}
    ]}]}]}"#;
    let a = post(&ingest, &[JSON], body).await;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.header("content-type"), Some("application/json"));
    let v = a.json();
    let partial = &v["partialSuccess"];
    let rejected = partial["rejectedSpans"]
        .as_i64()
        .or_else(|| partial["rejectedSpans"].as_str()?.parse().ok());
    assert_eq!(rejected, Some(2), "{v}");
    let message = partial["errorMessage"].as_str().expect("errorMessage");
    assert!(message.contains("2 spans rejected"), "{message}");
    assert!(message.contains("trace_id"), "the reason: {message}");

    // Protobuf: a span with a short trace id and one with no span id.
    let mut short = chat(2, 1, "short");
    short.trace_id.truncate(8);
    let mut no_span = chat(2, 2, "no span");
    no_span.span_id.clear();
    let pb = export(vec![short, no_span, chat(2, 3, "kept too")]).encode_to_vec();
    let a = post(&ingest, &[PB], &pb).await;
    assert_eq!(a.status, 200, "{}", a.text());
    let r = ExportTraceServiceResponse::decode(a.body.as_slice()).expect("protobuf response");
    let p = r.partial_success.expect("partial_success");
    assert_eq!(p.rejected_spans, 2);
    assert!(p.error_message.contains("2 spans rejected"), "{p:?}");

    wait_published(&ingest, 2, Duration::from_secs(15)).await;
    assert_eq!(texts(&redis.url()).await, ["kept", "kept too"]);
    let m = ingest.metrics(&[]).await;
    assert_eq!(
        metric(&m, "ingest_spans_rejected_total{reason=\"bad_id\"}"),
        4.0,
        "{m}"
    );
    assert_eq!(metric(&m, "ingest_spans_accepted_total"), 2.0, "{m}");
    ingest.shutdown().await;
}

/// 100,000 spans in one request (about 9 MB of protobuf, under the default
/// 16 MiB limit): all accepted and published in order. Memory is bounded by
/// the body limit and the queue bound, so the same request against a queue
/// smaller than its events is refused whole, with nothing of it kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_spans_in_one_request() {
    const N: u64 = 100_000;
    let redis = RedisServer::start().expect("redis-server");
    let ingest = Ingest::start(Config {
        target: Target {
            maxlen: 2 * N,
            ..Target::default()
        },
        ..config(&redis.url())
    })
    .await;
    let body = batch("big", 7, N);
    assert!(body.len() < Config::default().body_limit, "{}", body.len());
    let a = post(&ingest, &[PB], &body).await;
    assert_eq!(a.status, 200, "{}", a.text());
    let r = ExportTraceServiceResponse::decode(a.body.as_slice()).expect("protobuf response");
    assert!(r.partial_success.is_none(), "{r:?}");
    wait_published(&ingest, N, Duration::from_secs(120)).await;
    let all = texts(&redis.url()).await;
    assert_eq!(all.len() as u64, N);
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, t)| *t == format!("big-{i}")),
        "in span order"
    );
    let h = ingest.health().await;
    assert_eq!(h["queue_events"], 0, "{h}");
    ingest.shutdown().await;

    // A queue of 4 MiB cannot ever hold this request's events (about 30 MB).
    let small = Ingest::start(Config {
        queue_bytes: 4 * 1024 * 1024,
        ..config(&redis.url())
    })
    .await;
    let a = post(&small, &[PB], &body).await;
    assert_eq!(
        a.status,
        413,
        "never fits, so not 503 (an exporter would retry it forever): {}",
        a.text()
    );
    assert_eq!(a.header("retry-after"), None);
    let (code, message) = rpc_status(&a);
    assert_eq!(code, 8, "RESOURCE_EXHAUSTED");
    assert!(message.contains("queue"), "{message}");
    let h = small.health().await;
    assert_eq!(h["queue_events"], 0, "nothing of it kept: {h}");
    assert_eq!(h["events_published"], 0, "{h}");
    let m = small.metrics(&[]).await;
    assert_eq!(
        metric(
            &m,
            "ingest_spans_rejected_total{reason=\"request_refused\"}"
        ),
        N as f64,
        "{m}"
    );
    assert_eq!(
        texts(&redis.url()).await.len() as u64,
        N,
        "stream unchanged"
    );
    still_serves(&small, &redis.url(), "after-big").await;
    small.shutdown().await;
}

/// Redis killed: requests are accepted into the bounded queue, then answered
/// 503 with `Retry-After` once it is full (nothing of those kept); Redis back:
/// everything answered 200 reaches the stream, in order, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_then_back_loses_nothing_accepted() {
    let mut redis = RedisServer::start().expect("redis-server");
    let url = redis.url();
    let ingest = Ingest::start(Config {
        // About 20 requests of 20 events.
        queue_bytes: 128 * 1024,
        ..config(&url)
    })
    .await;
    let a = post(&ingest, &[PB], &batch("before", 1, 2)).await;
    assert_eq!(a.status, 200, "{}", a.text());
    wait_published(&ingest, 2, Duration::from_secs(15)).await;

    redis.kill();
    let mut accepted = Vec::new();
    let mut refused = None;
    for r in 0..200u64 {
        let tag = format!("down{r}");
        let a = post(&ingest, &[PB], &batch(&tag, 100 + r, 20)).await;
        match a.status {
            200 => accepted.push(tag),
            503 => {
                refused = Some((tag, a));
                break;
            }
            other => panic!("request {r}: {other} {}", a.text()),
        }
    }
    let (refused_tag, a) = refused.expect("the bounded queue filled up");
    assert!(accepted.len() >= 5, "only {} accepted", accepted.len());
    assert_eq!(a.header("retry-after"), Some("2"), "{:?}", a.headers);
    let (code, message) = rpc_status(&a);
    assert_eq!(code, 14, "UNAVAILABLE");
    assert!(message.contains("queue full"), "{message}");
    let h = ingest.health().await;
    assert_eq!(h["redis"]["up"], false, "{h}");
    assert_eq!(h["status"], "degraded", "{h}");
    assert_eq!(h["queue_events"], 20 * accepted.len() as u64, "{h}");

    redis.restart().expect("redis-server restarts");
    let total = 2 + 20 * accepted.len() as u64;
    wait_published(&ingest, total, Duration::from_secs(30)).await;
    // The restarted Redis is empty: exactly the accepted requests, in order.
    let want: Vec<String> = accepted
        .iter()
        .flat_map(|tag| (0..20).map(move |i| format!("{tag}-{i}")))
        .collect();
    let got = texts(&url).await;
    assert_eq!(got, want);
    assert!(
        !got.iter()
            .any(|t| t.starts_with(&format!("{refused_tag}-")))
    );
    let h = ingest.health().await;
    assert_eq!(h["redis"]["up"], true, "{h}");
    let m = ingest.metrics(&[]).await;
    assert_eq!(
        metric(&m, "ingest_requests_refused_total{reason=\"queue_full\"}"),
        1.0,
        "{m}"
    );
    assert!(metric(&m, "ingest_publish_errors_total") >= 1.0, "{m}");
    still_serves(&ingest, &url, "after-outage").await;
    ingest.shutdown().await;
}

/// Unknown routes and methods are plain 404 and 405, not a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_routes_and_methods() {
    let redis = RedisServer::start().expect("redis-server");
    let ingest = Ingest::start(config(&redis.url())).await;
    let a = request(ingest.addr, "GET", "/v1/traces", &[], b"").await;
    assert_eq!(a.status, 405, "{}", a.text());
    let a = request(ingest.addr, "POST", "/v1/metrics", &[PB], b"").await;
    assert_eq!(a.status, 404, "{}", a.text());
    let v: Value = ingest.health().await;
    assert_eq!(v["requests"], 0, "{v}");
    still_serves(&ingest, &redis.url(), "after-404").await;
    ingest.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_megabyte_reply_is_cut_at_the_field_cap_and_named_in_truncated() {
    let redis = RedisServer::start().expect("redis-server");
    let cap = 16 * 1024;
    let ingest = Ingest::start(Config {
        max_field_bytes: cap,
        ..config(&redis.url())
    })
    .await;
    // One reply of 1 MB (multi-byte characters, so the cut must find a
    // UTF-8 boundary) and one small reply, which must stay byte-identical.
    let big = "é".repeat(512 * 1024);
    let body = export(vec![chat(7, 0, &big), chat(7, 1, "small")]).encode_to_vec();
    let a = post(&ingest, &[PB], &body).await;
    assert_eq!(a.status, 200, "{}", a.text());
    wait_published(&ingest, 2, Duration::from_secs(15)).await;
    let entries = common::stream_entries(&redis.url(), STREAM).await;
    let texts: Vec<_> = entries
        .iter()
        .filter(|e| e["type"] == "text_generation")
        .collect();
    assert_eq!(texts.len(), 2, "{entries:?}");
    let cut = texts[0];
    let data = cut["data"].as_str().expect("data");
    assert!(
        data.len() <= cap,
        "{} bytes kept over a {cap} cap",
        data.len()
    );
    assert!(
        data.len() > cap / 2,
        "cut far below the cap: {}",
        data.len()
    );
    assert!(
        big.starts_with(data),
        "the kept part is the start of the reply"
    );
    assert_eq!(cut["truncated"]["data"], big.len(), "{cut}");
    assert_eq!(texts[1]["data"], "small");
    assert!(texts[1].get("truncated").is_none(), "{}", texts[1]);
    ingest.shutdown().await;
}

/// The binary states its stream's worst case at start when it is over
/// `--stream-memory-warn`, like the agent, and still serves; a wrong flag is
/// one line and exit code 2.
#[test]
fn the_binary_warns_of_a_large_stream_and_refuses_a_bad_flag() {
    use std::process::{Command, Stdio};
    let bin = env!("CARGO_BIN_EXE_orchestrator-ingest");
    let bad = Command::new(bin)
        .args(["--stream-memory-warn", "lots"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("--stream-memory-warn"), "{stderr}");

    let port = testkit::free_port().unwrap();
    let redis_port = testkit::free_port().unwrap();
    let log_path =
        std::env::temp_dir().join(format!("ingest-warn-{}-{port}.log", std::process::id()));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = testkit::ChildGuard(
        Command::new(bin)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--stream-memory-warn", "1000000"])
            .env("REDIS_URL", format!("redis://127.0.0.1:{redis_port}"))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    // It serves anyway (and has its signal handlers once it listens).
    assert!(testkit::wait_for_port(
        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(10)
    ));
    child.signal("TERM").unwrap();
    let status = child.wait_timeout(Duration::from_secs(15)).unwrap();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let text = std::fs::read_to_string(&log_path).unwrap();
    let _ = std::fs::remove_file(&log_path);
    let line = text
        .lines()
        .find(|l| l.contains("may grow past --stream-memory-warn"))
        .unwrap_or_else(|| panic!("no start-up warning in {text}"));
    assert!(line.contains("worst_case_bytes=212019200"), "{line}");
}
