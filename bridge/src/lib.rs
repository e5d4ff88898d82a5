//! The orchestrator bridge: Redis events out to WebSocket clients, fast, with
//! gapless replay, and surviving faults.
//!
//! One Redis subscription per process feeds a hub that hands each message —
//! encoded once, shared by pointer — to every connected client's bounded queue.
//! Clients can filter, replay from the capped stream (`since=`, `last=`), and
//! are caught up from the stream after Redis comes back.
//!
//! Layout, one concept per module:
//!
//! - [`config`]: settings and their defaults; [`error`]: what stops a start.
//! - `server`: [`run`] — wiring, serving, stopping.
//! - `routes` / `handlers`: the HTTP surface (`/ws/orchestrator`, `/healthz`, `/metrics`).
//! - `query`: the WebSocket query string; `upgrade`: the WebSocket handshake.
//! - `auth`: the access token and allowed origins; `limits`: connection counts and rates.
//! - `subscriber`: the one Redis subscription and its reconnection.
//! - `hub`: who is connected, one frame to many; `queue`: a client's bounded queue.
//! - `frame`: an encoded frame shared by all; `client`: one connection's life.
//! - `replay`: `since` / `last` / catch-up; `store`: stream reads and the epoch.
//! - `metrics`: counters and their Prometheus text.

mod auth;
mod client;
pub mod config;
pub mod error;
mod frame;
mod handlers;
mod hub;
mod limits;
mod metrics;
// Public (not part of the API the binary needs) so `fuzz/` can reach the parser.
#[doc(hidden)]
pub mod query;
mod queue;
mod replay;
mod routes;
mod server;
mod state;
mod store;
mod stream_usage;
mod subscriber;
mod upgrade;

pub use config::{Config, ConfigError};
pub use error::BridgeError;
pub use server::run;
