//! Event parsing: any bytes in, never a panic; whatever parses re-serialises
//! to the same JSON value, and the envelope peek agrees with the full parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orchestrator_events::{Event, Filter, Peek, StreamId};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(event) = Event::parse(text) {
        let original: serde_json::Value = serde_json::from_str(text).expect("parsed once");
        assert_eq!(event.to_value(), original, "round trip changed the event");
        let again = Event::parse(&event.to_json()).expect("own output parses");
        assert_eq!(again, event);
    }
    if let Ok(peek) = Peek::parse(text) {
        let _ = peek.stream_id();
        let _ = Filter::default().matches(&peek);
    }
    if let Ok(id) = text.parse::<StreamId>() {
        assert_eq!(id.to_string().parse::<StreamId>(), Ok(id));
    }
    let _ = Filter::parse_list("types", text);
});
