//! The A2A (agent-to-agent) protocol surface: JSON-RPC 2.0 at `POST /`.
//!
//! - [`types`]: messages, parts, tasks and update events as on the wire.
//! - [`tasks`]: the in-memory task store (`tasks/get`, `tasks/cancel`).
//! - [`rpc`]: request parsing, method dispatch, the spec's error codes.
//! - [`stream`]: a run's steps as `message/stream` SSE updates.
//! - [`card`]: the agent card at `/.well-known/agent-card.json`.

pub mod card;
pub mod rpc;
pub mod stream;
pub mod tasks;
pub mod types;
