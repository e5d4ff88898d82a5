//! Shared helpers for the bridge's integration tests: a bridge in-process on
//! port 0, WebSocket clients, publishing through the real script, and plain
//! HTTP requests. Everything talks over real sockets to a private redis-server.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use orchestrator_bridge::{BridgeError, Config};
use orchestrator_events::StreamId;
use orchestrator_events::publish::{Target, publish_batch, script};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

/// A WebSocket client connection.
pub type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A bridge running in this process; stopped when dropped.
pub struct TestBridge {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    handle: Option<JoinHandle<Result<(), BridgeError>>>,
}

impl TestBridge {
    /// Starts a bridge on a free loopback port.
    pub async fn start(config: Config) -> TestBridge {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(orchestrator_bridge::run(listener, config, shutdown.clone()));
        TestBridge {
            addr,
            shutdown,
            handle: Some(handle),
        }
    }

    /// Starts a bridge and waits until its subscription is live.
    pub async fn start_ready(config: Config) -> TestBridge {
        let bridge = TestBridge::start(config).await;
        bridge.wait_redis(true).await;
        bridge
    }

    /// `ws://…/ws/orchestrator?<query>`.
    pub fn ws_url(&self, query: &str) -> String {
        if query.is_empty() {
            format!("ws://{}/ws/orchestrator", self.addr)
        } else {
            format!("ws://{}/ws/orchestrator?{query}", self.addr)
        }
    }

    /// `/healthz` as JSON.
    pub async fn health(&self) -> Value {
        let (status, body) = http_get(self.addr, "/healthz", &[]).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("healthz is JSON")
    }

    /// `/metrics` text.
    pub async fn metrics(&self) -> String {
        let (status, body) = http_get(self.addr, "/metrics", &[]).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Waits until `/healthz` reports Redis up (or down).
    pub async fn wait_redis(&self, up: bool) {
        let want = if up { "up" } else { "down" };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if self.health().await["redis"] == want {
                return;
            }
            assert!(Instant::now() < deadline, "Redis never became {want}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `/healthz` shows `n` clients.
    pub async fn wait_clients(&self, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if self.health().await["clients"] == n {
                return;
            }
            assert!(Instant::now() < deadline, "never saw {n} clients");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops it and returns how long that took.
    pub async fn stop(mut self) -> Duration {
        let started = Instant::now();
        self.shutdown.cancel();
        if let Some(handle) = self.handle.take() {
            tokio::time::timeout(Duration::from_secs(5), handle)
                .await
                .expect("bridge stops within 5 s")
                .expect("bridge task did not panic")
                .expect("bridge returned Ok");
        }
        started.elapsed()
    }
}

impl Drop for TestBridge {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A config for tests against `redis_url` (quick reconnects).
pub fn config(redis_url: &str) -> Config {
    Config {
        redis_url: redis_url.to_string(),
        reconnect_max_delay: Duration::from_millis(500),
        ..Config::default()
    }
}

/// Opens a WebSocket.
pub async fn connect(url: &str) -> Client {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    ws
}

/// The next JSON text frame (pings skipped), or `None` on close or after `within`.
pub async fn next_json(ws: &mut Client, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await.ok()??;
        match msg {
            Ok(Message::Text(t)) => {
                return Some(serde_json::from_str(t.as_str()).expect("frames are JSON"));
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// The next frame, which must arrive within 10 s.
pub async fn must_next(ws: &mut Client) -> Value {
    next_json(ws, Duration::from_secs(10))
        .await
        .expect("a frame within 10 s")
}

/// Reads the `bridge_hello` that opens every connection.
pub async fn hello(ws: &mut Client) -> Value {
    let h = must_next(ws).await;
    assert_eq!(h["type"], "bridge_hello", "{h}");
    h
}

/// The id of an event frame.
pub fn id_of(v: &Value) -> Option<StreamId> {
    v["id"].as_str()?.parse().ok()
}

/// Publishes through the real script.
pub struct Publisher {
    conn: redis::aio::MultiplexedConnection,
    script: redis::Script,
    pub target: Target,
}

impl Publisher {
    pub async fn new(redis_url: &str) -> Publisher {
        Publisher::with_target(redis_url, Target::default()).await
    }

    /// Like [`Publisher::new`], `None` when Redis is unreachable.
    pub async fn try_new(redis_url: &str) -> Option<Publisher> {
        let client = redis::Client::open(redis_url).ok()?;
        let conn = client.get_multiplexed_async_connection().await.ok()?;
        Some(Publisher {
            conn,
            script: script(),
            target: Target::default(),
        })
    }

    pub async fn with_target(redis_url: &str, target: Target) -> Publisher {
        let client = redis::Client::open(redis_url).expect("url");
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("publisher connects");
        Publisher {
            conn,
            script: script(),
            target,
        }
    }

    pub async fn publish(&mut self, events: &[String]) -> redis::RedisResult<Vec<StreamId>> {
        publish_batch(&mut self.conn, &self.script, &self.target, events).await
    }

    /// Publishes `events` and panics on failure.
    pub async fn must(&mut self, events: &[String]) -> Vec<StreamId> {
        self.publish(events).await.expect("publish")
    }

    /// A raw `PUBLISH` (not through the script): any bytes.
    pub async fn raw(&mut self, payload: &[u8]) {
        let _: i64 = redis::cmd("PUBLISH")
            .arg(&self.target.channel)
            .arg(payload)
            .query_async(&mut self.conn)
            .await
            .expect("raw publish");
    }
}

/// An event of `kind` for `agent`/`run` with a marker `n` (no id: the script adds it).
pub fn event(kind: &str, agent: &str, run: &str, n: usize) -> String {
    serde_json::json!({
        "type": kind,
        "content": format!("event {n}"),
        "agent": agent,
        "run_id": run,
        "seq": n,
        "timestamp": 1_703_123_456.789,
    })
    .to_string()
}

/// `n` reasoning events numbered from `from`.
pub fn events(from: usize, n: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| event("reasoning", "orchestrator", "run-1", i))
        .collect()
}

/// A minimal HTTP/1.1 GET; returns status and body.
pub async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let (status, _, body) = http_request(addr, path, headers).await;
    (status, body)
}

/// A minimal HTTP/1.1 GET; returns status, raw header block and body.
pub async fn http_request(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    let read = async {
        let mut buf = [0u8; 8192];
        loop {
            let n = stream.read(&mut buf).await.expect("read");
            if n == 0 {
                return;
            }
            raw.extend_from_slice(&buf[..n]);
            // A 101 keeps the connection open: its head is all there is.
            if raw.starts_with(b"HTTP/1.1 101") && raw.windows(4).any(|w| w == b"\r\n\r\n") {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("response within 10 s");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// The value of an unlabelled (or exactly labelled) metric line.
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("metric {name} not found"))
}
