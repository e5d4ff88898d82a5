//! Redis SIGKILLed at a random moment of a run and restarted after a random
//! pause. Persistence is off (as in the test Redis), so the restarted Redis is
//! empty: a new epoch.
//!
//! The generator keeps every unacknowledged batch and re-sends it until Redis
//! answers, so each event ends up acknowledged either by the Redis that was
//! killed or by the new one. Counted at the resuming client:
//!
//! - acknowledged by the new Redis and not received: **lost** (must be 0);
//! - acknowledged by the killed Redis and not received: reached a Redis that
//!   then crashed without persistence — *undeliverable*, and it must have been
//!   reported to the client (`redis_down`, `history_reset`), never silent;
//! - received twice with one id: **duplicated** (must be 0); received with two
//!   ids: re-published by the generator after a failure whose outcome it could
//!   not know (noted).

use std::time::Duration;

use rand::Rng;

use crate::chaos::{ChaosOpts, ChaosRow, PacedRun, Stack, classify, republished, wait_received};
use crate::error::BenchError;
use crate::loadgen::Fate;
use crate::measure::now_ns;

/// Runs the scenario (needs a multi-threaded runtime).
pub async fn run(opts: &ChaosOpts) -> Result<ChaosRow, BenchError> {
    let mut stack = Stack::start(&[]).await?;
    let client = stack.client().await?;
    let run = PacedRun::start(&stack, opts, Duration::from_secs(30)).await?;
    let first = run.first;
    let n = opts.events;
    let killed_after = run.reach_random_point(opts).await;
    let t_kill = now_ns();
    tokio::task::block_in_place(|| stack.redis.server.kill());
    let down = Duration::from_millis(rand::rng().random_range(200..1000));
    tokio::time::sleep(down).await;
    // Taken before the restart: whatever is acknowledged from here on was
    // acknowledged by the new Redis (the restart's wait for its first PING can
    // be long on a loaded machine, and the generator's backlog goes out in it).
    let t_restart = now_ns();
    tokio::task::block_in_place(|| stack.redis.server.restart())
        .map_err(crate::harness::HarnessError::from)?;

    let (report, fates) = run.finish().await?;
    let after_restart = |f: &Fate| matches!(f, Fate::Acked(t) if *t >= t_restart);
    wait_received(
        &client,
        first,
        &fates,
        after_restart,
        Duration::from_secs(30),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let tally = client.stop().await;

    let (received, lost, undeliverable) = classify(first, &fates, &tally, |t| t >= t_restart);
    let before_kill = fates
        .iter()
        .filter(|f| matches!(f, Fate::Acked(t) if *t < t_kill))
        .count();
    let not_acked = fates.iter().filter(|f| matches!(f, Fate::NotAcked)).count();
    let republished = republished(first, n, &tally);
    let told = tally.status("history_reset") > 0 || tally.status("redis_down") > 0;
    let mut notes = vec![format!(
        "Redis SIGKILLed after {killed_after} of {n} events were acknowledged, down {} ms (+ restart); {before_kill} acknowledged by the killed Redis, {} by the new one, {not_acked} never",
        down.as_millis(),
        report.sent as usize - before_kill,
    )];
    if undeliverable > 0 {
        notes.push(format!(
            "{undeliverable} events did not reach Redis durably (acknowledged by the killed, non-persistent Redis, or never acknowledged) and were not delivered; the client was told: {}",
            tally.statuses_text()
        ));
    }
    if republished > 0 {
        notes.push(format!(
            "{republished} events arrived twice with different ids: the generator re-sent a batch whose first attempt reached Redis before the kill (no way to check a crashed Redis)"
        ));
    }
    Ok(ChaosRow {
        scenario: "Redis SIGKILL + restart".into(),
        sent: n,
        reached_redis: report.sent,
        received,
        lost,
        duplicated: tally.dup_ids,
        undeliverable,
        undeliverable_reported: told,
        reported: tally.statuses_text(),
        notes,
    })
}
