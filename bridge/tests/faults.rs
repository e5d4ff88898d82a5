//! Surviving faults: Redis SIGKILLed and restarted mid-stream, Redis down at
//! start, garbage on the channel.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use orchestrator_events::StreamId;
use testkit::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_mid_stream_clients_miss_nothing_that_reached_the_stream() {
    let mut redis = RedisServer::start().expect("redis-server");
    let url = redis.url();
    let bridge = TestBridge::start_ready(config(&url)).await;

    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut ws = connect(&bridge.ws_url("")).await;
        hello(&mut ws).await;
        clients.push(ws);
    }
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                let mut ids = Vec::new();
                let mut statuses = Vec::new();
                // Until the publisher's end marker (seq 999999).
                loop {
                    let f = must_next(&mut ws).await;
                    if f["type"] == "bridge_status" {
                        statuses.push(f["status"].as_str().unwrap_or("?").to_string());
                        continue;
                    }
                    ids.push(id_of(&f).expect("id"));
                    if f["seq"] == 999_999 {
                        return (ids, statuses);
                    }
                }
            })
        })
        .collect();

    // Publishes continuously, reconnecting after errors; records acknowledged ids.
    let acked = Arc::new(Mutex::new(Vec::<StreamId>::new()));
    let stop = tokio_util::sync::CancellationToken::new();
    let publisher = {
        let acked = acked.clone();
        let stop = stop.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.is_cancelled() {
                let mut p =
                    match tokio::time::timeout(Duration::from_secs(1), Publisher::try_new(&url))
                        .await
                    {
                        Ok(Some(p)) => p,
                        _ => {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                    };
                while !stop.is_cancelled() {
                    match p.publish(&events(n, 2)).await {
                        Ok(ids) => acked.lock().expect("lock").extend(ids),
                        Err(_) => break,
                    }
                    n += 2;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        })
    };

    let wait_acked = |n: usize| {
        let acked = acked.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(20);
            while acked.lock().expect("lock").len() < n {
                assert!(Instant::now() < deadline, "publisher stalled");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    wait_acked(200).await;
    redis.kill();
    bridge.wait_redis(false).await;
    redis.restart().expect("restart on the same port");
    bridge.wait_redis(true).await;
    let before = acked.lock().expect("lock").len();
    wait_acked(before + 200).await;
    stop.cancel();
    publisher.await.expect("publisher");

    let mut p = Publisher::new(&url).await;
    let end = p
        .must(&[event("run_finished", "orchestrator", "run-1", 999_999)])
        .await;
    acked.lock().expect("lock").extend(end);

    let acked: Vec<StreamId> = acked.lock().expect("lock").clone();
    for reader in readers {
        let (ids, statuses) = reader.await.expect("reader");
        let got: BTreeSet<StreamId> = ids.iter().copied().collect();
        assert_eq!(got.len(), ids.len(), "no duplicates");
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order");
        let missing: Vec<&StreamId> = acked.iter().filter(|id| !got.contains(id)).collect();
        assert!(
            missing.is_empty(),
            "{} acknowledged events missing: {missing:?}",
            missing.len()
        );
        let down = statuses.iter().position(|s| s == "redis_down");
        let up = statuses.iter().position(|s| s == "redis_up");
        assert!(down.is_some() && up > down, "down then up: {statuses:?}");
        assert!(
            statuses.iter().any(|s| s == "history_reset"),
            "Redis lost its data: {statuses:?}"
        );
    }
    let metrics = bridge.metrics().await;
    assert!(metric(&metrics, "bridge_redis_reconnects_total") >= 1.0);
    assert!(metric(&metrics, "bridge_replays_total{kind=\"reconnect\"}") >= 3.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_at_start_is_not_fatal() {
    let mut redis = RedisServer::start().expect("redis-server");
    redis.kill();
    let bridge = TestBridge::start(config(&redis.url())).await;
    let health = bridge.health().await;
    assert_eq!(health["redis"], "down");
    assert_eq!(health["status"], "degraded");

    let mut ws = connect(&bridge.ws_url("")).await;
    let h = hello(&mut ws).await;
    assert_eq!(h["redis"], false);
    assert_eq!(must_next(&mut ws).await["status"], "redis_down");

    redis.restart().expect("redis comes up");
    bridge.wait_redis(true).await;
    let up = must_next(&mut ws).await;
    assert_eq!(up["status"], "redis_up", "{up}");
    let mut p = Publisher::new(&redis.url()).await;
    let ids = p.must(&events(0, 1)).await;
    assert_eq!(id_of(&must_next(&mut ws).await), Some(ids[0]));
}

/// A client that came in while the bridge could not read Redis still gets
/// every event published after it came, including those that reached the
/// stream before the bridge managed to subscribe again (a fresh bridge, or one
/// whose reconnect is still backing off).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_connected_during_an_outage_gets_what_came_before_the_resubscribe() {
    let mut redis = RedisServer::start().expect("redis-server");
    redis.kill();
    let mut cfg = config(&redis.url());
    // Long gaps between reconnect attempts: events published right after
    // Redis returns land before the bridge subscribes again.
    cfg.reconnect_max_delay = Duration::from_secs(4);
    let bridge = TestBridge::start(cfg).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mut ws = connect(&bridge.ws_url("")).await;
    assert_eq!(hello(&mut ws).await["redis"], false);
    assert_eq!(must_next(&mut ws).await["status"], "redis_down");

    redis.restart().expect("redis comes up");
    let mut p = Publisher::new(&redis.url()).await;
    let ids = p.must(&events(0, 3)).await;
    let early = bridge.health().await["redis"] == "down";

    let mut got = Vec::new();
    while got.len() < ids.len() {
        let Some(v) = next_json(&mut ws, Duration::from_secs(15)).await else {
            panic!("received {got:?} of {ids:?} (published before the resubscribe: {early})");
        };
        if let Some(id) = id_of(&v) {
            got.push(id);
        }
    }
    assert_eq!(got, ids, "every event exactly once, in order");
    let later = p.must(&events(3, 1)).await;
    loop {
        let v = must_next(&mut ws).await;
        if let Some(id) = id_of(&v) {
            assert_eq!(id, later[0], "live after the catch-up, nothing twice");
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_channel_is_counted_not_fatal() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start_ready(config(&redis.url())).await;
    let mut ws = connect(&bridge.ws_url("")).await;
    hello(&mut ws).await;
    let mut p = Publisher::new(&redis.url()).await;

    p.raw(b"").await;
    p.raw(b"not json at all").await;
    p.raw(b"[1,2,3]").await;
    p.raw(&[0xff, 0x00, 0xfe, 0x80]).await;
    let huge = format!(
        r#"{{"type":"text_generation","data":"{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    p.raw(huge.as_bytes()).await;
    // Forwarded: the original Python system's shape, a 1 MB event, a foreign envelope.
    let seed = r#"{"type":"reasoning","content":"plain seed shape","timestamp":1703123456.789}"#;
    p.raw(seed.as_bytes()).await;
    let big = format!(
        r#"{{"type":"text_generation","data":"{}"}}"#,
        "y".repeat(1_000_000)
    );
    p.raw(big.as_bytes()).await;
    p.raw(br#"{"type":"custom","id":42}"#).await;
    let ids = p.must(&events(0, 1)).await;

    assert_eq!(must_next(&mut ws).await["content"], "plain seed shape");
    let f = must_next(&mut ws).await;
    assert_eq!(f["data"].as_str().map(str::len), Some(1_000_000));
    assert_eq!(must_next(&mut ws).await["id"], 42);
    assert_eq!(id_of(&must_next(&mut ws).await), Some(ids[0]));

    let m = bridge.metrics().await;
    assert_eq!(metric(&m, "bridge_events_in_total"), 9.0);
    assert_eq!(
        metric(&m, "bridge_events_invalid_total{reason=\"empty\"}"),
        1.0
    );
    assert_eq!(
        metric(&m, "bridge_events_invalid_total{reason=\"not_json\"}"),
        2.0
    );
    assert_eq!(
        metric(&m, "bridge_events_invalid_total{reason=\"not_utf8\"}"),
        1.0
    );
    assert_eq!(
        metric(&m, "bridge_events_invalid_total{reason=\"too_large\"}"),
        1.0
    );
    assert_eq!(
        metric(&m, "bridge_events_by_type_total{type=\"other\"}"),
        1.0
    );
    let health = bridge.health().await;
    assert_eq!(health["events_invalid"], 5);
    assert_eq!(health["redis"], "up");
}
