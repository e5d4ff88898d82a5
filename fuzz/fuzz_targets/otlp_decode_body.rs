//! The body of the `otlp_decode` fuzz target, shared with the ingest's
//! regression test (`ingest/tests/fuzz_regressions.rs`), so CI runs exactly
//! what the fuzzer runs on every input it ever found.
//!
//! Input: one selector byte (bit 0: JSON instead of protobuf; bit 1: gzip
//! Content-Encoding), then the request body. Decoding and mapping must never
//! panic; whatever decodes maps with consistent counts into events that are
//! each one valid protocol event, and the answer encodes.

use orchestrator_ingest::decode::{self, Encoding};
use orchestrator_ingest::mapping::{self, SpanIndex};

/// Small, so that the fuzzer also exercises the index forgetting spans.
const INDEX: usize = 16;
/// Small, so that gzip bombs are cut early.
const LIMIT: usize = 1 << 20;

/// Runs one input; the events mapped on the first pass (0 when it did not decode).
pub fn run(data: &[u8]) -> usize {
    let Some((&selector, body)) = data.split_first() else {
        return 0;
    };
    let encoding = if selector & 1 == 1 {
        Encoding::Json
    } else {
        Encoding::Protobuf
    };
    let content_encoding = (selector & 2 == 2).then_some("gzip");
    let Ok(raw) = decode::decompress(content_encoding, body, LIMIT) else {
        return 0;
    };
    assert!(raw.len() <= LIMIT, "decompressed past the limit");
    let Ok(request) = decode::decode(encoding, &raw) else {
        return 0;
    };
    let mut index = SpanIndex::new(INDEX);
    let mut first = None;
    // Twice through one index: the second pass finds every span already seen.
    for _ in 0..2 {
        let mapped = mapping::map_request(&request, &mut index);
        let c = &mapped.counts;
        assert_eq!(
            c.spans,
            c.mapped + c.skipped_not_genai + c.rejected_bad_id,
            "every span is counted once: {c:?}"
        );
        assert!(index.len() <= INDEX, "index over its bound");
        for event in &mapped.events {
            let parsed = orchestrator_events::Event::parse(event)
                .unwrap_or_else(|e| panic!("event does not parse ({e}): {event}"));
            assert!(parsed.id.is_none(), "the publish script adds ids: {event}");
            assert!(parsed.run_id.is_some(), "every event has a run: {event}");
        }
        let answer = decode::response(encoding, c.rejected_bad_id, c.message());
        assert!(!answer.is_empty() || encoding == Encoding::Protobuf);
        first.get_or_insert(mapped.events.len());
    }
    first.unwrap_or(0)
}
