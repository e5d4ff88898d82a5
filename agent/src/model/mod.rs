//! The model behind the agent: anything that, given a conversation and the tool
//! definitions, streams back one assistant turn.
//!
//! A turn is a stream of [`Delta`]s — text chunks, reasoning chunks, complete
//! tool calls and a usage report — so the agent loop can publish each step the
//! moment it happens. The loop runs the requested tools, appends their results
//! as [`Message::Tool`] and asks for another turn until the model stops calling
//! tools. Cancelling a run is dropping the stream.
//!
//! Backends: [`builtin`] (offline, deterministic: the default for demos and
//! tests) and `openai` (any OpenAI-compatible `/chat/completions` endpoint).

pub mod builtin;
use futures_util::stream::BoxStream;
use orchestrator_events::event::Usage;
use serde_json::Value;

pub mod openai;

/// One message of the conversation the model sees.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Instructions for the model.
    System(String),
    /// The user's (or calling agent's) message.
    User(String),
    /// A previous assistant turn: its text and the tool calls it made.
    Assistant {
        /// The reply text of that turn (may be empty when it only called tools).
        text: String,
        /// The tool calls it made, in order.
        tool_calls: Vec<ToolCall>,
    },
    /// The result of one tool call, given back to the model.
    Tool {
        /// The [`ToolCall::id`] this answers.
        tool_call_id: String,
        /// The tool's name.
        name: String,
        /// The result (or error) as text.
        content: String,
    },
}

/// A complete tool call requested by the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// Id chosen by the model (or backend); pairs the call with its result.
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments as the raw JSON text the model produced. Not parsed here: text
    /// that is not valid JSON becomes a tool error the model is told about.
    pub arguments: String,
}

/// A tool the model may call, described as a JSON-schema function.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// Function name.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON schema of its arguments object.
    pub parameters: Value,
}

/// One piece of a streamed assistant turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    /// A chunk of the reply text.
    Text(String),
    /// A chunk of reasoning.
    Reasoning(String),
    /// A tool call, complete (arguments fully accumulated).
    ToolCall(ToolCall),
    /// Token usage for the turn.
    Usage(Usage),
}

/// What a model needs for one turn. Owned, so a backend can move it into a task.
#[derive(Debug, Clone)]
pub struct TurnRequest {
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// The tools the model may call.
    pub tools: Vec<ToolSpec>,
}

/// Why a turn failed. Each ends the run with an `error` event and
/// `run_finished` `failed`; the agent keeps serving.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    /// The endpoint could not be reached.
    #[error("cannot reach the model endpoint: {0}")]
    Connect(String),
    /// No answer (or no progress) in time.
    #[error("model request timed out after {0} s")]
    Timeout(u64),
    /// The endpoint answered with an error status.
    #[error("model endpoint answered {status}: {message}")]
    Status {
        /// HTTP status code.
        status: u16,
        /// The server's error message.
        message: String,
    },
    /// The stream was cut short or could not be understood.
    #[error("bad model stream: {0}")]
    Protocol(String),
}

impl ModelError {
    /// A short machine-readable category, used as the `error` event's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelError::Connect(_) => "model_connect",
            ModelError::Timeout(_) => "model_timeout",
            ModelError::Status { .. } => "model_status",
            ModelError::Protocol(_) => "model_protocol",
        }
    }
}

/// A streamed assistant turn.
pub type DeltaStream = BoxStream<'static, Result<Delta, ModelError>>;

/// A model backend.
pub trait Model: Send + Sync + 'static {
    /// Starts one assistant turn. Dropping the stream cancels it.
    fn turn(&self, request: TurnRequest) -> DeltaStream;

    /// One line for logs and `/healthz`, e.g. `builtin` or `openai gpt-4o-mini @ http://…`.
    fn describe(&self) -> String;

    /// The model's name (`gen_ai.request.model` of exported spans).
    fn name(&self) -> String {
        self.describe()
    }
}
