//! Wall-clock times for the log's time column: the one time formatting,
//! shared with the agent (see [`orchestrator_events::time`]).

pub use orchestrator_events::time::Zone;
