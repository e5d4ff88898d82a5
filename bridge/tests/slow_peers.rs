//! Slow and silent peers: every connection before its upgrade has a deadline
//! and a bound, over real sockets; an upgraded WebSocket is not held to them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::*;
use orchestrator_bridge::Config;
use orchestrator_serve::Limits;
use testkit::RedisServer;
use testkit::peer::{connect_from, request_from};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Deadlines short enough for a test, bounds as given.
fn limits(header: u64, body: u64, idle: u64) -> Limits {
    Limits {
        header_timeout: Duration::from_millis(header),
        body_timeout: Duration::from_millis(body),
        idle_timeout: Duration::from_millis(idle),
        ..Limits::default()
    }
}

fn closed_metric(text: &str, reason: &str) -> f64 {
    testkit::peer::closed_total(text, "bridge", reason)
}

/// Reads until the server closes the connection; how long that took.
async fn closed_after(
    stream: &mut TcpStream,
    since: Instant,
    within: Duration,
) -> Option<Duration> {
    testkit::peer::closed_after(stream, since, within)
        .await
        .map(|(took, _)| took)
}

/// `GET path` from `source`; the status and body.
async fn get_from(source: IpAddr, addr: SocketAddr, path: &str) -> (u16, String) {
    let (status, raw) = request_from(source, addr, &format!("GET {path} HTTP/1.1"), b"").await;
    (status, testkit::peer::body_of(&raw).to_string())
}

#[tokio::test]
async fn half_a_request_line_is_closed_at_the_header_deadline() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start(Config {
        http: limits(1000, 30_000, 60_000),
        ..config(&redis.url())
    })
    .await;
    let started = Instant::now();
    let mut s = TcpStream::connect(bridge.addr).await.expect("connect");
    s.write_all(b"GET /heal").await.expect("send");
    let took = closed_after(&mut s, started, Duration::from_secs(5))
        .await
        .expect("closed within 5 s");
    assert!(
        took >= Duration::from_millis(900) && took <= Duration::from_secs(2),
        "closed after {took:?}, deadline 1 s"
    );
    let m = bridge.metrics().await;
    assert_eq!(closed_metric(&m, "header_timeout"), 1.0, "{m}");
    assert_eq!(closed_metric(&m, "idle"), 0.0, "{m}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_deadline_not_the_header_one() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start(Config {
        http: limits(500, 30_000, 2000),
        ..config(&redis.url())
    })
    .await;
    let mut s = TcpStream::connect(bridge.addr).await.expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    let mut buf = vec![0u8; 8192];
    let n = s.read(&mut buf).await.expect("answer");
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    let answered = Instant::now();
    let took = closed_after(&mut s, answered, Duration::from_secs(5))
        .await
        .expect("closed within 5 s");
    assert!(
        took >= Duration::from_millis(1800) && took <= Duration::from_secs(3),
        "closed {took:?} after the answer, idle deadline 2 s"
    );
    let m = bridge.metrics().await;
    assert_eq!(closed_metric(&m, "idle"), 1.0, "{m}");
    assert_eq!(closed_metric(&m, "header_timeout"), 0.0, "{m}");
}

#[tokio::test]
async fn a_keep_alive_request_started_late_gets_the_header_deadline_from_its_first_byte() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start(Config {
        http: limits(1000, 30_000, 10_000),
        ..config(&redis.url())
    })
    .await;
    let mut s = TcpStream::connect(bridge.addr).await.expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    let mut buf = vec![0u8; 8192];
    let n = s.read(&mut buf).await.expect("answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let started = Instant::now();
    s.write_all(b"GET /hea").await.expect("send half");
    let took = closed_after(&mut s, started, Duration::from_secs(5))
        .await
        .expect("closed within 5 s");
    assert!(
        took >= Duration::from_millis(900) && took <= Duration::from_secs(2),
        "closed {took:?} after the first byte, deadline 1 s"
    );
    assert_eq!(
        closed_metric(&bridge.metrics().await, "header_timeout"),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_silent_connections_from_one_address_leave_room_for_everyone_else() {
    let redis = RedisServer::start().expect("redis-server");
    let per_ip = 100;
    let bridge = TestBridge::start_ready(Config {
        http: Limits {
            // Long deadlines: what is measured is the bound, not the timeout.
            header_timeout: Duration::from_secs(60),
            max_pending: 2000,
            max_pending_per_ip: per_ip,
            ..Limits::default()
        },
        ..config(&redis.url())
    })
    .await;
    let attacker: IpAddr = [127, 0, 0, 1].into();
    let other: IpAddr = [127, 0, 0, 2].into();

    let mut silent = Vec::with_capacity(1000);
    for _ in 0..1000 {
        silent.push(connect_from(attacker, bridge.addr).await);
    }
    // Refused ones are closed at once: EOF within a short wait. Held ones stay open.
    let started = Instant::now();
    let outcomes = futures_util::future::join_all(silent.iter_mut().map(|s| async move {
        let mut b = [0u8; 16];
        matches!(
            tokio::time::timeout(Duration::from_secs(1), s.read(&mut b)).await,
            Ok(Ok(0) | Err(_))
        )
    }))
    .await;
    let refused = outcomes.iter().filter(|closed| **closed).count();
    assert_eq!(
        refused,
        1000 - per_ip,
        "refused within {:?}",
        started.elapsed()
    );

    // Another address still gets everything: health, a WebSocket, events.
    let (status, body) = get_from(other, bridge.addr, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    let stream = connect_from(other, bridge.addr).await;
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (mut ws, _) = tokio_tungstenite::client_async(bridge.ws_url(""), stream)
        .await
        .expect("WebSocket from another address");
    hello(&mut ws).await;
    let mut p = Publisher::new(&redis.url()).await;
    let ids = p.must(&events(0, 3)).await;
    for id in ids {
        let f = must_next(&mut ws).await;
        assert_eq!(id_of(&f), Some(id), "{f}");
    }

    let (status, m) = get_from(other, bridge.addr, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(
        closed_metric(&m, "pending_limit"),
        (1000 - per_ip) as f64,
        "{m}"
    );
    // The held connections, plus this /metrics request itself.
    assert_eq!(
        metric(&m, "bridge_http_connections_pending"),
        (per_ip + 1) as f64,
        "{m}"
    );
    drop(silent);
}

#[tokio::test]
async fn an_idle_websocket_that_answers_pings_outlives_every_http_deadline() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start_ready(Config {
        http: limits(300, 300, 300),
        ping_interval: Duration::from_millis(200),
        ping_timeout: Duration::from_millis(500),
        ..config(&redis.url())
    })
    .await;
    let mut ws = connect(&bridge.ws_url("")).await;
    hello(&mut ws).await;
    // Reading answers the pings (tungstenite queues the pong); nothing else arrives.
    assert!(
        next_json(&mut ws, Duration::from_secs(2)).await.is_none(),
        "no frames expected while idle"
    );
    let mut p = Publisher::new(&redis.url()).await;
    let ids = p.must(&events(0, 1)).await;
    let f = must_next(&mut ws).await;
    assert_eq!(id_of(&f), Some(ids[0]), "still connected after 2 s: {f}");
    let m = bridge.metrics().await;
    for reason in ["header_timeout", "body_timeout", "idle"] {
        assert_eq!(closed_metric(&m, reason), 0.0, "{reason}: {m}");
    }
    assert!(
        m.contains("bridge_connections_closed_total{reason=\"ping_timeout\"} 0\n"),
        "{m}"
    );
}
