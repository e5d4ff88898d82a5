//! A peer over a raw socket, for the slow-peer tests of every HTTP service
//! (agent, bridge, ingest): connect from a chosen loopback address, send
//! part of a request, and see when the server hangs up.
//!
//! Test support: a socket that cannot be opened is a failed test, so these
//! panic with a message rather than return errors.
#![allow(clippy::expect_used)]

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Reads until the server closes the connection: the time from `since` and
/// what was read, or `None` when it is still open after `within`.
pub async fn closed_after(
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

/// A TCP connection from `source` (any 127.0.0.0/8 address works on Linux),
/// so a test can be many clients, or one flooding address.
pub async fn connect_from(source: IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(source, 0))
        .expect("bind source");
    socket.connect(addr).await.expect("connect")
}

/// One whole request (`head` is the request line, e.g. `GET /metrics
/// HTTP/1.1`) on a fresh connection from `source`: the status and the raw
/// answer, head and body. Waits at most 10 s for the server to close.
pub async fn request_from(
    source: IpAddr,
    addr: SocketAddr,
    head: &str,
    body: &[u8],
) -> (u16, String) {
    let mut s = connect_from(source, addr).await;
    let req = format!(
        "{head}\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("send head");
    s.write_all(body).await.expect("send body");
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

/// The body of a raw HTTP answer (after the blank line).
pub fn body_of(raw: &str) -> &str {
    raw.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// `<service>_http_connections_closed_total{reason="…"}` from a Prometheus
/// text page: the counter every service built on orchestrator-serve keeps.
pub fn closed_total(metrics: &str, service: &str, reason: &str) -> f64 {
    let name = format!("{service}_http_connections_closed_total{{reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&name)?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{metrics}"))
}
