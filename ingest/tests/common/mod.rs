//! Shared helpers for the ingest's integration tests: the ingest and a bridge
//! in-process on port 0, raw HTTP requests, the Redis stream, and a WebSocket
//! client reading what a monitor would be sent. Everything goes over real
//! sockets to a private redis-server.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use orchestrator_ingest::Config;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// An ingest running in this process.
pub struct Ingest {
    pub addr: SocketAddr,
    stop: CancellationToken,
    task: Option<JoinHandle<Result<(), orchestrator_ingest::ConfigError>>>,
}

impl Ingest {
    /// Starts an ingest with `config` on a free loopback port.
    pub async fn start(config: Config) -> Ingest {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = CancellationToken::new();
        let task = tokio::spawn(orchestrator_ingest::run(config, listener, stop.clone()));
        Ingest {
            addr,
            stop,
            task: Some(task),
        }
    }

    /// `http://…/v1/traces`.
    pub fn traces_url(&self) -> String {
        format!("http://{}/v1/traces", self.addr)
    }

    /// Whether the task is still running (no panic, no early return).
    pub fn is_running(&self) -> bool {
        self.task.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// `/healthz` as JSON.
    pub async fn health(&self) -> Value {
        let r = request(self.addr, "GET", "/healthz", &[], b"").await;
        assert_eq!(r.status, 200, "{}", r.text());
        serde_json::from_slice(&r.body).expect("healthz is JSON")
    }

    /// `/metrics` text (with `headers`, e.g. the token).
    pub async fn metrics(&self, headers: &[(&str, &str)]) -> String {
        let r = request(self.addr, "GET", "/metrics", headers, b"").await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.text()
    }

    /// Stops it; it must return Ok within 10 s.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("stopped within 10 s")
                .expect("no panic")
                .expect("Ok");
        }
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The value of a metric line `name` (labels included in `name`).
pub fn metric(text: &str, name: &str) -> f64 {
    let prefix = format!("{name} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

/// A whole HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// Header lines, lowercased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {}", self.text()))
    }
}

/// One request on a fresh connection (`Connection: close`), read to the end.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.expect("send head");
    // The server may answer (413) and close before the whole body is sent.
    let _ = s.write_all(body).await;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut raw))
        .await
        .expect("answer within 30 s");
    parse_answer(&raw)
}

fn parse_answer(raw: &[u8]) -> Answer {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&data[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// A bridge running in this process on the same Redis.
pub struct Bridge {
    pub addr: SocketAddr,
    stop: CancellationToken,
    task: Option<JoinHandle<Result<(), orchestrator_bridge::BridgeError>>>,
}

impl Bridge {
    /// Starts a bridge and waits until its subscription is live.
    pub async fn start(redis_url: &str) -> Bridge {
        let config = orchestrator_bridge::Config {
            redis_url: redis_url.into(),
            reconnect_max_delay: Duration::from_millis(500),
            ..orchestrator_bridge::Config::default()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = CancellationToken::new();
        let task = tokio::spawn(orchestrator_bridge::run(listener, config, stop.clone()));
        let bridge = Bridge {
            addr,
            stop,
            task: Some(task),
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let r = request(addr, "GET", "/healthz", &[], b"").await;
            if r.status == 200 && r.json()["redis"] == "up" {
                break;
            }
            assert!(Instant::now() < deadline, "the bridge never saw Redis");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bridge
    }

    /// A WebSocket client on `/ws/orchestrator`, past its `bridge_hello`.
    pub async fn client(&self) -> Ws {
        let url = format!("ws://{}/ws/orchestrator", self.addr);
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap_or_else(|e| panic!("connect {url}: {e}"));
        let hello = next_frame(&mut ws, Duration::from_secs(10))
            .await
            .expect("bridge_hello");
        assert_eq!(hello["type"], "bridge_hello", "{hello}");
        ws
    }

    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("bridge stopped within 10 s")
                .expect("no panic")
                .expect("Ok");
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON text frame, or `None` on close or after `within`.
pub async fn next_frame(ws: &mut Ws, within: Duration) -> Option<Value> {
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

/// The next `n` agent events (bridge frames skipped), each within 15 s.
pub async fn events(ws: &mut Ws, n: usize) -> Vec<Value> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let frame = next_frame(ws, Duration::from_secs(15))
            .await
            .unwrap_or_else(|| panic!("only {} of {n} events arrived: {out:#?}", out.len()));
        if frame["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("bridge_"))
        {
            continue;
        }
        out.push(frame);
    }
    out
}

/// Every entry of `stream`, as the JSON frame stored (its `id` first).
pub async fn stream_entries(redis_url: &str, stream: &str) -> Vec<Value> {
    let client = redis::Client::open(redis_url).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to redis");
    // Pages of 5,000, so that 100,000 entries never make one slow reply.
    let mut out = Vec::new();
    let mut start = "-".to_string();
    loop {
        let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
            .arg(stream)
            .arg(&start)
            .arg("+")
            .arg("COUNT")
            .arg(5000)
            .query_async(&mut conn)
            .await
            .expect("XRANGE");
        let Some(last) = reply.ids.last() else {
            return out;
        };
        start = format!("({}", last.id);
        for entry in &reply.ids {
            let frame: String = entry.get("event").expect("entry has an event");
            let v: Value = serde_json::from_str(&frame).expect("entry is JSON");
            assert_eq!(v["id"].as_str(), Some(entry.id.as_str()), "id spliced in");
            out.push(v);
        }
    }
}

/// `"<ms>-<seq>"` as a comparable pair.
pub fn stream_id(v: &Value) -> (u64, u64) {
    let s = v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}"));
    let (ms, seq) = s.split_once('-').unwrap_or_else(|| panic!("bad id {s}"));
    (ms.parse().expect("ms part"), seq.parse().expect("seq part"))
}
