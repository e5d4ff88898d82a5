//! `docs/protocol.md` cannot drift from the code: every line of every ```json
//! block is a frame that parses with `Event::parse`, is lossless, has its typed
//! kind when its type is known, and bridge frames parse with the frame types.
//! Every event type and every status kind appears in an example.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

use orchestrator_events::{BridgeHello, BridgeStatus, Event, EventKind, StatusKind};
use serde_json::Value;

const DOC: &str = include_str!("../../docs/protocol.md");

/// The types this build knows, with their wire names.
const KNOWN_TYPES: [&str; 9] = [
    "run_started",
    "text_generation",
    "reasoning",
    "tool_use",
    "tool_result",
    "run_finished",
    "error",
    "bridge_hello",
    "bridge_status",
];

const STATUS_KINDS: [StatusKind; 6] = [
    StatusKind::RedisDown,
    StatusKind::RedisUp,
    StatusKind::Dropped,
    StatusKind::Gap,
    StatusKind::HistoryReset,
    StatusKind::ReplayDone,
];

/// Every non-empty line inside a ```json fence, with its line number.
fn json_examples() -> Vec<(usize, &'static str)> {
    let mut out = Vec::new();
    let mut inside = false;
    for (n, line) in DOC.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            inside = !inside && trimmed == "```json";
            continue;
        }
        if inside && !trimmed.is_empty() {
            out.push((n + 1, trimmed));
        }
    }
    out
}

#[test]
fn the_document_has_examples() {
    assert!(json_examples().len() >= 20, "{}", json_examples().len());
}

#[test]
fn every_json_example_parses_losslessly_with_its_type() {
    for (line, text) in json_examples() {
        let event =
            Event::parse(text).unwrap_or_else(|e| panic!("docs/protocol.md:{line}: {e}: {text}"));
        let raw: Value = serde_json::from_str(text).expect("JSON");
        assert_eq!(
            event.to_value(),
            raw,
            "docs/protocol.md:{line} does not round-trip"
        );
        let name = event.kind.type_name().to_string();
        if KNOWN_TYPES.contains(&name.as_str()) {
            assert!(
                !matches!(event.kind, EventKind::Other { .. }),
                "docs/protocol.md:{line}: a {name} whose fields do not match the code: {text}"
            );
            assert!(
                event
                    .extra
                    .keys()
                    .all(|k| k == "trace_id" || k == "truncated"),
                "docs/protocol.md:{line}: fields the code does not know: {:?}",
                event.extra.keys().collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn bridge_frames_parse_with_the_frame_types() {
    let mut statuses = Vec::new();
    for (line, text) in json_examples() {
        let mut raw: Value = serde_json::from_str(text).expect("JSON");
        let Some(obj) = raw.as_object_mut() else {
            continue;
        };
        match obj.remove("type").as_ref().and_then(Value::as_str) {
            Some("bridge_hello") => {
                let hello: BridgeHello = serde_json::from_value(raw)
                    .unwrap_or_else(|e| panic!("docs/protocol.md:{line}: {e}"));
                assert!(hello.epoch.is_some() && hello.newest_id.is_some());
            }
            Some("bridge_status") => {
                let status: BridgeStatus = serde_json::from_value(raw)
                    .unwrap_or_else(|e| panic!("docs/protocol.md:{line}: {e}"));
                assert_ne!(
                    status.status,
                    StatusKind::Unknown,
                    "docs/protocol.md:{line}"
                );
                statuses.push(status);
            }
            _ => {}
        }
    }
    for kind in STATUS_KINDS {
        assert!(
            statuses.iter().any(|s| s.status == kind),
            "no example of {kind:?}"
        );
    }
    // The fields the resumer relies on are in the examples, typed.
    let find = |k: StatusKind| statuses.iter().find(|s| s.status == k).expect("example");
    assert!(find(StatusKind::Dropped).resume_from.is_some());
    assert!(find(StatusKind::HistoryReset).epoch.is_some());
    assert!(find(StatusKind::RedisUp).epoch.is_some());
    assert!(find(StatusKind::Gap).to.is_some());
}

#[test]
fn every_type_and_status_kind_is_shown_and_named() {
    let examples = json_examples();
    for name in KNOWN_TYPES {
        let shown = examples
            .iter()
            .any(|(_, text)| Event::parse(text).is_ok_and(|e| e.kind.type_name() == name));
        assert!(shown, "no example of type {name}");
        assert!(DOC.contains(&format!("`{name}`")), "{name} not named");
    }
    for kind in STATUS_KINDS {
        let wire = serde_json::to_value(kind).expect("serialises");
        let wire = wire.as_str().expect("a string");
        assert!(
            DOC.contains(&format!("| `{wire}` |")),
            "status {wire} missing from the table"
        );
    }
    // Plain events: the original Python system's three shapes, without envelope.
    let plain = examples
        .iter()
        .filter(|(_, t)| Event::parse(t).is_ok_and(|e| !e.has_envelope() && e.agent.is_none()))
        .count();
    assert!(plain >= 3, "{plain}");
}
