//! The contract between the orchestrator agent, the bridge and the TUI.
//!
//! Everything that crosses a process boundary is defined here, once:
//!
//! - [`event`]: the event envelope and its kinds — the JSON on the Redis channel
//!   and in every WebSocket frame. Parsing is tolerant: unknown types and fields
//!   are kept, not dropped, so old consumers keep working and new ones can show
//!   what they do not understand.
//! - [`id`]: Redis stream ids, the key for ordering, replay and gap detection.
//! - [`peek`]: a zero-copy look at just the envelope fields, for the bridge's hot path.
//! - [`filter`]: the `types` / `agent` / `run_id` filter shared by bridge and TUI.
//! - [`frame`]: frames the bridge itself sends (`bridge_hello`, `bridge_status`).
//! - [`resume`]: the client half of gapless resume — a stream [`Position`] and a
//!   [`Resumer`] that judges each frame and builds the reconnect query.
//! - [`backoff`]: exponential backoff with jitter, the one retry delay.
//! - `cli` (feature `cli`): a usage error as one line with a hint, exit 2.
//! - `process` (feature `cli`): the log subscriber and the stop signals of
//!   every binary.
//! - [`clock`]: the one wall clock, Unix seconds now.
//! - [`config`]: default names and ports, so every binary agrees.
//! - [`summary`]: the one-line summary of an event (monitor and listen).
//! - [`truncate`]: caps on large fields and the additive `truncated` object.
//! - `publish` (feature `redis`): the one server-side step that appends an event
//!   to the stream and publishes it with its stream id.
//! - `source` (feature `redis`): `REDIS_URL` parsed once, plain or through
//!   Sentinel, and the client for the current master on every reconnection.
//! - `time` (feature `time`): formatting Unix times (RFC 3339, clock, time zone).
//! - `tls` (feature `redis`): the rustls crypto provider for `rediss://` URLs.

pub mod backoff;
#[cfg(feature = "cli")]
pub mod cli;
pub mod clock;
pub mod config;
pub mod event;
pub mod filter;
pub mod frame;
pub mod id;
pub mod peek;
#[cfg(feature = "cli")]
pub mod process;
#[cfg(feature = "redis")]
pub mod publish;
pub mod resume;
#[cfg(feature = "redis")]
pub mod source;
#[cfg(feature = "redis")]
pub mod stream_memory;
pub mod summary;
#[cfg(feature = "time")]
pub mod time;
#[cfg(feature = "redis")]
pub mod tls;
pub mod truncate;

pub use backoff::Backoff;
pub use event::{Event, EventKind, ParseError};
pub use filter::Filter;
pub use frame::{BridgeHello, BridgeStatus, StatusKind};
pub use id::StreamId;
pub use peek::Peek;
pub use resume::{Position, Query, Resumer, Start, Verdict};
pub use truncate::{DEFAULT_MAX_FIELD_BYTES, cap_event, capped_json};
