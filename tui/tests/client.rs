//! The headless client against a local WebSocket server that plays the
//! bridge: query parameters, frames, reconnect with resume, deduplication,
//! refill after `dropped`, fatal HTTP answers, backoff, idle detection.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Server, event, hello};
use futures_util::SinkExt;
use orchestrator_events::{EventKind, StreamId};
use orchestrator_tui::client::{Backoff, ClientConfig, ClientEvent, ConnState, spawn_client};
use tokio::sync::mpsc::Receiver;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_util::sync::CancellationToken;

fn fast(url: &str) -> ClientConfig {
    let mut c = ClientConfig::new(url).expect("valid url");
    c.backoff = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
        factor: 2.0,
    };
    c
}

async fn next(rx: &mut Receiver<ClientEvent>) -> ClientEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .expect("client running")
}

/// Waits for the next frame, skipping state changes.
async fn next_frame(rx: &mut Receiver<ClientEvent>) -> orchestrator_tui::Frame {
    loop {
        if let ClientEvent::Frame(f) = next(rx).await {
            return f;
        }
    }
}

/// Waits for a state matching `want`, returning the states seen before it.
async fn until_state(
    rx: &mut Receiver<ClientEvent>,
    want: impl Fn(&ConnState) -> bool,
) -> Vec<ConnState> {
    let mut seen = Vec::new();
    loop {
        match next(rx).await {
            ClientEvent::State(s) if want(&s) => return seen,
            ClientEvent::State(s) => seen.push(s),
            ClientEvent::Frame(f) => panic!("unexpected frame {}", f.text),
        }
    }
}

#[tokio::test]
async fn passes_types_and_token_and_delivers_every_frame_raw_and_parsed() {
    let mut server = Server::start().await;
    let mut config = fast(&server.url)
        .with_types("tool_use,error")
        .expect("types");
    config.token = Some("s3cret".into());
    let cancel = CancellationToken::new();
    let mut rx = spawn_client(config, cancel.clone());
    let mut conn = server.next().await;
    assert_eq!(conn.param("types").as_deref(), Some("tool_use,error"));
    assert_eq!(conn.param("token").as_deref(), Some("s3cret"));
    assert_eq!(
        conn.param("since"),
        None,
        "a first connection does not resume"
    );
    assert!(matches!(
        next(&mut rx).await,
        ClientEvent::State(ConnState::Connecting { attempt: 1 })
    ));
    assert!(matches!(
        next(&mut rx).await,
        ClientEvent::State(ConnState::Live)
    ));

    conn.send(hello("e1")).await;
    conn.send_event(1).await;
    conn.send("{not json").await;
    conn.send(r#"{"type":"from_the_future","x":1}"#).await;
    conn.ws
        .send(Message::binary(vec![0xff, 0xfe]))
        .await
        .expect("send");
    conn.ws
        .send(Message::binary(event(2).into_bytes()))
        .await
        .expect("send");

    let f = next_frame(&mut rx).await;
    assert!(matches!(
        f.event.as_ref().map(|e| &e.kind),
        Ok(EventKind::BridgeHello(_))
    ));
    let f = next_frame(&mut rx).await;
    assert_eq!(f.text, event(1));
    assert_eq!(
        f.event.as_ref().ok().and_then(|e| e.id),
        Some(StreamId::new(1, 0))
    );
    let f = next_frame(&mut rx).await;
    assert_eq!(f.text, "{not json");
    assert!(f.event.is_err());
    let f = next_frame(&mut rx).await;
    assert!(matches!(
        f.event.as_ref().map(|e| &e.kind),
        Ok(EventKind::Other { .. })
    ));
    let f = next_frame(&mut rx).await;
    assert!(
        f.event.is_err() && f.text.contains("not UTF-8"),
        "{}",
        f.text
    );
    let f = next_frame(&mut rx).await;
    assert_eq!(f.text, event(2), "a UTF-8 binary frame is read as text");
    cancel.cancel();
}

#[tokio::test]
async fn resumes_with_since_and_epoch_and_holds_each_event_once() {
    let mut server = Server::start().await;
    let cancel = CancellationToken::new();
    let mut rx = spawn_client(fast(&server.url), cancel.clone());

    // First connection: events 1..=5, then the server goes away mid-stream.
    let mut conn = server.next().await;
    conn.send(hello("epoch-A")).await;
    for ms in 1..=5 {
        conn.send_event(ms).await;
    }
    drop(conn);

    // The client comes back asking for what it missed.
    let mut conn = server.next().await;
    assert_eq!(conn.param("since").as_deref(), Some("5-0"));
    assert_eq!(conn.param("epoch").as_deref(), Some("epoch-A"));
    // The replay overlaps what the client already has (3..=5), then goes on.
    conn.send(hello("epoch-A")).await;
    for ms in 3..=10 {
        conn.send_event(ms).await;
    }
    conn.send(r#"{"type":"bridge_status","status":"replay_done","message":"","replayed":8}"#)
        .await;

    let mut counts: HashMap<StreamId, u32> = HashMap::new();
    let mut states = Vec::new();
    while counts.len() < 10 {
        match next(&mut rx).await {
            ClientEvent::Frame(f) => {
                if let Some(id) = f.event.ok().and_then(|e| e.id) {
                    *counts.entry(id).or_default() += 1;
                }
            }
            ClientEvent::State(s) => states.push(s),
        }
    }
    assert!(
        counts.values().all(|&n| n == 1),
        "every event exactly once: {counts:?}"
    );
    assert!(
        states
            .iter()
            .any(|s| matches!(s, ConnState::Reconnecting { .. })),
        "the drop was reported: {states:?}"
    );
    cancel.cancel();
}

#[tokio::test]
async fn refills_the_hole_after_a_dropped_report() {
    let mut server = Server::start().await;
    let cancel = CancellationToken::new();
    let mut rx = spawn_client(fast(&server.url), cancel.clone());

    let mut conn = server.next().await;
    conn.send(hello("e")).await;
    conn.send_event(1).await;
    conn.send_event(2).await;
    // Events 3..=5 were dropped for this slow client; live goes on with 6.
    conn.send(r#"{"type":"bridge_status","status":"dropped","message":"slow","dropped":3,"resume_from":"2-0"}"#)
        .await;
    let _ = conn.ws.send(Message::text(event(6))).await;

    // The client reconnects at once from the hole's start...
    let mut conn2 = server.next().await;
    assert_eq!(conn2.param("since").as_deref(), Some("2-0"));
    Server::drain(conn);
    conn2.send(hello("e")).await;
    for ms in 3..=7 {
        conn2.send_event(ms).await;
    }
    let mut ids = Vec::new();
    while ids.len() < 7 {
        if let ClientEvent::Frame(f) = next(&mut rx).await
            && let Some(id) = f.event.ok().and_then(|e| e.id)
        {
            ids.push(id.ms);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        7,
        "each of 1..=7 once (6 may have come before the refill)"
    );
    // ...and a later reconnect resumes from the newest id, not the old hole.
    drop(conn2);
    let conn3 = server.next().await;
    assert_eq!(conn3.param("since").as_deref(), Some("7-0"));
    cancel.cancel();
}

#[tokio::test]
async fn unauthorized_is_fatal_and_not_retried() {
    let server = Server::start().await;
    *server.refuse.lock().expect("lock") = Some(StatusCode::UNAUTHORIZED);
    let cancel = CancellationToken::new();
    let mut rx = spawn_client(fast(&server.url), cancel.clone());
    let before = until_state(&mut rx, |s| matches!(s, ConnState::Failed { .. })).await;
    assert_eq!(before, vec![ConnState::Connecting { attempt: 1 }]);
    // The task ends: the channel closes.
    assert!(
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("ends")
            .is_none()
    );
    assert_eq!(server.seen.lock().expect("lock").len(), 1);
    drop(server);
}

#[tokio::test]
async fn backs_off_while_the_server_is_unavailable_and_gives_up_when_told() {
    let server = Server::start().await;
    *server.refuse.lock().expect("lock") = Some(StatusCode::SERVICE_UNAVAILABLE);
    let mut config = fast(&server.url);
    config.max_attempts = Some(4);
    let cancel = CancellationToken::new();
    let mut rx = spawn_client(config, cancel.clone());
    let before = until_state(&mut rx, |s| matches!(s, ConnState::Failed { .. })).await;
    let delays: Vec<Duration> = before
        .iter()
        .filter_map(|s| match s {
            ConnState::Reconnecting { delay, reason, .. } => {
                assert!(reason.contains("503"), "{reason}");
                Some(*delay)
            }
            _ => None,
        })
        .collect();
    assert_eq!(delays.len(), 3);
    // Equal jitter: each delay is within [ceiling/2, ceiling] of 20, 40, 80 ms.
    for (d, ceiling) in delays.iter().zip([20u64, 40, 80]) {
        assert!(
            *d >= Duration::from_millis(ceiling / 2) && *d <= Duration::from_millis(ceiling),
            "{delays:?}"
        );
    }
    assert_eq!(server.seen.lock().expect("lock").len(), 4);
    drop(server);
}

#[tokio::test]
async fn keeps_retrying_until_a_server_appears() {
    // Nothing listens on this port yet.
    let port = testkit::free_port().expect("free port");
    let url = format!("ws://127.0.0.1:{port}/ws/orchestrator");
    let cancel = CancellationToken::new();
    let mut rx = spawn_client(fast(&url), cancel.clone());
    until_state(&mut rx, |s| {
        matches!(s, ConnState::Reconnecting { attempt: 2, .. })
    })
    .await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    let (stream, _) = listener.accept().await.expect("the client comes");
    let mut ws = tokio_tungstenite::accept_async(stream)
        .await
        .expect("handshake");
    until_state(&mut rx, |s| *s == ConnState::Live).await;
    ws.send(Message::text(event(1))).await.expect("send");
    assert_eq!(next_frame(&mut rx).await.text, event(1));
    cancel.cancel();
    // Cancelling ends the task and closes the channel.
    loop {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("ends")
        {
            None => break,
            Some(_) => continue,
        }
    }
}

#[tokio::test]
async fn a_silent_connection_is_replaced() {
    let mut server = Server::start().await;
    let mut config = fast(&server.url);
    config.ping_interval = Duration::from_millis(50);
    config.idle_timeout = Duration::from_millis(300);
    let cancel = CancellationToken::new();
    let mut rx = spawn_client(config, cancel.clone());
    // Accept and never read: pings go unanswered.
    let _silent = server.next().await;
    let states = until_state(&mut rx, |s| matches!(s, ConnState::Reconnecting { .. })).await;
    assert!(states.contains(&ConnState::Live));
    let _second = server.next().await;
    cancel.cancel();
}

#[tokio::test]
async fn history_reset_forgets_seen_ids() {
    let mut server = Server::start().await;
    let cancel = CancellationToken::new();
    let mut rx = spawn_client(fast(&server.url), cancel.clone());
    let mut conn = server.next().await;
    conn.send_event(5).await;
    conn.send(r#"{"type":"bridge_status","status":"history_reset","message":"new epoch"}"#)
        .await;
    // After a reset the same id is a new event.
    conn.send_event(5).await;
    let mut fives = 0;
    for _ in 0..3 {
        let f = next_frame(&mut rx).await;
        if f.event.ok().and_then(|e| e.id) == Some(StreamId::new(5, 0)) {
            fives += 1;
        }
    }
    assert_eq!(fives, 2);
    // The epoch the reset announced is the one the next resume names.
    conn.send(
        r#"{"type":"bridge_status","status":"history_reset","message":"again","epoch":"epoch-B"}"#,
    )
    .await;
    let _ = next_frame(&mut rx).await;
    drop(conn);
    let conn = server.next().await;
    assert_eq!(conn.param("epoch").as_deref(), Some("epoch-B"));
    assert_eq!(conn.param("since").as_deref(), Some("5-0"));
    cancel.cancel();
}
