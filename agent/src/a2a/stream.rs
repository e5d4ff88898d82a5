//! `message/stream`: a run's steps as A2A updates, one SSE event each.
//!
//! The first event is the task itself; then reply chunks become
//! `artifact-update`s (appending to one "reply" artifact), and reasoning,
//! tool calls, tool results and errors become `status-update`s in state
//! `working` whose message says what happened (`metadata.type` names the
//! orchestrator event type). The last event is a `status-update` with
//! `final: true` in the terminal state. Each is sent the moment the step
//! happens, not at the end.

use std::sync::Mutex;

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;

use super::tasks::reply_artifact_id;
use super::types::{Message, Part, TaskState};
use crate::callback::{CallbackHandler, Step};
use crate::run_outcome::RunOutcome;
use crate::timefmt::now_rfc3339;
use orchestrator_events::event::{RunStatus, ToolStatus};

/// Feeds one SSE response from a run's steps.
pub struct SseHandler {
    rpc_id: Value,
    task_id: String,
    context_id: String,
    tx: UnboundedSender<String>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The task event went out; until then, steps wait in `pending`.
    primed: bool,
    pending: Vec<String>,
    sent_text: bool,
}

impl SseHandler {
    /// A handler writing JSON-RPC responses (with `rpc_id`) to `tx`.
    pub fn new(
        rpc_id: Value,
        task_id: String,
        context_id: String,
        tx: UnboundedSender<String>,
    ) -> Self {
        SseHandler {
            rpc_id,
            task_id,
            context_id,
            tx,
            state: Mutex::new(State::default()),
        }
    }

    /// Sends the first event (the task) and whatever steps came before it.
    pub fn prime(&self, task: Value) {
        let mut state = self.lock();
        let _ = self.tx.send(self.response(task));
        for event in state.pending.drain(..) {
            let _ = self.tx.send(event);
        }
        state.primed = true;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn response(&self, result: Value) -> String {
        json!({"jsonrpc": "2.0", "id": self.rpc_id, "result": result}).to_string()
    }

    fn emit(&self, state: &mut State, result: Value) {
        let event = self.response(result);
        if state.primed {
            let _ = self.tx.send(event);
        } else {
            state.pending.push(event);
        }
    }

    fn status(&self, state: TaskState, message: Option<Message>, r#final: bool) -> Value {
        json!({
            "kind": "status-update",
            "taskId": self.task_id,
            "contextId": self.context_id,
            "status": {"state": state, "message": message, "timestamp": now_rfc3339()},
            "final": r#final,
        })
    }

    fn working(&self, kind: &str, parts: Vec<Part>) -> Value {
        let mut message = Message::agent("", &self.task_id, &self.context_id);
        message.parts = parts;
        message.metadata = Some(json!({"type": kind}));
        self.status(TaskState::Working, Some(message), false)
    }

    fn artifact(&self, text: &str, append: bool, last: bool) -> Value {
        json!({
            "kind": "artifact-update",
            "taskId": self.task_id,
            "contextId": self.context_id,
            "artifact": {
                "artifactId": reply_artifact_id(&self.task_id),
                "name": "reply",
                "parts": [{"kind": "text", "text": text}],
            },
            "append": append,
            "lastChunk": last,
        })
    }
}

impl CallbackHandler for SseHandler {
    fn on_step(&self, step: &Step) {
        let mut state = self.lock();
        let update = match step {
            Step::RunStarted { .. } | Step::RunFinished { .. } => return,
            Step::Text(chunk) => {
                let append = state.sent_text;
                state.sent_text = true;
                self.artifact(chunk, append, false)
            }
            Step::Reasoning(chunk) => self.working("reasoning", vec![Part::text(chunk.clone())]),
            Step::ToolUse { id, name, input } => self.working(
                "tool_use",
                vec![
                    Part::text(format!("Calling {name}")),
                    Part::Data {
                        data: json!({"tool_use_id": id, "tool_name": name, "tool_input": input}),
                        metadata: None,
                    },
                ],
            ),
            Step::ToolResult {
                id,
                name,
                status,
                output,
                duration_ms,
            } => self.working(
                "tool_result",
                vec![
                    Part::text(match status {
                        ToolStatus::Success => format!("{name} succeeded"),
                        ToolStatus::Error => format!("{name} failed"),
                    }),
                    Part::Data {
                        data: json!({
                            "tool_use_id": id, "tool_name": name, "status": status,
                            "output": output, "duration_ms": duration_ms,
                        }),
                        metadata: None,
                    },
                ],
            ),
            Step::Error { message, kind } => {
                self.working("error", vec![Part::text(format!("{kind}: {message}"))])
            }
        };
        self.emit(&mut state, update);
    }

    fn on_run_end(&self, outcome: &RunOutcome) {
        let mut state = self.lock();
        if state.sent_text {
            let last = self.artifact("", true, true);
            self.emit(&mut state, last);
        }
        let (task_state, text) = match outcome.status {
            RunStatus::Completed => (TaskState::Completed, outcome.reply.clone()),
            RunStatus::Failed => (
                TaskState::Failed,
                outcome
                    .error
                    .clone()
                    .unwrap_or_else(|| "the run failed".into()),
            ),
            RunStatus::Cancelled => (TaskState::Canceled, "The task was cancelled.".into()),
        };
        let message = Message::agent(text, &self.task_id, &self.context_id);
        let last = self.status(task_state, Some(message), true);
        self.emit(&mut state, last);
    }
}
