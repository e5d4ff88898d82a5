//! What a row is, for icons, colours and type filters.
//!
//! [`Kind`] is finer than the wire type where people care about the difference
//! (a tool result that failed looks different from one that succeeded; a frame
//! that does not parse is not an unknown type). [`Category`] is what a type
//! filter toggles: the number keys 1–8 and `type:` in the filter prompt.

use orchestrator_events::EventKind;
use orchestrator_events::event::ToolStatus;

/// The look of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `text_generation`
    Text,
    /// `reasoning`
    Reasoning,
    /// `tool_use` (pending, or paired with its result in the coalesced view)
    ToolUse,
    /// `tool_result` with status success
    ToolOk,
    /// `tool_result` with status error
    ToolErr,
    /// `run_started`
    RunStarted,
    /// `run_finished`
    RunFinished,
    /// `error`
    Error,
    /// `bridge_hello` / `bridge_status`
    Bridge,
    /// A type this build does not know
    Unknown,
    /// A frame that is not an event at all
    Malformed,
}

/// The granularity of type filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Text chunks.
    Text,
    /// Reasoning chunks.
    Reasoning,
    /// Tool calls and their results.
    Tool,
    /// Run starts.
    RunStarted,
    /// Run ends.
    RunFinished,
    /// Error events.
    Error,
    /// The bridge's own frames.
    Bridge,
    /// Unknown types and malformed frames.
    Other,
}

impl Category {
    /// All categories in key order (key 1 is `ALL[0]`).
    pub const ALL: [Category; 8] = [
        Category::Text,
        Category::Reasoning,
        Category::Tool,
        Category::RunStarted,
        Category::RunFinished,
        Category::Error,
        Category::Bridge,
        Category::Other,
    ];

    /// The name used in the filter prompt and status bar.
    pub fn name(self) -> &'static str {
        match self {
            Category::Text => "text",
            Category::Reasoning => "reasoning",
            Category::Tool => "tool",
            Category::RunStarted => "run_started",
            Category::RunFinished => "run_finished",
            Category::Error => "error",
            Category::Bridge => "bridge",
            Category::Other => "other",
        }
    }

    /// Reads a category from a filter word: its own name or a wire type name.
    pub fn from_name(name: &str) -> Option<Category> {
        Some(match name.to_ascii_lowercase().as_str() {
            "text" | "text_generation" => Category::Text,
            "reasoning" => Category::Reasoning,
            "tool" | "tool_use" | "tool_result" => Category::Tool,
            "run_started" | "started" => Category::RunStarted,
            "run_finished" | "finished" => Category::RunFinished,
            "error" => Category::Error,
            "bridge" | "bridge_hello" | "bridge_status" => Category::Bridge,
            "other" | "unknown" | "malformed" => Category::Other,
            _ => return None,
        })
    }

    /// Position in [`Category::ALL`], for bit sets.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Kind {
    /// The kind of a parsed event.
    pub fn of(kind: &EventKind) -> Kind {
        match kind {
            EventKind::TextGeneration(_) => Kind::Text,
            EventKind::Reasoning(_) => Kind::Reasoning,
            EventKind::ToolUse(_) => Kind::ToolUse,
            EventKind::ToolResult(r) => match r.status {
                ToolStatus::Success => Kind::ToolOk,
                ToolStatus::Error => Kind::ToolErr,
            },
            EventKind::RunStarted(_) => Kind::RunStarted,
            EventKind::RunFinished(_) => Kind::RunFinished,
            EventKind::Error(_) => Kind::Error,
            EventKind::BridgeHello(_) | EventKind::BridgeStatus(_) => Kind::Bridge,
            EventKind::Other { .. } => Kind::Unknown,
        }
    }

    /// The filter category this kind belongs to.
    pub fn category(self) -> Category {
        match self {
            Kind::Text => Category::Text,
            Kind::Reasoning => Category::Reasoning,
            Kind::ToolUse | Kind::ToolOk | Kind::ToolErr => Category::Tool,
            Kind::RunStarted => Category::RunStarted,
            Kind::RunFinished => Category::RunFinished,
            Kind::Error => Category::Error,
            Kind::Bridge => Category::Bridge,
            Kind::Unknown | Kind::Malformed => Category::Other,
        }
    }
}
