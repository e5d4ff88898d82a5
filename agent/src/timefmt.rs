//! Formatting Unix times: RFC 3339 for A2A, `HH:MM:SS.mmm` (UTC) for one-line
//! event listings — the one time formatting, shared with the TUI (see
//! [`orchestrator_events::time`]).

pub use orchestrator_events::time::{clock, now_rfc3339, rfc3339};
