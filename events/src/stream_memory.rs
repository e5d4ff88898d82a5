//! How much memory the replay stream can take in Redis, worst case.
//!
//! Producers cap each large field of an event (`truncate`), and the stream is
//! capped in entries (`MAXLEN ~`), so the stream's memory has a bound that
//! can be stated and checked at start: the agent and the ingest both log a
//! warning when it exceeds `--stream-memory-warn`. The bound is only worth
//! stating if it holds against what Redis itself reports (`MEMORY USAGE`), so
//! it counts what Redis really allocates, measured on Redis 7 with jemalloc:
//!
//! - an entry larger than `stream-node-max-bytes` (4 KiB) gets a listpack of
//!   its own, and jemalloc rounds every allocation up to its size class:
//!   four classes per power of two, so up to 25 % more (a 17,023-byte entry
//!   takes a 20 KiB allocation, measured 20,782 bytes per entry with its
//!   radix-tree node);
//! - `MAXLEN ~` trims whole nodes only, so up to `stream-node-max-entries`
//!   (100) entries more than the cap stay.

/// Default threshold of the start-up warning (`--stream-memory-warn`): 512 MiB.
pub const DEFAULT_STREAM_MEMORY_WARN: u64 = 512 * 1024 * 1024;

/// Bytes an event takes beyond its capped fields: the envelope, the other
/// fields and the JSON around them, with room for a `truncated` object.
pub const EVENT_ENVELOPE_BYTES: u64 = 1024;

/// Bytes a stream entry takes in its listpack beyond the event's JSON (the
/// entry's id delta, field count and lengths).
pub const STREAM_ENTRY_OVERHEAD_BYTES: u64 = 64;

/// Bytes a stream node takes beyond its listpack: the radix-tree node and
/// key (measured ≈ 300; rounded up).
pub const STREAM_NODE_OVERHEAD_BYTES: u64 = 512;

/// Entries a stream may hold beyond its `MAXLEN ~` cap: approximate trimming
/// removes whole nodes only, of at most `stream-node-max-entries` (100 by
/// default) entries.
pub const STREAM_TRIM_SLACK_ENTRIES: u64 = 100;

/// The largest event a producer publishes with fields capped at
/// `max_field_bytes`: each event has one capped field (the leaves of
/// `tool_input`/`output` share one budget) plus the envelope. Counted in raw
/// bytes: a string of control characters, which JSON escapes as `\u00XX`,
/// could exceed it.
pub fn largest_event_bytes(max_field_bytes: usize) -> u64 {
    (max_field_bytes as u64).saturating_add(EVENT_ENVELOPE_BYTES)
}

/// The size jemalloc hands out for a request of `bytes`: size classes are
/// spaced a quarter of the power of two below them (16 KiB, 20 KiB, 24 KiB,
/// 28 KiB, 32 KiB, 40 KiB, …), and small sizes round to 16 bytes.
pub fn allocation_class(bytes: u64) -> u64 {
    if bytes <= 64 {
        return bytes.div_ceil(16).max(1) * 16;
    }
    let floor_log2 = 63 - u64::from((bytes - 1).leading_zeros());
    let step = 1u64 << (floor_log2 - 2);
    bytes.div_ceil(step).saturating_mul(step)
}

/// Bytes one stream entry of the largest event can take in Redis.
pub fn entry_worst_case(max_field_bytes: usize) -> u64 {
    allocation_class(largest_event_bytes(max_field_bytes) + STREAM_ENTRY_OVERHEAD_BYTES)
        .saturating_add(STREAM_NODE_OVERHEAD_BYTES)
}

/// The worst case of the stream's memory: `maxlen` entries plus the trimming
/// slack, every one of them the largest event.
pub fn worst_case(maxlen: u64, max_field_bytes: usize) -> u64 {
    maxlen
        .saturating_add(STREAM_TRIM_SLACK_ENTRIES)
        .saturating_mul(entry_worst_case(max_field_bytes))
}

/// Logs a warning when the worst case exceeds `warn_above` bytes; returns the
/// worst case. Called once at start by every producer.
pub fn warn_if_over(maxlen: u64, max_field_bytes: usize, warn_above: u64) -> u64 {
    let worst = worst_case(maxlen, max_field_bytes);
    if worst > warn_above {
        tracing::warn!(
            worst_case_bytes = worst,
            stream_maxlen = maxlen,
            largest_event_bytes = largest_event_bytes(max_field_bytes),
            warn_above,
            "the event stream may grow past --stream-memory-warn (stream maxlen × largest \
             event); lower --stream-maxlen or --max-field-bytes"
        );
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_classes_match_jemalloc() {
        assert_eq!(allocation_class(1), 16);
        assert_eq!(allocation_class(16_384), 16_384);
        assert_eq!(allocation_class(16_385), 20_480);
        assert_eq!(allocation_class(17_100), 20_480);
        assert_eq!(allocation_class(20_481), 24_576);
        assert_eq!(allocation_class(33_000), 40_960);
        assert_eq!(allocation_class(4_097), 5_120);
    }

    #[test]
    fn the_default_worst_case_is_stated_in_the_readme() {
        // 10,100 × (20 KiB + 512 B): the README says ≈ 212 MB.
        let worst = worst_case(10_000, 16 * 1024);
        assert_eq!(worst, 10_100 * (20_480 + 512));
        assert_eq!(worst / 1_000_000, 212);
    }
}
