//! The Sentinel group really fails over when its master is SIGKILLed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job
use std::time::Duration;

#[test]
fn sentinels_promote_the_replica_after_the_master_is_killed() {
    let mut g = testkit::SentinelGroup::start().expect("start group");
    assert!(g.wait_master_is(g.master_port(), Duration::from_secs(10)));
    g.kill_master();
    assert!(!g.master_reachable());
    assert!(g.wait_master_is(g.replica_port(), Duration::from_secs(30)));
}
