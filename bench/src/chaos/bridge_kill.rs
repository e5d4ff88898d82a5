//! The bridge SIGKILLed at a random moment of a run, and restarted on the same
//! port after a random pause. Redis keeps every event in the stream, so the
//! resuming client — reconnecting with `since=<last id>&epoch=<epoch>` — must
//! end with every event exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;

use crate::chaos::{
    ChaosOpts, ChaosRow, Stack, classify, random_point, republished, target, wait_progress,
    wait_received,
};
use crate::error::BenchError;
use crate::loadgen::{Fate, Generator};

/// Runs the scenario.
pub async fn run(opts: &ChaosOpts) -> Result<ChaosRow, BenchError> {
    let mut stack = Stack::start(&[]).await?;
    let client = stack.client().await?;
    let mut generator = Generator::connect(&stack.redis.url(), target(), "chaos").await?;
    let first = generator.next_seq();
    let n = opts.events;
    let rate = opts.rate;
    let progress = Arc::new(AtomicU64::new(0));
    let p = progress.clone();
    let deadline = Instant::now() + Duration::from_secs_f64(n as f64 / rate * 3.0 + 20.0);
    let publisher = tokio::spawn(async move {
        generator
            .resilient(rate, n, deadline, move |k| p.store(k, Ordering::Relaxed))
            .await
    });

    let kill_at = random_point(n, 0.2, 0.7);
    wait_progress(
        &progress,
        kill_at,
        Duration::from_secs_f64(n as f64 / rate * 2.0 + 10.0),
    )
    .await;
    let killed_after = progress.load(Ordering::Relaxed);
    stack.bridge.kill();
    let down = Duration::from_millis(rand::rng().random_range(100..600));
    tokio::time::sleep(down).await;
    stack.bridge.restart(Duration::from_secs(20)).await?;

    let (report, fates) = publisher
        .await
        .map_err(|e| BenchError::Failed(format!("publisher task: {e}")))?;
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
