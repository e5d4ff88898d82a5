//! The interactive monitor: terminal setup and the one event loop.
//!
//! One `select!` over the terminal's input, the client's events, a tick (for
//! spinners, countdowns and the rate) and termination signals. State changes
//! happen in [`App`]; drawing is throttled to about 60 frames a second and
//! done only when something changed, so a burst of thousands of events costs
//! a few frames, not thousands.
//!
//! The terminal is always given back: on return, on error, on Ctrl-C (a key in
//! raw mode), on SIGTERM/SIGHUP, and on panic (a hook restores it before the
//! panic message is printed).

use std::io;
use std::time::{Duration, Instant};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event as TermEvent, EventStream};
use crossterm::execute;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::app::{App, Now};
use crate::client::ClientEvent;
use crate::plain::wall_now;
use crate::record::Recorder;
use crate::ui;

/// Smallest time between two drawn frames.
const FRAME: Duration = Duration::from_millis(16);
/// Redraw period when nothing happens (spinners, countdowns, rate).
const TICK: Duration = Duration::from_millis(200);
/// Most client events applied before the screen is drawn again.
const BATCH: usize = 4096;

/// Restores the terminal when dropped (normal return or error).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = execute!(io::stdout(), DisableMouseCapture);
        ratatui::restore();
    }
}

/// Runs the monitor until the user quits or `cancel` fires.
pub async fn run(
    mut app: App,
    rx: mpsc::Receiver<ClientEvent>,
    cancel: CancellationToken,
    mut recorder: Option<Recorder>,
) -> io::Result<()> {
    // The guard first: if setup fails half-way, what was set up is undone.
    let _restore = Restore;
    let mut terminal = ratatui::try_init()?;
    // ratatui's hook restores the screen; add giving the mouse back first.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(io::stdout(), DisableMouseCapture);
        previous(info);
    }));
    execute!(io::stdout(), EnableMouseCapture)?;

    let start = Instant::now();
    let now = || Now {
        wall: wall_now(),
        mono: start.elapsed(),
    };
    let size = terminal.size()?;
    app.resize(size.width, size.height);
    app.set_now(now());

    let mut input = EventStream::new();
    let mut rx = Some(rx);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut signals = orchestrator_events::process::StopSignals::new();
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;

    loop {
        if dirty && last_draw.is_none_or(|t| t.elapsed() >= FRAME) {
            app.set_now(now());
            terminal.draw(|f| ui::draw(&app, f))?;
            dirty = false;
            last_draw = Some(Instant::now());
        }
        if app.should_quit() {
            break;
        }
        let redraw_in = match (dirty, last_draw) {
            (true, Some(t)) => FRAME.saturating_sub(t.elapsed()),
            _ => Duration::from_secs(3600),
        };
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = signals.recv() => break,
            ev = input.next() => match ev {
                Some(Ok(ev)) => {
                    app.set_now(now());
                    match ev {
                        TermEvent::Key(key) => app.on_key(key),
                        TermEvent::Mouse(mouse) => app.on_mouse(mouse),
                        TermEvent::Resize(w, h) => app.resize(w, h),
                        _ => {}
                    }
                    dirty = true;
                }
                Some(Err(e)) => return Err(e),
                None => break,
            },
            msg = recv(&mut rx) => {
                app.set_now(now());
                if msg.is_none() {
                    app.source_ended();
                }
                let mut next = msg;
                let mut n = 0;
                while let Some(ev) = next {
                    if let (ClientEvent::Frame(frame), Some(rec)) = (&ev, &mut recorder)
                        && let Err(e) = rec.write(&frame.text)
                    {
                        app.recording_stopped(&e.to_string());
                        recorder = None;
                    }
                    app.apply(ev);
                    n += 1;
                    next = if n < BATCH { rx.as_mut().and_then(|r| r.try_recv().ok()) } else { None };
                }
                if let Some(rec) = &mut recorder
                    && let Err(e) = rec.flush()
                {
                    app.recording_stopped(&e.to_string());
                    recorder = None;
                }
                dirty = true;
            },
            _ = tick.tick() => dirty = true,
            () = tokio::time::sleep(redraw_in) => {}
        }
    }
    if let Some(rec) = &mut recorder {
        let _ = rec.flush();
    }
    Ok(())
}

/// The next client event; `None` once when the client has ended (the
/// receiver is dropped then, so the loop stops polling it), then pends forever.
async fn recv(rx: &mut Option<mpsc::Receiver<ClientEvent>>) -> Option<ClientEvent> {
    match rx {
        Some(r) => match r.recv().await {
            Some(ev) => Some(ev),
            None => {
                *rx = None;
                None
            }
        },
        None => std::future::pending().await,
    }
}
