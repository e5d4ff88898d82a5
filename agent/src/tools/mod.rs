//! The tools the model may call, and how a call is checked and run.
//!
//! A [`Tool`] describes itself as a JSON-schema function ([`ToolSpec`]) and
//! runs on a parsed JSON object. Inputs are validated by the tool with clear,
//! field-named messages ([`args`]); every failure is a [`ToolError`] that
//! becomes a `tool_result` with `status:"error"` — the run goes on and the
//! model is told what went wrong.

pub mod args;
pub mod plans;

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::model::ToolSpec;

/// Why a tool call failed; the text is what the model and the watcher see.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolError {
    /// The arguments were not acceptable.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The thing asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// A dependency (Redis) could not be reached or failed.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// No tool has that name.
    #[error("unknown tool {name:?}; available tools: {available}")]
    UnknownTool {
        /// The name the model used.
        name: String,
        /// The names it could have used.
        available: String,
    },
}

/// A tool with a real effect.
pub trait Tool: Send + Sync {
    /// Name, description and argument schema, as the model sees them.
    fn spec(&self) -> ToolSpec;
    /// Runs on already-parsed JSON arguments.
    fn call(&self, args: Value) -> BoxFuture<'static, Result<Value, ToolError>>;
}

/// The set of tools an agent offers.
#[derive(Clone, Default)]
pub struct Toolbox {
    tools: BTreeMap<String, Arc<dyn Tool>>,
}

impl std::fmt::Debug for Toolbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.tools.keys()).finish()
    }
}

impl Toolbox {
    /// An empty toolbox.
    pub fn new() -> Self {
        Toolbox::default()
    }

    /// Adds a tool (replacing one of the same name).
    pub fn with(mut self, tool: Arc<dyn Tool>) -> Self {
        self.tools.insert(tool.spec().name, tool);
        self
    }

    /// The specs of all tools, for the model.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.values().map(|t| t.spec()).collect()
    }

    /// Runs the tool `name` on `args`.
    pub async fn call(&self, name: &str, args: Value) -> Result<Value, ToolError> {
        match self.tools.get(name) {
            Some(tool) => tool.call(args).await,
            None => Err(ToolError::UnknownTool {
                name: name.to_string(),
                available: self.tools.keys().cloned().collect::<Vec<_>>().join(", "),
            }),
        }
    }
}
