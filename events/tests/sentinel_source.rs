//! `RedisSource` against a real master, replica and three Sentinels: it finds
//! the master, follows a failover, and names a wrong master name clearly.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

use std::time::{Duration, Instant};

use orchestrator_events::source::{RedisSource, ResolveError};
use testkit::SentinelGroup;

async fn role(client: &redis::Client) -> String {
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect to the resolved node");
    let role: Vec<redis::Value> = redis::cmd("ROLE")
        .query_async(&mut conn)
        .await
        .expect("ROLE");
    match role.first() {
        Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
        other => format!("{other:?}"),
    }
}

#[tokio::test]
async fn resolves_the_master_and_follows_a_failover() {
    let mut group = SentinelGroup::start().expect("sentinel group");
    assert!(group.wait_master_is(group.master_port(), Duration::from_secs(10)));
    let source = RedisSource::parse(&group.url()).expect("url parses");
    assert!(source.is_sentinel());

    let client = source.client().await.expect("resolves the master");
    let master = format!("127.0.0.1:{}", group.master_port());
    assert_eq!(source.master().as_deref(), Some(master.as_str()));
    assert_eq!(role(&client).await, "master");
    assert_eq!(source.failovers(), 0);

    group.kill_master();
    assert!(group.wait_master_is(group.replica_port(), Duration::from_secs(30)));
    // The Sentinels may still be reconfiguring the promoted node: retry briefly.
    let deadline = Instant::now() + Duration::from_secs(20);
    let client = loop {
        match source.client().await {
            Ok(c) if source.master() != Some(master.clone()) => break c,
            other => {
                assert!(Instant::now() < deadline, "no new master: {other:?}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let promoted = format!("127.0.0.1:{}", group.replica_port());
    assert_eq!(source.master().as_deref(), Some(promoted.as_str()));
    assert_eq!(role(&client).await, "master");
    assert_eq!(source.failovers(), 1);
}

#[tokio::test]
async fn a_wrong_master_name_is_a_clear_error() {
    let group = SentinelGroup::start().expect("sentinel group");
    let url = group.url().replace(testkit::MASTER_NAME, "nosuchmaster");
    let source = RedisSource::parse(&url).expect("url parses");
    let err = source.client().await.expect_err("unknown name");
    assert!(
        matches!(&err, ResolveError::UnknownMaster { name, .. } if name == "nosuchmaster"),
        "{err:?}"
    );
    assert!(err.to_string().contains("\"nosuchmaster\""), "{err}");
}
