//! Server-side filters, and bad query values refused before the upgrade.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use common::*;
use testkit::RedisServer;

/// Reads event frames until one with `seq == last_seq` (the marker) arrives.
async fn collect_until_marker(ws: &mut Client, marker: usize) -> Vec<serde_json::Value> {
    let mut got = Vec::new();
    loop {
        let f = must_next(ws).await;
        let done = f["seq"] == marker;
        got.push(f);
        if done {
            return got;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_by_type_agent_and_run_id() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start_ready(config(&redis.url())).await;

    let mut by_type = connect(&bridge.ws_url("types=tool_use,error")).await;
    let h = hello(&mut by_type).await;
    assert_eq!(
        h["filter"]["types"],
        serde_json::json!(["tool_use", "error"])
    );
    let mut by_agent = connect(&bridge.ws_url("agent=planner")).await;
    hello(&mut by_agent).await;
    let mut by_run = connect(&bridge.ws_url("run_id=r2")).await;
    hello(&mut by_run).await;
    let mut combined = connect(&bridge.ws_url("types=reasoning&agent=planner&run_id=r1")).await;
    hello(&mut combined).await;

    let mut p = Publisher::new(&redis.url()).await;
    let batch = vec![
        event("reasoning", "orchestrator", "r1", 0),
        event("tool_use", "planner", "r1", 1),
        event("reasoning", "planner", "r1", 2),
        event("error", "orchestrator", "r2", 3),
        event("tool_use", "orchestrator", "r2", 4),
        // The original Python system's shape, without envelope: only unfiltered clients get it.
        r#"{"type":"tool_use","tool_name":"store","tool_input":{},"seq":5}"#.to_string(),
        // A marker every filter lets through, so each client knows it saw everything.
        event("tool_use", "planner", "r2", 6),
    ];
    p.must(&batch).await;

    let seqs = |frames: Vec<serde_json::Value>| -> Vec<u64> {
        frames
            .iter()
            .map(|f| f["seq"].as_u64().expect("seq"))
            .collect()
    };
    assert_eq!(
        seqs(collect_until_marker(&mut by_type, 6).await),
        vec![1, 3, 4, 5, 6]
    );
    assert_eq!(
        seqs(collect_until_marker(&mut by_agent, 6).await),
        vec![1, 2, 6]
    );
    assert_eq!(
        seqs(collect_until_marker(&mut by_run, 6).await),
        vec![3, 4, 6]
    );

    // The combined filter does not pass the marker: send one it does.
    p.must(&[event("reasoning", "planner", "r1", 7)]).await;
    assert_eq!(
        seqs(collect_until_marker(&mut combined, 7).await),
        vec![2, 7]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_query_values_get_400_before_the_upgrade() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start_ready(config(&redis.url())).await;
    let upgrade = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    for (query, needle) in [
        ("since=yesterday", "since"),
        ("last=abc", "last"),
        ("last=10001", "last"),
        ("since=1-0&last=5", "cannot be combined"),
        ("types=a%20b", "types"),
        ("agent=a&agent=b", "more than once"),
        ("epoch=a%2Fb", "epoch"),
    ] {
        let (status, body) =
            http_get(bridge.addr, &format!("/ws/orchestrator?{query}"), &upgrade).await;
        assert_eq!(status, 400, "{query}: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON error");
        let msg = json["error"].as_str().expect("error message");
        assert!(msg.contains(needle), "{query}: {msg}");
    }
    // The same, but a plain GET: told to upgrade.
    let (status, head, _) = http_request(bridge.addr, "/ws/orchestrator", &[]).await;
    assert_eq!(status, 426);
    assert!(
        head.to_ascii_lowercase().contains("upgrade: websocket"),
        "{head}"
    );
    // A good query upgrades.
    let (status, _) = http_get(
        bridge.addr,
        "/ws/orchestrator?types=tool_use&last=5",
        &upgrade,
    )
    .await;
    assert_eq!(status, 101);
    let metrics = bridge.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            "bridge_connections_refused_total{reason=\"bad_request\"}"
        ),
        7.0
    );
}
