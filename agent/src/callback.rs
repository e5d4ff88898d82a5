//! The callback handler: the loop reports each step of a run, handlers turn
//! steps into whatever they feed.
//!
//! The loop knows nothing of Redis or HTTP. It calls [`CallbackHandler::on_step`]
//! for every [`Step`] — synchronously and in order — and a handler must return
//! at once (queue, never wait). [`RunEvents`] numbers the steps (`seq`) and
//! queues them as wire [`Event`]s on the publisher; a streaming A2A request
//! adds a second handler that feeds its SSE response ([`Fanout`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use orchestrator_events::clock::now_secs;
use orchestrator_events::event::{
    ErrorEvent, Reasoning, RunFinished, RunStarted, RunStatus, TextGeneration, ToolResult,
    ToolStatus, ToolUse, Usage,
};
use orchestrator_events::{Event, EventKind};
use serde_json::Value;

use crate::publisher::PublisherHandle;
use crate::run_outcome::RunOutcome;

/// One thing that happened in a run, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The run was accepted.
    RunStarted {
        /// The message text.
        input: String,
        /// `"a2a"`, `"chat"`, …
        source: String,
        /// The A2A context id, if any.
        context_id: Option<String>,
        /// The calling agent's name, when it gave one.
        source_agent: Option<String>,
        /// The model answering the run, when the agent knows it (the
        /// monitor's runs view shows it and prices tokens by it).
        model: Option<String>,
    },
    /// A chunk of the reply.
    Text(String),
    /// A chunk of reasoning.
    Reasoning(String),
    /// The model called a tool.
    ToolUse {
        /// Pairs the call with its result.
        id: String,
        /// Tool name.
        name: String,
        /// Parsed arguments, or the raw text when it was not valid JSON.
        input: Value,
    },
    /// A tool call finished.
    ToolResult {
        /// The call's id.
        id: String,
        /// Tool name.
        name: String,
        /// Success or error.
        status: ToolStatus,
        /// What it returned, or the error message.
        output: Value,
        /// How long it ran.
        duration_ms: u64,
    },
    /// Something went wrong (the run ends after it, or a tool failed badly).
    Error {
        /// Human-readable description.
        message: String,
        /// Machine-readable category.
        kind: String,
    },
    /// The run ended; always the last step.
    RunFinished {
        /// Completed, failed or cancelled.
        status: RunStatus,
        /// Wall time of the run.
        duration_ms: u64,
        /// Summed token usage, when the model reported any.
        usage: Option<Usage>,
        /// Why it did not complete, when it did not.
        reason: Option<String>,
    },
}

impl Step {
    /// The wire event kind for this step (without envelope).
    pub fn to_event(&self) -> Event {
        let mut extra = serde_json::Map::new();
        let kind = match self.clone() {
            Step::RunStarted {
                input,
                source,
                context_id,
                source_agent,
                model,
            } => {
                if let Some(agent) = source_agent {
                    extra.insert("source_agent".into(), Value::String(agent));
                }
                if let Some(model) = model {
                    extra.insert("model".into(), Value::String(model));
                }
                EventKind::RunStarted(RunStarted {
                    input,
                    source,
                    context_id,
                })
            }
            Step::Text(data) => EventKind::TextGeneration(TextGeneration { data }),
            Step::Reasoning(content) => EventKind::Reasoning(Reasoning { content }),
            Step::ToolUse { id, name, input } => EventKind::ToolUse(ToolUse {
                tool_name: name,
                tool_input: input,
                tool_use_id: Some(id),
            }),
            Step::ToolResult {
                id,
                name,
                status,
                output,
                duration_ms,
            } => EventKind::ToolResult(ToolResult {
                tool_use_id: id,
                tool_name: name,
                status,
                output,
                duration_ms,
            }),
            Step::Error { message, kind } => EventKind::Error(ErrorEvent { message, kind }),
            Step::RunFinished {
                status,
                duration_ms,
                usage,
                reason,
            } => EventKind::RunFinished(RunFinished {
                status,
                duration_ms,
                usage,
                reason,
            }),
        };
        let mut event = Event::new(kind);
        event.extra = extra;
        event
    }
}

/// One model turn, reported when it ends (for the trace export's `chat` spans).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelTurn {
    /// When the request to the model was made.
    pub started: std::time::SystemTime,
    /// Token usage the model reported for this turn.
    pub usage: Option<Usage>,
    /// The error kind when the turn failed or was cancelled.
    pub error: Option<String>,
}

/// Receives every step of a run. Must not block: the loop waits for nothing.
pub trait CallbackHandler: Send + Sync {
    /// Called once per step, in order.
    fn on_step(&self, step: &Step);

    /// Called once after the last step, with the run's outcome.
    fn on_run_end(&self, _outcome: &RunOutcome) {}

    /// Called when a model turn ends, before the steps that follow it.
    fn on_model_turn(&self, _turn: &ModelTurn) {}
}

/// Turns a run's steps into numbered events on the publisher.
#[derive(Debug)]
pub struct RunEvents {
    agent: String,
    run_id: String,
    parent_run_id: Option<String>,
    seq: AtomicU64,
    publisher: PublisherHandle,
}

impl RunEvents {
    /// A handler for one run; `seq` starts at 0.
    pub fn new(agent: String, run_id: String, publisher: PublisherHandle) -> Self {
        RunEvents {
            agent,
            run_id,
            parent_run_id: None,
            seq: AtomicU64::new(0),
            publisher,
        }
    }

    /// Marks every event of the run as a child of `parent`.
    pub fn with_parent(mut self, parent: Option<String>) -> Self {
        self.parent_run_id = parent;
        self
    }
}

impl CallbackHandler for RunEvents {
    fn on_step(&self, step: &Step) {
        let mut event = step.to_event();
        event.agent = Some(self.agent.clone());
        event.run_id = Some(self.run_id.clone());
        event.parent_run_id = self.parent_run_id.clone();
        event.seq = Some(self.seq.fetch_add(1, Ordering::Relaxed));
        event.timestamp = Some(now_secs());
        self.publisher.publish_event(&event);
    }
}

/// Several handlers, called in order.
#[derive(Default, Clone)]
pub struct Fanout(pub Vec<Arc<dyn CallbackHandler>>);

impl CallbackHandler for Fanout {
    fn on_step(&self, step: &Step) {
        for handler in &self.0 {
            handler.on_step(step);
        }
    }

    fn on_run_end(&self, outcome: &RunOutcome) {
        for handler in &self.0 {
            handler.on_run_end(outcome);
        }
    }

    fn on_model_turn(&self, turn: &ModelTurn) {
        for handler in &self.0 {
            handler.on_model_turn(turn);
        }
    }
}

/// Forwards steps into a channel (for a streaming response). The run's
/// output is bounded by its step limit, so an unbounded channel cannot grow
/// without end; a closed receiver (client gone) is ignored.
#[derive(Debug, Clone)]
pub struct ChannelHandler(pub tokio::sync::mpsc::UnboundedSender<Step>);

impl CallbackHandler for ChannelHandler {
    fn on_step(&self, step: &Step) {
        let _ = self.0.send(step.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_become_contract_events() {
        let e = Step::ToolUse {
            id: "call_1".into(),
            name: "store_research_plan".into(),
            input: serde_json::json!({"plan_data": "p", "source_agent": "planner"}),
        }
        .to_event();
        assert_eq!(
            e.to_json(),
            r#"{"type":"tool_use","tool_name":"store_research_plan","tool_input":{"plan_data":"p","source_agent":"planner"},"tool_use_id":"call_1"}"#
        );
        let e = Step::RunStarted {
            input: "hi".into(),
            source: "chat".into(),
            context_id: None,
            source_agent: Some("planner".into()),
            model: Some("gpt-4o-mini".into()),
        }
        .to_event();
        assert_eq!(
            e.to_json(),
            r#"{"type":"run_started","input":"hi","source":"chat","source_agent":"planner","model":"gpt-4o-mini"}"#
        );
    }
}
