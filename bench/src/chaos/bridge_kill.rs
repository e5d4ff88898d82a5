//! The bridge SIGKILLed at a random moment of a run, and restarted on the same
//! port after a random pause. Redis keeps every event in the stream, so the
//! resuming client — reconnecting with `since=<last id>&epoch=<epoch>` — must
//! end with every event exactly once.

use std::time::Duration;

use rand::Rng;

use crate::chaos::{ChaosOpts, ChaosRow, PacedRun, Stack, classify, republished, wait_received};
use crate::error::BenchError;
use crate::loadgen::Fate;

/// Runs the scenario.
pub async fn run(opts: &ChaosOpts) -> Result<ChaosRow, BenchError> {
    let mut stack = Stack::start(&[]).await?;
    let client = stack.client().await?;
    let run = PacedRun::start(&stack, opts, Duration::from_secs(20)).await?;
    let first = run.first;
    let n = opts.events;
    let killed_after = run.reach_random_point(opts).await;
    stack.bridge.kill();
    let down = Duration::from_millis(rand::rng().random_range(100..600));
    tokio::time::sleep(down).await;
    stack.bridge.restart(Duration::from_secs(20)).await?;

    let (report, fates) = run.finish().await?;
    wait_received(
        &client,
        first,
        &fates,
        |f| matches!(f, Fate::Acked(_)),
        Duration::from_secs(20),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let tally = client.stop().await;

    let (received, lost, undeliverable) = classify(first, &fates, &tally, |_| true);
    let republished = republished(first, n, &tally);
    let mut notes = vec![format!(
        "bridge SIGKILLed after {killed_after} of {n} events were acknowledged, down {} ms; client connections {} ({} failed attempts while it was down)",
        down.as_millis(),
        tally.connections,
        tally.connect_failures
    )];
    if republished > 0 {
        notes.push(format!("{republished} events arrived twice with different ids (publisher re-sent after an in-doubt failure)"));
    }
    Ok(ChaosRow {
        scenario: "bridge SIGKILL + restart".into(),
        sent: n,
        reached_redis: report.sent,
        received,
        lost,
        duplicated: tally.dup_ids,
        undeliverable,
        undeliverable_reported: undeliverable == 0,
        reported: tally.statuses_text(),
        notes,
    })
}
