//! A2A wire types (protocol 0.3, JSON-RPC binding): messages, parts, tasks,
//! and the two streaming update events.
//!
//! Incoming messages are read leniently where the spec allows a sensible
//! default (`messageId` and `role` may be omitted by hand-written clients) and
//! strictly where guessing would be wrong (unknown part kinds are refused).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The client.
    #[default]
    User,
    /// This agent.
    Agent,
}

/// One part of a message or artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Part {
    /// Text.
    Text {
        /// The text.
        text: String,
        /// Optional metadata.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metadata: Option<Value>,
    },
    /// Structured data.
    Data {
        /// The data.
        data: Value,
        /// Optional metadata.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metadata: Option<Value>,
    },
    /// A file (accepted, not read: this agent works on text).
    File {
        /// The file object.
        file: Value,
        /// Optional metadata.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metadata: Option<Value>,
    },
}

impl Part {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Part {
        Part::Text {
            text: text.into(),
            metadata: None,
        }
    }
}

/// A message between client and agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// Always `"message"`.
    #[serde(default = "message_kind")]
    pub kind: String,
    /// Unique id (generated when a client omits it).
    #[serde(default = "new_id")]
    pub message_id: String,
    /// Sender.
    #[serde(default)]
    pub role: Role,
    /// Content.
    pub parts: Vec<Part>,
    /// Conversation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    /// The task this message belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Optional metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

fn message_kind() -> String {
    "message".into()
}

/// A fresh random id (UUID v4).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Message {
    /// An agent message with one text part.
    pub fn agent(text: impl Into<String>, task_id: &str, context_id: &str) -> Message {
        Message {
            kind: message_kind(),
            message_id: new_id(),
            role: Role::Agent,
            parts: vec![Part::text(text)],
            context_id: Some(context_id.into()),
            task_id: Some(task_id.into()),
            metadata: None,
        }
    }

    /// The text parts joined by newlines; data parts are included as JSON.
    pub fn text(&self) -> String {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Text { text, .. } => Some(text.clone()),
                Part::Data { data, .. } => Some(data.to_string()),
                Part::File { .. } => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `message/send` and `message/stream` parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSendParams {
    /// The message.
    pub message: Message,
    /// Options.
    #[serde(default)]
    pub configuration: Option<SendConfiguration>,
    /// Optional metadata (`source_agent` is read from it when present).
    #[serde(default)]
    pub metadata: Option<Value>,
}

/// `message/send` options this agent honours.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendConfiguration {
    /// Wait for the run to end (default) or answer at once with a working task.
    #[serde(default)]
    pub blocking: Option<bool>,
    /// How much history to return.
    #[serde(default)]
    pub history_length: Option<usize>,
    /// Accepted and ignored (text only).
    #[serde(default)]
    pub accepted_output_modes: Option<Vec<String>>,
}

/// `tasks/get` parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskQueryParams {
    /// Task id.
    pub id: String,
    /// How much history to return.
    #[serde(default)]
    pub history_length: Option<usize>,
}

/// `tasks/cancel` parameters.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskIdParams {
    /// Task id.
    pub id: String,
}

/// A task's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskState {
    /// Accepted, not started.
    Submitted,
    /// Running.
    Working,
    /// Needs more input (unused here).
    InputRequired,
    /// Finished.
    Completed,
    /// Cancelled by `tasks/cancel` or shutdown.
    Canceled,
    /// Failed.
    Failed,
    /// Refused.
    Rejected,
    /// Needs authentication (unused here).
    AuthRequired,
    /// Unknown.
    Unknown,
}

impl TaskState {
    /// Whether the task can no longer change.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Completed | TaskState::Canceled | TaskState::Failed | TaskState::Rejected
        )
    }
}

/// A task's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStatus {
    /// State.
    pub state: TaskState,
    /// The agent's message for this state (the reply, or why it failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// When it entered this state (RFC 3339).
    pub timestamp: String,
}

/// An output of a task.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Id, stable across streamed chunks.
    pub artifact_id: String,
    /// Name.
    pub name: String,
    /// Content.
    pub parts: Vec<Part>,
}

/// A task (the result of `message/send`, `tasks/get`, `tasks/cancel`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// Always `"task"`.
    pub kind: &'static str,
    /// Task id.
    pub id: String,
    /// Conversation id.
    pub context_id: String,
    /// Current status.
    pub status: TaskStatus,
    /// Outputs (the reply).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<Artifact>,
    /// Messages exchanged.
    pub history: Vec<Message>,
    /// `run_id` and `agent`, to find the task's events.
    pub metadata: Value,
}
