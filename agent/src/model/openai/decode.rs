//! From response bytes to [`Delta`]s: the meaning of a streamed turn, with no
//! I/O, so every case (split events, parallel calls, a cut stream) is testable
//! byte by byte.
//!
//! - `delta.reasoning_content` / `delta.reasoning` → [`Delta::Reasoning`] and
//!   `delta.content` → [`Delta::Text`], as they arrive;
//! - `delta.tool_calls` fragments are assembled and released as complete
//!   [`Delta::ToolCall`]s, in index order, when the choice finishes;
//! - the last `usage` seen becomes one [`Delta::Usage`] at the end of the turn;
//! - `[DONE]` ends the turn. A body that ends with neither `[DONE]` nor a
//!   `finish_reason` was cut short: that is an error, and the partial tool
//!   calls are dropped rather than run.

use orchestrator_events::event::Usage;

use super::accumulate::ToolCalls;
use super::sse::SseParser;
use super::wire::{Chunk, WireDelta, WireUsage, error_in};
use crate::model::{Delta, ModelError};

/// Longest excerpt of an unreadable chunk quoted in an error.
const EXCERPT: usize = 200;

/// Decodes one streamed turn.
#[derive(Debug)]
pub struct Decoder {
    sse: SseParser,
    calls: ToolCalls,
    usage: Option<WireUsage>,
    /// A choice reported its `finish_reason`: the turn is complete even if `[DONE]` never comes.
    finished: bool,
    /// `[DONE]` was read: nothing after it matters.
    done: bool,
}

impl Decoder {
    /// A decoder for a new turn; `turn` makes ids for tool calls sent without one.
    pub fn new(turn: &str) -> Decoder {
        Decoder {
            sse: SseParser::new(),
            calls: ToolCalls::new(turn),
            usage: None,
            finished: false,
            done: false,
        }
    }

    /// Whether `[DONE]` was read, so the caller can stop reading.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Feeds the next piece of the body. The deltas come before any error, so
    /// the caller can publish what did arrive and then fail.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Delta>) -> Result<(), ModelError> {
        if self.done {
            return Ok(());
        }
        let events = self
            .sse
            .feed(bytes)
            .map_err(|e| ModelError::Protocol(e.to_string()))?;
        for data in events {
            self.event(&data, out)?;
            if self.done {
                break;
            }
        }
        Ok(())
    }

    /// The body ended. Completes the turn, or says it was cut short.
    pub fn finish(&mut self, out: &mut Vec<Delta>) -> Result<(), ModelError> {
        if !self.done
            && let Some(data) = self
                .sse
                .finish()
                .map_err(|e| ModelError::Protocol(e.to_string()))?
        {
            self.event(&data, out)?;
        }
        if !self.done && !self.finished {
            return Err(ModelError::Protocol(
                "stream cut short: the server closed it before [DONE] or a finish_reason".into(),
            ));
        }
        self.end(out);
        Ok(())
    }

    /// Decodes a whole non-streaming answer (a server that ignored `stream: true`).
    pub fn whole(&mut self, body: &[u8], out: &mut Vec<Delta>) -> Result<(), ModelError> {
        let chunk = self.parse(body)?;
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        let message = chunk
            .choices
            .into_iter()
            .flatten()
            .find(|c| c.index.unwrap_or(0) == 0)
            .and_then(|c| c.message);
        let Some(message) = message else {
            return Err(ModelError::Protocol("the answer has no message".into()));
        };
        self.content(&message, out);
        for (index, call) in message.tool_calls.iter().flatten().enumerate() {
            // A whole message lists its calls without `index`: their position is it.
            let mut call = call.clone();
            call.index = u32::try_from(index).ok();
            self.calls.push(&call);
        }
        self.done = true;
        self.end(out);
        Ok(())
    }

    fn event(&mut self, data: &str, out: &mut Vec<Delta>) -> Result<(), ModelError> {
        let data = data.trim();
        if data.is_empty() {
            return Ok(());
        }
        if data == "[DONE]" {
            self.done = true;
            self.end(out);
            return Ok(());
        }
        let chunk = self.parse(data.as_bytes())?;
        if let Some(error) = &chunk.error {
            let message = error_in(&serde_json::json!({ "error": error })).unwrap_or_default();
            return Err(ModelError::Protocol(format!(
                "the server reported an error mid-stream: {message}"
            )));
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        for choice in chunk.choices.into_iter().flatten() {
            if choice.index.unwrap_or(0) != 0 {
                continue;
            }
            if let Some(delta) = &choice.delta {
                self.content(delta, out);
                for fragment in delta.tool_calls.iter().flatten() {
                    self.calls.push(fragment);
                }
            }
            if choice.finished() {
                self.finished = true;
                out.extend(self.calls.take().into_iter().map(Delta::ToolCall));
            }
        }
        Ok(())
    }

    fn content(&mut self, delta: &WireDelta, out: &mut Vec<Delta>) {
        if let Some(reasoning) = delta.reasoning() {
            out.push(Delta::Reasoning(reasoning.to_owned()));
        }
        if let Some(text) = delta.text() {
            out.push(Delta::Text(text.to_owned()));
        }
    }

    /// The turn is over: release calls still held and the usage.
    fn end(&mut self, out: &mut Vec<Delta>) {
        out.extend(self.calls.take().into_iter().map(Delta::ToolCall));
        if let Some(usage) = self.usage.take() {
            out.push(Delta::Usage(Usage {
                input_tokens: usage.prompt_tokens.unwrap_or(0),
                output_tokens: usage.completion_tokens.unwrap_or(0),
            }));
        }
    }

    fn parse(&self, data: &[u8]) -> Result<Chunk, ModelError> {
        serde_json::from_slice(data).map_err(|e| {
            let text = String::from_utf8_lossy(data);
            let excerpt: String = text.chars().take(EXCERPT).collect();
            ModelError::Protocol(format!("unreadable chunk ({e}): {excerpt}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ToolCall;

    fn decode(pieces: &[&str]) -> (Vec<Delta>, Result<(), ModelError>) {
        let mut decoder = Decoder::new("t");
        let mut out = Vec::new();
        for piece in pieces {
            if let Err(e) = decoder.feed(piece.as_bytes(), &mut out) {
                return (out, Err(e));
            }
        }
        let result = decoder.finish(&mut out);
        (out, result)
    }

    fn call(id: &str, name: &str, arguments: &str) -> Delta {
        Delta::ToolCall(ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        })
    }

    #[test]
    fn text_reasoning_calls_and_usage_come_out_in_order() {
        let (out, result) = decode(&[
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"reasoning_content\":\"think\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\" more\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\":1}\"}}]}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17}}\n\n",
            "data: [DONE]\n\n",
        ]);
        result.unwrap();
        assert_eq!(
            out,
            vec![
                Delta::Reasoning("think".into()),
                Delta::Reasoning(" more".into()),
                Delta::Text("Hi".into()),
                call("c", "f", "{\"a\":1}"),
                Delta::Usage(Usage {
                    input_tokens: 12,
                    output_tokens: 5
                }),
            ]
        );
    }

    #[test]
    fn a_body_without_done_or_finish_reason_was_cut_short() {
        let (out, result) = decode(&[
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"}}]}\n\n",
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{\"}}]}}]}\n\n",
        ]);
        assert_eq!(
            out,
            vec![Delta::Text("par".into())],
            "a partial call is never released"
        );
        assert!(matches!(result, Err(ModelError::Protocol(m)) if m.contains("cut short")));
    }

    #[test]
    fn a_finish_reason_without_done_is_a_complete_turn() {
        let (out, result) = decode(&[
            "data: {\"choices\":[{\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}",
        ]);
        result.unwrap();
        assert_eq!(out, vec![Delta::Text("ok".into())]);
    }

    #[test]
    fn an_error_inside_the_stream_and_garbage_are_protocol_errors() {
        let (_, result) = decode(&["data: {\"error\":{\"message\":\"overloaded\"}}\n\n"]);
        assert!(matches!(result, Err(ModelError::Protocol(m)) if m.contains("overloaded")));
        let (_, result) = decode(&["data: {not json\n\n"]);
        assert!(matches!(result, Err(ModelError::Protocol(m)) if m.contains("unreadable")));
    }

    #[test]
    fn everything_after_done_is_ignored() {
        let (out, result) = decode(&["data: [DONE]\n\ndata: {not json\n\n"]);
        result.unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn a_whole_answer_is_decoded_too() {
        let mut decoder = Decoder::new("t");
        let mut out = Vec::new();
        let body = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hey","reasoning_content":"hm",
            "tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},
                          {"id":"b","type":"function","function":{"name":"g","arguments":"{\"x\":1}"}}]},
            "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#;
        decoder.whole(body.as_bytes(), &mut out).unwrap();
        assert_eq!(
            out,
            vec![
                Delta::Reasoning("hm".into()),
                Delta::Text("hey".into()),
                call("a", "f", "{}"),
                call("b", "g", "{\"x\":1}"),
                Delta::Usage(Usage {
                    input_tokens: 3,
                    output_tokens: 4
                }),
            ]
        );
    }
}
