//! `--min-replicas`: the publisher confirms a batch only once `WAIT` says
//! enough replicas hold it, so a failover loses nothing it confirmed; short of
//! replicas it keeps the events (written once, never re-sent blindly) and says why.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

use std::time::{Duration, Instant};

use orchestrator_agent::{Publisher, PublisherOptions};
use orchestrator_events::publish::{StreamEnd, Target, read_stream, strip_id};
use orchestrator_events::source::RedisSource;
use testkit::{RedisServer, SentinelGroup};

fn options(min_replicas: usize, io_timeout: Duration) -> PublisherOptions {
    let mut o = PublisherOptions::new(Target::default(), "replicas-test");
    o.min_replicas = min_replicas;
    o.io_timeout = io_timeout;
    o.backoff_min = Duration::from_millis(20);
    o.backoff_max = Duration::from_millis(200);
    o.batch_max = 64;
    o
}

fn event(i: u64) -> String {
    format!(r#"{{"type":"x","i":{i}}}"#)
}

/// The `i` of every event in the stream at `port`, oldest first.
async fn stored(port: u16) -> Vec<u64> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let stream = Target::default().stream;
    read_stream(&mut conn, &stream, StreamEnd::Oldest, None)
        .await
        .unwrap()
        .iter()
        .map(|(_, frame)| {
            let body = strip_id(frame).expect("our frame");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            v["i"].as_u64().unwrap()
        })
        .collect()
}

async fn until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_keeps_every_confirmed_event_exactly_once() {
    let mut group = SentinelGroup::start().expect("sentinel group");
    assert!(group.wait_master_is(group.master_port(), Duration::from_secs(10)));
    let source = RedisSource::parse(&group.url()).unwrap();
    let publisher = Publisher::start(source, options(1, Duration::from_secs(1)));
    let handle = publisher.handle();

    // Publish continuously, in the background, through the kill.
    let producer = {
        let handle = handle.clone();
        tokio::spawn(async move {
            for i in 0..4000u64 {
                handle.publish(event(i));
                if i % 4 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        })
    };
    until(
        Duration::from_secs(20),
        "events confirmed by the replica",
        || handle.status().published >= 300,
    )
    .await;
    let confirmed = handle.status().published;
    group.kill_master();
    assert!(group.wait_master_is(group.replica_port(), Duration::from_secs(30)));
    producer.await.unwrap();

    // The promoted node has no replica: the publisher gets there, puts what
    // it lacks, and then says it is short of replicas instead of confirming.
    until(
        Duration::from_secs(30),
        "a shortfall on the new master",
        || {
            let s = handle.status();
            s.replication_error.is_some() && s.connected && s.replicas_acked == Some(0)
        },
    )
    .await;
    let status = handle.status();
    assert!(
        status.queued > 0,
        "unconfirmed events stay queued: {status:?}"
    );
    assert!(status.replication_shortfalls > 0);

    let ids = stored(group.replica_port()).await;
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicate: {:?}",
        ids.windows(2).find(|w| w[0] >= w[1])
    );
    assert!(
        ids.len() as u64 >= confirmed && ids[..confirmed as usize].iter().copied().eq(0..confirmed),
        "every one of the {confirmed} events confirmed before the kill is on the new master \
         (it holds {} events, first gap: {:?})",
        ids.len(),
        ids.iter().enumerate().find(|(n, i)| *n as u64 != **i)
    );
    publisher.shutdown(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_replica_nothing_is_confirmed_until_one_appears() {
    let master = RedisServer::start().expect("redis-server");
    let client = redis::Client::open(master.url()).unwrap();
    let publisher = Publisher::start(client, options(1, Duration::from_millis(400)));
    let handle = publisher.handle();
    for i in 0..50 {
        handle.publish(event(i));
    }
    until(Duration::from_secs(20), "three WAIT shortfalls", || {
        handle.status().replication_shortfalls >= 3
    })
    .await;
    let status = handle.status();
    assert_eq!(status.published, 0, "{status:?}");
    assert_eq!(status.queued, 50, "kept: {status:?}");
    assert!(status.connected, "Redis itself answers: {status:?}");
    assert_eq!(status.min_replicas, 1);
    assert_eq!(status.replicas_acked, Some(0));
    let why = status.replication_error.clone().expect("says why");
    assert!(why.contains("0 of 1 replicas"), "{why}");
    // The batch in flight (all 50, or the first few when the publisher woke
    // before the rest were queued) was written once, and is not written
    // again on each retry of WAIT; nothing behind it was sent.
    let written = stored(master.port()).await;
    assert!(
        !written.is_empty() && written.iter().copied().eq(0..written.len() as u64),
        "{written:?}"
    );
    let shortfalls = handle.status().replication_shortfalls;
    until(Duration::from_secs(20), "two more WAIT shortfalls", || {
        handle.status().replication_shortfalls >= shortfalls + 2
    })
    .await;
    assert_eq!(stored(master.port()).await, written, "not re-sent");

    let _replica = RedisServer::start_replica_of(master.port()).expect("replica");
    assert!(
        handle.wait_idle(Duration::from_secs(30)).await,
        "{:?}",
        handle.status()
    );
    let status = handle.status();
    assert_eq!(status.published, 50, "{status:?}");
    assert_eq!(status.replication_error, None);
    assert_eq!(status.replicas_acked, Some(1));
    assert_eq!(stored(master.port()).await, (0..50).collect::<Vec<_>>());
    publisher.shutdown(Duration::from_millis(100)).await;
}
