//! The OTLP trace export: the agent's runs, exported to a real
//! `orchestrator-ingest` on the same Redis under another channel, come back
//! as the same runs; and an endpoint that never answers does not slow a run.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::time::{Duration, Instant};

use common::{Agent, Subscriber, chat, wait_until};
use orchestrator_agent::otlp::OtlpConfig;
use orchestrator_events::publish::Target;
use serde_json::Value;
use testkit::RedisServer;
use tokio_util::sync::CancellationToken;

fn otlp(endpoint: String, timeout: Duration, queue_spans: usize) -> OtlpConfig {
    OtlpConfig {
        endpoint,
        content: true,
        queue_spans,
        timeout,
        service_name: "orchestrator-traced".into(),
        agent_name: Some("traced".into()),
    }
}

/// What the comparison looks at: tool names and statuses in order, the run's
/// status and token totals.
fn summary(events: &[Value]) -> (Vec<(String, String)>, Value, Value) {
    let tools = events
        .iter()
        .filter(|e| e["type"] == "tool_result")
        .map(|e| {
            (
                e["tool_name"].as_str().unwrap_or("").to_string(),
                e["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let fin = events
        .iter()
        .find(|e| e["type"] == "run_finished")
        .expect("run_finished");
    (tools, fin["status"].clone(), fin["usage"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_runs_come_back_through_the_ingest_as_the_same_runs() {
    let redis = RedisServer::start().expect("redis-server");
    let url = redis.url();
    let native = Subscriber::start(&url, "orchestrator_events").await;
    let traced = Subscriber::start(&url, "traced_events").await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let ingest_addr = listener.local_addr().expect("addr");
    let stop_ingest = CancellationToken::new();
    let ingest = tokio::spawn(orchestrator_ingest::run(
        orchestrator_ingest::Config {
            redis_url: url.clone(),
            target: Target {
                channel: "traced_events".into(),
                stream: "traced_events:log".into(),
                maxlen: 10_000,
            },
            ..Default::default()
        },
        listener,
        stop_ingest.clone(),
    ));
    let endpoint = format!("http://{ingest_addr}");
    let agent = Agent::start(&url, move |c| {
        c.otlp = Some(otlp(
            OtlpConfig::resolve(Some(&endpoint), |_| None).expect("endpoint"),
            Duration::from_secs(5),
            4096,
        ));
    })
    .await;

    for message in [
        "Please store this research plan: compare Redis streams with Kafka for replay",
        "Get research plan plan-does-not-exist",
        "Hello, what can you do?",
    ] {
        let before = count_finished(&traced);
        let (status, body) = chat(&agent, message, None).await;
        assert_eq!(status, 200, "{body}");
        let run_id = body["run_id"].as_str().expect("run_id").to_string();
        let own = native.finished_run(&run_id).await;
        // The ingested copy: the next run to finish on the traced channel.
        let t = traced.clone();
        wait_until(Duration::from_secs(20), move || count_finished(&t) > before).await;
        let all = traced.events();
        let fin = all
            .iter()
            .filter(|e| e["type"] == "run_finished")
            .nth(before)
            .expect("traced run_finished");
        let traced_run = fin["run_id"].as_str().expect("run id").to_string();
        assert!(traced_run.starts_with("otel-"), "{traced_run}");
        let copy: Vec<Value> = all
            .into_iter()
            .filter(|e| e["run_id"] == traced_run.as_str())
            .collect();
        assert!(copy.iter().all(|e| e["agent"] == "traced"), "{copy:#?}");
        assert_eq!(
            summary(&own),
            summary(&copy),
            "own {own:#?}\ncopy {copy:#?}"
        );
        // Pairs in order: every tool_use precedes its tool_result.
        let ids: Vec<&str> = copy
            .iter()
            .filter(|e| e["type"] == "tool_use")
            .filter_map(|e| e["tool_use_id"].as_str())
            .collect();
        let own_ids: Vec<&str> = own
            .iter()
            .filter(|e| e["type"] == "tool_use")
            .filter_map(|e| e["tool_use_id"].as_str())
            .collect();
        assert_eq!(ids, own_ids);
        // With --otlp-content the reply text comes through too.
        let text = |events: &[Value]| -> String {
            events
                .iter()
                .filter(|e| e["type"] == "text_generation")
                .filter_map(|e| e["data"].as_str())
                .collect()
        };
        assert_eq!(text(&own), text(&copy));
    }
    agent.shutdown().await;
    stop_ingest.cancel();
    let _ = ingest.await;
}

fn count_finished(sub: &Subscriber) -> usize {
    sub.events()
        .iter()
        .filter(|e| e["type"] == "run_finished")
        .count()
}

/// Accepts connections and never answers.
async fn black_hole() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    addr
}

async fn timed_runs(agent: &Agent, n: usize) -> Duration {
    let started = Instant::now();
    for i in 0..n {
        let (status, body) = chat(agent, &format!("Hello number {i}"), None).await;
        assert_eq!(status, 200, "{body}");
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_endpoint_neither_slows_runs_nor_grows_memory() {
    let redis = RedisServer::start().expect("redis-server");
    let url = redis.url();
    let plain = Agent::start(&url, |c| c.name = "plain".into()).await;
    let hole = black_hole().await;
    let exporting = Agent::start(&url, move |c| {
        c.name = "exporting".into();
        // A tiny queue: the first runs fill it while the export hangs.
        c.otlp = Some(otlp(
            format!("http://{hole}/v1/traces"),
            Duration::from_secs(30),
            8,
        ));
    })
    .await;
    // Warm both (connections, first-use costs).
    timed_runs(&plain, 2).await;
    timed_runs(&exporting, 2).await;
    let without = timed_runs(&plain, 20).await;
    let with = timed_runs(&exporting, 20).await;
    eprintln!("20 runs: export off {without:?}, export on (silent endpoint) {with:?}");
    assert!(
        with < without * 2 + Duration::from_millis(200),
        "export on {with:?} vs off {without:?}"
    );
    let metrics = reqwest::get(exporting.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    let value = |key: &str| -> u64 {
        metrics
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{key} in {metrics}"))
    };
    assert!(
        value("orchestrator_agent_otlp_spans_total{outcome=\"dropped\"}") > 0,
        "{metrics}"
    );
    assert_eq!(
        value("orchestrator_agent_otlp_spans_total{outcome=\"exported\"}"),
        0
    );
    assert!(value("orchestrator_agent_queue_items{queue=\"otlp_export\"}") <= 8);
    plain.shutdown().await;
    exporting.shutdown().await;
}
