//! One encoded WebSocket text frame, shared by every client that gets it.
//!
//! A [`Frame`] is built once per channel message (or stream entry, or bridge
//! notice): its text is kept as [`Utf8Bytes`] — a reference-counted buffer — and
//! sending it to a client clones a pointer, never the bytes. Beside the text it
//! keeps only the envelope fields the bridge needs (`id` for the replay seam,
//! `type`/`agent`/`run_id` for filters), read with [`Peek`], which skips the rest
//! of the event however large it is.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use orchestrator_events::{BridgeHello, BridgeStatus, Event, EventKind, Filter, Peek, StreamId};
use serde_json::{Map, Value};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::metrics::Invalid;

/// A shared, encoded frame and its envelope.
#[derive(Clone, Debug)]
pub struct Frame(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    text: Utf8Bytes,
    id: Option<StreamId>,
    kind: Option<Box<str>>,
    agent: Option<Box<str>>,
    run_id: Option<Box<str>>,
}

/// The envelope fields, owned (the text they came from is moved into the frame).
#[derive(Default)]
struct Envelope {
    id: Option<StreamId>,
    kind: Option<Box<str>>,
    agent: Option<Box<str>>,
    run_id: Option<Box<str>>,
}

impl Envelope {
    /// Reads the envelope with [`Peek`]. Only when an envelope field has an
    /// unexpected shape (another publisher's `"id": 42`) does it fall back to a
    /// full parse, so such messages are still forwarded.
    fn read(text: &str) -> Result<Envelope, Invalid> {
        if let Ok(peek) = Peek::parse(text) {
            return Ok(Envelope {
                id: peek.stream_id(),
                kind: peek.kind.map(cow_box),
                agent: peek.agent.map(cow_box),
                run_id: peek.run_id.map(cow_box),
            });
        }
        let map: Map<String, Value> = serde_json::from_str(text).map_err(|_| Invalid::NotJson)?;
        let field = |k: &str| map.get(k).and_then(Value::as_str).map(Box::from);
        Ok(Envelope {
            id: map
                .get("id")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok()),
            kind: field("type"),
            agent: field("agent"),
            run_id: field("run_id"),
        })
    }
}

fn cow_box(c: Cow<'_, str>) -> Box<str> {
    Box::from(c.as_ref())
}

impl Frame {
    /// A message from the channel. It is forwarded verbatim when it is a JSON
    /// object of at most `max_bytes`; otherwise the reason is returned (and the
    /// caller counts it).
    pub fn from_channel(payload: &[u8], max_bytes: usize) -> Result<Frame, Invalid> {
        if payload.is_empty() {
            return Err(Invalid::Empty);
        }
        if payload.len() > max_bytes {
            return Err(Invalid::TooLarge);
        }
        let text = std::str::from_utf8(payload).map_err(|_| Invalid::NotUtf8)?;
        let env = Envelope::read(text)?;
        let text =
            Utf8Bytes::try_from(Bytes::copy_from_slice(payload)).map_err(|_| Invalid::NotUtf8)?;
        Ok(Frame::assemble(text, env))
    }

    /// A stream entry read during replay: `id` is the entry id, `body` the value
    /// of its `event` field (byte-for-byte the live frame). `None` when the body
    /// is not a JSON text.
    pub fn from_stream(id: StreamId, body: Vec<u8>) -> Option<Frame> {
        let text = Utf8Bytes::try_from(Bytes::from(body)).ok()?;
        let mut env = Envelope::read(text.as_str()).ok()?;
        env.id = Some(id);
        Some(Frame::assemble(text, env))
    }

    /// The bridge's own `bridge_status` frame.
    pub fn status(status: BridgeStatus) -> Frame {
        Frame::bridge(&Event::new(EventKind::BridgeStatus(status)))
    }

    /// The bridge's `bridge_hello` frame.
    pub fn hello(hello: BridgeHello) -> Frame {
        Frame::bridge(&Event::new(EventKind::BridgeHello(hello)))
    }

    fn bridge(event: &Event) -> Frame {
        let text = Utf8Bytes::from(event.to_json());
        let env = Envelope {
            kind: Some(Box::from(event.kind.type_name())),
            ..Envelope::default()
        };
        Frame::assemble(text, env)
    }

    fn assemble(text: Utf8Bytes, env: Envelope) -> Frame {
        Frame(Arc::new(Inner {
            text,
            id: env.id,
            kind: env.kind,
            agent: env.agent,
            run_id: env.run_id,
        }))
    }

    /// The text to send (a pointer copy).
    pub fn text(&self) -> Utf8Bytes {
        self.0.text.clone()
    }

    /// Its text, for tests.
    #[cfg(test)]
    pub fn as_str(&self) -> &str {
        self.0.text.as_str()
    }

    /// Length in bytes, for queue accounting.
    pub fn len(&self) -> usize {
        self.0.text.len()
    }

    /// The stream id, when the event carries one.
    pub fn id(&self) -> Option<StreamId> {
        self.0.id
    }

    /// The `type` field.
    pub fn kind(&self) -> Option<&str> {
        self.0.kind.as_deref()
    }

    /// Whether `filter` lets this frame through.
    pub fn matches(&self, filter: &Filter) -> bool {
        if filter.is_empty() {
            return true;
        }
        let peek = Peek {
            kind: self.0.kind.as_deref().map(Cow::Borrowed),
            id: None,
            agent: self.0.agent.as_deref().map(Cow::Borrowed),
            run_id: self.0.run_id.as_deref().map(Cow::Borrowed),
        };
        filter.matches(&peek)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestrator_events::StatusKind;

    #[test]
    fn channel_messages_keep_their_bytes_and_envelope() {
        let text =
            r#"{"id":"7-1","type":"tool_use","agent":"a","run_id":"r","tool_input":{"x":[1,2]}}"#;
        let f = Frame::from_channel(text.as_bytes(), 1024).expect("valid");
        assert_eq!(f.as_str(), text);
        assert_eq!(f.id(), Some(StreamId::new(7, 1)));
        assert_eq!(f.kind(), Some("tool_use"));
        let only_reasoning = Filter {
            types: vec!["reasoning".into()],
            ..Filter::default()
        };
        assert!(!f.matches(&only_reasoning));
        let by_agent = Filter {
            agents: vec!["a".into()],
            ..Filter::default()
        };
        assert!(f.matches(&by_agent));
    }

    #[test]
    fn foreign_shapes_are_forwarded_and_garbage_is_not() {
        let seed = br#"{"type":"reasoning","content":"x","timestamp":1.5}"#;
        assert!(Frame::from_channel(seed, 1024).is_ok());
        let numeric_id = br#"{"type":"x","id":42}"#;
        let f = Frame::from_channel(numeric_id, 1024).expect("forwarded");
        assert_eq!(f.id(), None);
        assert_eq!(f.kind(), Some("x"));
        assert_eq!(Frame::from_channel(b"", 10).err(), Some(Invalid::Empty));
        assert_eq!(
            Frame::from_channel(b"hello", 10).err(),
            Some(Invalid::NotJson)
        );
        assert_eq!(
            Frame::from_channel(b"[1]", 10).err(),
            Some(Invalid::NotJson)
        );
        assert_eq!(
            Frame::from_channel(&[0xff, 0xfe], 10).err(),
            Some(Invalid::NotUtf8)
        );
        assert_eq!(
            Frame::from_channel(br#"{"type":"x"}"#, 5).err(),
            Some(Invalid::TooLarge)
        );
    }

    #[test]
    fn bridge_frames_pass_every_filter() {
        let f = Frame::status(BridgeStatus::new(StatusKind::RedisDown, "lost"));
        assert!(
            f.as_str()
                .starts_with(r#"{"type":"bridge_status","status":"redis_down""#)
        );
        let strict = Filter {
            types: vec!["tool_use".into()],
            ..Filter::default()
        };
        assert!(f.matches(&strict));
    }
}
