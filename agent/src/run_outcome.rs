//! How a run ended: the one type the loop produces and every listener
//! (callback handlers, the A2A task store, HTTP answers) reads. Its own module
//! so that the loop and the handlers both depend on it, not on each other.

use orchestrator_events::event::{RunStatus, Usage};

/// How a run ended, for the HTTP answer.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// Completed, failed or cancelled.
    pub status: RunStatus,
    /// All reply text (possibly partial when not completed).
    pub reply: String,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Summed token usage, when reported.
    pub usage: Option<Usage>,
    /// Wall time.
    pub duration_ms: u64,
}
