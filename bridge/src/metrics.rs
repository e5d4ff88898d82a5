//! Counters for `/healthz` and `/metrics` (Prometheus text format).
//!
//! Plain relaxed atomics: the hot path adds once per batch, never takes a lock,
//! and a scrape reads a consistent-enough snapshot. Label values come from
//! fixed tables (event types the contract names, close and refusal reasons), so
//! a publisher inventing types cannot grow the metric set without bound.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

/// Event types counted by name; anything else is counted as `other`.
const KNOWN_TYPES: [&str; 9] = [
    "run_started",
    "text_generation",
    "reasoning",
    "tool_use",
    "tool_result",
    "run_finished",
    "error",
    "bridge_hello",
    "bridge_status",
];
/// Index of `other` (a type not in [`KNOWN_TYPES`]) and of `none` (no `type`).
const OTHER_TYPE: usize = KNOWN_TYPES.len();
const NO_TYPE: usize = KNOWN_TYPES.len() + 1;
const TYPE_SLOTS: usize = KNOWN_TYPES.len() + 2;

/// Why a channel message was not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Zero bytes.
    Empty,
    /// Not UTF-8, so it cannot be a WebSocket text frame.
    NotUtf8,
    /// Not a JSON object (the contract is one JSON object per frame).
    NotJson,
    /// Larger than `max_event_bytes`.
    TooLarge,
}

impl Invalid {
    const ALL: [Invalid; 4] = [
        Invalid::Empty,
        Invalid::NotUtf8,
        Invalid::NotJson,
        Invalid::TooLarge,
    ];
    fn label(self) -> &'static str {
        match self {
            Invalid::Empty => "empty",
            Invalid::NotUtf8 => "not_utf8",
            Invalid::NotJson => "not_json",
            Invalid::TooLarge => "too_large",
        }
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The client closed it or went away.
    Client,
    /// The bridge is shutting down.
    Shutdown,
    /// No pong within the ping timeout.
    PingTimeout,
    /// A write did not finish within the write timeout (peer not reading).
    Slow,
    /// The client sent a message over the inbound limit.
    TooBig,
    /// A protocol or I/O error.
    Error,
}

impl Closed {
    const ALL: [Closed; 6] = [
        Closed::Client,
        Closed::Shutdown,
        Closed::PingTimeout,
        Closed::Slow,
        Closed::TooBig,
        Closed::Error,
    ];
    fn label(self) -> &'static str {
        match self {
            Closed::Client => "client",
            Closed::Shutdown => "shutdown",
            Closed::PingTimeout => "ping_timeout",
            Closed::Slow => "slow",
            Closed::TooBig => "too_big",
            Closed::Error => "error",
        }
    }
}

/// Why an upgrade request was refused before the upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// 400: a bad query parameter.
    BadRequest,
    /// 401: missing or wrong token.
    Unauthorized,
    /// 403: `Origin` not allowed.
    Forbidden,
    /// 414: query string too long.
    QueryTooLong,
    /// 426: not a WebSocket upgrade.
    NotWebSocket,
    /// 429: too many new connections from one IP.
    RateLimited,
    /// 429: too many open connections from one IP.
    TooManyPerIp,
    /// 503: too many open connections.
    TooMany,
}

impl Refused {
    const ALL: [Refused; 8] = [
        Refused::BadRequest,
        Refused::Unauthorized,
        Refused::Forbidden,
        Refused::QueryTooLong,
        Refused::NotWebSocket,
        Refused::RateLimited,
        Refused::TooManyPerIp,
        Refused::TooMany,
    ];
    fn label(self) -> &'static str {
        match self {
            Refused::BadRequest => "bad_request",
            Refused::Unauthorized => "unauthorized",
            Refused::Forbidden => "forbidden_origin",
            Refused::QueryTooLong => "query_too_long",
            Refused::NotWebSocket => "not_websocket",
            Refused::RateLimited => "rate_limited",
            Refused::TooManyPerIp => "too_many_per_ip",
            Refused::TooMany => "too_many_connections",
        }
    }
}

/// What started a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayKind {
    /// `since=<id>` on connect.
    Since,
    /// `last=<n>` on connect.
    Last,
    /// Catching a connected client up after Redis came back.
    Reconnect,
}

impl ReplayKind {
    const ALL: [ReplayKind; 3] = [ReplayKind::Since, ReplayKind::Last, ReplayKind::Reconnect];
    fn label(self) -> &'static str {
        match self {
            ReplayKind::Since => "since",
            ReplayKind::Last => "last",
            ReplayKind::Reconnect => "reconnect",
        }
    }
}

/// All counters of one bridge.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    clients: AtomicI64,
    connections: AtomicU64,
    events_in: AtomicU64,
    events_by_type: [AtomicU64; TYPE_SLOTS],
    invalid: [AtomicU64; 4],
    frames_out: AtomicU64,
    bytes_out: AtomicU64,
    frames_dropped: AtomicU64,
    duplicates_skipped: AtomicU64,
    replays: [AtomicU64; 3],
    replayed_frames: AtomicU64,
    replay_gaps: AtomicU64,
    history_resets: AtomicU64,
    redis_up: AtomicI64,
    redis_reconnects: AtomicU64,
    redis_connect_failures: AtomicU64,
    closed: [AtomicU64; 6],
    refused: [AtomicU64; 8],
    largest_frame: WindowMax,
}

/// Slots of [`WindowMax`]: the window is `SLOTS × SLOT_SECS` seconds.
const SLOTS: usize = 6;
const SLOT_SECS: u64 = 10;

/// The largest value seen in the last minute, lock-free: six ten-second
/// slots, each a running max tagged with the slot number it belongs to. A
/// slot is reset when its turn comes again; a reader takes the max over the
/// slots of the last minute (between 50 and 60 seconds, by slot edges).
#[derive(Debug, Default)]
struct WindowMax {
    slot: [AtomicU64; SLOTS],
    max: [AtomicU64; SLOTS],
}

impl WindowMax {
    fn record(&self, now_secs: u64, value: u64) {
        let n = now_secs / SLOT_SECS;
        let i = (n % SLOTS as u64) as usize;
        // Tags are stored as n + 1 so that 0 means "never used".
        if self.slot[i].swap(n + 1, Ordering::Relaxed) != n + 1 {
            self.max[i].store(0, Ordering::Relaxed);
        }
        self.max[i].fetch_max(value, Ordering::Relaxed);
    }

    fn get(&self, now_secs: u64) -> u64 {
        let n = now_secs / SLOT_SECS;
        (0..SLOTS)
            .filter(|&i| {
                let tag = self.slot[i].load(Ordering::Relaxed);
                tag != 0 && tag - 1 + SLOTS as u64 > n
            })
            .map(|i| self.max[i].load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Fresh counters; uptime starts now.
    pub fn new() -> Self {
        Metrics {
            started: Instant::now(),
            clients: AtomicI64::new(0),
            connections: AtomicU64::new(0),
            events_in: AtomicU64::new(0),
            events_by_type: Default::default(),
            invalid: Default::default(),
            frames_out: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            frames_dropped: AtomicU64::new(0),
            duplicates_skipped: AtomicU64::new(0),
            replays: Default::default(),
            replayed_frames: AtomicU64::new(0),
            replay_gaps: AtomicU64::new(0),
            history_resets: AtomicU64::new(0),
            redis_up: AtomicI64::new(0),
            redis_reconnects: AtomicU64::new(0),
            redis_connect_failures: AtomicU64::new(0),
            closed: Default::default(),
            refused: Default::default(),
            largest_frame: WindowMax::default(),
        }
    }

    /// A client connected.
    pub fn client_opened(&self) {
        self.clients.fetch_add(1, Ordering::Relaxed);
        add(&self.connections, 1);
    }

    /// A client's connection ended, and why.
    pub fn client_closed(&self, why: Closed) {
        self.clients.fetch_sub(1, Ordering::Relaxed);
        add(&self.closed[why as usize], 1);
    }

    /// Connected clients right now.
    pub fn clients(&self) -> u64 {
        self.clients.load(Ordering::Relaxed).max(0) as u64
    }

    /// A message arrived on the channel.
    pub fn event_in(&self, kind: Option<&str>) {
        add(&self.events_in, 1);
        let slot = match kind {
            None => NO_TYPE,
            Some(k) => KNOWN_TYPES
                .iter()
                .position(|t| *t == k)
                .unwrap_or(OTHER_TYPE),
        };
        add(&self.events_by_type[slot], 1);
    }

    /// A message arrived on the channel and was not forwarded.
    pub fn invalid(&self, why: Invalid) {
        add(&self.events_in, 1);
        add(&self.invalid[why as usize], 1);
    }

    /// Frames written to clients.
    pub fn frames_out(&self, frames: u64, bytes: u64) {
        add(&self.frames_out, frames);
        add(&self.bytes_out, bytes);
    }

    /// The size of the largest frame of a batch just written to a client.
    pub fn frame_size(&self, bytes: u64) {
        self.largest_frame
            .record(self.started.elapsed().as_secs(), bytes);
    }

    /// The largest frame written to a client in the last minute, in bytes.
    pub fn largest_frame_last_minute(&self) -> u64 {
        self.largest_frame.get(self.started.elapsed().as_secs())
    }

    /// Frames dropped because a client's queue was full.
    pub fn dropped(&self, n: u64) {
        if n > 0 {
            add(&self.frames_dropped, n);
        }
    }

    /// Frames not sent at a replay seam because the client already had them.
    pub fn duplicates_skipped(&self, n: u64) {
        if n > 0 {
            add(&self.duplicates_skipped, n);
        }
    }

    /// A replay started.
    pub fn replay_started(&self, kind: ReplayKind) {
        add(&self.replays[kind as usize], 1);
    }

    /// Frames sent from the stream during replays.
    pub fn replayed(&self, n: u64) {
        add(&self.replayed_frames, n);
    }

    /// A replay could not start where asked (trimmed history).
    pub fn replay_gap(&self) {
        add(&self.replay_gaps, 1);
    }

    /// A client resumed from an epoch that no longer exists.
    pub fn history_reset(&self) {
        add(&self.history_resets, 1);
    }

    /// Redis subscription state changed; `reconnected` when it came back after a loss.
    pub fn redis_state(&self, up: bool, reconnected: bool) {
        self.redis_up.store(i64::from(up), Ordering::Relaxed);
        if reconnected {
            add(&self.redis_reconnects, 1);
        }
    }

    /// A connection attempt to Redis failed.
    pub fn redis_connect_failed(&self) {
        add(&self.redis_connect_failures, 1);
    }

    /// An upgrade request was refused.
    pub fn refused(&self, why: Refused) {
        add(&self.refused[why as usize], 1);
    }

    /// Seconds since the bridge started.
    pub fn uptime_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The JSON body of `/healthz` counters.
    pub fn health_counters(&self) -> serde_json::Value {
        serde_json::json!({
            "clients": self.clients(),
            "connections_total": get(&self.connections),
            "events_in": get(&self.events_in),
            "events_invalid": self.invalid.iter().map(get).sum::<u64>(),
            "frames_out": get(&self.frames_out),
            "frames_dropped": get(&self.frames_dropped),
            "largest_frame_bytes_1m": self.largest_frame_last_minute(),
            "replays": self.replays.iter().map(get).sum::<u64>(),
            "redis_reconnects": get(&self.redis_reconnects),
            "uptime_secs": (self.uptime_secs() * 1000.0).round() / 1000.0,
        })
    }

    /// The Prometheus text exposition of every counter.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let mut metric = |name: &str, kind: &str, help: &str, rows: &[(String, f64)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, value) in rows {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let one = |v: f64| vec![(String::new(), v)];
        let labelled = |label: &str, rows: Vec<(&str, u64)>| -> Vec<(String, f64)> {
            rows.into_iter()
                .map(|(l, v)| (format!("{{{label}=\"{l}\"}}"), v as f64))
                .collect()
        };

        metric(
            "bridge_clients",
            "gauge",
            "WebSocket clients connected now.",
            &one(self.clients() as f64),
        );
        metric(
            "bridge_connections_total",
            "counter",
            "WebSocket connections accepted.",
            &one(get(&self.connections) as f64),
        );
        metric(
            "bridge_events_in_total",
            "counter",
            "Messages received on the Redis channel (valid or not).",
            &one(get(&self.events_in) as f64),
        );
        let types: Vec<(&str, u64)> = KNOWN_TYPES
            .iter()
            .copied()
            .chain(["other", "none"])
            .zip(self.events_by_type.iter().map(get))
            .collect();
        metric(
            "bridge_events_by_type_total",
            "counter",
            "Forwardable messages received, by event type.",
            &labelled("type", types),
        );
        let invalid = Invalid::ALL
            .iter()
            .map(|i| (i.label(), get(&self.invalid[*i as usize])))
            .collect();
        metric(
            "bridge_events_invalid_total",
            "counter",
            "Messages on the channel that were not forwarded, by reason.",
            &labelled("reason", invalid),
        );
        metric(
            "bridge_frames_out_total",
            "counter",
            "Frames written to clients (live, replayed and the bridge's own).",
            &one(get(&self.frames_out) as f64),
        );
        metric(
            "bridge_bytes_out_total",
            "counter",
            "Payload bytes written to clients.",
            &one(get(&self.bytes_out) as f64),
        );
        metric(
            "bridge_largest_frame_bytes",
            "gauge",
            "Largest frame written to a client in the last minute.",
            &one(self.largest_frame_last_minute() as f64),
        );
        metric(
            "bridge_frames_dropped_total",
            "counter",
            "Frames not sent because a client's queue was full.",
            &one(get(&self.frames_dropped) as f64),
        );
        metric(
            "bridge_duplicates_skipped_total",
            "counter",
            "Live frames skipped at a replay seam because the client already had them.",
            &one(get(&self.duplicates_skipped) as f64),
        );
        let replays = ReplayKind::ALL
            .iter()
            .map(|k| (k.label(), get(&self.replays[*k as usize])))
            .collect();
        metric(
            "bridge_replays_total",
            "counter",
            "Replays from the stream, by cause.",
            &labelled("kind", replays),
        );
        metric(
            "bridge_replayed_frames_total",
            "counter",
            "Frames sent from the stream during replays.",
            &one(get(&self.replayed_frames) as f64),
        );
        metric(
            "bridge_replay_gaps_total",
            "counter",
            "Replays that started after trimmed history (gap reported).",
            &one(get(&self.replay_gaps) as f64),
        );
        metric(
            "bridge_history_resets_total",
            "counter",
            "Resumes from an epoch that no longer exists.",
            &one(get(&self.history_resets) as f64),
        );
        metric(
            "bridge_redis_up",
            "gauge",
            "1 when the Redis subscription is live.",
            &one(self.redis_up.load(Ordering::Relaxed) as f64),
        );
        metric(
            "bridge_redis_reconnects_total",
            "counter",
            "Times the subscription came back after being lost.",
            &one(get(&self.redis_reconnects) as f64),
        );
        metric(
            "bridge_redis_connect_failures_total",
            "counter",
            "Failed attempts to connect and subscribe.",
            &one(get(&self.redis_connect_failures) as f64),
        );
        let closed = Closed::ALL
            .iter()
            .map(|c| (c.label(), get(&self.closed[*c as usize])))
            .collect();
        metric(
            "bridge_connections_closed_total",
            "counter",
            "WebSocket connections ended, by reason.",
            &labelled("reason", closed),
        );
        let refused = Refused::ALL
            .iter()
            .map(|r| (r.label(), get(&self.refused[*r as usize])))
            .collect();
        metric(
            "bridge_connections_refused_total",
            "counter",
            "Requests refused (WebSocket before the upgrade, and /metrics), by reason.",
            &labelled("reason", refused),
        );
        metric(
            "bridge_uptime_seconds",
            "gauge",
            "Seconds since the bridge started.",
            &one(self.uptime_secs()),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_frame_is_kept_for_a_minute_then_forgotten() {
        let w = WindowMax::default();
        assert_eq!(w.get(0), 0);
        w.record(3, 500);
        w.record(12, 90);
        assert_eq!(w.get(12), 500);
        assert_eq!(w.get(59), 500);
        // The slot of second 3 (0–9) leaves the window at second 60.
        assert_eq!(w.get(60), 90);
        // Reused slot: its old max is reset, not carried over.
        w.record(61, 10);
        assert_eq!(w.get(61), 90);
        assert_eq!(w.get(75), 10);
        assert_eq!(w.get(200), 0);
        let m = Metrics::new();
        m.frame_size(1234);
        assert_eq!(m.largest_frame_last_minute(), 1234);
        assert!(m.render().contains("bridge_largest_frame_bytes 1234"));
    }

    #[test]
    fn renders_labelled_counters() {
        let m = Metrics::new();
        m.event_in(Some("tool_use"));
        m.event_in(Some("made_up"));
        m.event_in(None);
        m.invalid(Invalid::NotJson);
        m.refused(Refused::Unauthorized);
        let text = m.render();
        assert!(text.contains("bridge_events_in_total 4\n"), "{text}");
        assert!(text.contains("bridge_events_by_type_total{type=\"tool_use\"} 1\n"));
        assert!(text.contains("bridge_events_by_type_total{type=\"other\"} 1\n"));
        assert!(text.contains("bridge_events_by_type_total{type=\"none\"} 1\n"));
        assert!(text.contains("bridge_events_invalid_total{reason=\"not_json\"} 1\n"));
        assert!(text.contains("bridge_connections_refused_total{reason=\"unauthorized\"} 1\n"));
    }

    #[test]
    fn clients_gauge_follows_open_and_close() {
        let m = Metrics::new();
        m.client_opened();
        m.client_opened();
        m.client_closed(Closed::Client);
        assert_eq!(m.clients(), 1);
        assert!(
            m.render()
                .contains("bridge_connections_closed_total{reason=\"client\"} 1\n")
        );
    }
}
