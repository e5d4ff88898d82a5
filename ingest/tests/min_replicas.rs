//! `--min-replicas` in the ingest's publish queue: with no replica nothing
//! leaves the queue (written once, not re-sent on each retry) and `/healthz`
//! and `/metrics` say why; once a replica appears the queue drains.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

use std::sync::Arc;
use std::time::{Duration, Instant};

use orchestrator_events::publish::{StreamEnd, Target, read_stream};
use orchestrator_events::source::RedisSource;
use orchestrator_ingest::metrics::Metrics;
use orchestrator_ingest::sink::Sink;
use testkit::RedisServer;
use tokio_util::sync::CancellationToken;

async fn stream_len(server: &RedisServer) -> usize {
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    read_stream(
        &mut conn,
        &Target::default().stream,
        StreamEnd::Oldest,
        None,
    )
    .await
    .unwrap()
    .len()
}

async fn until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stay_queued_until_a_replica_has_them() {
    let master = RedisServer::start().expect("redis-server");
    let metrics = Arc::new(Metrics::default());
    let sink = Sink::new(1 << 20, metrics.clone());
    let stop = CancellationToken::new();
    let task = tokio::spawn(sink.clone().run(
        RedisSource::parse(&master.url()).unwrap(),
        Target::default(),
        1,
        stop.clone(),
        Duration::from_millis(100),
    ));
    let events: Vec<String> = (0..20)
        .map(|i| format!(r#"{{"type":"x","i":{i}}}"#))
        .collect();
    sink.push(events).await.unwrap();

    until(Duration::from_secs(20), "two WAIT shortfalls", || {
        metrics.replication_shortfalls() >= 2
    })
    .await;
    assert_eq!(metrics.published_total(), 0);
    assert_eq!(metrics.queued_events(), 20, "kept in the queue");
    let health = metrics.health("redis://x");
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["redis"]["up"], true, "{health}");
    assert_eq!(health["redis"]["min_replicas"], 1, "{health}");
    assert_eq!(health["redis"]["replicas_acked"], 0, "{health}");
    assert!(
        health["redis"]["replication_error"]
            .as_str()
            .unwrap()
            .contains("0 of 1 replicas"),
        "{health}"
    );
    assert!(
        metrics
            .render()
            .lines()
            .any(|l| l.starts_with("ingest_replication_shortfalls_total ") && !l.ends_with(" 0")),
        "counted in /metrics"
    );
    assert_eq!(
        stream_len(&master).await,
        20,
        "written once, not on every retry"
    );

    let _replica = RedisServer::start_replica_of(master.port()).expect("replica");
    until(Duration::from_secs(30), "the queue to drain", || {
        metrics.queued_events() == 0
    })
    .await;
    assert_eq!(metrics.published_total(), 20);
    assert_eq!(metrics.health("redis://x")["status"], "ok");
    assert_eq!(stream_len(&master).await, 20, "still once each");
    stop.cancel();
    task.await.unwrap();
}
