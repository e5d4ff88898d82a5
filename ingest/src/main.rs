//! `orchestrator-ingest`: command line, logging and signals around
//! [`orchestrator_ingest::run`].
//!
//! Every flag can also come from the environment variable named in `--help`.
//! A wrong flag or setting prints one line to stderr and exits with status 2;
//! a port that cannot be bound exits with 1. SIGINT/SIGTERM stop accepting,
//! publish what was accepted (for at most the drain time) and exit.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use clap::builder::TypedValueParser as _;
use orchestrator_events::config as defaults;
use orchestrator_events::publish::Target;
use orchestrator_events::stream_memory;
use orchestrator_ingest::Config;

/// Accepts OpenTelemetry GenAI traces (OTLP/HTTP, POST /v1/traces, protobuf or
/// JSON, gzip) and publishes them as orchestrator events; also /healthz and /metrics.
#[derive(Debug, Parser)]
#[command(name = "orchestrator-ingest", version)]
struct Cli {
    /// Address to serve OTLP/HTTP on.
    #[arg(long, env = "ORCH_INGEST_LISTEN", default_value = orchestrator_ingest::DEFAULT_LISTEN)]
    listen: SocketAddr,

    /// Redis URL (a password and rediss:// go in the URL; never logged).
    #[arg(long, env = "REDIS_URL", default_value = defaults::DEFAULT_REDIS_URL, hide_env_values = true)]
    redis_url: String,

    /// Pub/sub channel the events are published on.
    #[arg(long, env = "ORCH_CHANNEL", default_value = defaults::DEFAULT_CHANNEL)]
    channel: String,

    /// Replay stream the events are appended to.
    #[arg(long, env = "ORCH_STREAM", default_value = defaults::DEFAULT_STREAM)]
    stream: String,

    /// Approximate cap of the stream.
    #[arg(long, env = "ORCH_STREAM_MAXLEN", default_value_t = defaults::DEFAULT_STREAM_MAXLEN)]
    stream_maxlen: u64,

    /// Bearer token required on /v1/traces and /metrics (Authorization: Bearer …).
    #[arg(long, env = "ORCH_INGEST_TOKEN", hide_env_values = true)]
    token: Option<String>,

    /// Largest request body in bytes, counted after decompression (413 beyond).
    #[arg(long, env = "ORCH_INGEST_BODY_LIMIT", default_value_t = Config::default().body_limit)]
    body_limit: usize,

    /// Bytes of events the publish queue may hold while Redis is slow or away (503 beyond).
    #[arg(long, env = "ORCH_INGEST_QUEUE_BYTES", default_value_t = Config::default().queue_bytes)]
    queue_bytes: usize,

    /// Spans whose parent is remembered, to place children that arrive first.
    #[arg(long, env = "ORCH_INGEST_SPAN_INDEX", default_value_t = Config::default().span_index)]
    span_index: usize,

    /// Cap on each large field of a mapped event (input, tool input and
    /// output, text, reason), in bytes; cut fields are named in `truncated`.
    #[arg(long, env = "ORCH_MAX_FIELD_BYTES", default_value_t = orchestrator_events::DEFAULT_MAX_FIELD_BYTES, value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    max_field_bytes: usize,

    /// Warn at start when the stream's worst-case memory (maxlen × largest event) exceeds this, in bytes.
    #[arg(long, env = "ORCH_STREAM_MEMORY_WARN", default_value_t = stream_memory::DEFAULT_STREAM_MEMORY_WARN)]
    stream_memory_warn: u64,

    /// Replicas that must acknowledge a chunk of events (Redis WAIT) before it
    /// leaves the publish queue; until then it is kept. 0: the master's answer.
    #[arg(long, env = "ORCH_MIN_REPLICAS", default_value_t = 0)]
    min_replicas: usize,

    /// A connection must send its request head within this (from accept, or
    /// from the first byte of a keep-alive request); closed beyond. E.g. 10s, 500ms.
    #[arg(long, env = "ORCH_INGEST_HEADER_TIMEOUT", default_value = "10s", value_parser = defaults::parse_duration)]
    header_timeout: Duration,

    /// A request body must arrive within this after its head; closed beyond.
    #[arg(long, env = "ORCH_INGEST_BODY_TIMEOUT", default_value = "30s", value_parser = defaults::parse_duration)]
    body_timeout: Duration,

    /// A keep-alive connection with no request is closed after this.
    #[arg(long, env = "ORCH_INGEST_IDLE_TIMEOUT", default_value = "60s", value_parser = defaults::parse_duration)]
    idle_timeout: Duration,

    /// Open HTTP connections in total; new ones beyond are closed at once.
    #[arg(long, env = "ORCH_INGEST_MAX_PENDING", default_value_t = orchestrator_serve::limits::DEFAULT_MAX_PENDING)]
    max_pending: usize,

    /// Open HTTP connections from one IP address; new ones beyond are closed at once.
    #[arg(long, env = "ORCH_INGEST_MAX_PENDING_PER_IP", default_value_t = orchestrator_serve::limits::DEFAULT_MAX_PENDING_PER_IP)]
    max_pending_per_ip: usize,
}

/// Prints one line and exits.
fn fail(code: i32, message: impl std::fmt::Display) -> ! {
    orchestrator_events::cli::exit_with("orchestrator-ingest", code, message)
}

fn main() {
    let cli: Cli = orchestrator_events::cli::parse_or_exit("orchestrator-ingest");
    let listen = cli.listen;
    let config = Config {
        redis_url: cli.redis_url,
        target: Target {
            channel: cli.channel,
            stream: cli.stream,
            maxlen: cli.stream_maxlen,
        },
        token: cli.token,
        body_limit: cli.body_limit,
        queue_bytes: cli.queue_bytes,
        span_index: cli.span_index,
        http: orchestrator_serve::Limits {
            header_timeout: cli.header_timeout,
            body_timeout: cli.body_timeout,
            idle_timeout: cli.idle_timeout,
            max_pending: cli.max_pending,
            max_pending_per_ip: cli.max_pending_per_ip,
        },
        max_field_bytes: cli.max_field_bytes,
        min_replicas: cli.min_replicas,
        ..Config::default()
    };
    if let Err(e) = config.validate() {
        fail(2, e);
    }
    orchestrator_events::process::init_logging("info");
    stream_memory::warn_if_over(
        config.target.maxlen,
        config.max_field_bytes,
        cli.stream_memory_warn,
    );
    // A master name no Sentinel knows can never work: say so and stop, rather
    // than retry it like an outage (which the service does keep retrying).
    if let Err(e) = orchestrator_events::source::RedisSource::check_url_at_start(
        &config.redis_url,
        std::time::Duration::from_secs(5),
    ) {
        fail(2, e);
    }
    let code = orchestrator_events::process::serve("orchestrator-ingest", listen, |l, stop| {
        orchestrator_ingest::run(config, l, stop)
    });
    std::process::exit(code);
}
