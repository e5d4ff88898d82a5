//! The event schema: one JSON object per Redis message and per WebSocket frame.
//!
//! An [`Event`] is an optional envelope (`id`, `agent`, `run_id`,
//! `parent_run_id`, `seq`), an
//! optional `timestamp`, a typed [`EventKind`] and every other field in
//! [`Event::extra`]. The original Python system's three shapes (`text_generation`, `tool_use`,
//! `reasoning`) parse and re-serialise to the same JSON, field for field.
//!
//! Why not plain `#[derive(Deserialize)]` with `#[serde(tag = "type")]`? Because
//! a consumer must never lose data it does not understand: an unknown `type`,
//! an extra field, or a known type whose fields have an unexpected shape are all
//! kept and re-serialised unchanged (see [`EventKind::Other`]). Only input that
//! is not a JSON object at all is an error.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::frame::{BridgeHello, BridgeStatus};
use crate::id::StreamId;

/// Why a message could not be read as an event. Every variant is recoverable:
/// consumers show the raw text and carry on.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The text is not JSON.
    #[error("not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// The JSON is valid but not an object (`[1,2]`, `"hi"`, `42`).
    #[error("not a JSON object (got {0})")]
    NotAnObject(&'static str),
    /// The object has no string `type` field.
    #[error("missing string field \"type\"")]
    MissingType,
}

/// One event as it travels on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Redis stream entry id, set by the publish script; strictly increasing.
    pub id: Option<StreamId>,
    /// Name of the publishing agent; several agents may share one channel.
    pub agent: Option<String>,
    /// One id per handled request (A2A message or chat message).
    pub run_id: Option<String>,
    /// The run that started this one (multi-agent trees), when the request
    /// said so. Optional and additive: consumers that do not know it keep it
    /// as an ordinary field.
    pub parent_run_id: Option<String>,
    /// 0, 1, 2, … within a run.
    pub seq: Option<u64>,
    /// Seconds since the Unix epoch, as the original Python system wrote it (`1703123456.789`).
    pub timestamp: Option<f64>,
    /// What happened.
    pub kind: EventKind,
    /// Every field not covered above, kept in order for lossless round-trips.
    pub extra: Map<String, Value>,
}

/// The typed part of an event, selected by its `type` field.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// `run_started`
    RunStarted(RunStarted),
    /// `text_generation`: a chunk of the reply.
    TextGeneration(TextGeneration),
    /// `reasoning`: a chunk of the model's reasoning.
    Reasoning(Reasoning),
    /// `tool_use`
    ToolUse(ToolUse),
    /// `tool_result`
    ToolResult(ToolResult),
    /// `run_finished`
    RunFinished(RunFinished),
    /// `error`
    Error(ErrorEvent),
    /// `bridge_hello`: first frame the bridge sends a WebSocket client.
    BridgeHello(BridgeHello),
    /// `bridge_status`: Redis down/up, frames dropped, replay gaps.
    BridgeStatus(BridgeStatus),
    /// A type this build does not know, or a known type whose fields have an
    /// unexpected shape. All its fields are in [`Event::extra`].
    Other {
        /// The `type` field as it arrived.
        type_name: String,
    },
}

/// `run_started`: a request was accepted and a run begins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStarted {
    /// The message text.
    pub input: String,
    /// Where it came from: `"a2a"`, `"chat"`, …
    pub source: String,
    /// The A2A context id, when the request had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
}

/// `text_generation`: consecutive chunks of one run make one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextGeneration {
    /// The chunk (the original Python system's field name).
    pub data: String,
}

/// `reasoning`: a chunk of the model's reasoning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reasoning {
    /// The chunk (the original Python system's field name).
    pub content: String,
}

/// `tool_use`: the model called a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolUse {
    /// The tool's name.
    pub tool_name: String,
    /// Its arguments, as given by the model.
    pub tool_input: Value,
    /// Pairs this call with its `tool_result`. The original Python system did not send one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
}

/// Outcome of a tool call or of a run's tool step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    /// The tool returned normally.
    Success,
    /// The tool failed; `output` says why. The run goes on.
    Error,
}

/// `tool_result`: a tool call finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    /// The `tool_use_id` of the call this answers.
    pub tool_use_id: String,
    /// The tool's name (repeated so a consumer need not look the call up).
    pub tool_name: String,
    /// Success or error.
    pub status: ToolStatus,
    /// What the tool returned, or the error message.
    pub output: Value,
    /// How long the tool ran.
    pub duration_ms: u64,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// The model finished its reply.
    Completed,
    /// The run stopped on an error (model failure, step limit, …).
    Failed,
    /// `tasks/cancel` stopped it.
    Cancelled,
}

/// Token counts, when the model reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
}

/// `run_finished`: the last event of every run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFinished {
    /// Completed, failed or cancelled.
    pub status: RunStatus,
    /// Wall time of the run.
    pub duration_ms: u64,
    /// Token usage when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Why a run that did not complete ended (the message of the `error`
    /// event before it), so a consumer that shows only the last event of a
    /// run still sees why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `error`: something went wrong that a watcher should see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorEvent {
    /// Human-readable description.
    pub message: String,
    /// Machine-readable category (`"model"`, `"events_dropped"`, …).
    pub kind: String,
}

/// The envelope and timestamp keys, handled by [`Event`] itself.
const ENVELOPE_KEYS: [&str; 6] = ["id", "agent", "run_id", "parent_run_id", "seq", "timestamp"];

impl EventKind {
    /// The wire name of this kind (the `type` field).
    pub fn type_name(&self) -> &str {
        match self {
            EventKind::RunStarted(_) => "run_started",
            EventKind::TextGeneration(_) => "text_generation",
            EventKind::Reasoning(_) => "reasoning",
            EventKind::ToolUse(_) => "tool_use",
            EventKind::ToolResult(_) => "tool_result",
            EventKind::RunFinished(_) => "run_finished",
            EventKind::Error(_) => "error",
            EventKind::BridgeHello(_) => "bridge_hello",
            EventKind::BridgeStatus(_) => "bridge_status",
            EventKind::Other { type_name } => type_name,
        }
    }

    /// Whether this is a frame from the bridge rather than an agent event.
    pub fn is_bridge_frame(&self) -> bool {
        matches!(self, EventKind::BridgeHello(_) | EventKind::BridgeStatus(_))
    }

    fn payload(&self) -> Map<String, Value> {
        fn obj<T: Serialize>(t: &T) -> Map<String, Value> {
            match serde_json::to_value(t) {
                Ok(Value::Object(m)) => m,
                _ => Map::new(),
            }
        }
        match self {
            EventKind::RunStarted(p) => obj(p),
            EventKind::TextGeneration(p) => obj(p),
            EventKind::Reasoning(p) => obj(p),
            EventKind::ToolUse(p) => obj(p),
            EventKind::ToolResult(p) => obj(p),
            EventKind::RunFinished(p) => obj(p),
            EventKind::Error(p) => obj(p),
            EventKind::BridgeHello(p) => obj(p),
            EventKind::BridgeStatus(p) => obj(p),
            EventKind::Other { .. } => Map::new(),
        }
    }
}

impl Event {
    /// An event of the given kind with no envelope, timestamp or extra fields.
    pub fn new(kind: EventKind) -> Self {
        Event {
            id: None,
            agent: None,
            run_id: None,
            parent_run_id: None,
            seq: None,
            timestamp: None,
            kind,
            extra: Map::new(),
        }
    }

    /// Parses one message. Never panics; only non-objects and objects without a
    /// string `type` are errors.
    pub fn parse(text: &str) -> Result<Event, ParseError> {
        let value: Value = serde_json::from_str(text).map_err(ParseError::NotJson)?;
        Event::from_value(value)
    }

    /// Like [`Event::parse`], from an already-parsed JSON value.
    pub fn from_value(value: Value) -> Result<Event, ParseError> {
        let mut fields = match value {
            Value::Object(map) => map,
            Value::Array(_) => return Err(ParseError::NotAnObject("an array")),
            Value::String(_) => return Err(ParseError::NotAnObject("a string")),
            Value::Number(_) => return Err(ParseError::NotAnObject("a number")),
            Value::Bool(_) => return Err(ParseError::NotAnObject("a boolean")),
            Value::Null => return Err(ParseError::NotAnObject("null")),
        };
        let type_name = match fields.shift_remove("type") {
            Some(Value::String(t)) => t,
            Some(other) => {
                // Put it back so nothing is lost if the caller shows the raw text.
                fields.insert("type".into(), other);
                return Err(ParseError::MissingType);
            }
            None => return Err(ParseError::MissingType),
        };

        // Envelope fields are taken only when they have the expected shape;
        // anything else stays in `extra`, untouched.
        // Only an id in canonical form is taken, so that re-serialising gives
        // back the same text (`"170310"` or `"01-0"` stay as they came, in extra).
        let id = take_if(&mut fields, "id", |v| {
            let text = v.as_str()?;
            let id = text.parse::<StreamId>().ok()?;
            (id.to_string() == text).then_some(id)
        });
        let agent = take_if(&mut fields, "agent", |v| v.as_str().map(str::to_owned));
        let run_id = take_if(&mut fields, "run_id", |v| v.as_str().map(str::to_owned));
        let parent_run_id = take_if(&mut fields, "parent_run_id", |v| {
            v.as_str().map(str::to_owned)
        });
        let seq = take_if(&mut fields, "seq", Value::as_u64);
        // Only a timestamp written as a float is taken: an integer one
        // (`1703123456`) would come back as `1703123456.0`, so it stays in extra.
        let timestamp = take_if(&mut fields, "timestamp", |v| {
            v.is_f64().then(|| v.as_f64()).flatten()
        });

        let kind = match type_name.as_str() {
            "run_started" => typed(&mut fields, EventKind::RunStarted),
            "text_generation" => typed(&mut fields, EventKind::TextGeneration),
            "reasoning" => typed(&mut fields, EventKind::Reasoning),
            "tool_use" => typed(&mut fields, EventKind::ToolUse),
            "tool_result" => typed(&mut fields, EventKind::ToolResult),
            "run_finished" => typed(&mut fields, EventKind::RunFinished),
            "error" => typed(&mut fields, EventKind::Error),
            "bridge_hello" => typed(&mut fields, EventKind::BridgeHello),
            "bridge_status" => typed(&mut fields, EventKind::BridgeStatus),
            _ => None,
        }
        .unwrap_or(EventKind::Other { type_name });

        Ok(Event {
            id,
            agent,
            run_id,
            parent_run_id,
            seq,
            timestamp,
            kind,
            extra: fields,
        })
    }

    /// The event as a JSON object: `type` first, then the kind's fields, the
    /// envelope, the timestamp and the extra fields.
    pub fn to_value(&self) -> Value {
        let mut out = Map::new();
        out.insert("type".into(), Value::String(self.kind.type_name().into()));
        out.extend(self.kind.payload());
        if let Some(id) = self.id {
            out.insert("id".into(), Value::String(id.to_string()));
        }
        if let Some(agent) = &self.agent {
            out.insert("agent".into(), Value::String(agent.clone()));
        }
        if let Some(run_id) = &self.run_id {
            out.insert("run_id".into(), Value::String(run_id.clone()));
        }
        if let Some(parent) = &self.parent_run_id {
            out.insert("parent_run_id".into(), Value::String(parent.clone()));
        }
        if let Some(seq) = self.seq {
            out.insert("seq".into(), Value::from(seq));
        }
        if let Some(ts) = self.timestamp {
            out.insert("timestamp".into(), Value::from(ts));
        }
        for (k, v) in &self.extra {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(out)
    }

    /// The event as one line of JSON, as it goes on the wire.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }

    /// When the event happened, in seconds since the Unix epoch: the typed
    /// `timestamp`, or an integer `timestamp` some publishers write (kept in
    /// [`Event::extra`] so that it re-serialises exactly as it came).
    pub fn time_secs(&self) -> Option<f64> {
        self.timestamp
            .or_else(|| self.extra.get("timestamp").and_then(Value::as_f64))
    }

    /// `true` for the envelope-less shapes of the original system (or another
    /// publisher on the same channel).
    pub fn has_envelope(&self) -> bool {
        self.id.is_some() || self.run_id.is_some()
    }
}

/// Removes `key` when `read` accepts its value.
fn take_if<T>(
    fields: &mut Map<String, Value>,
    key: &str,
    read: impl Fn(&Value) -> Option<T>,
) -> Option<T> {
    let value = read(fields.get(key)?)?;
    fields.shift_remove(key);
    Some(value)
}

/// Reads a typed payload from `fields` and removes the keys it consumed.
/// Returns `None` (leaving `fields` untouched) when the shape does not fit.
fn typed<T, F>(fields: &mut Map<String, Value>, wrap: F) -> Option<EventKind>
where
    T: DeserializeOwned + Serialize,
    F: FnOnce(T) -> EventKind,
{
    let payload: T = serde_json::from_value(Value::Object(fields.clone())).ok()?;
    // Only a key that re-serialises to exactly the same value is consumed, so
    // a round-trip gives back what arrived (e.g. `1.0` stays `1.0`).
    let Ok(Value::Object(consumed)) = serde_json::to_value(&payload) else {
        return None;
    };
    if consumed.iter().any(|(k, v)| fields.get(k) != Some(v)) {
        return None;
    }
    for key in consumed.keys() {
        if !ENVELOPE_KEYS.contains(&key.as_str()) {
            fields.shift_remove(key);
        }
    }
    Some(wrap(payload))
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Event::from_value(value).map_err(serde::de::Error::custom)
    }
}
