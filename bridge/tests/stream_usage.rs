//! `/healthz` reports the stream's length and memory as Redis measures it
//! (cached for a few seconds), and the largest frame of the last minute.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::time::{Duration, Instant};

use common::*;
use testkit::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_stream_length_memory_and_the_largest_frame() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start_ready(config(&redis.url())).await;
    let mut ws = connect(&bridge.ws_url("")).await;
    hello(&mut ws).await;
    let mut p = Publisher::new(&redis.url()).await;
    p.must(&events(0, 20)).await;
    let big = serde_json::json!({"type": "reasoning", "content": "x".repeat(100_000)}).to_string();
    p.must(std::slice::from_ref(&big)).await;
    for _ in 0..21 {
        must_next(&mut ws).await;
    }

    // The measurement is cached: poll until a fresh one shows all 21 entries.
    let deadline = Instant::now() + Duration::from_secs(15);
    let h = loop {
        let h = bridge.health().await;
        if h["stream_length"] == 21 {
            break h;
        }
        assert!(Instant::now() < deadline, "stream_length never 21: {h}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let memory = h["stream_memory_bytes"].as_u64().expect("memory");
    assert!(memory >= 100_000, "{h}");
    assert!(h["stream_usage_age_secs"].as_u64().expect("age") <= 5);
    let largest = h["largest_frame_bytes_1m"].as_u64().expect("largest frame");
    assert!(
        largest >= big.len() as u64 && largest < big.len() as u64 + 200,
        "{h}"
    );
    let text = bridge.metrics().await;
    assert_eq!(metric(&text, "bridge_largest_frame_bytes"), largest as f64);
    bridge.stop().await;
}
