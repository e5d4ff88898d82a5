//! Replay: `since=` joined to live traffic with no gap and no duplicate,
//! `last=`, trimmed history (gap report) and lost history (epoch).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use orchestrator_bridge::Config;
use orchestrator_events::StreamId;
use orchestrator_events::publish::Target;
use serde_json::Value;
use testkit::RedisServer;

/// Reads frames until the event with id `until`; returns event ids and bridge frames.
async fn read_until(ws: &mut Client, until: StreamId) -> (Vec<StreamId>, Vec<Value>) {
    let mut ids = Vec::new();
    let mut notices = Vec::new();
    loop {
        let f = must_next(ws).await;
        if f["type"] == "bridge_status" {
            notices.push(f);
            continue;
        }
        let id = id_of(&f).expect("event id");
        ids.push(id);
        if id == until {
            return (ids, notices);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_while_publishing_continuously_is_contiguous_across_the_seam() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start_ready(Config {
        // Small pages: many round trips while events keep arriving.
        replay_page: 50,
        ..config(&redis.url())
    })
    .await;

    let published = Arc::new(Mutex::new(Vec::new()));
    let log = published.clone();
    let url = redis.url();
    let publisher = tokio::spawn(async move {
        let mut p = Publisher::new(&url).await;
        for batch in 0..800 {
            let ids = p.must(&events(batch * 5, 5)).await;
            log.lock().expect("lock").extend(ids);
            tokio::task::yield_now().await;
        }
    });
    // Join while the publisher is running.
    let since = loop {
        if let Some(id) = published.lock().expect("lock").get(500).copied() {
            break id;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let mut ws = connect(&bridge.ws_url(&format!("since={since}"))).await;
    hello(&mut ws).await;
    publisher.await.expect("publisher");

    let published = published.lock().expect("lock").clone();
    let last = *published.last().expect("published");
    let (ids, notices) = read_until(&mut ws, last).await;
    let expected: Vec<StreamId> = published.into_iter().filter(|id| *id > since).collect();
    assert_eq!(ids.len(), expected.len(), "gap or duplicate at the seam");
    assert_eq!(ids, expected);
    assert!(
        notices
            .iter()
            .any(|n| n["status"] == "replay_done" && n["replayed"].as_u64() > Some(0)),
        "{notices:?}"
    );
    assert!(!notices.iter().any(|n| n["status"] == "gap"), "{notices:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_replays_the_newest_n_matching_then_goes_live() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start_ready(config(&redis.url())).await;
    let mut p = Publisher::new(&redis.url()).await;
    let ids = p.must(&events(0, 100)).await;

    let mut ws = connect(&bridge.ws_url("last=10")).await;
    let h = hello(&mut ws).await;
    assert_eq!(h["newest_id"], ids[99].to_string());
    let mut got = Vec::new();
    for _ in 0..10 {
        got.push(id_of(&must_next(&mut ws).await).expect("id"));
    }
    assert_eq!(got, ids[90..].to_vec());
    let done = must_next(&mut ws).await;
    assert_eq!(done["status"], "replay_done", "{done}");
    assert_eq!(done["replayed"], 10);
    let live = p.must(&events(100, 1)).await;
    assert_eq!(id_of(&must_next(&mut ws).await), Some(live[0]));

    // With a filter, `last` counts matching events.
    let mixed: Vec<String> = (0..30)
        .map(|i| {
            let kind = if i % 3 == 0 { "tool_use" } else { "reasoning" };
            event(kind, "orchestrator", "r", 200 + i)
        })
        .collect();
    let mixed_ids = p.must(&mixed).await;
    let mut tools = connect(&bridge.ws_url("last=3&types=tool_use")).await;
    hello(&mut tools).await;
    let want: Vec<StreamId> = vec![mixed_ids[21], mixed_ids[24], mixed_ids[27]];
    let mut got = Vec::new();
    for _ in 0..3 {
        let f = must_next(&mut tools).await;
        assert_eq!(f["type"], "tool_use");
        got.push(id_of(&f).expect("id"));
    }
    assert_eq!(got, want);
    assert_eq!(must_next(&mut tools).await["status"], "replay_done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_older_than_the_stream_replays_what_exists_and_reports_the_gap() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start_ready(config(&redis.url())).await;
    let target = Target {
        maxlen: 100,
        ..Target::default()
    };
    let mut p = Publisher::with_target(&redis.url(), target).await;
    let mut ids = Vec::new();
    for batch in 0..10 {
        ids.extend(p.must(&events(batch * 100, 100)).await);
    }
    let since = ids[10];
    let mut ws = connect(&bridge.ws_url(&format!("since={since}"))).await;
    hello(&mut ws).await;
    let gap = must_next(&mut ws).await;
    assert_eq!(gap["status"], "gap", "{gap}");
    assert_eq!(gap["from"], since.to_string());
    let oldest: StreamId = gap["to"].as_str().expect("to").parse().expect("id");
    assert!(oldest > ids[11], "the stream was trimmed past since");
    let (got, notices) = read_until(&mut ws, *ids.last().expect("ids")).await;
    let expected: Vec<StreamId> = ids.iter().copied().filter(|id| *id >= oldest).collect();
    assert_eq!(got, expected, "replays what exists, contiguously");
    assert!(notices.is_empty(), "{notices:?}");
    assert_eq!(must_next(&mut ws).await["status"], "replay_done");
    let metrics = bridge.metrics().await;
    assert_eq!(metric(&metrics, "bridge_replay_gaps_total"), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_from_a_lost_epoch_is_told_history_was_reset() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start_ready(config(&redis.url())).await;
    let mut p = Publisher::new(&redis.url()).await;
    let ids = p.must(&events(0, 5)).await;

    let mut first = connect(&bridge.ws_url("")).await;
    let epoch = hello(&mut first).await["epoch"]
        .as_str()
        .expect("hello carries the epoch")
        .to_string();

    // Same epoch: a plain resume.
    let mut same = connect(&bridge.ws_url(&format!("since={}&epoch={epoch}", ids[2]))).await;
    hello(&mut same).await;
    assert_eq!(id_of(&must_next(&mut same).await), Some(ids[3]));
    assert_eq!(id_of(&must_next(&mut same).await), Some(ids[4]));
    assert_eq!(must_next(&mut same).await["status"], "replay_done");

    // An epoch that no longer exists: told, then the current history from its start.
    let mut stale = connect(&bridge.ws_url(&format!("since={}&epoch=deadbeef", ids[2]))).await;
    hello(&mut stale).await;
    let reset = must_next(&mut stale).await;
    assert_eq!(reset["status"], "history_reset", "{reset}");
    assert_eq!(reset["epoch"], epoch);
    let (got, _) = read_until(&mut stale, ids[4]).await;
    assert_eq!(got, ids);
    assert_eq!(must_next(&mut stale).await["status"], "replay_done");

    // since=0-0 is "everything the stream holds".
    let mut all = connect(&bridge.ws_url("since=0-0")).await;
    hello(&mut all).await;
    let (got, notices) = read_until(&mut all, ids[4]).await;
    assert_eq!(got, ids);
    assert!(notices.is_empty());
}
