//! The agent's settings, as one plain struct.
//!
//! [`Config`] is what [`crate::run`] needs to serve; the command line
//! ([`crate::cli`]) fills it from flags and variables, and tests, the
//! end-to-end suite and benchmarks build it directly (usually from
//! [`Config::default`] plus a Redis URL and `pace = 0`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use orchestrator_events::config as defaults;
use orchestrator_events::publish::Target;

use crate::model::Model;
use crate::model::openai::OpenAiConfig;

/// Which model backend answers.
#[derive(Clone)]
pub enum ModelChoice {
    /// The built-in offline model: no network, deterministic, paced by [`Config::pace`].
    Builtin,
    /// An OpenAI-compatible `/chat/completions` endpoint.
    OpenAi(OpenAiConfig),
    /// Any other backend, supplied in-process (tests, benchmarks, embedders).
    Custom(Arc<dyn Model>),
}

impl fmt::Debug for ModelChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelChoice::Builtin => f.write_str("Builtin"),
            // The config holds the API key: show only what is safe to log.
            ModelChoice::OpenAi(c) => write!(f, "OpenAi({} @ {})", c.model, c.base_url),
            ModelChoice::Custom(m) => write!(f, "Custom({})", m.describe()),
        }
    }
}

/// Everything the agent needs to serve. Field defaults follow the contract
/// (`docs/protocol.md`) and are listed in the crate README.
#[derive(Debug, Clone)]
pub struct Config {
    /// Redis URL (`REDIS_URL`); may hold a password, so it is only ever logged redacted.
    pub redis_url: String,
    /// The `agent` field of every event (`ORCH_AGENT_NAME`).
    pub name: String,
    /// Pub/sub channel (`ORCH_CHANNEL`).
    pub channel: String,
    /// Replay stream (`ORCH_STREAM`).
    pub stream: String,
    /// Approximate stream cap (`ORCH_STREAM_MAXLEN`).
    pub stream_maxlen: u64,
    /// The model backend.
    pub model: ModelChoice,
    /// Delay between two streamed chunks of the built-in model (0 in tests).
    pub pace: Duration,
    /// Model turns per run before it is stopped as failed.
    pub max_steps: usize,
    /// Runs handled at once; one more is refused as busy rather than queued.
    pub max_runs: usize,
    /// Bearer token required on `POST /` and `POST /chat` when set.
    pub token: Option<String>,
    /// Largest accepted request body, in bytes (413 beyond).
    pub body_limit: usize,
    /// Events kept in order while Redis is unreachable; the oldest are dropped
    /// beyond this, and the drop is reported once Redis is back.
    pub event_buffer: usize,
    /// Prefix of the Redis keys that hold research plans.
    pub plans_prefix: String,
    /// The URL peers should use, for the agent card; by default the bound address.
    pub public_url: Option<String>,
    /// On shutdown, how long to keep flushing queued events to Redis.
    pub shutdown_grace: Duration,
    /// Deadlines and bounds of every HTTP connection (header, body, idle
    /// keep-alive; connections in total and per IP).
    pub http: orchestrator_serve::Limits,
    /// Cap on each large field of an event, in bytes (`ORCH_MAX_FIELD_BYTES`).
    pub max_field_bytes: usize,
    /// Warn at start when the stream's worst case (`stream_maxlen` × the
    /// largest event) exceeds this many bytes (`ORCH_STREAM_MEMORY_WARN`).
    pub stream_memory_warn: u64,
    /// Export each run as OpenTelemetry GenAI spans (`--otlp-endpoint`).
    pub otlp: Option<crate::otlp::OtlpConfig>,
    /// Replicas that must acknowledge a batch (`WAIT`) before it counts as
    /// published (`ORCH_MIN_REPLICAS`); 0: the master's answer is enough.
    pub min_replicas: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            redis_url: defaults::DEFAULT_REDIS_URL.into(),
            name: defaults::DEFAULT_AGENT_NAME.into(),
            channel: defaults::DEFAULT_CHANNEL.into(),
            stream: defaults::DEFAULT_STREAM.into(),
            stream_maxlen: defaults::DEFAULT_STREAM_MAXLEN,
            model: ModelChoice::Builtin,
            pace: Duration::from_millis(DEFAULT_PACE_MS),
            max_steps: DEFAULT_MAX_STEPS,
            max_runs: DEFAULT_MAX_RUNS,
            token: None,
            body_limit: DEFAULT_BODY_LIMIT,
            event_buffer: DEFAULT_EVENT_BUFFER,
            plans_prefix: DEFAULT_PLANS_PREFIX.into(),
            public_url: None,
            shutdown_grace: Duration::from_secs(5),
            http: orchestrator_serve::Limits::default(),
            max_field_bytes: orchestrator_events::DEFAULT_MAX_FIELD_BYTES,
            stream_memory_warn: DEFAULT_STREAM_MEMORY_WARN,
            otlp: None,
            min_replicas: 0,
        }
    }
}

impl Config {
    /// Where events go, as the publish script wants it.
    pub fn target(&self) -> Target {
        Target {
            channel: self.channel.clone(),
            stream: self.stream.clone(),
            maxlen: self.stream_maxlen,
        }
    }
}

/// Default pace of the built-in model: slow enough to watch, fast enough to demo.
pub const DEFAULT_PACE_MS: u64 = 40;
/// Default model turns per run.
pub const DEFAULT_MAX_STEPS: usize = 8;
/// Default concurrent runs.
pub const DEFAULT_MAX_RUNS: usize = 16;
/// Default body limit: 1 MiB is far above any sane chat message.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// Default event buffer while Redis is down.
pub const DEFAULT_EVENT_BUFFER: usize = 100_000;
use orchestrator_events::stream_memory;
pub use orchestrator_events::stream_memory::{
    DEFAULT_STREAM_MEMORY_WARN, EVENT_ENVELOPE_BYTES, STREAM_ENTRY_OVERHEAD_BYTES,
    STREAM_NODE_OVERHEAD_BYTES, STREAM_TRIM_SLACK_ENTRIES,
};

impl Config {
    /// The largest event the agent publishes, in bytes (see
    /// `orchestrator_events::stream_memory`).
    pub fn largest_event_bytes(&self) -> u64 {
        stream_memory::largest_event_bytes(self.max_field_bytes)
    }

    /// The worst case of the stream's memory in Redis: `stream_maxlen`
    /// entries (plus the trimming slack) of the largest event, as Redis
    /// allocates them.
    pub fn stream_memory_worst_case(&self) -> u64 {
        stream_memory::worst_case(self.stream_maxlen, self.max_field_bytes)
    }
}

/// Default prefix of research-plan keys.
pub const DEFAULT_PLANS_PREFIX: &str = "orchestrator:plans";
