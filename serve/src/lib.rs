//! Serving HTTP/1.1 over TCP so that slow and silent peers cannot hold the
//! process's file descriptors: every connection has a deadline for each thing
//! it is waiting for, and connections not yet answered or upgraded are bounded
//! in total and per IP.
//!
//! A slowloris needs no bandwidth: it opens connections and sends nothing, or
//! half a request line, or a body one byte a minute. Each costs a descriptor,
//! and past the descriptor limit a server accepts nobody. hyper's own
//! `header_read_timeout` starts again as soon as a keep-alive connection waits
//! for its next request, so it cannot tell an idle keep-alive connection from a
//! stalled head, and hyper has no body deadline at all; so the phases are
//! tracked here, per connection, and the accept loop is this crate's.
//!
//! Used by every HTTP server of the project: the bridge, the agent and the
//! OpenTelemetry ingest. Layout:
//!
//! - [`limits`]: the deadlines and bounds ([`Limits`]), with their defaults.
//! - `watch`: which phase a connection is in and since when.
//! - `io` / `body` / `service`: where the phase changes are seen (first byte of
//!   a request, end of the request body, end of the response, a `101`).
//! - `pending`: the total and per-IP bound on connections not yet upgraded.
//! - [`stats`]: connections closed by reason, for each server's `/metrics`.
//! - `accept`: [`serve`], the accept loop and one task per connection.
//! - [`fdlimit`]: raising the soft open-files limit toward the hard one.
//!
//! A WebSocket, once upgraded, leaves all of this: its connection task ends,
//! its pending slot is freed, and its liveness is the server's ping/pong.

mod accept;
mod body;
pub mod fdlimit;
mod io;
pub mod limits;
mod pending;
mod service;
pub mod stats;
mod watch;

pub use accept::serve;
pub use body::{RequestBody, ResponseBody};
pub use limits::{Limits, LimitsError};
pub use service::PeerAddr;
pub use stats::{CloseReason, ConnStats};
