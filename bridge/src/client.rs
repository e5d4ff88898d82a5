//! One WebSocket connection: hello, replay, the live seam, pings and closing.
//!
//! A single task owns the socket and `select!`s between: the bridge stopping
//! (close 1001), a message from the client (pong, close, or one too big: close
//! 1009), the ping timer (a peer silent for `ping_interval + ping_timeout` is
//! closed with 4000), the client's queue (drained whole and written as one
//! batch, one flush), and — while replaying — the next page from the stream.
//!
//! `position` is the last stream id this client has (or deliberately skipped).
//! Every frame with an id at or below it is a duplicate and is not sent, which
//! is what makes the seams (replay → live, and catch-up after Redis returns)
//! free of duplicates; the hub's registration before any stream read makes
//! them free of gaps.
//!
//! A write that cannot finish within `write_timeout` means the peer stopped
//! reading: the connection is dropped (its queue, already bounded, goes with it).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use orchestrator_events::{BridgeHello, BridgeStatus, Filter, StatusKind, StreamId};
use tokio::time::{MissedTickBehavior, interval_at, timeout};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::frame::Frame;
use crate::hub::Registration;
use crate::limits::Permit;
use crate::metrics::{Closed, ReplayKind};
use crate::queue::Item;
use crate::replay::{Fetched, MAX_ROUNDS, Replay, notice};
use crate::state::Shared;
use crate::upgrade::Ws;

/// Close code for a peer that stopped answering pings (private-use range).
const CLOSE_NO_PONG: u16 = 4000;
/// How long a close frame may take to go out.
const CLOSE_TIMEOUT: Duration = Duration::from_millis(500);
/// Buffers above this many items are freed after use, so a burst does not
/// leave an idle connection holding memory.
const KEEP_CAPACITY: usize = 256;
/// How long `bridge_hello` waits for the stream's head while the subscription
/// is down (a refused connection answers at once; this bounds a silent one).
const HEAD_PROBE_TIMEOUT: Duration = Duration::from_millis(300);
/// Clock skew allowed between the bridge and Redis when a client's starting
/// point has to be taken from the clock (see `Conn::hello`).
const CLOCK_MARGIN: Duration = Duration::from_secs(1);

/// What the client asked for in its query string.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// Server-side filter.
    pub filter: Filter,
    /// `since=`: replay after this id.
    pub since: Option<StreamId>,
    /// `last=`: replay the newest n.
    pub last: Option<usize>,
    /// `epoch=`: the epoch the client last saw.
    pub epoch: Option<String>,
}

enum Mode {
    Live,
    CatchUp(Replay),
}

struct Conn {
    ws: Ws,
    shared: Arc<Shared>,
    reg: Registration,
    position: Option<StreamId>,
    /// Items taken from the queue but not yet handled (after a resync, or while
    /// a replay is running).
    pending: VecDeque<Item>,
    spare: VecDeque<Item>,
    outbox: Vec<Frame>,
    last_seen: Instant,
}

/// Serves one upgraded connection until it ends; `permit` holds its place in
/// the connection limits for as long.
pub async fn serve(ws: Ws, shared: Arc<Shared>, params: Params, permit: Permit) {
    let _permit = permit;
    let cfg = &shared.config;
    let reg = shared.hub.register(
        params.filter.clone(),
        cfg.queue_max_frames,
        cfg.queue_max_bytes,
    );
    shared.metrics.client_opened();
    let mut conn = Conn {
        ws,
        shared: shared.clone(),
        reg,
        position: None,
        pending: VecDeque::new(),
        spare: VecDeque::new(),
        outbox: Vec::new(),
        last_seen: Instant::now(),
    };
    let why = conn.run(params).await;
    if why == Closed::Shutdown {
        conn.close(CloseCode::Away, "bridge shutting down").await;
    }
    shared.metrics.client_closed(why);
    tracing::debug!(reason = ?why, "client disconnected");
}

impl Conn {
    async fn run(&mut self, params: Params) -> Closed {
        if let Err(why) = self.hello(&params.filter).await {
            return why;
        }
        let mut mode = match (params.since, params.last) {
            (Some(since), _) => self.start(Replay::since(since, params.epoch)),
            (None, Some(n)) if n > 0 => self.start(Replay::last(n)),
            _ => Mode::Live,
        };
        let cfg = &self.shared.config;
        let (ping_every, ping_grace, page) = (cfg.ping_interval, cfg.ping_timeout, cfg.replay_page);
        let mut ping = interval_at(tokio::time::Instant::now() + ping_every, ping_every);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);

        loop {
            let live = matches!(mode, Mode::Live);
            let store = &self.shared.store;
            let fetch = async {
                match &mode {
                    Mode::CatchUp(replay) => replay.fetch(store, page).await,
                    Mode::Live => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = self.shared.shutdown.cancelled() => return Closed::Shutdown,
                msg = self.ws.next() => {
                    if let Some(why) = self.on_incoming(msg).await {
                        return why;
                    }
                }
                _ = ping.tick() => {
                    if self.last_seen.elapsed() > ping_every + ping_grace {
                        self.close(CloseCode::from(CLOSE_NO_PONG), "no pong").await;
                        return Closed::PingTimeout;
                    }
                    if let Err(why) = self.send_now(Message::Ping(Bytes::new())).await {
                        return why;
                    }
                }
                _ = self.reg.slot().queue.notified(), if live => {
                    if let Err(why) = self.drain(&mut mode).await {
                        return why;
                    }
                }
                fetched = fetch => {
                    if let Err(why) = self.on_fetched(&mut mode, fetched).await {
                        return why;
                    }
                }
            }
        }
    }

    fn start(&self, replay: Replay) -> Mode {
        self.shared.metrics.replay_started(replay.kind);
        Mode::CatchUp(replay)
    }

    /// Sends `bridge_hello` and sets the starting position to the stream's head.
    ///
    /// The head is read even while the subscription is down (briefly: a bridge
    /// that just started may reach the stream before it has subscribed), so
    /// that the catch-up that follows the subscription starts exactly where
    /// this client came in. When the stream cannot be read, the client stands
    /// at the newest id the bridge forwarded, or — if it forwarded none — at
    /// the present moment on the clock, less [`CLOCK_MARGIN`] (stream ids are
    /// Redis's clock in ms; the margin absorbs skew between the two hosts).
    async fn hello(&mut self, filter: &Filter) -> Result<(), Closed> {
        let redis_up = self.shared.redis.is_up();
        let head = if redis_up {
            self.shared.store.head().await.ok()
        } else {
            timeout(HEAD_PROBE_TIMEOUT, self.shared.store.head())
                .await
                .ok()
                .and_then(Result::ok)
        };
        self.position = Some(match &head {
            Some(h) => h.newest.unwrap_or(StreamId::ZERO),
            None => self.shared.redis.forwarded().unwrap_or_else(|| {
                let ms = orchestrator_events::clock::now_millis();
                StreamId::new(ms.saturating_sub(CLOCK_MARGIN.as_millis() as u64), 0)
            }),
        });
        let hello = BridgeHello {
            version: env!("CARGO_PKG_VERSION").to_string(),
            newest_id: head.as_ref().and_then(|h| h.newest),
            epoch: head.map(|h| h.epoch).or_else(|| self.shared.redis.epoch()),
            filter: filter.clone(),
            redis: Some(redis_up),
            server_time: orchestrator_events::clock::now_secs_f64(),
        };
        self.outbox.push(Frame::hello(hello));
        if !redis_up {
            self.outbox.push(notice(BridgeStatus::new(
                StatusKind::RedisDown,
                "Redis is unreachable; live events resume when it is back",
            )));
        }
        self.flush().await
    }

    async fn on_incoming(&mut self, msg: Option<Result<Message, WsError>>) -> Option<Closed> {
        match msg {
            None => Some(Closed::Client),
            Some(Ok(Message::Close(_))) => {
                // tungstenite queued the close reply; let it out.
                let _ = timeout(CLOSE_TIMEOUT, self.ws.flush()).await;
                Some(Closed::Client)
            }
            Some(Ok(Message::Ping(_))) => {
                self.last_seen = Instant::now();
                // The pong is queued by tungstenite; send it now, not with the next event.
                match timeout(self.shared.config.write_timeout, self.ws.flush()).await {
                    Ok(Ok(())) => None,
                    Ok(Err(_)) => Some(Closed::Client),
                    Err(_) => Some(Closed::Slow),
                }
            }
            Some(Ok(_)) => {
                self.last_seen = Instant::now();
                None
            }
            Some(Err(WsError::Capacity(_))) => {
                self.close(CloseCode::Size, "message too big").await;
                Some(Closed::TooBig)
            }
            Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
                Some(Closed::Client)
            }
            Some(Err(WsError::Protocol(_) | WsError::Utf8(_))) => Some(Closed::Error),
            Some(Err(_)) => Some(Closed::Client),
        }
    }

    /// Live mode: take everything queued and send it as one batch.
    async fn drain(&mut self, mode: &mut Mode) -> Result<(), Closed> {
        let queue = &self.reg.slot().queue;
        let dropped = if self.pending.is_empty() {
            queue.take(&mut self.pending)
        } else {
            let d = queue.take(&mut self.spare);
            self.pending.append(&mut self.spare);
            d
        };
        self.process_pending(mode, dropped).await
    }

    /// Handles `pending` in order: frames go out (minus duplicates); a resync
    /// starts a catch-up and leaves the rest pending behind it.
    async fn process_pending(&mut self, mode: &mut Mode, dropped: u64) -> Result<(), Closed> {
        let mut duplicates = 0;
        while let Some(item) = self.pending.pop_front() {
            match item {
                Item::Frame(frame) => {
                    if let Some(id) = frame.id() {
                        if self.position.is_some_and(|p| id <= p) {
                            duplicates += 1;
                            continue;
                        }
                        self.position = Some(id);
                    }
                    self.outbox.push(frame);
                }
                Item::Resync(resync) => {
                    if resync.epoch_changed {
                        self.shared.metrics.history_reset();
                        self.outbox.push(notice(
                            BridgeStatus::new(
                                StatusKind::HistoryReset,
                                "Redis lost its history (new epoch); sending the new history from its start",
                            )
                            .with_epoch(resync.epoch.clone()),
                        ));
                    }
                    match Replay::resync(&mut self.position, &resync) {
                        Some(replay) => {
                            *mode = self.start(replay);
                            break;
                        }
                        None => {
                            let mut s = BridgeStatus::new(StatusKind::RedisUp, "Redis is back");
                            s.replayed = Some(0);
                            self.outbox.push(notice(s.with_epoch(resync.epoch.clone())));
                        }
                    }
                }
            }
        }
        self.shared.metrics.duplicates_skipped(duplicates);
        // A catch-up just started recovers the dropped frames from the stream;
        // otherwise the client is told what it missed and where to resume.
        if dropped > 0 && matches!(mode, Mode::Live) {
            let mut s = BridgeStatus::new(
                StatusKind::Dropped,
                format!(
                    "too slow: {dropped} events were dropped; reconnect with since=<resume_from> to fetch them"
                ),
            );
            s.dropped = Some(dropped);
            s.resume_from = self.position;
            self.outbox.push(notice(s));
        }
        self.flush().await?;
        for buf in [&mut self.pending, &mut self.spare] {
            if buf.capacity() > KEEP_CAPACITY {
                *buf = VecDeque::new();
            }
        }
        if self.outbox.capacity() > KEEP_CAPACITY {
            self.outbox = Vec::new();
        }
        Ok(())
    }

    /// Catch-up mode: one page arrived from the stream (or Redis failed).
    async fn on_fetched(
        &mut self,
        mode: &mut Mode,
        fetched: redis::RedisResult<Fetched>,
    ) -> Result<(), Closed> {
        let Mode::CatchUp(replay) = mode else {
            return Ok(());
        };
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) => {
                tracing::debug!(error = %e, "replay read failed; retrying");
                if replay.failed() {
                    self.outbox.push(notice(BridgeStatus::new(
                        StatusKind::RedisDown,
                        "replay paused: Redis is unreachable; it resumes when Redis is back",
                    )));
                    self.flush().await?;
                }
                return Ok(());
            }
        };
        let metrics = &self.shared.metrics;
        let applied = replay.apply(
            fetched,
            &self.reg.slot().filter,
            &mut self.position,
            self.shared.config.replay_page,
            metrics,
        );
        metrics.replayed(applied.frames.len() as u64);
        metrics.duplicates_skipped(applied.duplicates);
        self.outbox.extend(applied.notices);
        self.outbox.extend(applied.frames);
        self.flush().await?;
        if applied.round_end {
            self.end_round(mode).await?;
        }
        Ok(())
    }

    /// The stream is exhausted: join the live queue, or replay once more if it
    /// overflowed meanwhile (the dropped events are in the stream).
    async fn end_round(&mut self, mode: &mut Mode) -> Result<(), Closed> {
        let Mode::CatchUp(replay) = mode else {
            return Ok(());
        };
        let dropped = self.reg.slot().queue.take(&mut self.spare);
        self.pending.append(&mut self.spare);
        if dropped > 0 && replay.rounds < MAX_ROUNDS {
            replay.rounds += 1;
            // Events with ids will be read again from the stream; keep notices.
            self.pending
                .retain(|item| !matches!(item, Item::Frame(f) if f.id().is_some()));
            return Ok(());
        }
        self.outbox.push(replay.done_notice());
        if replay.kind == ReplayKind::Reconnect {
            tracing::debug!(
                replayed = replay.replayed,
                "client caught up after Redis returned"
            );
        }
        *mode = Mode::Live;
        self.process_pending(mode, dropped).await
    }

    /// Writes the outbox as one batch (one flush), within the write timeout.
    async fn flush(&mut self) -> Result<(), Closed> {
        if self.outbox.is_empty() {
            return Ok(());
        }
        let count = self.outbox.len() as u64;
        let mut bytes = 0u64;
        let mut largest = 0u64;
        let ws = &mut self.ws;
        let outbox = &mut self.outbox;
        let write = async {
            for frame in outbox.drain(..) {
                bytes += frame.len() as u64;
                largest = largest.max(frame.len() as u64);
                ws.feed(Message::Text(frame.text())).await?;
            }
            ws.flush().await
        };
        let result = tokio::select! {
            biased;
            r = timeout(self.shared.config.write_timeout, write) => r,
            _ = self.shared.shutdown.cancelled() => return Err(Closed::Shutdown),
        };
        match result {
            Ok(Ok(())) => {
                self.shared.metrics.frames_out(count, bytes);
                self.shared.metrics.frame_size(largest);
                Ok(())
            }
            Ok(Err(_)) => Err(Closed::Client),
            Err(_) => {
                tracing::info!("closing a client that stopped reading (write timed out)");
                Err(Closed::Slow)
            }
        }
    }

    /// Sends one control message (ping) right away, within the write timeout.
    async fn send_now(&mut self, msg: Message) -> Result<(), Closed> {
        match timeout(self.shared.config.write_timeout, self.ws.send(msg)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Closed::Client),
            Err(_) => Err(Closed::Slow),
        }
    }

    /// Best-effort close frame.
    async fn close(&mut self, code: CloseCode, reason: &'static str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = timeout(CLOSE_TIMEOUT, self.ws.close(Some(frame))).await;
    }
}
