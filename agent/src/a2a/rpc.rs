//! JSON-RPC 2.0 for A2A: reading a request, dispatching its method, and the
//! spec's error codes.
//!
//! Errors follow JSON-RPC (`-32700` parse error, `-32600` invalid request,
//! `-32601` method not found, `-32602` invalid params, `-32603` internal) and
//! A2A (`-32001` task not found, `-32002` task not cancelable, `-32003` push
//! notifications not supported, `-32004` unsupported operation). A refused
//! run (too many in flight) is `-32000`, in the range JSON-RPC leaves to
//! servers. Batches are not supported (`-32600`).

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::stream::SseHandler;
use super::tasks::{CancelError, wait_terminal};
use super::types::{MessageSendParams, TaskIdParams, TaskQueryParams, new_id};
use crate::agent_loop::RunInput;
use crate::app::App;
use crate::runs::RunHooks;

/// Invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// Internal error.
pub const INTERNAL_ERROR: i64 = -32603;
/// Server busy: too many runs in flight (implementation-defined range).
pub const SERVER_BUSY: i64 = -32000;
/// A2A: no such task.
pub const TASK_NOT_FOUND: i64 = -32001;
/// A2A: the task already finished.
pub const TASK_NOT_CANCELABLE: i64 = -32002;
/// A2A: push notifications are not supported.
pub const PUSH_NOT_SUPPORTED: i64 = -32003;
/// A2A: the operation is not supported.
pub const UNSUPPORTED_OPERATION: i64 = -32004;

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpcError {
    /// The code.
    pub code: i64,
    /// A one-line message.
    pub message: String,
    /// Details (e.g. which field was wrong).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// What to send back.
#[derive(Debug)]
pub enum RpcReply {
    /// One JSON-RPC response object.
    Json(Value),
    /// Server-sent events: each item is one JSON-RPC response object.
    Stream(mpsc::UnboundedReceiver<String>),
}

/// A successful response.
pub fn ok(id: &Value, result: impl Serialize) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// An error response.
pub fn error(id: &Value, err: RpcError) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": err})
}

/// A request split into its id, method and params; or the id (when one could
/// be read) with the error to answer.
pub type Parsed = Result<(Value, String, Value), Box<(Value, RpcError)>>;

/// Reads a request body: JSON first (`-32700`), then the JSON-RPC 2.0 request
/// object (`-32600`). Pure and public so that the fuzzer exercises the very
/// code path that [`handle`] uses.
pub fn parse_request(body: &[u8]) -> Parsed {
    match serde_json::from_slice(body) {
        Ok(value) => read_request(value),
        Err(e) => Err(Box::new((
            Value::Null,
            RpcError::new(PARSE_ERROR, "Parse error: the body is not valid JSON")
                .with_data(json!(e.to_string())),
        ))),
    }
}

/// Handles one request body.
pub async fn handle(app: Arc<App>, body: &[u8]) -> RpcReply {
    let (id, method, params) = match parse_request(body) {
        Ok(parts) => parts,
        Err(bad) => {
            let (id, err) = *bad;
            return RpcReply::Json(error(&id, err));
        }
    };
    let result = match method.as_str() {
        "message/send" => message_send(&app, params).await,
        "message/stream" => match message_stream(&app, &id, params) {
            Ok(rx) => return RpcReply::Stream(rx),
            Err(e) => Err(e),
        },
        "tasks/get" => tasks_get(&app, params),
        "tasks/cancel" => tasks_cancel(&app, params).await,
        m if m.starts_with("tasks/pushNotificationConfig/") => Err(RpcError::new(
            PUSH_NOT_SUPPORTED,
            "Push notifications are not supported by this agent",
        )),
        "tasks/resubscribe" | "agent/getAuthenticatedExtendedCard" => Err(RpcError::new(
            UNSUPPORTED_OPERATION,
            format!("{method} is not supported by this agent"),
        )),
        _ => Err(RpcError::new(
            METHOD_NOT_FOUND,
            format!("Method not found: {}", one_line(&method)),
        )
        .with_data(
            json!({"supported": ["message/send", "message/stream", "tasks/get", "tasks/cancel"]}),
        )),
    };
    RpcReply::Json(match result {
        Ok(value) => ok(&id, value),
        Err(err) => error(&id, err),
    })
}

/// Splits a request into id, method and params, or says why it is invalid
/// (with the id when one could be read, as the spec asks).
fn read_request(value: Value) -> Parsed {
    let invalid = |id: Value, why: &str| {
        Err(Box::new((
            id,
            RpcError::new(INVALID_REQUEST, format!("Invalid Request: {why}")),
        )))
    };
    let mut obj = match value {
        Value::Object(obj) => obj,
        Value::Array(_) => return invalid(Value::Null, "batch requests are not supported"),
        _ => return invalid(Value::Null, "the body must be a JSON-RPC request object"),
    };
    let id = match obj.remove("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => id,
        Some(Value::Null) | None => {
            return invalid(
                Value::Null,
                "\"id\" is required (a string or number; notifications are not supported)",
            );
        }
        Some(_) => return invalid(Value::Null, "\"id\" must be a string or a number"),
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid(id, "\"jsonrpc\" must be \"2.0\"");
    }
    let method = match obj.remove("method") {
        Some(Value::String(m)) => m,
        _ => return invalid(id, "\"method\" must be a string"),
    };
    let params = obj.remove("params").unwrap_or(Value::Null);
    Ok((id, method, params))
}

/// Reads a method's params (an object) into its typed form, or says why not
/// (`-32602`). Public for the fuzzer, like [`parse_request`].
pub fn params<T: DeserializeOwned>(params: Value) -> Result<T, RpcError> {
    if !params.is_object() {
        return Err(RpcError::new(
            INVALID_PARAMS,
            "Invalid params: \"params\" must be an object",
        ));
    }
    serde_json::from_value(params).map_err(|e| {
        RpcError::new(
            INVALID_PARAMS,
            format!("Invalid params: {}", one_line(&e.to_string())),
        )
    })
}

/// Escapes control characters, so that a client's value echoed in a message
/// (serde quotes an unknown variant as it came, newlines included) keeps the
/// message on one line. Found by fuzzing (`fuzz/`, target `a2a_request`).
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A started task: its id, context and a watch of its state.
struct Begun {
    task: super::types::Task,
    state: tokio::sync::watch::Receiver<super::types::TaskState>,
}

/// Validates `message/send`-style params and starts the run behind a new task.
fn begin(
    app: &App,
    p: MessageSendParams,
    observer: impl FnOnce(&str, &str) -> Option<Arc<SseHandler>>,
) -> Result<(Begun, Option<Arc<SseHandler>>), RpcError> {
    if p.message.task_id.is_some() {
        return Err(RpcError::new(
            UNSUPPORTED_OPERATION,
            "This agent does not continue existing tasks: send the message without taskId",
        ));
    }
    let text = p.message.text();
    if text.trim().is_empty() {
        return Err(RpcError::new(
            INVALID_PARAMS,
            "Invalid params: the message has no text part (or only empty text)",
        ));
    }
    let source_agent = [p.metadata.as_ref(), p.message.metadata.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|m| m.get("source_agent").and_then(Value::as_str))
        .map(|s| s.chars().take(128).collect::<String>());
    let parent_run_id = [p.metadata.as_ref(), p.message.metadata.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|m| m.get("parent_run_id").and_then(Value::as_str))
        .map(|s| s.chars().take(128).collect::<String>())
        .filter(|s| !s.trim().is_empty());
    let context_id = p.message.context_id.clone().unwrap_or_else(new_id);
    let task_id = new_id();
    let run_id = crate::runs::new_run_id();
    let cancel = app.runner.child_token();
    let sse = observer(&task_id, &context_id);
    let (task, state) = app.tasks.create(
        task_id.clone(),
        p.message,
        context_id.clone(),
        &run_id,
        &app.name,
        cancel.clone(),
    );
    let tasks = app.tasks.clone();
    let done_id = task_id.clone();
    let hooks = RunHooks {
        run_id: Some(run_id),
        cancel: Some(cancel),
        observer: sse
            .clone()
            .map(|h| h as Arc<dyn crate::callback::CallbackHandler>),
        on_done: Some(Box::new(move |outcome| tasks.finish(&done_id, outcome))),
    };
    let input = RunInput {
        input: text,
        source: "a2a".into(),
        context_id: Some(context_id),
        source_agent,
        parent_run_id,
    };
    if let Err(busy) = app.runner.start(input, hooks) {
        app.tasks.remove(&task_id);
        return Err(RpcError::new(SERVER_BUSY, format!("Server {busy}"))
            .with_data(json!({"in_flight": busy.in_flight, "limit": busy.limit})));
    }
    Ok((Begun { task, state }, sse))
}

async fn message_send(app: &App, raw: Value) -> Result<Value, RpcError> {
    let p: MessageSendParams = params(raw)?;
    let config = p.configuration.clone().unwrap_or_default();
    let (begun, _) = begin(app, p, |_, _| None)?;
    if config.blocking == Some(false) {
        return Ok(json!(begun.task));
    }
    wait_terminal(begun.state).await;
    app.tasks
        .get(&begun.task.id, config.history_length)
        .map(|t| json!(t))
        .ok_or_else(|| RpcError::new(INTERNAL_ERROR, "the task was forgotten before it finished"))
}

fn message_stream(
    app: &App,
    id: &Value,
    raw: Value,
) -> Result<mpsc::UnboundedReceiver<String>, RpcError> {
    let p: MessageSendParams = params(raw)?;
    let (tx, rx) = mpsc::unbounded_channel();
    let (begun, sse) = begin(app, p, |task_id, context_id| {
        Some(Arc::new(SseHandler::new(
            id.clone(),
            task_id.to_string(),
            context_id.to_string(),
            tx,
        )))
    })?;
    if let Some(sse) = sse {
        sse.prime(json!(begun.task));
    }
    Ok(rx)
}

fn tasks_get(app: &App, raw: Value) -> Result<Value, RpcError> {
    let p: TaskQueryParams = params(raw)?;
    app.tasks
        .get(&p.id, p.history_length)
        .map(|t| json!(t))
        .ok_or_else(|| task_not_found(&p.id))
}

async fn tasks_cancel(app: &App, raw: Value) -> Result<Value, RpcError> {
    let p: TaskIdParams = params(raw)?;
    match app.tasks.cancel(&p.id) {
        Ok(state) => {
            // The run stops at its next step; bounded so a stuck tool cannot hang us.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), wait_terminal(state))
                .await;
            app.tasks
                .get(&p.id, None)
                .map(|t| json!(t))
                .ok_or_else(|| task_not_found(&p.id))
        }
        Err(CancelError::NotFound) => Err(task_not_found(&p.id)),
        Err(CancelError::NotCancelable(state)) => Err(RpcError::new(
            TASK_NOT_CANCELABLE,
            "Task cannot be canceled: it has already finished",
        )
        .with_data(json!({"id": p.id, "state": state}))),
    }
}

fn task_not_found(id: &str) -> RpcError {
    RpcError::new(TASK_NOT_FOUND, "Task not found").with_data(json!({"id": id}))
}
