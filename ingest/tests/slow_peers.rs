//! Slow peers against the ingest, over real sockets: half a request line and
//! half an OTLP body are closed at their deadlines, counted in `/metrics`, and
//! a whole request on a fresh connection is still served.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use orchestrator_ingest::Config;
use orchestrator_serve::Limits;
use testkit::RedisServer;
use testkit::peer::closed_after;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

struct Ingest {
    addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<Result<(), orchestrator_ingest::ConfigError>>,
}

impl Ingest {
    async fn start(redis_url: &str, header_ms: u64, body_ms: u64) -> Ingest {
        let config = Config {
            redis_url: redis_url.into(),
            http: Limits {
                header_timeout: Duration::from_millis(header_ms),
                body_timeout: Duration::from_millis(body_ms),
                ..Limits::default()
            },
            ..Config::default()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = CancellationToken::new();
        let task = tokio::spawn(orchestrator_ingest::run(config, listener, stop.clone()));
        Ingest { addr, stop, task }
    }

    async fn shutdown(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("stopped within 10 s")
            .expect("no panic")
            .expect("Ok");
    }
}

async fn metrics(ingest: &Ingest) -> String {
    let (status, text) = request(ingest.addr, "GET /metrics HTTP/1.1", b"").await;
    assert_eq!(status, 200, "{text}");
    text
}

fn closed_metric(text: &str, reason: &str) -> f64 {
    testkit::peer::closed_total(text, "ingest", reason)
}

/// One whole request on a fresh connection: the status and the raw answer.
async fn request(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, String) {
    testkit::peer::request_from([127, 0, 0, 1].into(), addr, head, body).await
}

#[tokio::test]
async fn half_a_request_line_is_closed_at_the_header_deadline() {
    let redis = RedisServer::start().expect("redis-server");
    let ingest = Ingest::start(&redis.url(), 1000, 30_000).await;
    let started = Instant::now();
    let mut s = TcpStream::connect(ingest.addr).await.expect("connect");
    s.write_all(b"POST /v1/tr").await.expect("send");
    let (took, _) = closed_after(&mut s, started, Duration::from_secs(5))
        .await
        .expect("closed within 5 s");
    assert!(
        took >= Duration::from_millis(900) && took <= Duration::from_secs(2),
        "closed after {took:?}, deadline 1 s"
    );
    let m = metrics(&ingest).await;
    assert_eq!(closed_metric(&m, "header_timeout"), 1.0, "{m}");
    assert_eq!(closed_metric(&m, "body_timeout"), 0.0, "{m}");
    ingest.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_and_half_a_body_are_closed_at_the_body_deadline() {
    let redis = RedisServer::start().expect("redis-server");
    let ingest = Ingest::start(&redis.url(), 1000, 1500).await;
    let mut s = TcpStream::connect(ingest.addr).await.expect("connect");
    s.write_all(
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"resourceSpans\": [",
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
        "nothing was answered: {}",
        String::from_utf8_lossy(&answer)
    );
    let m = metrics(&ingest).await;
    assert_eq!(closed_metric(&m, "body_timeout"), 1.0, "{m}");
    assert_eq!(closed_metric(&m, "header_timeout"), 0.0, "{m}");

    // A whole request on a fresh connection is served as ever.
    let (status, reply) = request(
        ingest.addr,
        "POST /v1/traces HTTP/1.1\r\nContent-Type: application/json",
        b"{\"resourceSpans\": []}",
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    ingest.shutdown().await;
}
