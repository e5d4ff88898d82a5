//! Hardening: token, allowed origins, connection limits, message and query
//! sizes, and secrets kept out of logs. Each rule is tested both ways.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use futures_util::{SinkExt, StreamExt};
use orchestrator_bridge::Config;
use testkit::{ChildGuard, RedisServer, free_port};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// Tries a WebSocket upgrade with extra headers: `Ok(client)` or `Err((status, body))`.
async fn try_connect(url: &str, headers: &[(&str, &str)]) -> Result<Client, (u16, String)> {
    let mut req = url.into_client_request().expect("request");
    for (k, v) in headers {
        req.headers_mut().insert(
            warp::http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
            v.parse().expect("value"),
        );
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(resp)) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err((resp.status().as_u16(), body))
        }
        Err(e) => panic!("unexpected error {e}"),
    }
}

async fn refused(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    match try_connect(url, headers).await {
        Ok(_) => panic!("{url} should have been refused"),
        Err(r) => r,
    }
}

async fn accepted(url: &str, headers: &[(&str, &str)]) -> Client {
    match try_connect(url, headers).await {
        Ok(mut ws) => {
            hello(&mut ws).await;
            ws
        }
        Err((status, body)) => panic!("{url} refused with {status}: {body}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_required_when_set() {
    let redis = RedisServer::start().expect("redis-server");
    let token = "s3cret-token+/=";
    let bridge = TestBridge::start_ready(Config {
        token: Some(token.into()),
        ..config(&redis.url())
    })
    .await;
    let encoded = "s3cret-token%2B%2F%3D";

    // Refused: none, wrong in the query, wrong bearer, right token in the wrong scheme.
    let (status, body) = refused(&bridge.ws_url(""), &[]).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("token"), "{body}");
    assert_eq!(refused(&bridge.ws_url("token=wrong"), &[]).await.0, 401);
    assert_eq!(
        refused(&bridge.ws_url(""), &[("authorization", "Bearer wrong")])
            .await
            .0,
        401
    );
    let basic = format!("Basic {token}");
    assert_eq!(
        refused(&bridge.ws_url(""), &[("authorization", &basic)])
            .await
            .0,
        401
    );
    // Unauthenticated requests learn nothing about their other parameters.
    assert_eq!(refused(&bridge.ws_url("since=garbage"), &[]).await.0, 401);
    let (_, head, _) = http_request(
        bridge.addr,
        "/ws/orchestrator",
        &[
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
    )
    .await;
    assert!(
        head.to_ascii_lowercase()
            .contains("www-authenticate: bearer"),
        "{head}"
    );

    // Accepted: in the query (URL-encoded), or as a bearer token.
    accepted(&bridge.ws_url(&format!("token={encoded}")), &[]).await;
    let bearer = format!("Bearer {token}");
    accepted(&bridge.ws_url(""), &[("authorization", &bearer)]).await;

    // /healthz is open and does not show the token; /metrics needs it.
    let (status, body) = http_get(bridge.addr, "/healthz", &[]).await;
    assert_eq!(status, 200);
    assert!(!body.contains("s3cret"), "{body}");
    let (status, _) = http_get(bridge.addr, "/metrics", &[]).await;
    assert_eq!(status, 401);
    let (status, _) = http_get(bridge.addr, "/metrics?token=wrong", &[]).await;
    assert_eq!(status, 401);
    let (status, body) = http_get(bridge.addr, &format!("/metrics?token={encoded}"), &[]).await;
    assert_eq!(status, 200);
    let (status, _) = http_get(bridge.addr, "/metrics", &[("Authorization", &bearer)]).await;
    assert_eq!(status, 200);
    // Six WebSocket attempts and two /metrics requests were refused.
    assert_eq!(
        metric(
            &body,
            "bridge_connections_refused_total{reason=\"unauthorized\"}"
        ),
        8.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origins_are_checked_exactly() {
    let redis = RedisServer::start().expect("redis-server");

    // Default: no browser origin at all; clients without Origin are fine.
    let closed = TestBridge::start_ready(config(&redis.url())).await;
    let (status, body) = refused(&closed.ws_url(""), &[("origin", "http://localhost:3000")]).await;
    assert_eq!(status, 403);
    assert!(body.contains("--allowed-origins"), "{body}");
    accepted(&closed.ws_url(""), &[]).await;

    let listed = TestBridge::start_ready(Config {
        allowed_origins: vec!["http://localhost:3000".into(), "https://ops.example".into()],
        ..config(&redis.url())
    })
    .await;
    accepted(&listed.ws_url(""), &[("origin", "http://localhost:3000")]).await;
    accepted(&listed.ws_url(""), &[("origin", "https://ops.example")]).await;
    accepted(&listed.ws_url(""), &[]).await;
    for bad in [
        "http://evil.example",
        "http://localhost:3000/",
        "http://localhost:30000",
        "https://localhost:3000",
        "null",
    ] {
        assert_eq!(
            refused(&listed.ws_url(""), &[("origin", bad)]).await.0,
            403,
            "{bad}"
        );
    }
    let m = listed.metrics().await;
    assert_eq!(
        metric(
            &m,
            "bridge_connections_refused_total{reason=\"forbidden_origin\"}"
        ),
        5.0
    );

    let any = TestBridge::start_ready(Config {
        allowed_origins: vec!["*".into()],
        ..config(&redis.url())
    })
    .await;
    accepted(&any.ws_url(""), &[("origin", "http://evil.example")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limits_total_per_ip_and_rate() {
    let redis = RedisServer::start().expect("redis-server");

    // Total.
    let bridge = TestBridge::start_ready(Config {
        max_connections: 2,
        ..config(&redis.url())
    })
    .await;
    let a = accepted(&bridge.ws_url(""), &[]).await;
    let _b = accepted(&bridge.ws_url(""), &[]).await;
    let (status, body) = refused(&bridge.ws_url(""), &[]).await;
    assert_eq!(status, 503, "{body}");
    drop(a);
    bridge.wait_clients(1).await;
    let _c = accepted(&bridge.ws_url(""), &[]).await;
    let m = bridge.metrics().await;
    assert_eq!(
        metric(
            &m,
            "bridge_connections_refused_total{reason=\"too_many_connections\"}"
        ),
        1.0
    );

    // Per IP.
    let bridge = TestBridge::start_ready(Config {
        max_connections_per_ip: 2,
        ..config(&redis.url())
    })
    .await;
    let a = accepted(&bridge.ws_url(""), &[]).await;
    let _b = accepted(&bridge.ws_url(""), &[]).await;
    let (status, body) = refused(&bridge.ws_url(""), &[]).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("your address"), "{body}");
    drop(a);
    bridge.wait_clients(1).await;
    let _c = accepted(&bridge.ws_url(""), &[]).await;
    let m = bridge.metrics().await;
    assert_eq!(
        metric(
            &m,
            "bridge_connections_refused_total{reason=\"too_many_per_ip\"}"
        ),
        1.0
    );

    // New connections per second.
    let bridge = TestBridge::start_ready(Config {
        new_connections_per_ip_per_sec: 3,
        ..config(&redis.url())
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(accepted(&bridge.ws_url(""), &[]).await);
    }
    let (status, _) = refused(&bridge.ws_url(""), &[]).await;
    assert_eq!(status, 429);
    // The bucket refills: within about a second a new connection is accepted.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match try_connect(&bridge.ws_url(""), &[]).await {
            Ok(_) => break,
            Err((429, _)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err((status, body)) => panic!("still refused: {status} {body}"),
        }
    }
    let m = bridge.metrics().await;
    assert!(
        metric(
            &m,
            "bridge_connections_refused_total{reason=\"rate_limited\"}"
        ) >= 1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_queries_and_replays_are_refused() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start_ready(Config {
        max_inbound_message_bytes: 1024,
        max_query_bytes: 200,
        stream_maxlen: 50,
        ..config(&redis.url())
    })
    .await;

    // Inbound message size: under the limit is ignored, over it closes with 1009.
    let mut ws = accepted(&bridge.ws_url(""), &[]).await;
    ws.send(Message::text("x".repeat(1000)))
        .await
        .expect("small send");
    ws.send(Message::text("x".repeat(4096)))
        .await
        .expect("big send");
    let mut code = None;
    while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        if let Ok(Message::Close(Some(frame))) = msg {
            code = Some(u16::from(frame.code));
            break;
        }
    }
    assert_eq!(code, Some(1009));
    let deadline = Instant::now() + Duration::from_secs(5);
    while metric(
        &bridge.metrics().await,
        "bridge_connections_closed_total{reason=\"too_big\"}",
    ) != 1.0
    {
        assert!(Instant::now() < deadline, "too_big not counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Query string length: at the limit passes, one byte over gets 414.
    let pad = |n: usize| format!("x={}", "a".repeat(n - 2));
    accepted(&bridge.ws_url(&pad(200)), &[]).await;
    assert_eq!(refused(&bridge.ws_url(&pad(201)), &[]).await.0, 414);

    // `last` at most the stream cap.
    accepted(&bridge.ws_url("last=50"), &[]).await;
    let (status, body) = refused(&bridge.ws_url("last=51"), &[]).await;
    assert_eq!(status, 400);
    assert!(body.contains("0 to 50"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neither_the_token_nor_the_redis_password_is_ever_logged() {
    let password = "redis-pass-7f3a";
    let token = "bridge-token-9c1e";
    let redis = RedisServer::start_with_password(password).expect("redis-server");
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], free_port().expect("port")).into();
    let log = tempfile_path();
    let child = Command::new(env!("CARGO_BIN_EXE_orchestrator-bridge"))
        .args(["--listen", &addr.to_string()])
        .env("REDIS_URL", redis.url())
        .env("ORCH_BRIDGE_TOKEN", token)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("spawn");
    let mut child = ChildGuard(child);
    assert!(testkit::wait_for_port(addr, Duration::from_secs(10)));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !http_get(addr, "/healthz", &[])
        .await
        .1
        .contains(r#""redis":"up""#)
    {
        assert!(Instant::now() < deadline, "bridge never reached Redis");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let url = format!("ws://{addr}/ws/orchestrator");
    let bearer = format!("Bearer {token}");
    let _ws = accepted(&format!("{url}?token={token}"), &[]).await;
    let _ws2 = accepted(&url, &[("authorization", &bearer)]).await;
    refused(&format!("{url}?token=wrong-{token}"), &[]).await;
    http_get(addr, &format!("/metrics?token={token}"), &[]).await;
    child.signal("TERM").expect("stop");
    child.wait_timeout(Duration::from_secs(5)).expect("wait");

    let text = std::fs::read_to_string(&log).expect("log");
    let _ = std::fs::remove_file(&log);
    assert!(text.contains("bridge listening"), "the log was captured");
    assert!(!text.contains(password), "the Redis password was logged");
    assert!(!text.contains(token), "the token was logged");
}

fn tempfile_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "bridge-log-{}-{}.txt",
        std::process::id(),
        free_port().unwrap_or(0)
    ))
}
