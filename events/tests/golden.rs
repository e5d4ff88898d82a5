//! The original Python system's literal examples parse and re-serialise to the same JSON, and
//! nothing a consumer does not understand is lost.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

use orchestrator_events::event::{RunStatus, ToolStatus};
use orchestrator_events::{Event, EventKind, ParseError, StreamId};
use proptest::prelude::*;
use serde_json::{Value, json};

const SEED_TEXT: &str = r#"{"type":"text_generation","data":"I have received your comprehensive research plan...","timestamp":1703123456.789}"#;
const SEED_TOOL: &str = r#"{"type":"tool_use","tool_name":"store_research_plan","tool_input":{"plan_data":"...","source_agent":"planner"},"timestamp":1703123456.789}"#;
const SEED_REASONING: &str = r#"{"type":"reasoning","content":"I need to store this plan and provide confirmation...","timestamp":1703123456.789}"#;

#[test]
fn seed_examples_round_trip_byte_for_byte() {
    for text in [SEED_TEXT, SEED_TOOL, SEED_REASONING] {
        let event = Event::parse(text).expect("seed example parses");
        assert!(!event.has_envelope());
        assert_eq!(event.to_json(), text, "re-serialised differently");
    }
}

#[test]
fn seed_examples_have_their_kinds() {
    let text = Event::parse(SEED_TEXT).expect("parses");
    assert!(
        matches!(&text.kind, EventKind::TextGeneration(t) if t.data.starts_with("I have received"))
    );
    assert_eq!(text.timestamp, Some(1703123456.789));
    let tool = Event::parse(SEED_TOOL).expect("parses");
    match &tool.kind {
        EventKind::ToolUse(t) => {
            assert_eq!(t.tool_name, "store_research_plan");
            assert_eq!(t.tool_input["source_agent"], "planner");
            assert_eq!(t.tool_use_id, None);
        }
        other => panic!("expected tool_use, got {other:?}"),
    }
    assert!(matches!(
        Event::parse(SEED_REASONING).expect("parses").kind,
        EventKind::Reasoning(_)
    ));
}

#[test]
fn envelope_and_rich_types_parse() {
    let text = r#"{"id":"1703123456789-0","type":"tool_result","tool_use_id":"t1","tool_name":"get_research_plan","status":"error","output":"no plan 7","duration_ms":3,"agent":"orchestrator","run_id":"r1","seq":4,"timestamp":1.5}"#;
    let e = Event::parse(text).expect("parses");
    assert_eq!(e.id, Some(StreamId::new(1703123456789, 0)));
    assert_eq!(e.agent.as_deref(), Some("orchestrator"));
    assert_eq!(e.run_id.as_deref(), Some("r1"));
    assert_eq!(e.seq, Some(4));
    assert!(matches!(&e.kind, EventKind::ToolResult(r) if r.status == ToolStatus::Error));
    assert!(e.extra.is_empty(), "everything was typed: {:?}", e.extra);
    let again: Value = serde_json::from_str(&e.to_json()).expect("json");
    assert_eq!(again, serde_json::from_str::<Value>(text).expect("json"));

    let fin = Event::parse(r#"{"type":"run_finished","status":"cancelled","duration_ms":10}"#)
        .expect("parses");
    assert!(
        matches!(&fin.kind, EventKind::RunFinished(f) if f.status == RunStatus::Cancelled && f.usage.is_none())
    );
}

#[test]
fn unknown_types_and_fields_are_kept() {
    let text = r#"{"type":"plan_approved","by":"human","id":"1-1","nested":{"a":[1,2]}}"#;
    let e = Event::parse(text).expect("parses");
    assert!(matches!(&e.kind, EventKind::Other { type_name } if type_name == "plan_approved"));
    assert_eq!(e.kind.type_name(), "plan_approved");
    let back: Value = serde_json::from_str(&e.to_json()).expect("json");
    assert_eq!(back, serde_json::from_str::<Value>(text).expect("json"));

    let extra = r#"{"type":"reasoning","content":"x","confidence":0.9}"#;
    let e = Event::parse(extra).expect("parses");
    assert!(matches!(e.kind, EventKind::Reasoning(_)));
    assert_eq!(e.extra.get("confidence"), Some(&json!(0.9)));
    assert_eq!(e.to_json(), extra);
}

#[test]
fn known_type_with_wrong_shape_is_kept_as_other() {
    let text = r#"{"type":"text_generation","data":42}"#;
    let e = Event::parse(text).expect("parses");
    assert!(matches!(&e.kind, EventKind::Other { type_name } if type_name == "text_generation"));
    assert_eq!(e.to_json(), text);
    // A malformed envelope field stays as it was, too.
    let text = r#"{"type":"reasoning","content":"c","id":"not-an-id","seq":-1}"#;
    let e = Event::parse(text).expect("parses");
    assert_eq!(e.id, None);
    assert_eq!(e.seq, None);
    assert_eq!(e.to_json(), text);
}

/// Found by `cargo fuzz run event_parse`: a bare-millisecond id (`"170310"`)
/// was taken as `170310-0` and re-serialised differently.
#[test]
fn fuzz_regressions_round_trip() {
    for text in [
        r#"{"id":"170310","type":"t23id456789-0","type":"tool_result","tool_use_ideq":4}"#,
        r#"{"type":"x","id":"01-0"}"#,
        // serde_json's float_roundtrip: 1700E89 must print and re-read as the same f64.
        r#"{"type":"tav","timesramp":1700E89}"#,
        r#"{"type":"reasoning","content":"c","timestamp":1.7000000000000002e92}"#,
    ] {
        let event = Event::parse(text).expect("parses");
        assert_eq!(event.id, None, "no canonical id in these");
        let original: Value = serde_json::from_str(text).expect("json");
        assert_eq!(event.to_value(), original);
        assert_eq!(
            Event::parse(&event.to_json()).expect("own output parses"),
            event
        );
    }
}

/// Found by `cargo fuzz run event_parse`: a large float in an unknown field
/// (`1700E89`) came back from its own output one bit off (`1.7e92` was read
/// back as `1.7000000000000002e92`): serde_json's default float parsing is
/// best-effort, so the events crate enables its `float_roundtrip` feature.
#[test]
fn fuzz_regression_floats_survive_a_second_round_trip() {
    for text in [
        r#"{"type":"tav","timesramp":1700E89}"#,
        r#"{"type":"x","timestamp":1.7e92}"#,
        r#"{"type":"x","v":[5e-324,1.7976931348623157e308,2.2250738585072014e-308,0.1]}"#,
    ] {
        let event = Event::parse(text).expect("parses");
        let original: Value = serde_json::from_str(text).expect("json");
        assert_eq!(event.to_value(), original);
        let again = Event::parse(&event.to_json()).expect("own output parses");
        assert_eq!(again, event, "second round trip of {text}");
    }
}

/// Found by `cargo fuzz run event_parse`: an integer timestamp
/// (`71520677777789`) was taken as a float and re-serialised as
/// `71520677777789.0`. Only float timestamps are taken; others stay in extra.
#[test]
fn fuzz_regression_integer_timestamp_is_kept_as_it_came() {
    let text = r#"{"type":"xext_generation","data":"I hav","timestamp":71520677777789}"#;
    let event = Event::parse(text).expect("parses");
    assert_eq!(event.timestamp, None);
    assert_eq!(
        event.extra.get("timestamp"),
        Some(&Value::from(71520677777789u64))
    );
    let original: Value = serde_json::from_str(text).expect("json");
    assert_eq!(event.to_value(), original);
    assert_eq!(
        Event::parse(&event.to_json()).expect("own output parses"),
        event
    );
    let float = Event::parse(r#"{"type":"x","timestamp":1703123456.0}"#).expect("parses");
    assert_eq!(float.timestamp, Some(1703123456.0));
    assert_eq!(float.to_json(), r#"{"type":"x","timestamp":1703123456.0}"#);
}

#[test]
fn integer_timestamps_stay_as_written_but_still_tell_the_time() {
    let text = r#"{"type":"reasoning","content":"c","timestamp":1703123456}"#;
    let e = Event::parse(text).expect("parses");
    assert_eq!(e.timestamp, None);
    assert_eq!(e.time_secs(), Some(1703123456.0));
    assert_eq!(e.to_json(), text);
    let seed = Event::parse(SEED_TEXT).expect("parses");
    assert_eq!(seed.time_secs(), Some(1703123456.789));
}

#[test]
fn non_objects_are_typed_errors() {
    assert!(matches!(Event::parse("nope"), Err(ParseError::NotJson(_))));
    assert!(matches!(Event::parse(""), Err(ParseError::NotJson(_))));
    assert!(matches!(
        Event::parse("[1]"),
        Err(ParseError::NotAnObject("an array"))
    ));
    assert!(matches!(
        Event::parse("null"),
        Err(ParseError::NotAnObject("null"))
    ));
    assert!(matches!(
        Event::parse(r#"{"data":"x"}"#),
        Err(ParseError::MissingType)
    ));
    assert!(matches!(
        Event::parse(r#"{"type":7}"#),
        Err(ParseError::MissingType)
    ));
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z ]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("run_started".to_string()),
        Just("text_generation".to_string()),
        Just("reasoning".to_string()),
        Just("tool_use".to_string()),
        Just("tool_result".to_string()),
        Just("run_finished".to_string()),
        Just("error".to_string()),
        Just("bridge_status".to_string()),
        "[a-z_]{1,12}",
    ]
}

proptest! {
    /// Any object with a string `type` survives parse → serialise unchanged (as a value).
    #[test]
    fn any_event_object_round_trips(
        kind in arb_type(),
        fields in prop::collection::btree_map("[a-z_]{1,10}", arb_json(), 0..8),
    ) {
        let mut obj: serde_json::Map<String, Value> = fields.into_iter().collect();
        obj.insert("type".into(), Value::String(kind));
        let original = Value::Object(obj);
        let event = Event::from_value(original.clone()).expect("object with type parses");
        prop_assert_eq!(event.to_value(), original);
    }

    /// Typed events built in code round-trip through text.
    #[test]
    fn typed_events_round_trip(data in ".*", seq in any::<u64>(), ms in any::<u64>()) {
        let mut e = Event::new(EventKind::TextGeneration(
            orchestrator_events::event::TextGeneration { data },
        ));
        e.seq = Some(seq);
        e.id = Some(StreamId::new(ms, 0));
        e.run_id = Some("r".into());
        let back = Event::parse(&e.to_json()).expect("parses");
        prop_assert_eq!(back, e);
    }

    /// Arbitrary text never panics the parser.
    #[test]
    fn arbitrary_text_never_panics(s in ".*") {
        let _ = Event::parse(&s);
    }
}

#[test]
fn parent_run_id_is_an_optional_envelope_field() {
    let text = r#"{"type":"run_started","input":"sub task","source":"a2a","agent":"planner","run_id":"c1","parent_run_id":"p1","seq":0,"timestamp":1.5}"#;
    let e = Event::parse(text).expect("parses");
    assert_eq!(e.parent_run_id.as_deref(), Some("p1"));
    assert!(e.extra.is_empty(), "typed, not extra: {:?}", e.extra);
    assert_eq!(e.to_json(), text, "round-trips in place");
    // Absent: nothing is written; not a string: kept as it came, in extra.
    let plain = Event::parse(r#"{"type":"reasoning","content":"x","run_id":"r"}"#).expect("parses");
    assert_eq!(plain.parent_run_id, None);
    assert!(!plain.to_json().contains("parent_run_id"));
    let odd =
        Event::parse(r#"{"type":"reasoning","content":"x","parent_run_id":7}"#).expect("parses");
    assert_eq!(odd.parent_run_id, None);
    assert_eq!(odd.extra.get("parent_run_id"), Some(&json!(7)));
}
