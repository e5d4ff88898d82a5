//! The bridge's settings: where Redis is, what to serve, and every limit.
//!
//! One plain struct with public fields so that tests, benchmarks and the binary
//! build it the same way (`Config { redis_url, ..Config::default() }`). The
//! defaults are the contract's (`docs/protocol.md`); [`Config::validate`] turns a
//! setting that cannot work into a one-line error before anything is bound.

use std::time::Duration;

use orchestrator_events::config as defaults;
use orchestrator_events::source::RedisSource;

/// Everything [`crate::run`] needs besides a listener and a stop signal.
#[derive(Debug, Clone)]
pub struct Config {
    /// Redis URL (`REDIS_URL`); a password in it is never logged.
    pub redis_url: String,
    /// Pub/sub channel to subscribe to (`ORCH_CHANNEL`).
    pub channel: String,
    /// Replay stream (`ORCH_STREAM`); its epoch lives beside it.
    pub stream: String,
    /// The stream's cap (`ORCH_STREAM_MAXLEN`): `last=` may not ask for more.
    pub stream_maxlen: u64,
    /// Access token (`ORCH_BRIDGE_TOKEN`). When set, `/ws/orchestrator` and
    /// `/metrics` require it; `/healthz` stays open for probes.
    pub token: Option<String>,
    /// Origins a browser may connect from, compared exactly (`*` allows any).
    /// Empty: requests that carry an `Origin` header are refused, which keeps a
    /// web page from reading a local bridge; the TUI and scripts send none.
    pub allowed_origins: Vec<String>,
    /// Frames a client may have waiting before it is declared slow.
    pub queue_max_frames: usize,
    /// Bytes a client may have waiting before it is declared slow.
    pub queue_max_bytes: usize,
    /// Largest message forwarded from the channel; larger ones are dropped and counted.
    pub max_event_bytes: usize,
    /// How often each connection is pinged.
    pub ping_interval: Duration,
    /// A peer silent for `ping_interval + ping_timeout` is closed.
    pub ping_timeout: Duration,
    /// A write that cannot finish in this time means the peer stopped reading:
    /// the connection is closed.
    pub write_timeout: Duration,
    /// Stream entries read per `XRANGE` page during replay.
    pub replay_page: usize,
    /// Longest wait between Redis reconnection attempts (backoff cap).
    pub reconnect_max_delay: Duration,
    /// Open WebSocket connections, all peers together.
    pub max_connections: usize,
    /// Open WebSocket connections from one IP address.
    pub max_connections_per_ip: usize,
    /// New WebSocket connections one IP may open per second (burst of the same size).
    pub new_connections_per_ip_per_sec: u32,
    /// Largest message a client may send (pongs, close); larger closes with 1009.
    pub max_inbound_message_bytes: usize,
    /// Longest accepted query string on `/ws/orchestrator`.
    pub max_query_bytes: usize,
    /// Deadlines and bounds of every TCP connection before its upgrade
    /// (header, body, idle keep-alive; pending in total and per IP).
    pub http: orchestrator_serve::Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            redis_url: defaults::DEFAULT_REDIS_URL.into(),
            channel: defaults::DEFAULT_CHANNEL.into(),
            stream: defaults::DEFAULT_STREAM.into(),
            stream_maxlen: defaults::DEFAULT_STREAM_MAXLEN,
            token: None,
            allowed_origins: Vec::new(),
            queue_max_frames: 8192,
            queue_max_bytes: 16 * 1024 * 1024,
            max_event_bytes: 1024 * 1024,
            ping_interval: Duration::from_secs(20),
            ping_timeout: Duration::from_secs(20),
            write_timeout: Duration::from_secs(10),
            replay_page: 500,
            reconnect_max_delay: Duration::from_secs(2),
            max_connections: 10_000,
            max_connections_per_ip: 1_000,
            new_connections_per_ip_per_sec: 500,
            max_inbound_message_bytes: 64 * 1024,
            max_query_bytes: 4096,
            http: orchestrator_serve::Limits::default(),
        }
    }
}

/// A setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The Redis URL does not parse (the message never contains the password).
    #[error("invalid Redis URL {url}: {reason}")]
    RedisUrl {
        /// The URL with its password redacted.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// A limit is zero or otherwise unusable.
    #[error("invalid setting {name}: {reason}")]
    Invalid {
        /// The setting's name.
        name: &'static str,
        /// Why.
        reason: &'static str,
    },
}

impl Config {
    /// Checks everything that can be checked without a network: the Redis URL's
    /// shape and that no limit is zero. Called by [`crate::run`] and by the binary
    /// before it binds, so a typo is one line on stderr, not a log loop.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.redis_source()?;
        let positive: [(&'static str, bool); 11] = [
            ("channel", !self.channel.is_empty()),
            ("stream", !self.stream.is_empty()),
            ("stream_maxlen", self.stream_maxlen > 0),
            ("queue_max_frames", self.queue_max_frames > 0),
            ("queue_max_bytes", self.queue_max_bytes > 0),
            ("max_event_bytes", self.max_event_bytes > 0),
            ("replay_page", self.replay_page > 0),
            ("max_connections", self.max_connections > 0),
            ("max_connections_per_ip", self.max_connections_per_ip > 0),
            (
                "new_connections_per_ip_per_sec",
                self.new_connections_per_ip_per_sec > 0,
            ),
            (
                "max_inbound_message_bytes",
                self.max_inbound_message_bytes > 0,
            ),
        ];
        for (name, ok) in positive {
            if !ok {
                return Err(ConfigError::Invalid {
                    name,
                    reason: "must not be zero or empty",
                });
            }
        }
        let durations = [
            ("ping_interval", self.ping_interval),
            ("ping_timeout", self.ping_timeout),
            ("write_timeout", self.write_timeout),
            ("reconnect_max_delay", self.reconnect_max_delay),
        ];
        for (name, d) in durations {
            if d.is_zero() {
                return Err(ConfigError::Invalid {
                    name,
                    reason: "must be longer than zero",
                });
            }
        }
        self.http.validate().map_err(|e| ConfigError::Invalid {
            name: e.name,
            reason: e.reason,
        })?;
        if self.token.as_deref() == Some("") {
            return Err(ConfigError::Invalid {
                name: "token",
                reason: "must not be empty (leave it unset to disable)",
            });
        }
        Ok(())
    }

    /// Where Redis is (one URL or Sentinels); parsing it does not connect.
    pub(crate) fn redis_source(&self) -> Result<RedisSource, ConfigError> {
        RedisSource::parse(&self.redis_url).map_err(|e| ConfigError::RedisUrl {
            url: e.url,
            reason: e.reason.replace(&self.redis_url, "<url>"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_contract_and_validate() {
        let c = Config::default();
        assert_eq!(c.redis_url, "redis://127.0.0.1:6379");
        assert_eq!(c.channel, "orchestrator_events");
        assert_eq!(c.stream, "orchestrator_events:log");
        assert!(c.token.is_none());
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn bad_url_is_refused_without_leaking_the_password() {
        let c = Config {
            redis_url: "http://user:hunter2@host".into(),
            ..Config::default()
        };
        let err = c.validate().expect_err("http is not redis").to_string();
        assert!(err.contains("invalid Redis URL"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn zero_limits_are_refused() {
        let c = Config {
            queue_max_frames: 0,
            ..Config::default()
        };
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid {
                name: "queue_max_frames",
                ..
            })
        ));
        let c = Config {
            token: Some(String::new()),
            ..Config::default()
        };
        assert!(c.validate().is_err());
    }
}
