//! One client stops reading while the others read.
//!
//! N−1 counting clients ([`Pool`]) and one resuming client read a paced run.
//! In the first phase everyone reads; in the second the resuming client stops
//! reading its socket (as a hung consumer would) while publishing goes on; then
//! it reads again. The readers' p99 latency before and during the stall shows
//! whether one stuck client costs the others anything; the stalled client's
//! tally shows whether what it missed was announced (`dropped`, or the bridge
//! closing it) and recovered by resuming from the stream.

use std::time::Duration;

use crate::chaos::{ChaosRow, Stack, target};
use crate::error::BenchError;
use crate::loadgen::Generator;
use crate::measure::Percentiles;
use crate::resume_client::ResumeClient;
use crate::ws_clients::Pool;

/// Sizes and bridge settings of the scenario.
#[derive(Debug, Clone)]
pub struct SlowOpts {
    /// Clients in all, the stalled one included.
    pub clients: usize,
    /// Events/s.
    pub rate: f64,
    /// Seconds before the stall.
    pub before_secs: f64,
    /// Seconds of stall.
    pub during_secs: f64,
    /// Event size on the wire. Loopback sockets buffer megabytes, so the
    /// stall must outlast the kernel's buffers before the bridge's own policy
    /// (bounded queue, write timeout) is reached at all.
    pub event_bytes: usize,
    /// Extra bridge flags (smaller queue / write timeout for quick runs).
    pub bridge_flags: Vec<String>,
}

impl SlowOpts {
    /// With the bridge's default limits (queue 8,192 frames, write timeout
    /// 10 s): the stall outlasts the kernel's send buffer (up to 4 MiB on
    /// loopback, ~4 s here), then both limits.
    pub fn full() -> SlowOpts {
        SlowOpts {
            clients: 100,
            rate: 1_000.0,
            before_secs: 3.0,
            during_secs: 18.0,
            event_bytes: 1024,
            bridge_flags: Vec::new(),
        }
    }

    /// Small limits so a short stall outlasts them.
    pub fn fast() -> SlowOpts {
        SlowOpts {
            clients: 20,
            rate: 1_000.0,
            before_secs: 1.0,
            during_secs: 4.0,
            event_bytes: 2048,
            bridge_flags: vec![
                "--queue-frames".into(),
                "256".into(),
                "--write-timeout".into(),
                "1s".into(),
            ],
        }
    }
}

fn p99_ms(samples: &mut [u64]) -> String {
    match Percentiles::of(samples) {
        Some(p) => format!("{:.2} ms", p.p99 as f64 / 1e6),
        None => "n/a".into(),
    }
}

/// Runs the scenario; returns a row for the readers and one for the stalled client.
pub async fn run(opts: &SlowOpts) -> Result<Vec<ChaosRow>, BenchError> {
    let flags: Vec<&str> = opts.bridge_flags.iter().map(String::as_str).collect();
    let stack = Stack::start(&flags).await?;
    let readers = opts.clients.saturating_sub(1).max(1);
    let pool = Pool::connect(&stack.bridge.ws_url(""), readers, 32).await?;
    // A small receive buffer, so the stall pushes back on the bridge within
    // kilobytes (loopback would otherwise absorb megabytes).
    let stalled: ResumeClient = stack.client_with(Some(4096)).await?;
    let mut generator = Generator::connect(&stack.redis.url(), target(), "chaos").await?;
    generator.set_event_bytes(opts.event_bytes);
    let first = generator.next_seq();

    // Before: everyone reads.
    pool.begin_run(generator.next_seq(), true);
    let before = generator
        .paced(opts.rate, Duration::from_secs_f64(opts.before_secs))
        .await?;
    pool.wait_all(before.sent, Duration::from_secs(10)).await;
    let tally_before = pool.tally(before.sent);
    let mut lat_before = pool.take_latencies();

    // During: one client stops reading.
    stalled.set_paused(true);
    pool.begin_run(generator.next_seq(), true);
    let during = generator
        .paced(opts.rate, Duration::from_secs_f64(opts.during_secs))
        .await?;
    pool.wait_all(during.sent, Duration::from_secs(10)).await;
    let tally_during = pool.tally(during.sent);
    let mut lat_during = pool.take_latencies();
    let bridge_dropped = stack.bridge.counter("frames_dropped").await;

    // After: it reads again and must catch up from the stream.
    stalled.set_paused(false);
    let total = before.sent + during.sent;
    stalled
        .wait_until(Duration::from_secs(30), |t| {
            (first..first + total).all(|s| t.bench.contains_key(&s))
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let tally = stalled.stop().await;
    pool.close().await;

    let p99_before = p99_ms(&mut lat_before);
    let p99_during = p99_ms(&mut lat_during);
    let sent_to_readers = (before.sent + during.sent) * readers as u64;
    let readers_lost = tally_before.lost + tally_during.lost;
    let readers_dup = tally_before.duplicated + tally_during.duplicated;
    let readers_row = ChaosRow {
        scenario: format!("slow client: {readers} readers"),
        sent: sent_to_readers,
        reached_redis: sent_to_readers,
        received: tally_before.delivered + tally_during.delivered,
        lost: readers_lost,
        duplicated: readers_dup,
        undeliverable: 0,
        undeliverable_reported: true,
        reported: if tally_before.dropped_notices + tally_during.dropped_notices == 0 {
            "none".into()
        } else {
            format!(
                "dropped×{}",
                tally_before.dropped_notices + tally_during.dropped_notices
            )
        },
        notes: vec![format!(
            "readers' p99 before the stall {p99_before}, during it {p99_during} ({} ev/s of {} B, {:.0} s + {:.0} s; counts are events × readers)",
            opts.rate, opts.event_bytes, opts.before_secs, opts.during_secs
        )],
    };

    let received = (first..first + total)
        .filter(|s| tally.bench.contains_key(s))
        .count() as u64;
    let lost = total - received;
    let stalled_row = ChaosRow {
        scenario: "slow client: the stalled one".into(),
        sent: total,
        reached_redis: total,
        received,
        lost,
        duplicated: tally.dup_ids,
        undeliverable: 0,
        undeliverable_reported: true,
        reported: tally.statuses_text(),
        notes: vec![format!(
            "stopped reading for {:.0} s (socket receive buffer 4 KiB); the bridge dropped {bridge_dropped} frames for it (reported to it: {}){}",
            opts.during_secs,
            tally.statuses_text(),
            if tally.connections > 1 {
                format!(
                    "; its connection ended or it was told to resume, so it reconnected {} time(s) with since=<last id> and got the rest from the stream",
                    tally.connections - 1
                )
            } else {
                "; it kept its connection and read the backlog".to_string()
            }
        )],
    };
    Ok(vec![readers_row, stalled_row])
}
