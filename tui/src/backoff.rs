//! Reconnect delays: the one backoff with jitter, shared with the other
//! crates (see [`orchestrator_events::backoff`]).

pub use orchestrator_events::backoff::Backoff;
