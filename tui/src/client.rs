//! The headless WebSocket client: connect, resume, back off, hand over frames.
//!
//! Everything that talks to the bridge goes through [`spawn_client`]: the
//! interactive monitor, `--plain`, `--json` and the tests. It owns one task that
//! keeps one connection alive and reports what happens as [`ClientEvent`]s on a
//! bounded channel:
//!
//! - [`ClientEvent::State`]: the connection state changed
//!   ([`ConnState::Connecting`], [`ConnState::Live`],
//!   [`ConnState::Reconnecting`] with the delay, [`ConnState::Failed`]).
//! - [`ClientEvent::Frame`]: one text frame, raw and parsed with
//!   [`orchestrator_events::Event::parse`]. A malformed frame is delivered with
//!   its parse error, never dropped; a binary frame that is not UTF-8 becomes a
//!   malformed frame too. Nothing a server sends can make the task panic.
//!
//! ## Resuming
//!
//! The task remembers the id of the last event it received on a connection and
//! the `epoch` from the bridge's `bridge_hello`. Every reconnect asks for
//! `since=<that id>&epoch=<that epoch>`, so the bridge replays what was missed
//! and a bridge restart loses nothing. Each connection delivers ids in order
//! (replay, then live, no gap at the seam), so "the last id received" is a
//! safe resume point. When the bridge reports `dropped` with `resume_from`
//! (this client was too slow), the task reconnects at once from that id to fill
//! the hole. Events are deduplicated by id ([`crate::dedup::Dedup`]), so an
//! overlapping replay never delivers an event twice. A `history_reset` status
//! (Redis lost its data) clears the set: ids start over.
//!
//! ## Backing off
//!
//! Failed connects and dropped connections are retried after an exponential
//! delay with jitter ([`Backoff`]); the attempt count resets once a connection
//! has stayed up for [`ClientConfig::stable_after`]. HTTP answers that retrying
//! cannot fix (400, 401, 403, 404) end the task with [`ConnState::Failed`], as
//! does reaching [`ClientConfig::max_attempts`]. A connection that carries no
//! frame at all (not even a pong to the client's pings) for
//! [`ClientConfig::idle_timeout`] counts as dead and is replaced.
//!
//! ## Parameters
//!
//! `types` and `token` go to the bridge as query parameters, with `since` and
//! `epoch` when resuming. The URL shown to people ([`ClientConfig::display_url`])
//! never contains the token.
//!
//! ## Stopping
//!
//! Cancel the token, or drop the receiver: the task closes the connection and
//! ends. The channel is bounded ([`ClientConfig::channel_capacity`]): a slow
//! consumer slows the reading of the socket, and the bridge's slow-client
//! policy (drop and report) takes over rather than memory growing here.
//!
//! ```no_run
//! # async fn demo() -> Result<(), orchestrator_tui::client::ConfigError> {
//! use orchestrator_tui::client::{spawn_client, ClientConfig, ClientEvent};
//! use tokio_util::sync::CancellationToken;
//!
//! let mut config = ClientConfig::new("ws://127.0.0.1:8000/ws/orchestrator")?;
//! config.types = vec!["tool_use".into()];
//! let cancel = CancellationToken::new();
//! let mut events = spawn_client(config, cancel.clone());
//! while let Some(event) = events.recv().await {
//!     if let ClientEvent::Frame(frame) = event {
//!         println!("{}", frame.text);
//!     }
//! }
//! # Ok(()) }
//! ```

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use orchestrator_events::filter::FilterError;
use orchestrator_events::frame::StatusKind;
use orchestrator_events::{Event, EventKind, Filter, ParseError, StreamId};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;
use url::Url;

pub use crate::backoff::Backoff;
use crate::dedup::Dedup;

/// Largest frame accepted; a bigger one ends the connection (and is retried),
/// so a broken server cannot make the client allocate without bound.
pub const MAX_FRAME_BYTES: usize = 16 << 20;

/// How the client connects and retries. Build with [`ClientConfig::new`], then
/// adjust fields.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The bridge's WebSocket URL, without the client's own query parameters.
    pub url: Url,
    /// Server-side type filter (`types=`), empty for all.
    pub types: Vec<String>,
    /// Access token (`token=`), when the bridge requires one.
    pub token: Option<String>,
    /// Resume point for the first connection (`since=`), e.g. the last id of a
    /// previous session; later connections resume on their own.
    pub since: Option<StreamId>,
    /// History on start (`last=`): the newest N events, asked on the first
    /// connection only and only without `since`; 0 = live only.
    pub history: u32,
    /// Reconnect delays.
    pub backoff: Backoff,
    /// Consecutive failed attempts before giving up; `None` retries forever.
    pub max_attempts: Option<u32>,
    /// A connection up this long resets the attempt count.
    pub stable_after: Duration,
    /// Limit for the TCP connect and WebSocket handshake.
    pub connect_timeout: Duration,
    /// The client pings this often, so a quiet but healthy bridge still answers.
    pub ping_interval: Duration,
    /// No frame at all for this long: the connection is dead, replace it.
    pub idle_timeout: Duration,
    /// Capacity of the event channel handed to the consumer.
    pub channel_capacity: usize,
    /// How many event ids are remembered for deduplication.
    pub dedup_capacity: usize,
}

/// A configuration value that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The URL does not parse.
    #[error("invalid URL {url:?}: {source}")]
    BadUrl {
        /// The text given.
        url: String,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },
    /// The URL is not `ws://` (or `http://`, used as `ws://`).
    #[error(
        "unsupported URL scheme {0:?}: use ws:// (wss:// is not supported by this build; tunnel it with ssh -L or a TLS proxy)"
    )]
    BadScheme(String),
    /// `--types` has a value the bridge would reject.
    #[error("--types: {0}")]
    BadTypes(#[from] FilterError),
}

impl ClientConfig {
    /// A configuration for `url` with the defaults: all types, no token,
    /// backoff from 250 ms to 30 s, retry forever.
    pub fn new(url: &str) -> Result<ClientConfig, ConfigError> {
        let mut parsed = Url::parse(url).map_err(|source| ConfigError::BadUrl {
            url: url.chars().take(200).collect(),
            source,
        })?;
        let scheme = match parsed.scheme() {
            "ws" | "http" => "ws",
            other => return Err(ConfigError::BadScheme(other.to_string())),
        };
        if parsed.scheme() != scheme && parsed.set_scheme(scheme).is_err() {
            return Err(ConfigError::BadScheme(parsed.scheme().to_string()));
        }
        Ok(ClientConfig {
            url: parsed,
            types: Vec::new(),
            token: None,
            since: None,
            history: 0,
            backoff: Backoff::default(),
            max_attempts: None,
            stable_after: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            channel_capacity: 1024,
            dedup_capacity: crate::dedup::DEFAULT_DEDUP_CAPACITY,
        })
    }

    /// Sets the type filter from a comma list, checked as the bridge checks it.
    pub fn with_types(mut self, list: &str) -> Result<ClientConfig, ConfigError> {
        self.types = Filter::parse_list("types", list)?;
        Ok(self)
    }

    /// The URL to show people: the configured URL with `types`, never the token.
    pub fn display_url(&self) -> String {
        self.request_url(None, None, false).to_string()
    }

    /// The URL of one connection attempt: the configured URL plus `types`,
    /// `token` (when `with_token`), `since` and `epoch`.
    pub fn request_url(
        &self,
        since: Option<StreamId>,
        epoch: Option<&str>,
        with_token: bool,
    ) -> Url {
        let mut url = self.url.clone();
        {
            let mut q = url.query_pairs_mut();
            if !self.types.is_empty() {
                q.append_pair("types", &self.types.join(","));
            }
            if let Some(since) = since {
                q.append_pair("since", &since.to_string());
                if let Some(epoch) = epoch {
                    q.append_pair("epoch", epoch);
                }
            }
            if with_token && let Some(token) = &self.token {
                q.append_pair("token", token);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        url
    }
}

/// The state of the connection, as the status bar shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnState {
    /// Opening a connection (attempt 1, 2, …).
    Connecting {
        /// Consecutive attempt number.
        attempt: u32,
    },
    /// Connected; frames flow.
    Live,
    /// The connection failed or was lost; the next attempt starts after `delay`.
    Reconnecting {
        /// The attempt that failed.
        attempt: u32,
        /// How long until the next attempt.
        delay: Duration,
        /// Why the last attempt or connection ended.
        reason: String,
    },
    /// The client gave up (authentication refused, wrong path, attempts exhausted).
    Failed {
        /// Why.
        reason: String,
    },
    /// Reading a recorded file instead of a live bridge (`--replay`).
    Replaying,
    /// The recorded file was read to its end.
    ReplayDone {
        /// Lines read.
        lines: u64,
    },
}

/// One frame as received: the text exactly as it arrived and its parse.
#[derive(Debug)]
pub struct Frame {
    /// The frame's text (what `--json` prints and `--record` stores).
    pub text: String,
    /// The parsed event, or why the text is not one.
    pub event: Result<Event, ParseError>,
}

impl Frame {
    /// Parses `text` into a frame; never fails.
    pub fn parse(text: impl Into<String>) -> Frame {
        let text = text.into();
        let event = Event::parse(&text);
        Frame { text, event }
    }
}

/// What the client task reports.
// Frames are nearly every message; boxing them would cost an allocation each
// to shrink the rare state changes.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum ClientEvent {
    /// The connection state changed.
    State(ConnState),
    /// A frame arrived (duplicates by id are already removed).
    Frame(Frame),
}

/// Starts the client task; events arrive on the returned channel until
/// `cancel` fires, the client fails for good, or the receiver is dropped.
pub fn spawn_client(
    config: ClientConfig,
    cancel: CancellationToken,
) -> mpsc::Receiver<ClientEvent> {
    let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
    tokio::spawn(async move {
        let mut task = Task::new(config, tx);
        task.run(cancel).await;
    });
    rx
}

/// Why a connection ended.
enum End {
    /// Stop for good: cancelled or the consumer is gone.
    Stop,
    /// Reconnect after the backoff delay.
    Retry(String),
    /// Reconnect now (to fill a hole the bridge reported).
    RetryNow(String),
}

/// The client task's state across connections.
struct Task {
    config: ClientConfig,
    tx: mpsc::Sender<ClientEvent>,
    /// Where the next connection resumes.
    since: Option<StreamId>,
    /// The stream epoch from the last `bridge_hello`.
    epoch: Option<String>,
    /// A connection was established once: `last=` is not asked again.
    connected_once: bool,
    dedup: Dedup,
}

impl Task {
    fn new(config: ClientConfig, tx: mpsc::Sender<ClientEvent>) -> Self {
        Task {
            since: config.since,
            epoch: None,
            connected_once: false,
            dedup: Dedup::new(config.dedup_capacity),
            config,
            tx,
        }
    }

    async fn send(&self, event: ClientEvent) -> bool {
        self.tx.send(event).await.is_ok()
    }

    async fn run(&mut self, cancel: CancellationToken) {
        let mut attempt: u32 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            if !self
                .send(ClientEvent::State(ConnState::Connecting { attempt }))
                .await
            {
                return;
            }
            let mut url = self
                .config
                .request_url(self.since, self.epoch.as_deref(), true);
            if self.since.is_none() && !self.connected_once && self.config.history > 0 {
                url.query_pairs_mut()
                    .append_pair("last", &self.config.history.to_string());
            }
            let ws_config = WebSocketConfig::default()
                .max_message_size(Some(MAX_FRAME_BYTES))
                .max_frame_size(Some(MAX_FRAME_BYTES));
            let connect =
                tokio_tungstenite::connect_async_with_config(url.as_str(), Some(ws_config), false);
            let outcome = tokio::select! {
                () = cancel.cancelled() => return,
                r = tokio::time::timeout(self.config.connect_timeout, connect) => r,
            };
            let end = match outcome {
                Err(_) => End::Retry(format!(
                    "no answer within {}s",
                    self.config.connect_timeout.as_secs()
                )),
                Ok(Err(err)) => match classify(&err) {
                    Failure::Fatal(reason) => {
                        let _ = self
                            .send(ClientEvent::State(ConnState::Failed { reason }))
                            .await;
                        return;
                    }
                    Failure::Retry(reason) => End::Retry(reason),
                },
                Ok(Ok((ws, _response))) => {
                    self.connected_once = true;
                    if !self.send(ClientEvent::State(ConnState::Live)).await {
                        return;
                    }
                    let up_since = Instant::now();
                    let end = self.pump(ws, &cancel).await;
                    if up_since.elapsed() >= self.config.stable_after {
                        attempt = 0;
                    }
                    end
                }
            };
            let (reason, immediate) = match end {
                End::Stop => return,
                End::Retry(reason) => (reason, false),
                End::RetryNow(reason) => (reason, true),
            };
            if let Some(max) = self.config.max_attempts
                && attempt >= max
            {
                let reason = format!("gave up after {attempt} attempts: {reason}");
                let _ = self
                    .send(ClientEvent::State(ConnState::Failed { reason }))
                    .await;
                return;
            }
            let delay = if immediate {
                Duration::ZERO
            } else {
                self.config.backoff.delay(attempt.max(1))
            };
            let state = ConnState::Reconnecting {
                attempt,
                delay,
                reason,
            };
            if !self.send(ClientEvent::State(state)).await {
                return;
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// Reads one connection until it ends.
    async fn pump<S>(
        &mut self,
        ws: tokio_tungstenite::WebSocketStream<S>,
        cancel: &CancellationToken,
    ) -> End
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let (mut sink, mut stream) = ws.split();
        let mut ping = tokio::time::interval(self.config.ping_interval);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        ping.reset();
        let mut last_frame = Instant::now();
        // After a `dropped` report, later frames no longer prove that nothing
        // before them is missing, so they must not move the resume point.
        let mut contiguous = true;
        loop {
            let idle_deadline = last_frame + self.config.idle_timeout;
            let message = tokio::select! {
                () = cancel.cancelled() => {
                    let _ = sink.send(Message::Close(None)).await;
                    return End::Stop;
                }
                _ = ping.tick() => {
                    if let Err(err) = sink.send(Message::Ping(Default::default())).await {
                        return End::Retry(format!("connection lost: {err}"));
                    }
                    continue;
                }
                () = tokio::time::sleep_until(idle_deadline) => {
                    return End::Retry(format!(
                        "no data for {}s", self.config.idle_timeout.as_secs()
                    ));
                }
                m = stream.next() => m,
            };
            last_frame = Instant::now();
            let text = match message {
                None => return End::Retry("connection closed".into()),
                Some(Err(err)) => return End::Retry(format!("connection lost: {err}")),
                Some(Ok(Message::Text(text))) => text.as_str().to_owned(),
                Some(Ok(Message::Binary(bytes))) => match String::from_utf8(bytes.to_vec()) {
                    Ok(text) => text,
                    Err(_) => format!("<binary frame, {} bytes, not UTF-8>", bytes.len()),
                },
                Some(Ok(Message::Close(frame))) => {
                    let why = frame
                        .map(|f| format!("closed by server ({} {})", f.code, f.reason))
                        .unwrap_or_else(|| "closed by server".into());
                    return End::Retry(why);
                }
                Some(Ok(_)) => continue, // ping, pong, raw frame
            };
            let frame = Frame::parse(text);
            let mut end = None;
            if let Ok(event) = &frame.event {
                if let Some(id) = event.id {
                    if !self.dedup.insert(id) {
                        continue;
                    }
                    if contiguous {
                        self.since = Some(id);
                    }
                }
                match &event.kind {
                    EventKind::BridgeHello(hello) if hello.epoch.is_some() => {
                        self.epoch.clone_from(&hello.epoch);
                    }
                    EventKind::BridgeStatus(status) => match status.status {
                        StatusKind::HistoryReset | StatusKind::RedisUp => {
                            // The bridge names the stream's current epoch here
                            // when it changed; resume against that one from now on.
                            if let Some(epoch) = event.extra.get("epoch").and_then(|v| v.as_str()) {
                                self.epoch = Some(epoch.to_string());
                            }
                            if status.status == StatusKind::HistoryReset {
                                self.dedup.clear();
                            }
                        }
                        StatusKind::Dropped => {
                            contiguous = false;
                            if let Some(from) = status.resume_from {
                                self.since = Some(from);
                                end = Some(End::RetryNow(format!(
                                    "bridge dropped {} events; resuming from {from}",
                                    status.dropped.unwrap_or(0)
                                )));
                            }
                        }
                        _ => {}
                    },
                    _ => {}
                }
            }
            if !self.send(ClientEvent::Frame(frame)).await {
                return End::Stop;
            }
            if let Some(end) = end {
                let _ = sink.send(Message::Close(None)).await;
                return end;
            }
        }
    }
}

enum Failure {
    Fatal(String),
    Retry(String),
}

/// Sorts a connect error into "retrying cannot help" and "try again".
fn classify(err: &tungstenite::Error) -> Failure {
    if let tungstenite::Error::Http(response) = err {
        let status = response.status();
        let body = response
            .body()
            .as_deref()
            .map(|b| {
                String::from_utf8_lossy(b)
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(160)
                    .collect::<String>()
            })
            .unwrap_or_default();
        let detail = if body.trim().is_empty() {
            String::new()
        } else {
            format!(": {}", body.trim())
        };
        let hint = match status.as_u16() {
            401 | 403 => " (check --token / ORCH_BRIDGE_TOKEN)",
            404 => " (check the URL's path)",
            400 => " (check --types)",
            _ => "",
        };
        let reason = format!("HTTP {status}{detail}{hint}");
        return match status.as_u16() {
            400 | 401 | 403 | 404 => Failure::Fatal(reason),
            _ => Failure::Retry(reason),
        };
    }
    Failure::Retry(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_resume_urls_and_hides_the_token() {
        let mut c = ClientConfig::new("ws://127.0.0.1:8000/ws/orchestrator")
            .and_then(|c| c.with_types("tool_use, reasoning"))
            .expect("valid");
        c.token = Some("s3cret".into());
        let url = c.request_url(Some(StreamId::new(5, 1)), Some("ep"), true);
        assert_eq!(
            url.as_str(),
            "ws://127.0.0.1:8000/ws/orchestrator?types=tool_use%2Creasoning&since=5-1&epoch=ep&token=s3cret"
        );
        assert_eq!(
            c.display_url(),
            "ws://127.0.0.1:8000/ws/orchestrator?types=tool_use%2Creasoning"
        );
        let plain = ClientConfig::new("http://h:1/ws").expect("valid");
        assert_eq!(plain.display_url(), "ws://h:1/ws");
    }

    #[test]
    fn rejects_bad_urls_and_types() {
        assert!(matches!(
            ClientConfig::new("not a url"),
            Err(ConfigError::BadUrl { .. })
        ));
        assert!(matches!(
            ClientConfig::new("ftp://x/"),
            Err(ConfigError::BadScheme(_))
        ));
        assert!(matches!(
            ClientConfig::new("wss://x/"),
            Err(ConfigError::BadScheme(_))
        ));
        let c = ClientConfig::new("ws://x/").expect("valid");
        assert!(matches!(c.with_types("a b"), Err(ConfigError::BadTypes(_))));
    }
}
