//! Malformed messages on the channel amid real events.
//!
//! Real events go out through the publish script; between them, raw `PUBLISH`
//! puts garbage on the same channel: text that is not JSON, truncated
//! objects, arrays and scalars, invalid UTF-8, empty messages and a few larger
//! than the bridge's limit. Every real event must reach the client once; no
//! garbage may reach it; and the bridge must have counted every malformed
//! message (`/healthz` `events_invalid`, `/metrics`
//! `bridge_events_invalid_total`) — dropped, but not silently.

use std::time::{Duration, Instant};

use crate::chaos::{ChaosOpts, ChaosRow, Stack, target};
use crate::error::BenchError;
use crate::loadgen::Generator;

/// Messages the bridge must refuse, cycling through the kinds.
pub fn garbage(i: u64, oversize: usize) -> Vec<u8> {
    match i % 10 {
        0 => b"not json at all".to_vec(),
        1 => br#"{"id":"1-0","type":"text_gen"#.to_vec(),
        2 => b"[1,2,3]".to_vec(),
        3 => b"42".to_vec(),
        4 => br#""just a string""#.to_vec(),
        5 => b"null".to_vec(),
        6 => vec![0xff, 0xfe, b'{', b'}', 0x80],
        7 => Vec::new(),
        8 => br#"{"type":"reasoning","content":"unterminated"#.to_vec(),
        _ if i % 1000 == 999 => {
            // Larger than the bridge's --max-event-bytes (1 MiB by default).
            let mut v = br#"{"type":"reasoning","content":""#.to_vec();
            v.resize(oversize, b'x');
            v.extend_from_slice(br#""}"#);
            v
        }
        _ => b"}{".to_vec(),
    }
}

/// Runs the scenario.
pub async fn run(opts: &ChaosOpts) -> Result<ChaosRow, BenchError> {
    let stack = Stack::start(&[]).await?;
    let client = stack.client().await?;
    let mut generator = Generator::connect(&stack.redis.url(), target(), "chaos").await?;
    let invalid0 = stack.bridge.counter("events_invalid").await;
    let first = generator.next_seq();
    let real = opts.real_amid_malformed;
    let bad = opts.malformed;
    let steps = real.div_ceil(5).max(1);
    let bad_per_step = bad.div_ceil(steps);
    let oversize = 1024 * 1024 + 512;
    let (mut sent_real, mut sent_bad) = (0u64, 0u64);
    let deadline = Instant::now() + Duration::from_secs(60);
    while (sent_real < real || sent_bad < bad) && Instant::now() < deadline {
        let k = (real - sent_real).min(5);
        if k > 0 {
            generator.publish_now(k as usize).await?;
            sent_real += k;
        }
        let m = (bad - sent_bad).min(bad_per_step);
        if m > 0 {
            let batch: Vec<Vec<u8>> = (sent_bad..sent_bad + m)
                .map(|i| garbage(i, oversize))
                .collect();
            generator.publish_raw(&batch).await?;
            sent_bad += m;
        }
        // A short pause now and then keeps this a stream rather than one burst.
        if sent_real % 500 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    client
        .wait_until(Duration::from_secs(20), |t| {
            (first..first + sent_real).all(|s| t.bench.contains_key(&s))
        })
        .await;
    let wait = Instant::now() + Duration::from_secs(10);
    let mut invalid = 0;
    while Instant::now() < wait {
        invalid = stack.bridge.counter("events_invalid").await - invalid0;
        if invalid >= sent_bad {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let tally = client.stop().await;

    let received = (first..first + sent_real)
        .filter(|s| tally.bench.contains_key(s))
        .count() as u64;
    let leaked = tally.malformed + tally.foreign;
    let counted_all = invalid == sent_bad;
    Ok(ChaosRow {
        scenario: format!("{} malformed amid {} real", sent_bad, sent_real),
        sent: sent_real,
        reached_redis: sent_real,
        received,
        lost: sent_real - received,
        duplicated: tally.dup_ids,
        // Garbage that reached a client, or that the bridge did not count, is
        // the silent kind of failure this scenario looks for.
        undeliverable: sent_bad - invalid.min(sent_bad) + leaked,
        undeliverable_reported: false,
        reported: tally.statuses_text(),
        notes: vec![format!(
            "{sent_bad} malformed messages published (10 kinds, {} over 1 MiB): the bridge counted {invalid} as invalid in /metrics{}, and {leaked} reached the client",
            sent_bad / 1000,
            if counted_all {
                " (all of them)"
            } else {
                " (NOT all of them)"
            },
        )],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_never_a_json_object() {
        for i in 0..2000 {
            let g = garbage(i, 64);
            let parsed = std::str::from_utf8(&g)
                .ok()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok());
            assert!(
                !matches!(parsed, Some(serde_json::Value::Object(_))) || g.len() >= 64,
                "{i}: {:?}",
                String::from_utf8_lossy(&g)
            );
        }
    }
}
