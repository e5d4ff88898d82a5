//! The model-and-tools loop: one run, from the user's message to the reply.
//!
//! Each turn streams from the [`Model`]; text and reasoning chunks are reported
//! the moment they arrive, tool calls are collected, then run in order. A
//! call whose `arguments` are not valid JSON is reported as a `tool_use` with
//! the raw text as input and a failed `tool_result`, and the model is told so
//! in the tool message. The loop ends when the model answers without calling
//! a tool (completed), after `max_steps` turns (failed, with an `error` step),
//! on a [`ModelError`] (failed, `error` step of that kind) or when cancelled.
//! `RunStarted` is always the first step and `RunFinished` the last.

use std::time::Instant;

use futures_util::StreamExt;
use orchestrator_events::event::{RunStatus, ToolStatus, Usage};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::callback::{CallbackHandler, ModelTurn, Step};
use crate::model::{Delta, Message, Model, ToolCall, TurnRequest};
use crate::run_outcome::RunOutcome;
use crate::tools::Toolbox;

/// What the model is told about its job.
pub const SYSTEM_PROMPT: &str = "You are the orchestrator agent. Other agents (such as a \
planner) and people send you messages. You can store research plans so that other agents can \
retrieve them, fetch a stored plan by id, and list stored plans, using your tools. Call a tool \
when the message asks for one of those things; otherwise answer directly and concisely. When a \
tool fails, explain the failure and, where it helps, try another tool.";

/// One request to handle.
#[derive(Debug, Clone)]
pub struct RunInput {
    /// The message text.
    pub input: String,
    /// `"a2a"`, `"chat"`, …
    pub source: String,
    /// The A2A context id, if any.
    pub context_id: Option<String>,
    /// The calling agent's name, if it gave one.
    pub source_agent: Option<String>,
    /// The run that started this one (`parent_run_id` in the `/chat` body or
    /// the A2A message metadata): every event of the run carries it.
    pub parent_run_id: Option<String>,
}

/// Limits of one run.
#[derive(Debug, Clone, Copy)]
pub struct LoopLimits {
    /// Model turns before the run is stopped as failed.
    pub max_steps: usize,
}

/// Runs one request to the end, reporting every step to `handler`.
pub async fn run_loop(
    model: &dyn Model,
    tools: &Toolbox,
    input: RunInput,
    limits: LoopLimits,
    handler: &dyn CallbackHandler,
    cancel: &CancellationToken,
) -> RunOutcome {
    let mut run = Run {
        handler,
        started: Instant::now(),
        reply: String::new(),
        usage: None,
    };
    handler.on_step(&Step::RunStarted {
        input: input.input.clone(),
        source: input.source.clone(),
        context_id: input.context_id.clone(),
        source_agent: input.source_agent.clone(),
        model: Some(model.name()),
    });
    let mut messages = vec![
        Message::System(system_prompt(&input)),
        Message::User(input.input),
    ];
    let specs = tools.specs();

    for _ in 0..limits.max_steps.max(1) {
        let mut stream = model.turn(TurnRequest {
            messages: messages.clone(),
            tools: specs.clone(),
        });
        let mut text = String::new();
        let mut calls: Vec<ToolCall> = Vec::new();
        let mut turn = ModelTurn {
            started: std::time::SystemTime::now(),
            usage: None,
            error: None,
        };
        loop {
            let next = tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    turn.error = Some("cancelled".into());
                    handler.on_model_turn(&turn);
                    return run.finish(RunStatus::Cancelled, None);
                }
                next = stream.next() => next,
            };
            match next {
                None => break,
                Some(Ok(Delta::Text(chunk))) => {
                    if chunk.is_empty() {
                        continue;
                    }
                    // A new turn's text continues the same reply: keep the
                    // published chunks equal to the reply by sending the break too.
                    if text.is_empty() && !run.reply.is_empty() && !run.reply.ends_with('\n') {
                        run.text("\n\n".into());
                    }
                    text.push_str(&chunk);
                    run.text(chunk);
                }
                Some(Ok(Delta::Reasoning(chunk))) => {
                    if !chunk.is_empty() {
                        handler.on_step(&Step::Reasoning(chunk));
                    }
                }
                Some(Ok(Delta::ToolCall(call))) => calls.push(call),
                Some(Ok(Delta::Usage(u))) => {
                    let total = run.usage.get_or_insert_with(Usage::default);
                    total.input_tokens += u.input_tokens;
                    total.output_tokens += u.output_tokens;
                    let this = turn.usage.get_or_insert_with(Usage::default);
                    this.input_tokens += u.input_tokens;
                    this.output_tokens += u.output_tokens;
                }
                Some(Err(e)) => {
                    let message = e.to_string();
                    turn.error = Some(e.kind().into());
                    handler.on_model_turn(&turn);
                    handler.on_step(&Step::Error {
                        message: message.clone(),
                        kind: e.kind().into(),
                    });
                    return run.finish(RunStatus::Failed, Some(message));
                }
            }
        }
        drop(stream);
        handler.on_model_turn(&turn);
        messages.push(Message::Assistant {
            text,
            tool_calls: calls.clone(),
        });
        if calls.is_empty() {
            return run.finish(RunStatus::Completed, None);
        }
        for call in calls {
            let Some(result) = run.call_tool(tools, &call, cancel).await else {
                return run.finish(RunStatus::Cancelled, None);
            };
            messages.push(Message::Tool {
                tool_call_id: call.id,
                name: call.name,
                content: result,
            });
        }
    }
    let message = format!(
        "stopped after {} model turns: the model was still calling tools (raise --max-steps to allow more)",
        limits.max_steps.max(1)
    );
    handler.on_step(&Step::Error {
        message: message.clone(),
        kind: "max_steps".into(),
    });
    run.finish(RunStatus::Failed, Some(message))
}

/// The system prompt, with who is asking when known.
fn system_prompt(input: &RunInput) -> String {
    match &input.source_agent {
        Some(agent) => format!(
            "{SYSTEM_PROMPT}\nThis message was sent by the agent \"{agent}\" over {}.",
            input.source
        ),
        None => format!(
            "{SYSTEM_PROMPT}\nThis message arrived over {}.",
            input.source
        ),
    }
}

struct Run<'a> {
    handler: &'a dyn CallbackHandler,
    started: Instant,
    reply: String,
    usage: Option<Usage>,
}

impl Run<'_> {
    fn text(&mut self, chunk: String) {
        self.reply.push_str(&chunk);
        self.handler.on_step(&Step::Text(chunk));
    }

    /// Runs one call; returns the content for the tool message, or `None`
    /// when the run was cancelled meanwhile.
    async fn call_tool(
        &mut self,
        tools: &Toolbox,
        call: &ToolCall,
        cancel: &CancellationToken,
    ) -> Option<String> {
        let raw = call.arguments.trim();
        // An empty string is how some backends say "no arguments".
        let parsed = if raw.is_empty() {
            Ok(Value::Object(Default::default()))
        } else {
            serde_json::from_str::<Value>(raw)
        };
        let started = Instant::now();
        let mut cancelled = false;
        let (input, result) = match parsed {
            Err(e) => (
                Value::String(call.arguments.clone()),
                Err(format!(
                    "arguments are not valid JSON ({e}); send a JSON object"
                )),
            ),
            Ok(args) => {
                self.handler.on_step(&Step::ToolUse {
                    id: call.id.clone(),
                    name: call.name.clone(),
                    input: args.clone(),
                });
                let result = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => {
                        // Pair the tool_use with a result even when cut short.
                        cancelled = true;
                        Err("cancelled before the tool finished".to_string())
                    }
                    r = tools.call(&call.name, args) => r.map_err(|e| e.to_string()),
                };
                (Value::Null, result)
            }
        };
        if !input.is_null() {
            self.handler.on_step(&Step::ToolUse {
                id: call.id.clone(),
                name: call.name.clone(),
                input,
            });
        }
        let duration_ms = started.elapsed().as_millis() as u64;
        let (status, output, content) = match result {
            Ok(output) => {
                let content = output.to_string();
                (ToolStatus::Success, output, content)
            }
            Err(message) => {
                let content = serde_json::json!({"error": message}).to_string();
                (ToolStatus::Error, Value::String(message), content)
            }
        };
        self.handler.on_step(&Step::ToolResult {
            id: call.id.clone(),
            name: call.name.clone(),
            status,
            output,
            duration_ms,
        });
        (!cancelled).then_some(content)
    }

    fn finish(self, status: RunStatus, error: Option<String>) -> RunOutcome {
        let duration_ms = self.started.elapsed().as_millis() as u64;
        self.handler.on_step(&Step::RunFinished {
            status,
            duration_ms,
            usage: self.usage,
            reason: error.clone(),
        });
        RunOutcome {
            status,
            reply: self.reply,
            error,
            usage: self.usage,
            duration_ms,
        }
    }
}
