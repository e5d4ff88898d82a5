//! The fault suite's witness: one WebSocket client that resumes like the TUI
//! does, and counts everything it is sent by id — without deduplicating, so a
//! duplicate sent by the bridge is seen, not hidden.
//!
//! Resuming follows the protocol (`docs/protocol.md`, "Resuming") through the
//! same [`Resumer`] the TUI uses: every reconnect asks for
//! `since=<last id>&epoch=<epoch>`, and a `dropped` status makes it reconnect
//! at once from `resume_from`. Only the counting is this module's own. It can
//! be paused (stops reading the socket, as a stuck consumer would) and resumed.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use orchestrator_events::resume::{Query, Resumer, Verdict};
use orchestrator_events::{Event, StreamId};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::payload;

/// What one agent run looked like at the client.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunSeen {
    /// `seq` values received.
    pub seqs: BTreeSet<u64>,
    /// `status` of its `run_finished`, when one arrived.
    pub finished: Option<String>,
}

/// Everything the client received, by id.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Connections opened (1 + reconnects).
    pub connections: u32,
    /// Failed connection attempts (the bridge was down).
    pub connect_failures: u64,
    /// Text frames received.
    pub frames: u64,
    /// Distinct event ids received.
    pub ids: HashSet<StreamId>,
    /// Frames whose id had been received before (sent twice by the bridge).
    pub dup_ids: u64,
    /// Bench events: `seq` → number of distinct ids it arrived with (more than
    /// one: the publisher sent it twice, e.g. after an in-doubt failure).
    pub bench: HashMap<u64, u32>,
    /// Agent events by `run_id`.
    pub runs: BTreeMap<String, RunSeen>,
    /// `bridge_status` frames by `status`.
    pub statuses: BTreeMap<String, u64>,
    /// How connections ended, other than by this client: `close <code>`,
    /// `eof` (no close frame), `error`.
    pub ends: BTreeMap<String, u64>,
    /// Sum of `dropped` counts the bridge reported.
    pub dropped_reported: u64,
    /// JSON objects that are neither the bridge's nor carry an id.
    pub foreign: u64,
    /// Frames that are not JSON objects.
    pub malformed: u64,
    /// The resume point (the last id received, or `resume_from` after a
    /// `dropped` report).
    pub last_id: Option<StreamId>,
    /// The stream epoch as last told.
    pub epoch: Option<String>,
    /// Decides where the next connection resumes.
    resumer: Resumer,
}

impl Tally {
    /// How many `bridge_status` frames of this kind arrived.
    pub fn status(&self, kind: &str) -> u64 {
        self.statuses.get(kind).copied().unwrap_or(0)
    }

    /// The statuses and connection ends as `kind×n` text, for reports.
    pub fn statuses_text(&self) -> String {
        let parts: Vec<String> = self
            .statuses
            .iter()
            .chain(self.ends.iter())
            .map(|(k, n)| format!("{k}×{n}"))
            .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }

    /// Counts one text frame and returns where to reconnect from at once,
    /// when the bridge reported frames dropped for this client.
    fn on_text(&mut self, text: &str) -> Option<StreamId> {
        self.frames += 1;
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
            self.malformed += 1;
            return None;
        };
        self.count(&map);
        let verdict = Event::from_value(Value::Object(map)).map(|e| self.resumer.on_frame(&e));
        self.last_id = self.resumer.position().map(|p| p.id);
        self.epoch = self.resumer.epoch().map(str::to_string);
        match verdict {
            Ok(Verdict::Reconnect { from, .. }) => Some(from),
            _ => None,
        }
    }

    /// The counting half of [`Tally::on_text`]: by id, never deduplicated.
    fn count(&mut self, map: &serde_json::Map<String, Value>) {
        let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "bridge_hello" => return,
            "bridge_status" => {
                let status = map.get("status").and_then(Value::as_str).unwrap_or("?");
                *self.statuses.entry(status.to_string()).or_default() += 1;
                if status == "dropped" {
                    self.dropped_reported +=
                        map.get("dropped").and_then(Value::as_u64).unwrap_or(0);
                }
                return;
            }
            _ => {}
        }
        let Some(id) = map
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<StreamId>().ok())
        else {
            self.foreign += 1;
            return;
        };
        if !self.ids.insert(id) {
            self.dup_ids += 1;
            return;
        }
        let seq = map.get("seq").and_then(Value::as_u64);
        let agent = map.get("agent").and_then(Value::as_str);
        match (agent, seq) {
            (Some(payload::AGENT), Some(seq)) => *self.bench.entry(seq).or_default() += 1,
            (_, seq) => {
                if let Some(run) = map.get("run_id").and_then(Value::as_str) {
                    let r = self.runs.entry(run.to_string()).or_default();
                    if let Some(seq) = seq {
                        r.seqs.insert(seq);
                    }
                    if kind == "run_finished" {
                        r.finished = map
                            .get("status")
                            .and_then(Value::as_str)
                            .map(str::to_string);
                    }
                }
            }
        }
    }
}

/// A running resuming client.
pub struct ResumeClient {
    tally: Arc<Mutex<Tally>>,
    pause: watch::Sender<bool>,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl ResumeClient {
    /// Starts a client of `base_url` (`ws://…/ws/orchestrator`); it connects
    /// live (no `since`) the first time and resumes afterwards.
    pub fn start(base_url: &str) -> ResumeClient {
        Self::start_with(base_url, None)
    }

    /// Like [`ResumeClient::start`], with the socket's receive buffer set to
    /// `recv_buffer` bytes: a small one makes a stalled reader push back on
    /// the bridge within kilobytes instead of the megabytes loopback allows.
    pub fn start_with(base_url: &str, recv_buffer: Option<u32>) -> ResumeClient {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let (pause, pause_rx) = watch::channel(false);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(
            base_url.to_string(),
            recv_buffer,
            tally.clone(),
            pause_rx,
            cancel.clone(),
        ));
        ResumeClient {
            tally,
            pause,
            cancel,
            task,
        }
    }

    /// A copy of the tally now.
    pub fn tally(&self) -> Tally {
        self.tally
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads one figure of the tally without copying it.
    pub fn peek<T>(&self, f: impl FnOnce(&Tally) -> T) -> T {
        f(&self.tally.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Waits until `pred` holds, up to `timeout`; returns whether it did.
    pub async fn wait_until(&self, timeout: Duration, pred: impl Fn(&Tally) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.peek(&pred) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops (`true`) or resumes (`false`) reading the socket.
    pub fn set_paused(&self, paused: bool) {
        let _ = self.pause.send(paused);
    }

    /// Closes the connection and returns the final tally.
    pub async fn stop(mut self) -> Tally {
        self.cancel.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(3), &mut self.task).await;
        self.tally
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for ResumeClient {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// `base` with the replay parameters of `query` (ids and epochs need no
/// escaping: digits, letters, `-` and `_`).
fn url_for(base: &str, query: &Query) -> String {
    let pairs: Vec<String> = query
        .pairs()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if pairs.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", pairs.join("&"))
    }
}

/// Opens the TCP connection (optionally with a small receive buffer) and
/// performs the WebSocket handshake.
async fn connect(
    url: &str,
    recv_buffer: Option<u32>,
) -> Result<Ws, Box<dyn std::error::Error + Send + Sync>> {
    let authority = url
        .strip_prefix("ws://")
        .and_then(|r| r.split('/').next())
        .ok_or("not a ws:// URL")?;
    let addr: std::net::SocketAddr = authority.parse()?;
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    let stream = socket.connect(addr).await?;
    let (ws, _) = tokio_tungstenite::client_async(url, stream).await?;
    Ok(ws)
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn run(
    base: String,
    recv_buffer: Option<u32>,
    tally: Arc<Mutex<Tally>>,
    mut pause: watch::Receiver<bool>,
    cancel: CancellationToken,
) {
    let lock = || tally.lock().unwrap_or_else(PoisonError::into_inner);
    while !cancel.is_cancelled() {
        let url = url_for(&base, &lock().resumer.query());
        let connect = tokio::time::timeout(Duration::from_secs(3), connect(&url, recv_buffer));
        let mut ws = match tokio::select! {
            _ = cancel.cancelled() => return,
            r = connect => r,
        } {
            Ok(Ok(ws)) => ws,
            _ => {
                lock().connect_failures += 1;
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
                continue;
            }
        };
        {
            let mut t = lock();
            t.connections += 1;
            t.resumer.on_connect();
        }
        loop {
            if *pause.borrow() {
                tokio::select! {
                    _ = cancel.cancelled() => { let _ = ws.close(None).await; return; }
                    r = pause.changed() => if r.is_err() { return },
                }
                continue;
            }
            let msg = tokio::select! {
                _ = cancel.cancelled() => { let _ = ws.close(None).await; return; }
                r = pause.changed() => { if r.is_err() { return } continue; }
                m = ws.next() => m,
            };
            let text = match msg {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Binary(_))) => {
                    let mut t = lock();
                    t.frames += 1;
                    t.malformed += 1;
                    continue;
                }
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map_or("close".to_string(), |f| {
                        format!("close {}", u16::from(f.code))
                    });
                    *lock().ends.entry(code).or_default() += 1;
                    break;
                }
                Some(Err(_)) => {
                    *lock().ends.entry("connection error".into()).or_default() += 1;
                    break;
                }
                None => {
                    *lock().ends.entry("connection ended".into()).or_default() += 1;
                    break;
                }
                Some(Ok(_)) => continue,
            };
            let resume = lock().on_text(text.as_str());
            if resume.is_some() {
                // The bridge dropped frames for us: fetch them from the stream
                // now (the resumer asks from `resume_from`).
                let _ = ws.close(None).await;
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_id_and_tracks_resume_state() {
        let mut t = Tally::default();
        // A hello as the bridge sends it (every field present, so it parses typed).
        t.on_text(
            r#"{"type":"bridge_hello","version":"1","newest_id":null,"epoch":"e1","filter":{},"redis":true,"server_time":1.0}"#,
        );
        assert_eq!(t.epoch.as_deref(), Some("e1"));
        let ev = payload::event_with_id("5-0", "r", 7, 1, 1.0);
        assert_eq!(t.on_text(&ev), None);
        t.on_text(&ev);
        assert_eq!((t.ids.len(), t.dup_ids), (1, 1));
        assert_eq!(t.bench.get(&7), Some(&1));
        assert_eq!(t.last_id, Some(StreamId::new(5, 0)));
        t.on_text(
            r#"{"type":"bridge_status","status":"history_reset","message":"x","epoch":"e2"}"#,
        );
        assert_eq!(t.epoch.as_deref(), Some("e2"));
        let again = t.on_text(
            r#"{"type":"bridge_status","status":"dropped","message":"x","dropped":3,"resume_from":"5-0"}"#,
        );
        assert_eq!(again, Some(StreamId::new(5, 0)));
        assert_eq!(t.dropped_reported, 3);
        t.on_text("not json");
        t.on_text(r#"{"type":"x"}"#);
        assert_eq!((t.malformed, t.foreign), (1, 1));
        t.on_text(
            r#"{"id":"6-0","type":"run_finished","run_id":"a","seq":3,"status":"completed"}"#,
        );
        assert_eq!(t.runs["a"].finished.as_deref(), Some("completed"));
        assert_eq!(t.statuses_text(), "dropped×1, history_reset×1");
        let position = orchestrator_events::Position {
            id: StreamId::new(5, 0),
            epoch: Some("e2".into()),
        };
        assert_eq!(
            url_for("ws://h/ws", &Query::Since(position)),
            "ws://h/ws?since=5-0&epoch=e2"
        );
        assert_eq!(
            t.resumer.query(),
            Query::Since(t.resumer.position().expect("known"))
        );
    }
}
