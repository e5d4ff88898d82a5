//! The publish script against a real, private redis-server: one order, one id.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

use futures_util::StreamExt;
use orchestrator_events::publish::{Target, publish_batch, script};
use orchestrator_events::{Peek, StreamId};
use redis::AsyncCommands;
use testkit::RedisServer;

#[tokio::test]
async fn live_frames_carry_their_stream_ids_and_match_the_stream_byte_for_byte() {
    let server = RedisServer::start().expect("redis-server");
    let client = redis::Client::open(server.url()).expect("url");
    let mut pubsub = client.get_async_pubsub().await.expect("pubsub");
    let target = Target::default();
    pubsub.subscribe(&target.channel).await.expect("subscribe");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("conn");
    let script = script();

    let events: Vec<String> = (0..50)
        .map(|i| format!(r#"{{"type":"text_generation","data":"chunk {i}","seq":{i}}}"#))
        .collect();
    let mut ids = publish_batch(&mut conn, &script, &target, &events[..20])
        .await
        .expect("publish");
    ids.extend(
        publish_batch(&mut conn, &script, &target, &events[20..])
            .await
            .expect("publish"),
    );
    assert_eq!(ids.len(), 50);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids strictly increase: {ids:?}"
    );

    let mut live = Vec::new();
    let mut messages = pubsub.on_message();
    while live.len() < 50 {
        let msg = messages.next().await.expect("message");
        live.push(msg.get_payload::<String>().expect("utf8"));
    }
    let entries: redis::streams::StreamRangeReply =
        conn.xrange_all(&target.stream).await.expect("xrange");
    assert_eq!(entries.ids.len(), 50);
    for ((frame, entry), id) in live.iter().zip(&entries.ids).zip(&ids) {
        let stored: String = entry.get("event").expect("event field");
        assert_eq!(
            &stored, frame,
            "replayed frame is byte-for-byte the live one"
        );
        assert_eq!(entry.id, id.to_string());
        let peek = Peek::parse(frame).expect("frame is an object");
        assert_eq!(peek.stream_id(), Some(*id));
        assert!(frame.starts_with(&format!(r#"{{"id":"{id}","type":"#)));
    }
}

#[tokio::test]
async fn ids_keep_increasing_after_trimming_and_cap_holds() {
    let server = RedisServer::start().expect("redis-server");
    let client = redis::Client::open(server.url()).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("conn");
    let target = Target {
        maxlen: 100,
        ..Target::default()
    };
    let script = script();
    let mut last = StreamId::ZERO;
    for _ in 0..20 {
        let batch: Vec<String> = (0..50).map(|_| r#"{"type":"x"}"#.to_string()).collect();
        for id in publish_batch(&mut conn, &script, &target, &batch)
            .await
            .expect("publish")
        {
            assert!(id > last);
            last = id;
        }
    }
    let len: u64 = conn.xlen(&target.stream).await.expect("xlen");
    assert!((100..300).contains(&len), "approximately capped, got {len}");
    // An explicit XADD by someone else with a far-future id is respected.
    let _: String = redis::cmd("XADD")
        .arg(&target.stream)
        .arg("99999999999999-5")
        .arg("event")
        .arg("{}")
        .query_async(&mut conn)
        .await
        .expect("xadd");
    let ids = publish_batch(
        &mut conn,
        &script,
        &target,
        &[r#"{"type":"x"}"#.to_string(), "{}".to_string()],
    )
    .await
    .expect("publish");
    assert_eq!(
        ids,
        vec![
            StreamId::new(99999999999999, 6),
            StreamId::new(99999999999999, 7)
        ]
    );
}

#[tokio::test]
async fn survives_script_cache_flush_after_restart() {
    let mut server = RedisServer::start().expect("redis-server");
    let target = Target::default();
    let script = script();
    let client = redis::Client::open(server.url()).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("conn");
    publish_batch(&mut conn, &script, &target, &[r#"{"type":"x"}"#.into()])
        .await
        .expect("publish");
    server.restart().expect("restart");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("conn");
    let ids = publish_batch(&mut conn, &script, &target, &[r#"{"type":"x"}"#.into()])
        .await
        .expect("publish");
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn read_stream_gives_back_what_was_published_from_either_end() {
    use orchestrator_events::publish::{StreamEnd, read_stream};
    let server = RedisServer::start().expect("redis-server");
    let client = redis::Client::open(server.url()).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("conn");
    let target = Target::default();
    let events: Vec<String> = (0..5)
        .map(|i| format!(r#"{{"type":"x","n":{i}}}"#))
        .collect();
    let ids = publish_batch(&mut conn, &script(), &target, &events)
        .await
        .expect("publish");
    // Someone else's entry, without the event field, is skipped.
    let _: String = redis::cmd("XADD")
        .arg(&target.stream)
        .arg("*")
        .arg("other")
        .arg("x")
        .query_async(&mut conn)
        .await
        .expect("xadd");

    let all = read_stream(&mut conn, &target.stream, StreamEnd::Oldest, None)
        .await
        .expect("read");
    assert_eq!(all.iter().map(|(id, _)| *id).collect::<Vec<_>>(), ids);
    assert_eq!(
        all[0].1,
        format!(r#"{{"id":"{}","type":"x","n":0}}"#, ids[0])
    );

    let newest = read_stream(&mut conn, &target.stream, StreamEnd::Newest, Some(3))
        .await
        .expect("read");
    assert_eq!(
        newest.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        vec![ids[4], ids[3]]
    );
}
