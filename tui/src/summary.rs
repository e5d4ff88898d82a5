//! One-line summaries of events: the one summary, kept in
//! `orchestrator_events::summary` so that `orchestrator-listen` prints the
//! same line as `orchestrator-tui --plain`. Re-exported under its old path.

pub use orchestrator_events::summary::*;
