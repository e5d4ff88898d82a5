//! `/healthz`, `/metrics`, unknown paths, and stopping with close frames.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use testkit::RedisServer;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics_report_what_happened() {
    let redis = RedisServer::start_with_password("hunter2-secret").expect("redis-server");
    let bridge = TestBridge::start_ready(config(&redis.url())).await;
    let mut a = connect(&bridge.ws_url("")).await;
    hello(&mut a).await;
    let mut b = connect(&bridge.ws_url("types=tool_use")).await;
    hello(&mut b).await;
    let mut p = Publisher::new(&redis.url()).await;
    let ids = p.must(&events(0, 10)).await;
    for id in &ids {
        assert_eq!(id_of(&must_next(&mut a).await), Some(*id));
    }
    drop(b);
    bridge.wait_clients(1).await;
    let (status, _) = http_get(bridge.addr, "/ws/orchestrator?last=x", &[]).await;
    assert_eq!(status, 400);
    let mut replay = connect(&bridge.ws_url("last=3")).await;
    hello(&mut replay).await;
    for _ in 0..3 {
        must_next(&mut replay).await;
    }
    assert_eq!(must_next(&mut replay).await["status"], "replay_done");
    drop(replay);
    bridge.wait_clients(1).await;

    let h = bridge.health().await;
    assert_eq!(h["status"], "ok");
    assert_eq!(h["redis"], "up");
    assert_eq!(h["clients"], 1);
    assert_eq!(h["connections_total"], 3);
    assert_eq!(h["events_in"], 10);
    assert_eq!(h["replays"], 1);
    assert_eq!(h["channel"], "orchestrator_events");
    assert!(h["epoch"].is_string());
    assert!(h["uptime_secs"].as_f64().is_some_and(|s| s > 0.0));
    let shown = h["redis_url"].as_str().expect("url");
    assert!(
        shown.contains("***") && !shown.contains("hunter2"),
        "{shown}"
    );
    assert!(!h.to_string().contains("hunter2"));

    let m = bridge.metrics().await;
    assert_eq!(metric(&m, "bridge_clients"), 1.0);
    assert_eq!(metric(&m, "bridge_events_in_total"), 10.0);
    // a: hello + 10; b: hello; replay: hello + 3 + replay_done.
    assert_eq!(metric(&m, "bridge_frames_out_total"), 17.0);
    assert_eq!(metric(&m, "bridge_frames_dropped_total"), 0.0);
    assert_eq!(metric(&m, "bridge_replays_total{kind=\"last\"}"), 1.0);
    assert_eq!(metric(&m, "bridge_replayed_frames_total"), 3.0);
    assert_eq!(metric(&m, "bridge_redis_up"), 1.0);
    assert_eq!(metric(&m, "bridge_redis_reconnects_total"), 0.0);
    assert_eq!(
        metric(&m, "bridge_events_by_type_total{type=\"reasoning\"}"),
        10.0
    );
    assert_eq!(
        metric(&m, "bridge_connections_closed_total{reason=\"client\"}"),
        2.0
    );
    assert_eq!(
        metric(
            &m,
            "bridge_connections_refused_total{reason=\"bad_request\"}"
        ),
        1.0
    );
    assert!(metric(&m, "bridge_uptime_seconds") > 0.0);
    assert!(m.contains("# TYPE bridge_frames_out_total counter"));

    let (_, head, _) = http_request(bridge.addr, "/metrics", &[]).await;
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain; version=0.0.4"),
        "{head}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_get_json_404() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start(config(&redis.url())).await;
    let (status, body) = http_get(bridge.addr, "/nope", &[]).await;
    assert_eq!(status, 404);
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert!(
        json["error"]
            .as_str()
            .is_some_and(|e| e.contains("/ws/orchestrator"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_sends_close_1001_to_every_client_and_returns_quickly() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start_ready(config(&redis.url())).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        let mut ws = connect(&bridge.ws_url("")).await;
        hello(&mut ws).await;
        clients.push(ws);
    }
    let took = bridge.stop().await;
    assert!(took < Duration::from_secs(2), "stop took {took:?}");
    for mut ws in clients {
        let close = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(msg) = ws.next().await {
                if let Ok(Message::Close(frame)) = msg {
                    return frame;
                }
            }
            None
        })
        .await
        .expect("close frame in time")
        .expect("a close frame with a code");
        assert_eq!(u16::from(close.code), 1001);
    }
}
