//! A cheap look at an event's envelope without parsing the whole event.
//!
//! The bridge forwards events verbatim; it only needs `type`, `id`, `agent` and
//! `run_id` to filter and to track where each client is. [`Peek`] borrows those
//! from the message text (no allocation unless a string has escapes) and skips
//! everything else, however large.

use std::borrow::Cow;

use serde::Deserialize;

use crate::id::StreamId;

/// The envelope fields of one message, borrowed from its text.
#[derive(Debug, Default, Deserialize)]
pub struct Peek<'a> {
    /// The `type` field.
    #[serde(default, rename = "type", borrow)]
    pub kind: Option<Cow<'a, str>>,
    /// The `id` field, as text (see [`Peek::stream_id`]).
    #[serde(default, borrow)]
    pub id: Option<Cow<'a, str>>,
    /// The `agent` field.
    #[serde(default, borrow)]
    pub agent: Option<Cow<'a, str>>,
    /// The `run_id` field.
    #[serde(default, borrow)]
    pub run_id: Option<Cow<'a, str>>,
}

impl<'a> Peek<'a> {
    /// Reads the envelope of `text`. Fails when `text` is not a JSON object or an
    /// envelope field is not a string; other fields may hold anything.
    pub fn parse(text: &'a str) -> Result<Peek<'a>, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The `id` as a stream id, when it is one.
    pub fn stream_id(&self) -> Option<StreamId> {
        self.id.as_deref()?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_envelope_and_skips_the_rest() {
        let text = r#"{"type":"tool_use","tool_input":{"deep":[1,2,{"x":"y"}]},"id":"5-1","agent":"a","run_id":"r"}"#;
        let p = Peek::parse(text).expect("valid");
        assert_eq!(p.kind.as_deref(), Some("tool_use"));
        assert_eq!(p.stream_id(), Some(StreamId::new(5, 1)));
        assert_eq!(p.agent.as_deref(), Some("a"));
        assert_eq!(p.run_id.as_deref(), Some("r"));
    }

    #[test]
    fn tolerates_missing_fields_and_rejects_non_objects() {
        let p = Peek::parse(r#"{"type":"reasoning","content":"x"}"#).expect("valid");
        assert!(p.id.is_none() && p.agent.is_none());
        assert!(Peek::parse("[1,2]").is_err());
        assert!(Peek::parse("not json").is_err());
        assert!(Peek::parse("").is_err());
    }

    #[test]
    fn handles_escaped_strings() {
        let p = Peek::parse(r#"{"type":"tool\u005fuse"}"#).expect("valid");
        assert_eq!(p.kind.as_deref(), Some("tool_use"));
    }
}
