//! The fault suite's quick scenarios, as tests: real redis-server, the bridge
//! and agent binaries (debug build), small counts. Each asserts the target —
//! nothing that reached Redis is lost or duplicated at a resuming client, and
//! whatever could not be delivered was reported to it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

use orchestrator_bench::chaos::{self, ChaosOpts, ChaosRow};

fn check(row: &ChaosRow) {
    assert_eq!(row.lost, 0, "lost events: {row:#?}");
    assert_eq!(row.duplicated, 0, "duplicated events: {row:#?}");
    assert!(row.ok(), "undeliverable events were not reported: {row:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sigkill_loses_nothing_that_reached_it_durably_and_reports_the_reset() {
    let row = chaos::redis_kill::run(&ChaosOpts::fast())
        .await
        .expect("scenario runs");
    check(&row);
    assert_eq!(
        row.reached_redis, row.sent,
        "the generator re-sends until Redis is back"
    );
    assert!(
        row.reported.contains("history_reset"),
        "a Redis restart without persistence is a new epoch and must be reported: {row:#?}"
    );
    assert_eq!(row.received + row.undeliverable, row.sent, "{row:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_mid_run_loses_and_duplicates_nothing() {
    let row = chaos::failover::run(&ChaosOpts::fast())
        .await
        .expect("scenario runs");
    check(&row);
    assert_eq!(row.received, row.sent, "every run whole: {row:#?}");
    assert!(
        row.reported.contains("redis_down") && row.reported.contains("redis_up"),
        "the client was told of the failover: {row:#?}"
    );
    assert!(!row.reported.contains("gap"), "{row:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_sigkill_resumes_without_loss_or_duplicates() {
    let row = chaos::bridge_kill::run(&ChaosOpts::fast())
        .await
        .expect("scenario runs");
    check(&row);
    assert_eq!(row.received, row.sent, "{row:#?}");
    assert_eq!(row.undeliverable, 0, "{row:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_restarts_lose_nothing_that_reached_redis() {
    let row = chaos::agent_restart::run(&ChaosOpts::fast())
        .await
        .expect("scenario runs");
    check(&row);
    assert!(row.reached_redis > 0, "{row:#?}");
    assert_eq!(row.received, row.reached_redis, "{row:#?}");
    assert!(
        row.notes
            .iter()
            .any(|n| n.contains("that run ended cancelled")),
        "a SIGTERM mid-run ends the run as cancelled: {row:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_recovers_everything_and_the_readers_lose_nothing() {
    let rows = chaos::slow_client::run(&ChaosOpts::fast().slow)
        .await
        .expect("scenario runs");
    assert_eq!(rows.len(), 2);
    for row in &rows {
        check(row);
        assert_eq!(row.received, row.sent, "{row:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_counted_and_never_reach_clients() {
    let row = chaos::malformed::run(&ChaosOpts::fast())
        .await
        .expect("scenario runs");
    check(&row);
    assert_eq!(row.received, row.sent, "{row:#?}");
    assert_eq!(
        row.undeliverable, 0,
        "garbage leaked or went uncounted: {row:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_costs_the_readers_nothing_and_leaves_room_for_new_clients() {
    let row = chaos::slowloris::run(&ChaosOpts::fast().slowloris)
        .await
        .expect("scenario runs");
    check(&row);
    assert_eq!(row.received, row.sent, "{row:#?}");
    let notes = row.notes.join("\n");
    assert!(
        !notes.contains("FAILED"),
        "a new client or /healthz did not get through: {notes}"
    );
    assert!(
        !notes.contains("pending_limit 0,"),
        "the attacker's excess was not refused: {notes}"
    );
}
