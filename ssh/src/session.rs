//! One SSH session channel: waits for the viewer's request (pty, env, shell
//! or exec), then runs either the monitor or a `plain` / `json` stream.
//!
//! Back-pressure: a monitor draws into a buffer only when the previous frame
//! has been handed to the writer (a one-slot channel), and the writer waits
//! for russh's channel window. So a frozen viewer holds at most one frame in
//! flight and one queued; meanwhile its view keeps only its state, and the
//! next frame drawn is the newest. A stream session reads a bounded broadcast
//! and is told how many lines it skipped when it falls behind.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use orchestrator_tui::app::prices::Prices;
use orchestrator_tui::app::{View, ViewConfig};
use orchestrator_tui::clock::Zone;
use orchestrator_tui::plain::{self, Format};
use orchestrator_tui::theme::Theme;
use orchestrator_tui::ui;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use russh::server::Msg;
use russh::{Channel, ChannelMsg, ChannelWriteHalf};
use tokio::sync::{broadcast, mpsc};

use crate::input;
use crate::keys::Viewer;
use crate::upstream::{Line, Upstream};

/// Smallest time between two frames of one session.
const FRAME: Duration = Duration::from_millis(16);
/// Redraw period for spinners, countdowns and ticking durations; the
/// terminal diff makes an unchanged screen cost next to nothing.
const TICK: Duration = Duration::from_millis(500);
/// Entering: alternate screen, clear, cursor hidden.
const ENTER: &[u8] = b"\x1b[?1049h\x1b[2J\x1b[H\x1b[?25l";
/// Leaving: mouse reporting off, colours reset, cursor shown, main screen back.
const LEAVE: &[u8] = b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[0m\x1b[?25h\x1b[?1049l";
/// What ratatui's crossterm backend writes for a draw that changed no cell:
/// the style reset after the (empty) diff and the cursor hidden again. Not
/// sent, so an idle screen costs no bytes at all.
const UNCHANGED: &[u8] = b"\x1b[39m\x1b[49m\x1b[59m\x1b[0m\x1b[?25l";
/// Commands a session may exec.
pub const COMMANDS: [&str; 2] = ["plain", "json"];

/// One place in the count of live sessions (already added to `count`);
/// given back by [`Slot::release`] or when dropped, so a session that ends
/// any way at all (a killed client, a panic in its task) leaves the count.
#[derive(Debug)]
pub struct Slot {
    count: Arc<AtomicUsize>,
    held: bool,
}

impl Slot {
    /// Holds a place already counted in `count`.
    pub fn held(count: Arc<AtomicUsize>) -> Slot {
        Slot { count, held: true }
    }

    /// Sessions live now.
    pub fn live(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Gives the place back; returns the sessions left.
    pub fn release(&mut self) -> usize {
        if std::mem::take(&mut self.held) {
            self.count.fetch_sub(1, Ordering::SeqCst).saturating_sub(1)
        } else {
            self.live()
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.release();
    }
}

/// Who and where, for the logs.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The client's address.
    pub addr: String,
    /// The viewer's key.
    pub viewer: Viewer,
}

/// What the viewer asked for.
enum Mode {
    Monitor,
    Stream(Format),
}

/// Runs one session channel to its end.
pub async fn run(
    channel: Channel<Msg>,
    upstream: Upstream,
    prices: Option<Arc<Prices>>,
    peer: Peer,
    mut slot: Slot,
) {
    let started = Instant::now();
    let (mut read, write) = channel.split();
    let mut pty: Option<(u16, u16)> = None;
    let mut env: HashMap<String, String> = HashMap::new();
    // Requests before the start: pty, env; then shell or exec.
    let mode = loop {
        match read.wait().await {
            Some(ChannelMsg::RequestPty {
                term,
                col_width,
                row_height,
                ..
            }) => {
                env.insert("TERM".into(), term);
                pty = Some((clamp(col_width), clamp(row_height)));
            }
            Some(ChannelMsg::SetEnv {
                variable_name,
                variable_value,
                ..
            }) => {
                if env.len() < 64 {
                    env.insert(variable_name, variable_value);
                }
            }
            Some(ChannelMsg::WindowChange {
                col_width,
                row_height,
                ..
            }) => {
                if pty.is_some() {
                    pty = Some((clamp(col_width), clamp(row_height)));
                }
            }
            Some(ChannelMsg::RequestShell { .. }) => {
                break if pty.is_some() {
                    Mode::Monitor
                } else {
                    Mode::Stream(Format::Plain)
                };
            }
            Some(ChannelMsg::Exec { command, .. }) => match command.as_slice() {
                b"plain" => break Mode::Stream(Format::Plain),
                b"json" => break Mode::Stream(Format::Json),
                other => {
                    // The handler already answered the request with a failure.
                    tracing::info!(peer = %peer.addr, command = %String::from_utf8_lossy(other),
                        "exec refused: only plain or json");
                    let _ = write
                        .extended_data_bytes(
                            1,
                            format!(
                                "orchestrator-ssh: only the monitor, `plain` or `json`; not {:?}\r\n",
                                String::from_utf8_lossy(other)
                            ),
                        )
                        .await;
                    let _ = write.exit_status(1).await;
                    let _ = write.close().await;
                    return;
                }
            },
            Some(ChannelMsg::RequestSubsystem { .. }) => {
                let _ = write.close().await;
                return;
            }
            Some(ChannelMsg::Eof) | Some(ChannelMsg::Close) | None => return,
            Some(_) => {}
        }
    };
    let theme = Theme::from_env(false, |k| env.get(k).cloned());
    let what = match mode {
        Mode::Monitor => "monitor",
        Mode::Stream(Format::Plain) => "plain",
        Mode::Stream(Format::Json) => "json",
    };
    tracing::info!(peer = %peer.addr, key = %peer.viewer.fingerprint, comment = %peer.viewer.comment,
        mode = what, sessions = slot.live(), "session started");
    let why = match mode {
        Mode::Monitor => {
            let size = pty.unwrap_or((80, 24));
            monitor(read, write, &upstream, theme, prices, size).await
        }
        Mode::Stream(format) => stream(read, write, &upstream, theme, format, pty.is_some()).await,
    };
    let left = slot.release();
    tracing::info!(peer = %peer.addr, key = %peer.viewer.fingerprint, comment = %peer.viewer.comment,
        mode = what, duration_s = started.elapsed().as_secs_f64(), reason = why, sessions = left,
        "session ended");
}

fn clamp(n: u32) -> u16 {
    n.clamp(1, 1000) as u16
}

/// Where ratatui's backend writes one frame; taken whole after each draw.
#[derive(Debug, Clone, Default)]
struct FrameBuf(Arc<std::sync::Mutex<Vec<u8>>>);

impl FrameBuf {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl std::io::Write for FrameBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The full monitor, drawn into this channel.
async fn monitor(
    mut read: russh::ChannelReadHalf,
    write: ChannelWriteHalf<Msg>,
    upstream: &Upstream,
    theme: Theme,
    prices: Option<Arc<Prices>>,
    (w, h): (u16, u16),
) -> &'static str {
    let out = FrameBuf::default();
    let mut view = View::new(ViewConfig {
        theme,
        zone: Zone::utc(),
        recording: None,
        size: (w, h),
        prices,
        // Read-only: `e` in a transcript must not write on the server's disk.
        export_dir: None,
    });
    let Ok(mut terminal) = Terminal::with_options(
        CrosstermBackend::new(out.clone()),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, w, h)),
        },
    ) else {
        return "terminal setup failed";
    };
    // One frame in the writer's hands, at most one queued: newer drawing waits
    // for the slot instead of piling up.
    let (frames, mut frames_rx) = mpsc::channel::<bytes::Bytes>(1);
    let writer = tokio::spawn(async move {
        while let Some(frame) = frames_rx.recv().await {
            if write.data_bytes(frame).await.is_err() {
                return None;
            }
        }
        Some(write)
    });
    let mut changed = upstream.feed.subscribe();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut first = true;
    let mut dirty = true;
    let mut next_draw = Instant::now();
    let why = loop {
        let wait = next_draw.saturating_duration_since(Instant::now());
        tokio::select! {
            permit = frames.reserve(), if dirty && wait.is_zero() => {
                let Ok(permit) = permit else { break "connection lost" };
                view.set_now(upstream.now());
                let drawn = {
                    let feed = upstream.feed.read();
                    view.sync(&feed);
                    terminal.draw(|f| ui::draw_view(&feed, &view, f)).map(|_| ())
                };
                if drawn.is_err() {
                    break "drawing failed";
                }
                let mut bytes = out.take();
                dirty = false;
                next_draw = Instant::now() + FRAME;
                if first {
                    let mut with_enter = ENTER.to_vec();
                    with_enter.extend_from_slice(&bytes);
                    bytes = with_enter;
                    first = false;
                    permit.send(bytes::Bytes::from(bytes));
                } else if bytes != UNCHANGED {
                    permit.send(bytes::Bytes::from(bytes));
                }
            }
            () = tokio::time::sleep(wait), if dirty && !wait.is_zero() => {}
            msg = read.wait() => match msg {
                Some(ChannelMsg::Data { data }) => {
                    view.set_now(upstream.now());
                    let feed = upstream.feed.read();
                    view.sync(&feed);
                    for key in input::keys(&data) {
                        view.on_key(&feed, key);
                    }
                    dirty = true;
                }
                Some(ChannelMsg::WindowChange { col_width, row_height, .. }) => {
                    let (w, h) = (clamp(col_width), clamp(row_height));
                    view.resize(w, h);
                    if terminal.resize(Rect::new(0, 0, w, h)).is_err() {
                        break "resize failed";
                    }
                    dirty = true;
                }
                Some(ChannelMsg::Eof) | Some(ChannelMsg::Close) | None => break "client closed",
                Some(_) => {}
            },
            r = changed.changed() => {
                if r.is_err() {
                    break "upstream ended";
                }
                dirty = true;
            }
            _ = tick.tick() => dirty = true,
        }
        if view.should_quit() {
            break "quit";
        }
        if view.take_dirty() {
            dirty = true;
        }
    };
    drop(frames);
    let Ok(Some(write)) = writer.await else {
        return "connection lost";
    };
    if why == "quit" {
        let _ = write.data_bytes(bytes::Bytes::from_static(LEAVE)).await;
        let _ = write.exit_status(0).await;
    } else {
        let _ = write.data_bytes(bytes::Bytes::from_static(LEAVE)).await;
    }
    let _ = write.eof().await;
    let _ = write.close().await;
    why
}

/// The `plain` / `json` stream: one line per event until the client closes.
async fn stream(
    mut read: russh::ChannelReadHalf,
    write: ChannelWriteHalf<Msg>,
    upstream: &Upstream,
    theme: Theme,
    format: Format,
    pty: bool,
) -> &'static str {
    let mut lines = upstream.lines.subscribe();
    let eol = if pty { "\r\n" } else { "\n" };
    let zone = Zone::utc();
    let why = loop {
        let first = tokio::select! {
            line = lines.recv() => line,
            msg = read.wait() => match msg {
                // EOF on the viewer's stdin (`ssh host json < /dev/null`) is
                // not the end: the stream runs until the channel closes.
                Some(ChannelMsg::Close) | None => break "client closed",
                Some(ChannelMsg::Data { data }) if data.contains(&3) => break "quit",
                _ => continue,
            },
        };
        let mut out = String::new();
        let mut err = String::new();
        let mut next = Some(first);
        let mut n = 0;
        while let Some(line) = next.take() {
            match line {
                Ok(Line::Frame(frame)) => {
                    out.push_str(&plain::line(
                        &frame,
                        format,
                        &theme,
                        zone,
                        plain::wall_now(),
                    ));
                    out.push_str(eol);
                }
                Ok(Line::State(state)) => {
                    err.push_str("orchestrator-ssh: ");
                    err.push_str(&plain::state_line(&state, &upstream.label));
                    err.push_str(eol);
                }
                Err(broadcast::error::RecvError::Lagged(k)) => {
                    err.push_str(&format!(
                        "orchestrator-ssh: {k} events skipped: this viewer read too slowly{eol}"
                    ));
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
            n += 1;
            if n < 256 {
                next = match lines.try_recv() {
                    Ok(l) => Some(Ok(l)),
                    Err(broadcast::error::TryRecvError::Lagged(k)) => {
                        Some(Err(broadcast::error::RecvError::Lagged(k)))
                    }
                    Err(_) => None,
                };
            }
        }
        if !err.is_empty() && write.extended_data_bytes(1, err).await.is_err() {
            break "connection lost";
        }
        if !out.is_empty() && write.data_bytes(out).await.is_err() {
            break "connection lost";
        }
    };
    if why == "quit" {
        let _ = write.exit_status(0).await;
    }
    let _ = write.eof().await;
    let _ = write.close().await;
    why
}
