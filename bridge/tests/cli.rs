//! The binary: --help, one-line errors, signals.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;
use testkit::{ChildGuard, RedisServer, free_port};
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_orchestrator-bridge");

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("REDIS_URL")
        .env_remove("ORCH_BRIDGE_TOKEN")
        .output()
        .expect("run the binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_lists_every_flag_and_its_variable() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for needle in [
        "--listen",
        "ORCH_BRIDGE_LISTEN",
        "--redis-url",
        "REDIS_URL",
        "--channel",
        "ORCH_CHANNEL",
        "--stream",
        "ORCH_STREAM",
        "--token",
        "ORCH_BRIDGE_TOKEN",
        "--allowed-origins",
        "--queue-frames",
        "ORCH_BRIDGE_QUEUE_FRAMES",
        "--queue-bytes",
        "--stream-maxlen",
        "--write-timeout",
        "--max-connections-per-ip",
        "--connect-rate",
        "--max-message-bytes",
        "--max-query-bytes",
        "--max-event-bytes",
        "--ping-interval",
        "--header-timeout",
        "ORCH_BRIDGE_HEADER_TIMEOUT",
        "--body-timeout",
        "ORCH_BRIDGE_BODY_TIMEOUT",
        "--idle-timeout",
        "ORCH_BRIDGE_IDLE_TIMEOUT",
        "--max-pending",
        "ORCH_BRIDGE_MAX_PENDING",
        "--max-pending-per-ip",
        "ORCH_BRIDGE_MAX_PENDING_PER_IP",
        "127.0.0.1:8000",
    ] {
        assert!(out.contains(needle), "--help lacks {needle}:\n{out}");
    }
}

#[test]
fn user_errors_are_one_line_without_backtrace() {
    let (code, _, err) = run(&["--no-such-flag"]);
    assert_eq!(code, 2);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("--no-such-flag"), "{err}");

    let (code, _, err) = run(&["--redis-url", "http://user:pw-secret@host"]);
    assert_eq!(code, 2);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("invalid Redis URL") && !err.contains("pw-secret"),
        "{err}"
    );

    let (code, _, err) = run(&["--listen", "not-an-address"]);
    assert_eq!(code, 2);
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let (code, _, err) = run(&["--ping-interval", "soon"]);
    assert_eq!(code, 2);
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // A taken port.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let (code, _, err) = run(&["--listen", &addr, "--redis-url", "redis://127.0.0.1:1"]);
    assert_eq!(code, 1);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot listen on") && !err.contains("panicked"),
        "{err}"
    );
}

async fn spawn_bridge(redis_url: &str) -> (ChildGuard, std::net::SocketAddr) {
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], free_port().expect("port")).into();
    let child = Command::new(BIN)
        .args(["--listen", &addr.to_string(), "--redis-url", redis_url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let child = ChildGuard(child);
    assert!(
        testkit::wait_for_port(addr, Duration::from_secs(10)),
        "listens"
    );
    (child, addr)
}

async fn signal_closes_clients_and_exits(signal: &str) {
    let redis = RedisServer::start().expect("redis-server");
    let (mut child, addr) = spawn_bridge(&redis.url()).await;
    let mut ws = connect(&format!("ws://{addr}/ws/orchestrator")).await;
    hello(&mut ws).await;

    let sent = Instant::now();
    child.signal(signal).expect("signal");
    let close = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(msg) = ws.next().await {
            if let Ok(Message::Close(frame)) = msg {
                return frame;
            }
        }
        None
    })
    .await
    .expect("close frame within 2 s")
    .expect("close frame with a code");
    assert_eq!(u16::from(close.code), 1001);
    let status = child
        .wait_timeout(Duration::from_secs(2))
        .expect("wait")
        .expect("exited within 2 s");
    assert!(status.success(), "{status}");
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "{:?}",
        sent.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_clients_with_1001_and_exits_within_2s() {
    signal_closes_clients_and_exits("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_closes_clients_with_1001_and_exits_within_2s() {
    signal_closes_clients_and_exits("INT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_and_serves_with_redis_down() {
    let mut redis = RedisServer::start().expect("redis-server");
    redis.kill();
    let (_child, addr) = spawn_bridge(&redis.url()).await;
    let (status, body) = http_get(addr, "/healthz", &[]).await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""redis":"down""#), "{body}");
}
