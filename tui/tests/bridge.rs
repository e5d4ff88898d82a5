//! End to end: the client's connection task against the real bridge and a real
//! redis-server. The bridge is stopped and restarted mid-stream while events
//! keep being published; counted by id, the client holds every event exactly
//! once.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use orchestrator_events::publish::{Target, publish_batch, script};
use orchestrator_events::{EventKind, StreamId};
use orchestrator_tui::client::{Backoff, ClientConfig, ClientEvent, ConnState, spawn_client};
use testkit::RedisServer;
use tokio::net::TcpListener;
use tokio::sync::mpsc::Receiver;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// One bridge process-equivalent: its task and its stop token.
struct Bridge {
    stop: CancellationToken,
    task: JoinHandle<Result<(), orchestrator_bridge::BridgeError>>,
}

impl Bridge {
    async fn start(addr: SocketAddr, redis_url: &str) -> Bridge {
        // The port was just released by the previous bridge; retry briefly.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(addr).await {
                Ok(l) => break l,
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot bind {addr}: {e}"),
            }
        };
        let config = orchestrator_bridge::Config {
            redis_url: redis_url.to_string(),
            ..orchestrator_bridge::Config::default()
        };
        let stop = CancellationToken::new();
        let task = tokio::spawn(orchestrator_bridge::run(listener, config, stop.clone()));
        Bridge { stop, task }
    }

    async fn stop(self) {
        self.stop.cancel();
        let result = tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the bridge stops within 10 s")
            .expect("bridge task");
        result.expect("the bridge ran cleanly");
    }
}

/// What the client delivered: events counted by id, states, greetings.
#[derive(Default)]
struct Held {
    counts: HashMap<StreamId, u32>,
    states: Vec<ConnState>,
    hellos: u32,
    /// Every bridge frame (hello, status) as received, for failure reports.
    notices: Vec<String>,
}

impl Held {
    fn absorb(&mut self, ev: ClientEvent) {
        match ev {
            ClientEvent::State(s) => self.states.push(s),
            ClientEvent::Frame(f) => match f.event {
                Ok(e) if matches!(e.kind, EventKind::BridgeHello(_)) => {
                    self.hellos += 1;
                    self.notices.push(f.text);
                }
                Ok(e) if matches!(e.kind, EventKind::BridgeStatus(_)) => self.notices.push(f.text),
                Ok(e) => {
                    if let Some(id) = e.id {
                        *self.counts.entry(id).or_default() += 1;
                    }
                }
                Err(err) => panic!("malformed frame from the bridge: {err}: {}", f.text),
            },
        }
    }

    fn drain(&mut self, rx: &mut Receiver<ClientEvent>) {
        while let Ok(ev) = rx.try_recv() {
            self.absorb(ev);
        }
    }

    async fn recv_for(&mut self, rx: &mut Receiver<ClientEvent>, wait: Duration) {
        if let Ok(Some(ev)) = tokio::time::timeout(wait, rx.recv()).await {
            self.absorb(ev);
        }
    }
}

fn events(from: u64, n: u64) -> Vec<String> {
    (from..from + n)
        .map(|i| {
            format!(
                r#"{{"type":"tool_use","tool_name":"count","tool_input":{{"i":{i}}},"tool_use_id":"t{i}","agent":"e2e","run_id":"run-1","seq":{i}}}"#
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_the_bridge_mid_stream_loses_and_duplicates_nothing() {
    let redis = RedisServer::start().expect("redis-server");
    let client = redis::Client::open(redis.url()).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis connection");
    let publish = script();
    let target = Target::default();

    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let bridge = Bridge::start(addr, &redis.url()).await;

    let mut config = ClientConfig::new(&format!("ws://{addr}/ws/orchestrator")).expect("url");
    config.backoff = Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(400),
        factor: 2.0,
    };
    let cancel = CancellationToken::new();
    let mut rx = spawn_client(config, cancel.clone());

    let mut held = Held::default();
    // Wait until the client is live and greeted before publishing.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while held.hellos == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no bridge_hello; states: {:?}",
            held.states
        );
        held.recv_for(&mut rx, Duration::from_millis(100)).await;
    }

    let mut published: Vec<StreamId> = Vec::new();
    let mut next = 0u64;
    let mut bridge = Some(bridge);
    for round in 0..30u64 {
        let batch = events(next, 10);
        next += 10;
        let ids = publish_batch(&mut conn, &publish, &target, &batch)
            .await
            .expect("publish");
        published.extend(ids);
        if round == 10 {
            // Stop the bridge mid-stream; events keep coming while it is down.
            if let Some(b) = bridge.take() {
                b.stop().await;
            }
        }
        if round == 17 {
            bridge = Some(Bridge::start(addr, &redis.url()).await);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        held.drain(&mut rx);
    }

    // Wait until the client holds everything that was published.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while held.counts.len() < published.len() {
        if tokio::time::Instant::now() >= deadline {
            let missing: Vec<(usize, &StreamId)> = published
                .iter()
                .enumerate()
                .filter(|(_, id)| !held.counts.contains_key(id))
                .collect();
            panic!(
                "client holds {} of {} events; missing (index, id): {missing:?}; states: {:?}; bridge frames: {:#?}",
                held.counts.len(),
                published.len(),
                held.states,
                held.notices
            );
        }
        held.recv_for(&mut rx, Duration::from_millis(100)).await;
    }
    // Give any late duplicate a moment to show up, then count.
    tokio::time::sleep(Duration::from_millis(300)).await;
    held.drain(&mut rx);
    let Held {
        counts,
        states,
        hellos,
        ..
    } = held;

    assert_eq!(published.len(), 300);
    let dupes: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(dupes.is_empty(), "events held more than once: {dupes:?}");
    for id in &published {
        assert_eq!(counts.get(id), Some(&1), "event {id} missing");
    }
    assert_eq!(
        counts.len(),
        published.len(),
        "nothing the publisher did not send"
    );
    assert!(
        states
            .iter()
            .any(|s| matches!(s, ConnState::Reconnecting { .. })),
        "the restart was noticed: {states:?}"
    );
    assert!(hellos >= 2, "greeted again by the restarted bridge");

    cancel.cancel();
    if let Some(b) = bridge {
        b.stop().await;
    }
}
