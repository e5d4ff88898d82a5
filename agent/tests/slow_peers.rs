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
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn limits(header: u64, body: u64) -> Limits {
    Limits {
        header_timeout: Duration::from_millis(header),
        body_timeout: Duration::from_millis(body),
        ..Limits::default()
    }
}

/// Reads until the agent closes the connection: the time from `since`, or
/// `None` if still open after `within`. Also what was read.
async fn closed_after(
    stream: &mut TcpStream,
    since: Instant,
    within: Duration,
) -> Option<(Duration, Vec<u8>)> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read_to_end = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(within, read_to_end).await.ok()?;
    Some((since.elapsed(), got))
}

async fn connect_from(source: IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(source, 0))
        .expect("bind source");
    socket.connect(addr).await.expect("connect")
}

async fn get_from(source: IpAddr, addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = connect_from(source, addr).await;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .expect("answer within 10 s")
        .expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn closed_metric(text: &str, reason: &str) -> f64 {
    let name = format!("agent_http_connections_closed_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&name)?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
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
