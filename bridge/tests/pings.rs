//! Keep-alive: pings on an interval; a peer that stops answering is closed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;
use orchestrator_bridge::Config;
use testkit::RedisServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_answering_pings_is_closed_and_a_live_one_is_not() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start_ready(Config {
        ping_interval: Duration::from_millis(150),
        ping_timeout: Duration::from_millis(300),
        ..config(&redis.url())
    })
    .await;

    // A raw socket that completes the handshake and then never reads, so never
    // answers a ping (and, reading raw bytes later, never writes a pong).
    let mut silent = tokio::net::TcpStream::connect(bridge.addr)
        .await
        .expect("connect");
    let handshake = format!(
        "GET /ws/orchestrator HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        bridge.addr
    );
    silent
        .write_all(handshake.as_bytes())
        .await
        .expect("handshake");

    let mut live = connect(&bridge.ws_url("")).await;
    hello(&mut live).await;
    let mut pings = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // Reading lets the client answer pings (tungstenite replies by itself).
        if let Ok(Some(Ok(Message::Ping(_)))) =
            tokio::time::timeout(Duration::from_millis(50), live.next()).await
        {
            pings += 1;
        }
        let m = bridge.metrics().await;
        if metric(
            &m,
            "bridge_connections_closed_total{reason=\"ping_timeout\"}",
        ) == 1.0
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the silent peer was never closed"
        );
    }
    assert!(pings >= 2, "pings arrive on the interval ({pings})");
    // Well past the timeout (reading, hence answering), it is still served.
    let until = Instant::now() + Duration::from_millis(600);
    while Instant::now() < until {
        let _ = tokio::time::timeout(Duration::from_millis(50), live.next()).await;
    }
    let mut p = Publisher::new(&redis.url()).await;
    let ids = p.must(&events(0, 1)).await;
    assert_eq!(id_of(&must_next(&mut live).await), Some(ids[0]));
    let m = bridge.metrics().await;
    assert_eq!(
        metric(
            &m,
            "bridge_connections_closed_total{reason=\"ping_timeout\"}"
        ),
        1.0
    );
    assert_eq!(metric(&m, "bridge_clients"), 1.0);

    // The silent one got, behind its pings, a close frame with code 4000, then EOF.
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), silent.read_to_end(&mut raw))
        .await
        .expect("closed by the bridge")
        .expect("read");
    let close_4000 = raw
        .windows(4)
        .any(|w| w[0] == 0x88 && w[2..4] == [0x0f, 0xa0]);
    assert!(close_4000, "no close frame with code 4000");
}
