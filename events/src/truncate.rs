//! Caps on the size of an event's large values.
//!
//! Why: every event is copied into the Redis stream, to every WebSocket client
//! and into every monitor's ring. One pasted document must not cost each of
//! them its full size, so the producer cuts large values before publishing and
//! says so in an additive `truncated` object (`{"input": 1009930}`: the field
//! name and its original size in bytes). Old consumers keep it as an unknown
//! field.
//!
//! What is capped: the string fields `input`, `data`, `content`, `reason` and
//! `message`, and the string leaves of the JSON values `tool_input` and
//! `output`. The string leaves of one value share one budget of `cap` bytes,
//! taken in document order, so a value with many strings is bounded too. Cuts
//! fall on a UTF-8 character boundary, so the result is always valid UTF-8 and
//! valid JSON. The original size of a string field is its length in bytes; of
//! a JSON value, the length of its compact serialisation.
//!
//! Nothing is touched when nothing is over the cap: the event stays
//! byte-identical and gets no `truncated` key.

use serde_json::{Map, Value};

use crate::event::{Event, EventKind};

/// The key of the additive object naming each cut field.
pub const TRUNCATED_KEY: &str = "truncated";

/// The default cap on one field, in bytes (16 KiB).
pub const DEFAULT_MAX_FIELD_BYTES: usize = 16 * 1024;

/// Cuts `s` to at most `cap` bytes on a character boundary. Returns the
/// original length in bytes when it cut, `None` when `s` already fit.
pub fn truncate_str(s: &mut String, cap: usize) -> Option<usize> {
    if s.len() <= cap {
        return None;
    }
    let original = s.len();
    let mut end = cap;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    Some(original)
}

/// Cuts the string leaves of `value` so that together they take at most `cap`
/// bytes (document order; keys are not cut). Returns the original length of
/// the compact serialisation of `value` when it cut, `None` when it fit.
pub fn truncate_value(value: &mut Value, cap: usize) -> Option<usize> {
    if string_bytes(value) <= cap {
        return None;
    }
    let original = serialized_len(value);
    let mut budget = cap;
    cut_leaves(value, &mut budget);
    Some(original)
}

/// The total length of the string leaves of `value`, stopping early is not
/// worth it: values are small in the common case.
fn string_bytes(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(string_bytes).sum(),
        Value::Object(map) => map.values().map(string_bytes).sum(),
        _ => 0,
    }
}

fn cut_leaves(value: &mut Value, budget: &mut usize) {
    match value {
        Value::String(s) => {
            truncate_str(s, *budget);
            *budget -= s.len();
        }
        Value::Array(items) => items.iter_mut().for_each(|v| cut_leaves(v, budget)),
        Value::Object(map) => map.values_mut().for_each(|v| cut_leaves(v, budget)),
        _ => {}
    }
}

/// The length of `value`'s compact JSON, counted without building the string.
fn serialized_len(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail; a Value always serialises.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// What [`cap_event`] cut: each field's name and original size in bytes, in
/// the order the fields were visited.
pub type Truncated = Map<String, Value>;

/// Caps the large fields of `event` at `cap` bytes each and records what it
/// cut in `event.extra["truncated"]` (merged with any object already there).
/// Returns what it cut; empty (and the event untouched) when all fit.
pub fn cap_event(event: &mut Event, cap: usize) -> Truncated {
    let mut cut = Truncated::new();
    let mut note = |name: &str, original: Option<usize>| {
        if let Some(size) = original {
            cut.insert(name.to_owned(), Value::from(size));
        }
    };
    match &mut event.kind {
        EventKind::RunStarted(p) => note("input", truncate_str(&mut p.input, cap)),
        EventKind::TextGeneration(p) => note("data", truncate_str(&mut p.data, cap)),
        EventKind::Reasoning(p) => note("content", truncate_str(&mut p.content, cap)),
        EventKind::ToolUse(p) => note("tool_input", truncate_value(&mut p.tool_input, cap)),
        EventKind::ToolResult(p) => note("output", truncate_value(&mut p.output, cap)),
        EventKind::RunFinished(p) => {
            if let Some(reason) = p.reason.as_mut() {
                note("reason", truncate_str(reason, cap));
            }
        }
        EventKind::Error(p) => note("message", truncate_str(&mut p.message, cap)),
        EventKind::BridgeHello(_) | EventKind::BridgeStatus(_) | EventKind::Other { .. } => {}
    }
    if !cut.is_empty() {
        match event.extra.get_mut(TRUNCATED_KEY) {
            Some(Value::Object(existing)) => {
                existing.extend(cut.iter().map(|(k, v)| (k.clone(), v.clone())))
            }
            _ => {
                event
                    .extra
                    .insert(TRUNCATED_KEY.to_owned(), Value::Object(cut.clone()));
            }
        }
    }
    cut
}

/// Whether [`cap_event`] would cut anything: a read-only check, so a producer
/// pays for a copy only when a field is over the cap.
pub fn needs_cap(event: &Event, cap: usize) -> bool {
    match &event.kind {
        EventKind::RunStarted(p) => p.input.len() > cap,
        EventKind::TextGeneration(p) => p.data.len() > cap,
        EventKind::Reasoning(p) => p.content.len() > cap,
        EventKind::ToolUse(p) => string_bytes(&p.tool_input) > cap,
        EventKind::ToolResult(p) => string_bytes(&p.output) > cap,
        EventKind::RunFinished(p) => p.reason.as_ref().is_some_and(|r| r.len() > cap),
        EventKind::Error(p) => p.message.len() > cap,
        EventKind::BridgeHello(_) | EventKind::BridgeStatus(_) | EventKind::Other { .. } => false,
    }
}

/// The JSON of `event` with its large fields capped at `cap` bytes: the
/// event's own JSON when nothing is over the cap, else that of a capped copy.
pub fn capped_json(event: &Event, cap: usize) -> String {
    if !needs_cap(event, cap) {
        return event.to_json();
    }
    let mut copy = event.clone();
    cap_event(&mut copy, cap);
    copy.to_json()
}

/// The `truncated` object of an event as (field, original bytes) pairs, for
/// consumers that show it. Entries that are not non-negative integers are
/// skipped.
pub fn truncated_fields(event: &Event) -> Vec<(&str, u64)> {
    match event.extra.get(TRUNCATED_KEY) {
        Some(Value::Object(map)) => map
            .iter()
            .filter_map(|(k, v)| v.as_u64().map(|n| (k.as_str(), n)))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{RunStarted, ToolUse};
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn cuts_on_a_character_boundary() {
        let mut s = "aé€😀".to_owned(); // 1 + 2 + 3 + 4 bytes
        assert_eq!(truncate_str(&mut s, 4), Some(10));
        assert_eq!(s, "aé");
        let mut s = "😀".to_owned();
        assert_eq!(truncate_str(&mut s, 3), Some(4));
        assert_eq!(s, "");
    }

    #[test]
    fn leaves_share_one_budget() {
        let mut v = json!({"a": "x".repeat(10), "b": ["y".repeat(10), 7, "z"]});
        let original = serde_json::to_string(&v).unwrap().len();
        assert_eq!(truncate_value(&mut v, 12), Some(original));
        assert_eq!(v, json!({"a": "x".repeat(10), "b": ["yy", 7, ""]}));
    }

    #[test]
    fn a_cut_event_names_the_field_and_its_size() {
        let mut e = Event::new(EventKind::RunStarted(RunStarted {
            input: "p".repeat(1_000_000),
            source: "chat".into(),
            context_id: None,
        }));
        cap_event(&mut e, DEFAULT_MAX_FIELD_BYTES);
        let back = Event::parse(&e.to_json()).unwrap();
        assert_eq!(truncated_fields(&back), vec![("input", 1_000_000)]);
        match back.kind {
            EventKind::RunStarted(p) => assert_eq!(p.input.len(), DEFAULT_MAX_FIELD_BYTES),
            other => panic!("unexpected kind {other:?}"),
        }
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,40}".prop_map(Value::from),
            "[a-zé€😀]{0,200}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
                prop::collection::btree_map("[a-z]{1,4}", inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn truncated_values_stay_valid_and_within_the_cap(v in arb_json(), cap in 0usize..300) {
            let before = serde_json::to_string(&v).unwrap();
            let mut cut = v.clone();
            let original = truncate_value(&mut cut, cap);
            let after = serde_json::to_string(&cut).unwrap();
            // Valid JSON (and, being a Rust String, valid UTF-8) that parses back.
            let reparsed: Value = serde_json::from_str(&after).unwrap();
            prop_assert_eq!(&reparsed, &cut);
            prop_assert!(string_bytes(&cut) <= cap);
            match original {
                None => prop_assert_eq!(after, before),
                Some(n) => {
                    prop_assert_eq!(n, before.len());
                    prop_assert!(string_bytes(&v) > cap);
                }
            }
        }

        #[test]
        fn an_event_under_the_cap_is_byte_identical(input in ".{0,64}", args in arb_json()) {
            let cap = 64 * 1024;
            for kind in [
                EventKind::RunStarted(RunStarted { input: input.clone(), source: "chat".into(), context_id: None }),
                EventKind::ToolUse(ToolUse { tool_name: "t".into(), tool_input: args.clone(), tool_use_id: None }),
            ] {
                let mut e = Event::new(kind);
                e.run_id = Some("r".into());
                let before = e.to_json();
                prop_assert!(cap_event(&mut e, cap).is_empty());
                prop_assert_eq!(e.to_json(), before);
            }
        }

        #[test]
        fn a_capped_event_is_valid_and_bounded(input in "[a-zé€😀]{0,400}", cap in 0usize..200) {
            let mut e = Event::new(EventKind::RunStarted(RunStarted { input: input.clone(), source: "chat".into(), context_id: None }));
            let needed = needs_cap(&e, cap);
            let json = capped_json(&e, cap);
            let cut = cap_event(&mut e, cap);
            prop_assert_eq!(needed, !cut.is_empty());
            prop_assert_eq!(json, e.to_json());
            let back = Event::parse(&e.to_json()).unwrap();
            match &back.kind {
                EventKind::RunStarted(p) => {
                    prop_assert!(p.input.len() <= cap);
                    prop_assert!(input.starts_with(&p.input));
                }
                other => prop_assert!(false, "unexpected kind {:?}", other),
            }
            if input.len() > cap {
                prop_assert_eq!(truncated_fields(&back), vec![("input", input.len() as u64)]);
            } else {
                prop_assert!(cut.is_empty());
                prop_assert!(!back.extra.contains_key(TRUNCATED_KEY));
            }
        }
    }
}
