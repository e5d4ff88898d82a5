//! `orchestrator-bridge`: command line, logging and signals around [`orchestrator_bridge::run`].
//!
//! Every flag can also come from the environment variable named in `--help`.
//! User errors (a wrong flag, a malformed URL, a master name no Sentinel
//! monitors, a taken port) print one line to stderr and exit with status 2
//! (usage) or 1 (cannot start) — no backtrace.
//! SIGINT/SIGTERM close every client with 1001 and exit within 2 s.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use orchestrator_bridge::Config;
use orchestrator_events::config as defaults;
use orchestrator_events::config::parse_duration as duration;

/// Fans orchestrator events out from Redis to WebSocket clients
/// (GET /ws/orchestrator), with gapless replay; also /healthz and /metrics.
#[derive(Debug, Parser)]
#[command(name = "orchestrator-bridge", version)]
struct Cli {
    /// Address to serve HTTP and WebSocket on.
    #[arg(long, env = "ORCH_BRIDGE_LISTEN", default_value = defaults::DEFAULT_BRIDGE_LISTEN)]
    listen: SocketAddr,

    /// Redis URL (a password and rediss:// go in the URL; never logged).
    #[arg(long, env = "REDIS_URL", default_value = defaults::DEFAULT_REDIS_URL, hide_env_values = true)]
    redis_url: String,

    /// Pub/sub channel to subscribe to.
    #[arg(long, env = "ORCH_CHANNEL", default_value = defaults::DEFAULT_CHANNEL)]
    channel: String,

    /// Replay stream (its epoch is kept in <stream>:epoch).
    #[arg(long, env = "ORCH_STREAM", default_value = defaults::DEFAULT_STREAM)]
    stream: String,

    /// The stream's cap; `last=` may not ask for more.
    #[arg(long, env = "ORCH_STREAM_MAXLEN", default_value_t = defaults::DEFAULT_STREAM_MAXLEN)]
    stream_maxlen: u64,

    /// Access token: when set, /ws/orchestrator and /metrics require it
    /// (?token=… or Authorization: Bearer …); /healthz stays open.
    #[arg(long, env = "ORCH_BRIDGE_TOKEN", hide_env_values = true)]
    token: Option<String>,

    /// Browser origins allowed to connect, comma-separated and compared
    /// exactly (e.g. http://localhost:3000); `*` allows any. By default a
    /// request carrying an Origin header is refused; clients that send none
    /// (the TUI, scripts) are not affected.
    #[arg(long, env = "ORCH_BRIDGE_ALLOWED_ORIGINS", value_delimiter = ',')]
    allowed_origins: Vec<String>,

    /// Frames a client may have waiting before it counts as too slow.
    #[arg(long = "queue-frames", value_name = "FRAMES", alias = "queue-max-frames", env = "ORCH_BRIDGE_QUEUE_FRAMES", default_value_t = Config::default().queue_max_frames)]
    queue_max_frames: usize,

    /// Bytes a client may have waiting before it counts as too slow.
    #[arg(long = "queue-bytes", value_name = "BYTES", alias = "queue-max-bytes", env = "ORCH_BRIDGE_QUEUE_BYTES", default_value_t = Config::default().queue_max_bytes)]
    queue_max_bytes: usize,

    /// Largest channel message forwarded; larger ones are dropped and counted.
    #[arg(long, env = "ORCH_BRIDGE_MAX_EVENT_BYTES", default_value_t = Config::default().max_event_bytes)]
    max_event_bytes: usize,

    /// Interval between WebSocket pings (e.g. 20s, 500ms).
    #[arg(long, env = "ORCH_BRIDGE_PING_INTERVAL", default_value = "20s", value_parser = duration)]
    ping_interval: Duration,

    /// Extra silence after a ping before the peer is closed.
    #[arg(long, env = "ORCH_BRIDGE_PING_TIMEOUT", default_value = "20s", value_parser = duration)]
    ping_timeout: Duration,

    /// A write blocked this long means the peer stopped reading: it is closed.
    #[arg(long, env = "ORCH_BRIDGE_WRITE_TIMEOUT", default_value = "10s", value_parser = duration)]
    write_timeout: Duration,

    /// Open WebSocket connections allowed in total.
    #[arg(long, env = "ORCH_BRIDGE_MAX_CONNECTIONS", default_value_t = Config::default().max_connections)]
    max_connections: usize,

    /// Open WebSocket connections allowed per client IP.
    #[arg(long, env = "ORCH_BRIDGE_MAX_CONNECTIONS_PER_IP", default_value_t = Config::default().max_connections_per_ip)]
    max_connections_per_ip: usize,

    /// New WebSocket connections one IP may open per second (429 beyond).
    #[arg(long, env = "ORCH_BRIDGE_CONNECT_RATE", default_value_t = Config::default().new_connections_per_ip_per_sec)]
    connect_rate: u32,

    /// Largest message a client may send (close code 1009 beyond).
    #[arg(long, env = "ORCH_BRIDGE_MAX_MESSAGE_BYTES", default_value_t = Config::default().max_inbound_message_bytes)]
    max_message_bytes: usize,

    /// Longest query string accepted on /ws/orchestrator (414 beyond).
    #[arg(long, env = "ORCH_BRIDGE_MAX_QUERY_BYTES", default_value_t = Config::default().max_query_bytes)]
    max_query_bytes: usize,

    /// A connection must send its request head within this (from accept, or
    /// from the first byte of a keep-alive request); closed beyond.
    #[arg(long, env = "ORCH_BRIDGE_HEADER_TIMEOUT", default_value = "10s", value_parser = duration)]
    header_timeout: Duration,

    /// A request body must arrive within this after its head; closed beyond.
    #[arg(long, env = "ORCH_BRIDGE_BODY_TIMEOUT", default_value = "30s", value_parser = duration)]
    body_timeout: Duration,

    /// A keep-alive connection with no request is closed after this.
    #[arg(long, env = "ORCH_BRIDGE_IDLE_TIMEOUT", default_value = "60s", value_parser = duration)]
    idle_timeout: Duration,

    /// TCP connections not yet upgraded (or answered), in total; new ones
    /// beyond are closed at once. WebSockets count in --max-connections instead.
    #[arg(long, env = "ORCH_BRIDGE_MAX_PENDING", default_value_t = orchestrator_serve::limits::DEFAULT_MAX_PENDING)]
    max_pending: usize,

    /// The same, from one IP address.
    #[arg(long, env = "ORCH_BRIDGE_MAX_PENDING_PER_IP", default_value_t = orchestrator_serve::limits::DEFAULT_MAX_PENDING_PER_IP)]
    max_pending_per_ip: usize,
}

impl Cli {
    fn into_config(self) -> Config {
        Config {
            redis_url: self.redis_url,
            channel: self.channel,
            stream: self.stream,
            stream_maxlen: self.stream_maxlen,
            token: self.token,
            allowed_origins: self
                .allowed_origins
                .into_iter()
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect(),
            queue_max_frames: self.queue_max_frames,
            queue_max_bytes: self.queue_max_bytes,
            max_event_bytes: self.max_event_bytes,
            ping_interval: self.ping_interval,
            ping_timeout: self.ping_timeout,
            write_timeout: self.write_timeout,
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            new_connections_per_ip_per_sec: self.connect_rate,
            max_inbound_message_bytes: self.max_message_bytes,
            max_query_bytes: self.max_query_bytes,
            http: orchestrator_serve::Limits {
                header_timeout: self.header_timeout,
                body_timeout: self.body_timeout,
                idle_timeout: self.idle_timeout,
                max_pending: self.max_pending,
                max_pending_per_ip: self.max_pending_per_ip,
            },
            ..Config::default()
        }
    }
}

/// Prints one line and exits.
fn fail(code: i32, message: impl std::fmt::Display) -> ! {
    eprintln!("orchestrator-bridge: {message}");
    std::process::exit(code)
}

fn main() {
    let cli: Cli = orchestrator_events::cli::parse_or_exit("orchestrator-bridge");
    let listen = cli.listen;
    let config = cli.into_config();
    if let Err(e) = config.validate() {
        fail(2, e);
    }

    orchestrator_events::process::init_logging("info");
    // A master name no Sentinel knows can never work: say so and stop, rather
    // than retry it like an outage (which the service does keep retrying).
    if let Err(e) = orchestrator_events::source::RedisSource::check_url_at_start(
        &config.redis_url,
        std::time::Duration::from_secs(5),
    ) {
        fail(2, e);
    }

    let code = orchestrator_events::process::serve("orchestrator-bridge", listen, |l, stop| {
        orchestrator_bridge::run(l, config, stop)
    });
    std::process::exit(code);
}
