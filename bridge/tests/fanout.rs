//! Fan-out: many clients, every event, in order, nothing extra.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::time::Duration;

use common::*;
use testkit::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_each_receive_all_5000_events_in_order_and_nothing_else() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start_ready(config(&redis.url())).await;

    let mut clients = Vec::new();
    for _ in 0..50 {
        let mut ws = connect(&bridge.ws_url("")).await;
        let h = hello(&mut ws).await;
        assert_eq!(h["redis"], true);
        clients.push(ws);
    }
    bridge.wait_clients(50).await;

    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut got = Vec::with_capacity(5000);
                while got.len() < 5000 {
                    let frame = must_next(&mut ws).await;
                    assert_ne!(frame["type"], "bridge_status", "unexpected {frame}");
                    got.push(id_of(&frame).expect("event has an id"));
                }
                // Nothing after the last event.
                let extra = next_json(&mut ws, Duration::from_millis(300)).await;
                assert!(extra.is_none(), "extra frame {extra:?}");
                got
            })
        })
        .collect();

    let mut publisher = Publisher::new(&redis.url()).await;
    let mut published = Vec::with_capacity(5000);
    for batch in 0..50 {
        published.extend(publisher.must(&events(batch * 100, 100)).await);
    }

    for reader in readers {
        let got = reader.await.expect("reader");
        assert_eq!(got, published, "a client saw a different sequence");
    }

    let health = bridge.health().await;
    // The readers hung up when done.
    assert_eq!(health["connections_total"], 50);
    assert_eq!(health["events_in"], 5000);
    assert_eq!(health["frames_dropped"], 0);
    let metrics = bridge.metrics().await;
    // 50 hellos + 50 × 5000 events.
    assert_eq!(metric(&metrics, "bridge_frames_out_total"), 50.0 * 5001.0);
    assert_eq!(
        metric(&metrics, "bridge_events_by_type_total{type=\"reasoning\"}"),
        5000.0
    );
}
