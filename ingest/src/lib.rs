//! `orchestrator-ingest`: OpenTelemetry GenAI traces in, orchestrator events out.
//!
//! Any agent framework that emits OpenTelemetry spans with the GenAI semantic
//! conventions (Strands Agents, the OpenAI Agents SDK and LangGraph through
//! OpenInference, Pydantic AI, our own agent) exports them here over OTLP/HTTP;
//! each span becomes the events the monitor already shows, published through
//! the same script as the agent's own events (ids, replay and the bridge work
//! unchanged).
//!
//! - [`decode`]: OTLP/HTTP bodies (content type, gzip with a decompressed-size
//!   limit, protobuf and JSON, the responses).
//! - [`mapping`] (with [`attrs`] and [`content`]): spans to events, pure.
//! - [`sink`]: the bounded, ordered publish queue and its Redis task.
//! - [`server`]: the routes; [`metrics`]: what `/metrics` and `/healthz` show.

pub mod attrs;
pub mod content;
pub mod decode;
pub mod mapping;
pub mod metrics;
pub mod server;
pub mod sink;

use std::sync::Arc;
use std::time::Duration;

use orchestrator_events::config::{self as defaults, redact_url};
use orchestrator_events::publish::Target;
use orchestrator_events::source::RedisSource;
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// The default OTLP/HTTP address (the OTLP port, loopback only).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4318";

/// Everything [`run`] needs besides a listener and a stop signal.
#[derive(Debug, Clone)]
pub struct Config {
    /// Redis URL (`REDIS_URL`).
    pub redis_url: String,
    /// Channel, stream and cap the events go to.
    pub target: Target,
    /// Bearer token required on `/v1/traces` and `/metrics` (`ORCH_INGEST_TOKEN`).
    pub token: Option<String>,
    /// Largest request body, after decompression.
    pub body_limit: usize,
    /// Bound of the publish queue, in bytes of event JSON.
    pub queue_bytes: usize,
    /// Spans whose parent the ingest remembers, to find runs across requests.
    pub span_index: usize,
    /// How long shutdown keeps publishing what was accepted, and how long it
    /// waits for requests in progress.
    pub drain: Duration,
    /// Deadlines and bounds of the HTTP connections, so that slow and silent
    /// peers cannot hold the process's descriptors.
    pub http: orchestrator_serve::Limits,
    /// Cap on each large field of a mapped event, in bytes: the agent's
    /// `--max-field-bytes`, so a traced run costs what a native one does.
    pub max_field_bytes: usize,
    /// Replicas that must acknowledge (`WAIT`) a chunk of events before it
    /// leaves the publish queue (`--min-replicas`); 0: the master's answer.
    pub min_replicas: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            redis_url: defaults::DEFAULT_REDIS_URL.into(),
            target: Target::default(),
            token: None,
            body_limit: 16 * 1024 * 1024,
            queue_bytes: 128 * 1024 * 1024,
            span_index: 100_000,
            drain: Duration::from_secs(5),
            http: orchestrator_serve::Limits::default(),
            max_field_bytes: orchestrator_events::DEFAULT_MAX_FIELD_BYTES,
            min_replicas: 0,
        }
    }
}

/// A setting that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The Redis URL does not parse (shown without its password).
    #[error("invalid Redis URL {0}: {1}")]
    RedisUrl(String, String),
    /// A size or name is zero or empty.
    #[error("invalid setting {0}: must not be zero or empty")]
    Invalid(&'static str),
    /// A connection deadline or bound is zero.
    #[error("invalid setting {0}: {1}")]
    Http(&'static str, &'static str),
}

impl Config {
    /// Checks what can be checked without a network.
    /// Returns where Redis is (one URL or Sentinels), parsed.
    pub fn validate(&self) -> Result<RedisSource, ConfigError> {
        for (name, ok) in [
            ("channel", !self.target.channel.is_empty()),
            ("stream", !self.target.stream.is_empty()),
            ("stream_maxlen", self.target.maxlen > 0),
            ("body_limit", self.body_limit > 0),
            ("queue_bytes", self.queue_bytes > 0),
            ("span_index", self.span_index > 0),
            ("token", self.token.as_deref() != Some("")),
        ] {
            if !ok {
                return Err(ConfigError::Invalid(name));
            }
        }
        self.http
            .validate()
            .map_err(|e| ConfigError::Http(e.name, e.reason))?;
        RedisSource::parse(&self.redis_url).map_err(|e| ConfigError::RedisUrl(e.url, e.reason))
    }
}

/// Serves until `shutdown`, then publishes what was accepted (for at most
/// [`Config::drain`]) and returns. Redis being away is not an error: requests
/// are accepted into the queue until it is full.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), ConfigError> {
    orchestrator_events::tls::install_crypto_provider();
    let source = config.validate()?;
    let metrics = Arc::new(metrics::Metrics::default());
    let sink = sink::Sink::new(config.queue_bytes, metrics.clone());
    let shared = server::Shared {
        metrics: metrics.clone(),
        sink: sink.clone(),
        index: Arc::new(Mutex::new(mapping::SpanIndex::new(config.span_index))),
        token: config.token.clone(),
        body_limit: config.body_limit,
        max_field_bytes: config.max_field_bytes.max(1),
        redis_display: redact_url(&config.redis_url),
        redis: source.clone(),
        http: Arc::new(orchestrator_serve::ConnStats::new()),
    };
    orchestrator_serve::fdlimit::raise_and_log("ingest", config.http.max_pending as u64 + 64);
    tracing::info!(
        listen = ?listener.local_addr().ok(),
        redis = %shared.redis_display,
        stream = %config.target.stream,
        auth = config.token.is_some(),
        "ingest listening"
    );
    let stop_publishing = CancellationToken::new();
    let publisher = tokio::spawn(sink.run(
        source,
        config.target.clone(),
        config.min_replicas,
        stop_publishing.clone(),
        config.drain,
    ));
    // On shutdown the server closes idle connections at once and lets
    // requests in progress finish (each still under the body deadline), for at
    // most the drain time; then what was accepted is published.
    let server = orchestrator_serve::serve(
        listener,
        warp::service(server::routes(shared.clone())),
        config.http,
        shared.http.clone(),
        shutdown.clone(),
    );
    tokio::select! {
        _ = server => {}
        _ = async {
            shutdown.cancelled().await;
            tokio::time::sleep(config.drain).await;
        } => tracing::warn!("some connections were still open after the drain time; closing"),
    }
    stop_publishing.cancel();
    let _ = publisher.await;
    tracing::info!("ingest stopped");
    Ok(())
}
