//! The agent's shared state: what every HTTP handler can reach.

use std::sync::Arc;
use std::time::Instant;

use crate::a2a::tasks::TaskStore;
use crate::publisher::PublisherHandle;
use crate::runs::Runner;

/// Shared by all handlers (behind an `Arc`).
#[derive(Clone)]
pub struct App {
    /// The agent's name (`agent` field of its events).
    pub name: String,
    /// Starts and limits runs.
    pub runner: Runner,
    /// A2A tasks.
    pub tasks: Arc<TaskStore>,
    /// The event publisher (for `/healthz`).
    pub publisher: PublisherHandle,
    /// The Redis URL with its password hidden, for `/healthz`.
    pub redis_url_redacted: String,
    /// Where Redis is: the master in use and failovers followed.
    pub redis: orchestrator_events::source::RedisSource,
    /// Bearer token required on the POST routes, when set.
    pub token: Option<String>,
    /// Largest accepted body, in bytes.
    pub body_limit: usize,
    /// The URL peers use to reach this agent (agent card).
    pub base_url: String,
    /// When the agent started (uptime in `/healthz`).
    pub started: Instant,
    /// The connection guard's counters, for `/metrics`.
    pub http: Arc<orchestrator_serve::ConnStats>,
    /// The OTLP trace export's counters, for `/metrics`.
    pub otlp: Option<crate::otlp::TraceExport>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}
