//! The `orchestrator-agent` command line: flags, the variables they read,
//! and turning them into a [`Config`].
//!
//! Kept in the library so the flag table is tested and documented with the
//! rest; `main.rs` only parses, binds and runs.

use std::time::Duration;

use clap::builder::TypedValueParser;
use clap::{Parser, ValueEnum};
use orchestrator_events::config as defaults;

use crate::config::{self, Config, ModelChoice};
use crate::model::openai::OpenAiConfig;

/// Which model answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelKind {
    /// Built-in offline model (no network, deterministic).
    Builtin,
    /// An OpenAI-compatible endpoint (OPENAI_BASE_URL, OPENAI_API_KEY, ORCH_MODEL_NAME).
    Openai,
}

/// The orchestrator agent: answers over HTTP (A2A JSON-RPC and /chat) and
/// publishes every step it takes to Redis.
#[derive(Debug, Parser)]
#[command(name = "orchestrator-agent", version, about, long_about = None)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, env = "ORCH_AGENT_LISTEN", default_value = defaults::DEFAULT_AGENT_LISTEN)]
    pub listen: String,

    /// Redis URL (a password in it is never logged).
    #[arg(long, env = "REDIS_URL", default_value = defaults::DEFAULT_REDIS_URL, hide_env_values = true)]
    pub redis_url: String,

    /// Agent name: the `agent` field of every event.
    #[arg(long, env = "ORCH_AGENT_NAME", default_value = defaults::DEFAULT_AGENT_NAME)]
    pub name: String,

    /// Pub/sub channel events are published on.
    #[arg(long, env = "ORCH_CHANNEL", default_value = defaults::DEFAULT_CHANNEL)]
    pub channel: String,

    /// Capped stream events are appended to, for replay.
    #[arg(long, env = "ORCH_STREAM", default_value = defaults::DEFAULT_STREAM)]
    pub stream: String,

    /// Approximate cap of the stream.
    #[arg(long, env = "ORCH_STREAM_MAXLEN", default_value_t = defaults::DEFAULT_STREAM_MAXLEN)]
    pub stream_maxlen: u64,

    /// Model backend.
    #[arg(long, env = "ORCH_MODEL", value_enum, default_value_t = ModelKind::Builtin)]
    pub model: ModelKind,

    /// Base URL of the OpenAI-compatible API, up to and including /v1.
    #[arg(
        long,
        env = "OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub openai_base_url: String,

    /// Model name for --model openai.
    #[arg(long, env = "ORCH_MODEL_NAME", default_value = "gpt-4o-mini")]
    pub model_name: String,

    /// Seconds allowed to connect to the model and between two streamed chunks.
    #[arg(long, env = "ORCH_MODEL_TIMEOUT", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub model_timeout: u64,

    /// Retries of a model request answered 429 or 5xx.
    #[arg(long, env = "ORCH_MODEL_RETRIES", default_value_t = 2)]
    pub model_retries: u32,

    /// Model turns per run before it is stopped as failed.
    #[arg(long, env = "ORCH_MAX_STEPS", default_value_t = config::DEFAULT_MAX_STEPS, value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    pub max_steps: usize,

    /// Milliseconds between two streamed chunks of the built-in model.
    #[arg(long, env = "ORCH_PACE_MS", default_value_t = config::DEFAULT_PACE_MS)]
    pub pace_ms: u64,

    /// Runs handled at once; more are refused as busy (HTTP 503 / JSON-RPC -32000).
    #[arg(long, env = "ORCH_MAX_RUNS", default_value_t = config::DEFAULT_MAX_RUNS, value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    pub max_runs: usize,

    /// Require `Authorization: Bearer <token>` on POST / and POST /chat.
    #[arg(long, env = "ORCH_AGENT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Largest request body accepted, in bytes (413 beyond).
    #[arg(long, env = "ORCH_BODY_LIMIT", default_value_t = config::DEFAULT_BODY_LIMIT, value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    pub body_limit: usize,

    /// Events kept in order while Redis is unreachable (oldest dropped beyond, and reported).
    #[arg(long, env = "ORCH_EVENT_BUFFER", default_value_t = config::DEFAULT_EVENT_BUFFER, value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    pub event_buffer: usize,

    /// Cap on each large field of an event (input, tool_input, output, chunks, reason, message), in bytes.
    #[arg(long, env = "ORCH_MAX_FIELD_BYTES", default_value_t = orchestrator_events::DEFAULT_MAX_FIELD_BYTES, value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    pub max_field_bytes: usize,

    /// Warn at start when the stream's worst-case memory (maxlen × largest event) exceeds this, in bytes.
    #[arg(long, env = "ORCH_STREAM_MEMORY_WARN", default_value_t = config::DEFAULT_STREAM_MEMORY_WARN)]
    pub stream_memory_warn: u64,

    /// Replicas that must acknowledge a batch (Redis WAIT) before its events
    /// count as published; until then they stay buffered. 0: the master's answer.
    #[arg(long, env = "ORCH_MIN_REPLICAS", default_value_t = 0)]
    pub min_replicas: usize,

    /// URL other agents should use to reach this one (agent card); default: the bound address.
    #[arg(long, env = "ORCH_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// A connection must send its request head within this (from accept, or
    /// from the first byte of a keep-alive request); closed beyond. E.g. 10s, 500ms.
    #[arg(long, env = "ORCH_AGENT_HEADER_TIMEOUT", default_value = "10s", value_parser = defaults::parse_duration)]
    pub header_timeout: Duration,

    /// A request body must arrive within this after its head; closed beyond.
    #[arg(long, env = "ORCH_AGENT_BODY_TIMEOUT", default_value = "30s", value_parser = defaults::parse_duration)]
    pub body_timeout: Duration,

    /// A keep-alive connection with no request is closed after this.
    #[arg(long, env = "ORCH_AGENT_IDLE_TIMEOUT", default_value = "60s", value_parser = defaults::parse_duration)]
    pub idle_timeout: Duration,

    /// Open HTTP connections in total; new ones beyond are closed at once.
    #[arg(long, env = "ORCH_AGENT_MAX_PENDING", default_value_t = orchestrator_serve::limits::DEFAULT_MAX_PENDING)]
    pub max_pending: usize,

    /// Open HTTP connections from one IP address; new ones beyond are closed at once.
    #[arg(long, env = "ORCH_AGENT_MAX_PENDING_PER_IP", default_value_t = orchestrator_serve::limits::DEFAULT_MAX_PENDING_PER_IP)]
    pub max_pending_per_ip: usize,

    /// Export each run as OpenTelemetry GenAI spans (OTLP/HTTP protobuf) to
    /// this base URL (`/v1/traces` appended unless there). Without it,
    /// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT enable
    /// the export; OTEL_EXPORTER_OTLP_HEADERS and OTEL_SERVICE_NAME apply.
    #[arg(long)]
    pub otlp_endpoint: Option<String>,

    /// Put input, output, tool arguments and results on exported spans.
    #[arg(long, env = "ORCH_OTLP_CONTENT")]
    pub otlp_content: bool,

    /// Spans waiting for the OTLP endpoint; whole runs are dropped (and counted) beyond.
    #[arg(long, env = "ORCH_OTLP_QUEUE", default_value_t = crate::otlp::DEFAULT_OTLP_QUEUE, value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    pub otlp_queue: usize,

    /// Deadline of one OTLP export request. E.g. 10s.
    #[arg(long, env = "ORCH_OTLP_TIMEOUT", default_value = "10s", value_parser = defaults::parse_duration)]
    pub otlp_timeout: Duration,

    /// `gen_ai.agent.name` of exported spans (default: --name); set it to tell
    /// a traced copy from the native run when both reach one monitor.
    #[arg(long, env = "ORCH_OTLP_AGENT_NAME")]
    pub otlp_agent_name: Option<String>,
}

/// A setting that parsed but makes no sense.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An empty name, channel or stream.
    #[error("--{0} must not be empty")]
    Empty(&'static str),
    /// A zero deadline or connection bound.
    #[error("--{0} must not be zero")]
    Zero(&'static str),
}

impl Cli {
    /// The agent configuration these flags describe. `OPENAI_API_KEY` is read
    /// from the environment only (a flag would show in `ps`).
    pub fn into_config(self) -> Result<Config, CliError> {
        for (name, value) in [
            ("name", &self.name),
            ("channel", &self.channel),
            ("stream", &self.stream),
        ] {
            if value.trim().is_empty() {
                return Err(CliError::Empty(name));
            }
        }
        let http = orchestrator_serve::Limits {
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
            idle_timeout: self.idle_timeout,
            max_pending: self.max_pending,
            max_pending_per_ip: self.max_pending_per_ip,
        };
        if let Err(e) = http.validate() {
            return Err(CliError::Zero(match e.name {
                "header_timeout" => "header-timeout",
                "body_timeout" => "body-timeout",
                "idle_timeout" => "idle-timeout",
                "max_pending" => "max-pending",
                _ => "max-pending-per-ip",
            }));
        }
        let model = match self.model {
            ModelKind::Builtin => ModelChoice::Builtin,
            ModelKind::Openai => ModelChoice::OpenAi(OpenAiConfig {
                base_url: self.openai_base_url,
                api_key: std::env::var("OPENAI_API_KEY")
                    .ok()
                    .filter(|k| !k.is_empty()),
                model: self.model_name,
                timeout: Duration::from_secs(self.model_timeout),
                max_retries: self.model_retries,
            }),
        };
        let otlp = crate::otlp::OtlpConfig::resolve(self.otlp_endpoint.as_deref(), |k| {
            std::env::var(k).ok()
        })
        .map(|endpoint| crate::otlp::OtlpConfig {
            endpoint,
            content: self.otlp_content,
            queue_spans: self.otlp_queue,
            timeout: self.otlp_timeout,
            service_name: std::env::var("OTEL_SERVICE_NAME")
                .ok()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "orchestrator-agent".into()),
            agent_name: self.otlp_agent_name.filter(|n| !n.trim().is_empty()),
        });
        Ok(Config {
            otlp,
            redis_url: self.redis_url,
            name: self.name,
            channel: self.channel,
            stream: self.stream,
            stream_maxlen: self.stream_maxlen,
            model,
            pace: Duration::from_millis(self.pace_ms),
            max_steps: self.max_steps,
            max_runs: self.max_runs,
            token: self.token.filter(|t| !t.is_empty()),
            body_limit: self.body_limit,
            event_buffer: self.event_buffer,
            public_url: self.public_url,
            http,
            max_field_bytes: self.max_field_bytes,
            stream_memory_warn: self.stream_memory_warn,
            min_replicas: self.min_replicas,
            ..Config::default()
        })
    }
}

/// Prints `<program>: error: <message>` on stderr and exits with code 2: the
/// one-line user error every binary of this crate gives (no backtrace).
pub fn fail(program: &str, message: &str) -> ! {
    orchestrator_events::cli::exit_with(program, 2, format_args!("error: {message}"))
}

/// Parses the command line of `program`: the one usage-error handling every
/// binary shares (see [`orchestrator_events::cli`]).
pub use orchestrator_events::cli::parse_or_exit;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let cli = Cli::try_parse_from(["orchestrator-agent"]).expect("parses");
        assert_eq!(cli.listen, "127.0.0.1:9001");
        let config = cli.into_config().expect("valid");
        let d = Config::default();
        assert_eq!(config.name, d.name);
        assert_eq!(config.channel, "orchestrator_events");
        assert_eq!(config.stream, "orchestrator_events:log");
        assert_eq!(config.max_steps, 8);
        assert!(matches!(config.model, ModelChoice::Builtin));
        assert_eq!(config.http, orchestrator_serve::Limits::default());
        assert_eq!(config.min_replicas, 0);
        let cli = Cli::try_parse_from(["x", "--min-replicas", "2"]).expect("parses");
        assert_eq!(cli.into_config().expect("valid").min_replicas, 2);
    }

    #[test]
    fn refuses_nonsense() {
        assert!(Cli::try_parse_from(["x", "--max-runs", "0"]).is_err());
        assert!(Cli::try_parse_from(["x", "--model", "gpt"]).is_err());
        assert!(Cli::try_parse_from(["x", "--bogus"]).is_err());
        let cli = Cli::try_parse_from(["x", "--name", " "]).expect("parses");
        assert!(cli.into_config().is_err());
        let cli = Cli::try_parse_from(["x", "--body-timeout", "0s"]).expect("parses");
        assert_eq!(
            cli.into_config().err().map(|e| e.to_string()),
            Some("--body-timeout must not be zero".to_string())
        );
        assert!(Cli::try_parse_from(["x", "--idle-timeout", "soon"]).is_err());
    }
}
