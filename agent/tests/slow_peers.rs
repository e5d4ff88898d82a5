//! Slow and silent peers against the agent, over real sockets: half a request
//! line and half a body are closed at their deadlines, a flood from one
//! address is bounded, and stopping does not wait for silent connections.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use common::Agent;
use orchestrator_serve::Limits;
use testkit::RedisServer;
use testkit::peer::{closed_after, connect_from, request_from};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn closed_metric(text: &str, reason: &str) -> f64 {
    testkit::peer::closed_total(text, "agent", reason)
}

async fn get_from(source: IpAddr, addr: SocketAddr, path: &str) -> (u16, String) {
    request_from(source, addr, &format!("GET {path} HTTP/1.1"), b"").await
}

fn limits(header: u64, body: u64) -> Limits {
    Limits {
        header_timeout: Duration::from_millis(header),
        body_timeout: Duration::from_millis(body),
        ..Limits::default()
    }
}

async fn metrics(agent: &Agent) -> String {
    let (status, text) = get_from([127, 0, 0, 1].into(), agent.addr, "/metrics").await;
    assert_eq!(status, 200, "{text}");
    text
}

#[tokio::test]
async fn half_a_request_line_is_closed_at_the_header_deadline() {
    let redis = RedisServer::start().expect("redis-server");
    let agent = Agent::start(&redis.url(), |c| c.http = limits(1000, 30_000)).await;
    let started = Instant::now();
    let mut s = TcpStream::connect(agent.addr).await.expect("connect");
    s.write_all(b"POST /ch").await.expect("send");
    let (took, _) = closed_after(&mut s, started, Duration::from_secs(5))
        .await
        .expect("closed within 5 s");
    assert!(
        took >= Duration::from_millis(900) && took <= Duration::from_secs(2),
        "closed after {took:?}, deadline 1 s"
    );
    let m = metrics(&agent).await;
    assert_eq!(closed_metric(&m, "header_timeout"), 1.0);
    assert_eq!(closed_metric(&m, "body_timeout"), 0.0);
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_and_half_a_body_are_closed_at_the_body_deadline() {
    let redis = RedisServer::start().expect("redis-server");
    let agent = Agent::start(&redis.url(), |c| c.http = limits(1000, 1500)).await;
    let mut s = TcpStream::connect(agent.addr).await.expect("connect");
    s.write_all(
        b"POST /chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"message\": \"hel",
    )
    .await
    .expect("send");
    let sent = Instant::now();
    let (took, answer) = closed_after(&mut s, sent, Duration::from_secs(6))
        .await
        .expect("closed within 6 s");
    // Past the header deadline (the head was complete), within the body one + 1 s.
    assert!(
        took >= Duration::from_millis(1400) && took <= Duration::from_millis(2500),
        "closed after {took:?}, body deadline 1.5 s"
    );
    assert!(
        answer.is_empty(),
        "no run was answered: {}",
        String::from_utf8_lossy(&answer)
    );
    let m = metrics(&agent).await;
    assert_eq!(closed_metric(&m, "body_timeout"), 1.0, "{m}");
    assert_eq!(closed_metric(&m, "header_timeout"), 0.0, "{m}");

    // A whole request on a fresh connection is served as ever.
    let (status, reply) = common::chat(&agent, "hello", None).await;
    assert_eq!(status, 200, "{reply}");
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_from_one_address_are_bounded_and_do_not_delay_stopping() {
    let redis = RedisServer::start().expect("redis-server");
    let per_ip = 50;
    let agent = Agent::start(&redis.url(), |c| {
        c.http = Limits {
            header_timeout: Duration::from_secs(60),
            max_pending_per_ip: per_ip,
            ..Limits::default()
        }
    })
    .await;
    let mut silent = Vec::new();
    for _ in 0..1000 {
        silent.push(connect_from([127, 0, 0, 1].into(), agent.addr).await);
    }
    let outcomes = futures_util::future::join_all(silent.iter_mut().map(|s| async move {
        let mut b = [0u8; 16];
        matches!(
            tokio::time::timeout(Duration::from_secs(1), s.read(&mut b)).await,
            Ok(Ok(0) | Err(_))
        )
    }))
    .await;
    assert_eq!(outcomes.iter().filter(|c| **c).count(), 1000 - per_ip);

    let other: IpAddr = [127, 0, 0, 2].into();
    let (status, text) = get_from(other, agent.addr, "/healthz").await;
    assert_eq!(status, 200, "{text}");
    let (_, m) = get_from(other, agent.addr, "/metrics").await;
    assert_eq!(closed_metric(&m, "pending_limit"), (1000 - per_ip) as f64);

    // Stopping closes connections that have no request at once.
    let started = Instant::now();
    agent.stop.cancel();
    tokio::time::timeout(Duration::from_secs(3), agent.task)
        .await
        .expect("stopped within 3 s")
        .expect("no panic")
        .expect("Ok");
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(silent);
}
