//! The JSON of `/chat/completions`: the request body built from a
//! [`TurnRequest`], the streamed chunks read back, and the error bodies of
//! failed answers.
//!
//! Servers that speak "the OpenAI API" differ in the details, so reading is
//! lenient: every field is optional, a field of an unexpected type is ignored
//! rather than failing the whole chunk, and both `reasoning_content` (DeepSeek,
//! vLLM, llama.cpp) and `reasoning` (Ollama, OpenRouter) carry reasoning.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::{Message, ToolSpec, TurnRequest};

/// The body of one streaming `/chat/completions` request.
pub fn request_body(model: &str, request: &TurnRequest) -> Value {
    let messages: Vec<Value> = request.messages.iter().map(message).collect();
    let mut body = json!({
        "model": model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    // An empty `tools` array is rejected by some servers: leave it out instead.
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request.tools.iter().map(tool).collect();
        body["tools"] = Value::Array(tools);
    }
    body
}

fn message(message: &Message) -> Value {
    match message {
        Message::System(text) => json!({"role": "system", "content": text}),
        Message::User(text) => json!({"role": "user", "content": text}),
        Message::Assistant { text, tool_calls } if tool_calls.is_empty() => {
            json!({"role": "assistant", "content": text})
        }
        Message::Assistant { text, tool_calls } => {
            let calls: Vec<Value> = tool_calls
                .iter()
                .map(|call| {
                    json!({
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": history_arguments(&call.arguments)},
                    })
                })
                .collect();
            let content = if text.is_empty() {
                Value::Null
            } else {
                Value::String(text.clone())
            };
            json!({"role": "assistant", "content": content, "tool_calls": calls})
        }
        Message::Tool {
            tool_call_id,
            content,
            ..
        } => {
            json!({"role": "tool", "tool_call_id": tool_call_id, "content": content})
        }
    }
}

/// The arguments of a past tool call as sent back in the history. Some servers
/// (Ollama, vLLM) parse them and answer 400 to the whole request when they are
/// not a JSON object, which would end the run the moment the model made one bad
/// call. The tool message that answers that call already tells the model its
/// arguments were invalid, so `{}` stands in for them here.
fn history_arguments(raw: &str) -> String {
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(_)) => raw.to_owned(),
        _ => "{}".to_owned(),
    }
}

fn tool(spec: &ToolSpec) -> Value {
    json!({
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": spec.parameters,
        },
    })
}

/// One `data:` payload of the stream (a `chat.completion.chunk`), or the whole
/// body of a server that ignored `stream: true` (a `chat.completion`).
#[derive(Debug, Default, Deserialize)]
pub struct Chunk {
    /// The choices; only index 0 is used. Empty in the final usage chunk.
    #[serde(default)]
    pub choices: Option<Vec<Choice>>,
    /// Token counts: in the usage chunk (or, for some servers, in every chunk).
    #[serde(default)]
    pub usage: Option<WireUsage>,
    /// An error the server reports inside a `200` stream.
    #[serde(default)]
    pub error: Option<Value>,
}

/// One choice of a chunk.
#[derive(Debug, Default, Deserialize)]
pub struct Choice {
    /// Which choice; we ask for one, so anything but 0 is ignored.
    #[serde(default)]
    pub index: Option<u32>,
    /// The increment (streaming).
    #[serde(default)]
    pub delta: Option<WireDelta>,
    /// The whole message (non-streaming answer).
    #[serde(default)]
    pub message: Option<WireDelta>,
    /// Set on the choice's last chunk: `stop`, `tool_calls`, `length`…
    #[serde(default)]
    pub finish_reason: Option<Value>,
}

impl Choice {
    /// Whether this chunk ends the choice.
    pub fn finished(&self) -> bool {
        matches!(&self.finish_reason, Some(Value::String(reason)) if !reason.is_empty())
    }
}

/// The content of a delta (or of a whole message).
#[derive(Debug, Default, Deserialize)]
pub struct WireDelta {
    /// Reply text.
    #[serde(default)]
    pub content: Option<Value>,
    /// Reasoning, as DeepSeek, vLLM and llama.cpp name it.
    #[serde(default)]
    pub reasoning_content: Option<Value>,
    /// Reasoning, as Ollama and OpenRouter name it.
    #[serde(default)]
    pub reasoning: Option<Value>,
    /// Tool-call fragments.
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallFragment>>,
}

impl WireDelta {
    /// The text chunk, if any.
    pub fn text(&self) -> Option<&str> {
        non_empty(&self.content)
    }

    /// The reasoning chunk, if any: `reasoning_content` wins when a server sends both.
    pub fn reasoning(&self) -> Option<&str> {
        non_empty(&self.reasoning_content).or_else(|| non_empty(&self.reasoning))
    }
}

fn non_empty(value: &Option<Value>) -> Option<&str> {
    match value {
        Some(Value::String(text)) if !text.is_empty() => Some(text),
        _ => None,
    }
}

/// A piece of one tool call: the first names it, the following add arguments.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ToolCallFragment {
    /// Which call of the turn this piece belongs to.
    #[serde(default)]
    pub index: Option<u32>,
    /// The call's id (first piece).
    #[serde(default)]
    pub id: Option<String>,
    /// Name and a piece of the arguments.
    #[serde(default)]
    pub function: Option<FunctionFragment>,
}

/// The `function` part of a tool-call fragment.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct FunctionFragment {
    /// The tool's name (first piece).
    #[serde(default)]
    pub name: Option<String>,
    /// A piece of the arguments' JSON text. Some servers send an object
    /// instead of text; it is turned back into text.
    #[serde(default)]
    pub arguments: Option<Value>,
}

impl FunctionFragment {
    /// The arguments piece as text.
    pub fn arguments_text(&self) -> Option<String> {
        match &self.arguments {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(other) => Some(other.to_string()),
        }
    }
}

/// Token counts as the API names them.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct WireUsage {
    /// Tokens read.
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
    /// Tokens written.
    #[serde(default)]
    pub completion_tokens: Option<u64>,
}

/// Longest server message kept in an error, so a whole HTML error page does
/// not end up in an event.
const MAX_MESSAGE: usize = 500;

/// The human message in an error body: `error.message` (OpenAI, vLLM),
/// `error` as a string (Ollama), `message` or `detail`, else the body itself.
pub fn error_message(body: &str) -> Option<String> {
    let from_json = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|value| error_in(&value));
    let message = from_json.unwrap_or_else(|| body.trim().to_owned());
    if message.is_empty() {
        return None;
    }
    Some(truncate(message))
}

/// The message of an error object found inside a JSON value (a stream chunk's
/// `error`, or an error body).
pub fn error_in(value: &Value) -> Option<String> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    match value.get("error") {
        Some(Value::String(message)) => Some(message.clone()),
        Some(error @ Value::Object(_)) => {
            text(error.get("message")).or_else(|| Some(error.to_string()))
        }
        _ => text(value.get("message")).or_else(|| text(value.get("detail"))),
    }
    .map(truncate)
}

fn truncate(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ToolCall;

    #[test]
    fn the_request_carries_messages_tools_and_stream_options() {
        let request = TurnRequest {
            messages: vec![
                Message::System("be brief".into()),
                Message::User("hi".into()),
                Message::Assistant {
                    text: String::new(),
                    tool_calls: vec![
                        ToolCall {
                            id: "c1".into(),
                            name: "add".into(),
                            arguments: "{\"a\":1}".into(),
                        },
                        ToolCall {
                            id: "c2".into(),
                            name: "add".into(),
                            arguments: "{\"a\":".into(),
                        },
                    ],
                },
                Message::Tool {
                    tool_call_id: "c1".into(),
                    name: "add".into(),
                    content: "1".into(),
                },
                Message::Assistant {
                    text: "done".into(),
                    tool_calls: vec![],
                },
            ],
            tools: vec![ToolSpec {
                name: "add".into(),
                description: "adds".into(),
                parameters: json!({"type": "object"}),
            }],
        };
        let body = request_body("m", &request);
        assert_eq!(body["model"], "m");
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["tools"][0]["function"]["name"], "add");
        assert_eq!(body["tools"][0]["function"]["parameters"]["type"], "object");
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(
            messages[0],
            json!({"role": "system", "content": "be brief"})
        );
        assert_eq!(messages[2]["content"], Value::Null);
        assert_eq!(
            messages[2]["tool_calls"][0]["function"]["arguments"],
            "{\"a\":1}"
        );
        assert_eq!(messages[2]["tool_calls"][1]["function"]["arguments"], "{}");
        assert_eq!(
            messages[3],
            json!({"role": "tool", "tool_call_id": "c1", "content": "1"})
        );
        assert_eq!(messages[4], json!({"role": "assistant", "content": "done"}));
    }

    #[test]
    fn no_tools_means_no_tools_field() {
        let body = request_body(
            "m",
            &TurnRequest {
                messages: vec![],
                tools: vec![],
            },
        );
        assert!(body.get("tools").is_none());
    }

    #[test]
    fn odd_field_types_do_not_fail_a_chunk() {
        let chunk: Chunk = serde_json::from_str(
            r#"{"choices":[{"index":0,"delta":{"content":null,"reasoning":{"x":1},
                "tool_calls":[{"index":0,"function":{"arguments":{"a":1}}}]},"finish_reason":null}]}"#,
        )
        .unwrap();
        let choice = &chunk.choices.unwrap()[0];
        let delta = choice.delta.as_ref().unwrap();
        assert_eq!(delta.text(), None);
        assert_eq!(delta.reasoning(), None);
        assert!(!choice.finished());
        let fragment = &delta.tool_calls.as_ref().unwrap()[0];
        assert_eq!(
            fragment
                .function
                .as_ref()
                .unwrap()
                .arguments_text()
                .unwrap(),
            "{\"a\":1}"
        );
    }

    #[test]
    fn error_messages_are_found_in_the_usual_places() {
        assert_eq!(
            error_message(r#"{"error":{"message":"bad key","type":"x"}}"#).unwrap(),
            "bad key"
        );
        assert_eq!(
            error_message(r#"{"error":"model not found"}"#).unwrap(),
            "model not found"
        );
        assert_eq!(
            error_message(r#"{"object":"error","message":"too long"}"#).unwrap(),
            "too long"
        );
        assert_eq!(error_message(r#"{"detail":"nope"}"#).unwrap(), "nope");
        assert_eq!(error_message(" plain text \n").unwrap(), "plain text");
        assert_eq!(error_message(""), None);
        let long = "é".repeat(400);
        assert!(error_message(&long).unwrap().len() <= MAX_MESSAGE + '…'.len_utf8());
    }
}
