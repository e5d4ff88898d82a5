//! Message content, wherever a framework put it.
//!
//! One span can carry its prompt and reply in several shapes, and which one
//! depends on the framework and its version:
//!
//! - the current GenAI conventions: `gen_ai.input.messages` /
//!   `gen_ai.output.messages` (attributes, or attributes of a
//!   `gen_ai.client.inference.operation.details` event), messages with typed
//!   `parts` (`{"type":"text","content":…}`, `reasoning`, `tool_call`,
//!   `tool_call_response`);
//! - the older event form Strands still sends by default: `gen_ai.user.message`
//!   / `gen_ai.tool.message` with a `content` attribute and `gen_ai.choice` with
//!   a `message` attribute, holding Bedrock-style content blocks
//!   (`{"text":…}`, `{"reasoningContent":{"reasoningText":{"text":…}}}`);
//! - OpenInference: `input.value` / `output.value`, and
//!   `llm.output_messages.N.message.content`.
//!
//! Everything here is pure: spans in, text and JSON out.

use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::Value;

use crate::attrs;

/// The event that carries the current conventions' messages.
const DETAILS_EVENT: &str = "gen_ai.client.inference.operation.details";

/// Text and reasoning found in a reply.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Reasoning chunks, in order.
    pub reasoning: Vec<String>,
    /// Text chunks, in order.
    pub text: Vec<String>,
}

impl Reply {
    fn is_empty(&self) -> bool {
        self.reasoning.is_empty() && self.text.is_empty()
    }
}

/// A JSON attribute of the span, or of one of its events named `event`.
fn span_or_event_json(span: &Span, key: &str, event: Option<&str>) -> Option<Value> {
    if let Some(v) = attrs::json(&span.attributes, key) {
        return Some(v);
    }
    span.events
        .iter()
        .filter(|e| event.is_none_or(|name| e.name == name))
        .find_map(|e| attrs::json(&e.attributes, key))
}

/// The last event named `name` that has attribute `key`, as JSON.
fn last_event_json(span: &Span, name: &str, key: &str) -> Option<Value> {
    span.events
        .iter()
        .rev()
        .filter(|e| e.name == name)
        .find_map(|e| attrs::json(&e.attributes, key))
}

/// Collects text and reasoning from any of the shapes above into `out`.
fn collect(value: &Value, out: &mut Reply, depth: usize) {
    if depth > 8 {
        return;
    }
    match value {
        Value::String(s) if !s.is_empty() => out.text.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect(v, out, depth + 1)),
        Value::Object(map) => {
            // A message of the current conventions: its parts.
            if let Some(parts) = map.get("parts") {
                return collect(parts, out, depth + 1);
            }
            // A typed part.
            if let Some(kind) = map.get("type").and_then(Value::as_str) {
                let body = map.get("content").and_then(Value::as_str);
                match (kind, body) {
                    ("text", Some(t)) => out.text.push(t.to_string()),
                    ("reasoning" | "thinking", Some(t)) => out.reasoning.push(t.to_string()),
                    _ => {}
                }
                return;
            }
            // Bedrock-style content blocks.
            if let Some(t) = map.get("text").and_then(Value::as_str) {
                out.text.push(t.to_string());
                return;
            }
            if let Some(r) = map.get("reasoningContent") {
                if let Some(t) = r.pointer("/reasoningText/text").and_then(Value::as_str) {
                    out.reasoning.push(t.to_string());
                }
                return;
            }
            // `{"message": …}` / `{"content": …}` wrappers (older event bodies).
            if let Some(inner) = map.get("message").or_else(|| map.get("content")) {
                collect(inner, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// Only the messages of `role` when the value is a list of role-tagged messages.
fn of_role(value: Value, role: &str) -> Value {
    match value {
        Value::Array(items) if items.iter().any(|m| m.get("role").is_some()) => Value::Array(
            items
                .into_iter()
                .filter(|m| m.get("role").and_then(Value::as_str) == Some(role))
                .collect(),
        ),
        other => other,
    }
}

/// What a model-call span (or an agent span) answered: text and reasoning.
pub fn reply(span: &Span) -> Reply {
    let mut out = Reply::default();
    if let Some(v) = span_or_event_json(span, "gen_ai.output.messages", Some(DETAILS_EVENT)) {
        collect(&of_role(v, "assistant"), &mut out, 0);
    }
    if out.is_empty()
        && let Some(v) = last_event_json(span, "gen_ai.choice", "message")
    {
        collect(&v, &mut out, 0);
    }
    if out.is_empty() {
        // OpenInference flattens messages into indexed attributes.
        for i in 0..64 {
            let key = format!("llm.output_messages.{i}.message.content");
            match attrs::string(&span.attributes, &key) {
                Some(t) => out.text.push(t),
                None => break,
            }
        }
    }
    if out.is_empty()
        && let Some(v) = attrs::json(&span.attributes, "output.value")
    {
        collect(&v, &mut out, 0);
    }
    out
}

/// The prompt of an agent run: the last user message's text.
pub fn input(span: &Span) -> Option<String> {
    let mut out = Reply::default();
    if let Some(v) = span_or_event_json(span, "gen_ai.input.messages", Some(DETAILS_EVENT)) {
        let users = of_role(v, "user");
        if let Some(last) = users.as_array().and_then(|a| a.last()) {
            collect(last, &mut out, 0);
        } else {
            collect(&users, &mut out, 0);
        }
    }
    if out.text.is_empty()
        && let Some(v) = last_event_json(span, "gen_ai.user.message", "content")
    {
        collect(&v, &mut out, 0);
    }
    if out.text.is_empty()
        && let Some(v) = attrs::json(&span.attributes, "input.value")
    {
        collect(&v, &mut out, 0);
    }
    (!out.text.is_empty()).then(|| out.text.join("\n"))
}

/// Finds the first part of `kind` (`tool_call`, `tool_call_response`) in a
/// list of messages and returns its `field`.
fn part_field(messages: &Value, kind: &str, field: &str) -> Option<Value> {
    messages
        .as_array()?
        .iter()
        .filter_map(|m| m.get("parts").and_then(Value::as_array))
        .flatten()
        .find(|p| p.get("type").and_then(Value::as_str) == Some(kind))
        .and_then(|p| p.get(field).cloned())
}

/// A tool call's arguments.
pub fn tool_input(span: &Span) -> Option<Value> {
    attrs::json(&span.attributes, "gen_ai.tool.call.arguments")
        .or_else(|| {
            span_or_event_json(span, "gen_ai.input.messages", Some(DETAILS_EVENT))
                .and_then(|m| part_field(&m, "tool_call", "arguments"))
        })
        .or_else(|| last_event_json(span, "gen_ai.tool.message", "content"))
        .or_else(|| attrs::json(&span.attributes, "input.value"))
}

/// A tool call's result.
pub fn tool_output(span: &Span) -> Option<Value> {
    attrs::json(&span.attributes, "gen_ai.tool.call.result")
        .or_else(|| {
            span_or_event_json(span, "gen_ai.output.messages", Some(DETAILS_EVENT))
                .and_then(|m| part_field(&m, "tool_call_response", "response"))
        })
        .or_else(|| last_event_json(span, "gen_ai.choice", "message"))
        .or_else(|| attrs::json(&span.attributes, "output.value"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_parts_blocks_and_wrappers() {
        let mut r = Reply::default();
        collect(
            &json!([{"role":"assistant","parts":[
                {"type":"reasoning","content":"think"},
                {"type":"text","content":"hi"},
                {"type":"tool_call","name":"x"}]}]),
            &mut r,
            0,
        );
        assert_eq!(r.text, vec!["hi"]);
        assert_eq!(r.reasoning, vec!["think"]);

        let mut r = Reply::default();
        collect(
            &json!([{"reasoningContent":{"reasoningText":{"text":"why"}}},{"text":"answer"},{"toolUse":{}}]),
            &mut r,
            0,
        );
        assert_eq!(r.text, vec!["answer"]);
        assert_eq!(r.reasoning, vec!["why"]);

        let mut r = Reply::default();
        collect(&json!({"message":{"content":"old"}}), &mut r, 0);
        assert_eq!(r.text, vec!["old"]);
    }

    #[test]
    fn role_filter_keeps_only_that_role() {
        let v = of_role(
            json!([{"role":"user","parts":[]},{"role":"assistant","parts":[]}]),
            "assistant",
        );
        assert_eq!(v.as_array().map(Vec::len), Some(1));
    }
}
