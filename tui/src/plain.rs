//! `--plain` and `--json`: the event stream without a screen, for pipes and scripts.
//!
//! `--plain` prints one human line per event (time, icon, agent/run, summary;
//! no colours, control characters removed). `--json` prints each frame's JSON
//! on one line, as received; a frame that is not JSON is printed as
//! `{"type":"malformed_frame","raw":…,"error":…}` so the output stays valid
//! JSON Lines. Connection changes go to stderr, never mixed into stdout.
//! A closed stdout (`| head`) ends the program quietly.

use std::io::{self, Write};
use std::sync::Arc;

use orchestrator_events::{Event, EventKind};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::app::prices::Prices;
use crate::app::runs::{RunState, Runs};
use crate::client::{ClientEvent, ConnState, Frame};
use crate::clock::Zone;
use crate::kind::Kind;
use crate::record::{Recorder, one_line};
use crate::summary;
use crate::theme::Theme;
use crate::ui::text;

/// Which line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One human line per event.
    Plain,
    /// The raw JSON per line.
    Json,
}

/// One output line for a frame (without the newline).
pub fn line(frame: &Frame, format: Format, theme: &Theme, zone: Zone, now_wall: f64) -> String {
    match (format, &frame.event) {
        (Format::Json, Ok(_)) => one_line(&frame.text).into_owned(),
        (Format::Json, Err(err)) => json!({
            "type": "malformed_frame",
            "raw": frame.text,
            "error": err.to_string(),
        })
        .to_string(),
        (Format::Plain, Ok(event)) => human(event, theme, zone, now_wall),
        (Format::Plain, Err(err)) => format!(
            "{} {} {}",
            zone.hms(now_wall),
            theme.icons.kind(Kind::Malformed),
            text::cleaned(&summary::malformed(&frame.text, err))
        ),
    }
}

fn human(event: &Event, theme: &Theme, zone: Zone, now_wall: f64) -> String {
    let ts = event.time_secs().unwrap_or(now_wall);
    let kind = Kind::of(&event.kind);
    let mut who = String::new();
    if let Some(agent) = &event.agent {
        who.push_str(agent);
    }
    if let Some(run) = &event.run_id {
        who.push('/');
        who.push_str(crate::ui::log::short_run(run, 8));
    }
    let who = if who.is_empty() {
        String::new()
    } else {
        format!("{} ", text::cleaned(&who))
    };
    format!(
        "{} {} {who}{}",
        zone.hms(ts),
        theme.icons.kind(kind),
        text::cleaned(&summary::summarize(event))
    )
}

/// A connection change as one stderr line.
pub fn state_line(state: &ConnState, url: &str) -> String {
    match state {
        ConnState::Connecting { attempt: 1 } => format!("connecting to {url}"),
        ConnState::Connecting { attempt } => format!("connecting to {url} (attempt {attempt})"),
        ConnState::Live => "live".into(),
        ConnState::Reconnecting { delay, reason, .. } => {
            format!("{reason}; reconnecting in {:.1}s", delay.as_secs_f64())
        }
        ConnState::Failed { reason } => format!("failed: {reason}"),
        ConnState::Replaying => format!("replaying {url}"),
        ConnState::ReplayDone { lines } => format!("replay done: {lines} lines"),
    }
}

/// How the stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Cancelled, the source ended, or stdout was closed.
    Normally,
    /// The client gave up.
    Failed(String),
}

/// How `--plain` / `--json` print.
#[derive(Debug)]
pub struct Options {
    /// Line format.
    pub format: Format,
    /// Icons for `--plain` (colour is never used).
    pub theme: Theme,
    /// Zone for times.
    pub zone: Zone,
    /// The URL or file, for connection messages.
    pub label: String,
    /// `--runs`: one line (or JSON object) per finished run instead of per event.
    pub runs: Option<RunLog>,
}

/// `--runs`: the runs aggregation and the prices for its cost field.
#[derive(Debug, Default)]
pub struct RunLog {
    runs: Runs,
    entries: u64,
    prices: Option<Arc<Prices>>,
}

impl RunLog {
    /// A run log pricing runs with `prices` when given.
    pub fn new(prices: Option<Arc<Prices>>) -> RunLog {
        RunLog {
            prices,
            ..RunLog::default()
        }
    }

    /// Takes one frame in; returns the line to print when it finished a run.
    pub fn line(&mut self, frame: &Frame, format: Format) -> Option<String> {
        let event = frame.event.as_ref().ok()?;
        self.entries += 1;
        let ts = event.time_secs().unwrap_or_else(wall_now);
        self.runs.observe(event, self.entries, ts);
        if !matches!(event.kind, EventKind::RunFinished(_)) {
            return None;
        }
        let run = self.runs.get(event.run_id.as_deref()?)?;
        let status = match run.state {
            RunState::Running => "running",
            RunState::Done(s) => crate::summary::run_status(s),
        };
        let cost = self
            .prices
            .as_ref()
            .and_then(|p| p.cost(run.model.as_deref(), run.tokens_in, run.tokens_out));
        let duration = run.duration_ms.unwrap_or(0);
        Some(match format {
            Format::Json => serde_json::json!({
                "run_id": &*run.id,
                "parent_run_id": run.parent.as_deref(),
                "status": status,
                "agent": run.agent.as_deref(),
                "source": run.source.as_deref(),
                "model": run.model.as_deref(),
                "duration_ms": duration,
                "input_tokens": run.tokens_in,
                "output_tokens": run.tokens_out,
                "tool_calls_ok": run.tools_ok,
                "tool_calls_failed": run.tools_failed,
                "cost_usd": cost,
                "partial": run.partial,
                "input": &run.input,
            })
            .to_string(),
            Format::Plain => {
                let cost = cost.map_or(String::new(), |c| format!(" ${c:.4}"));
                format!(
                    "{status} {} {} {} in {} out{cost} {} {}",
                    run.agent.as_deref().unwrap_or("-"),
                    crate::summary::duration_ms(duration),
                    run.tokens_in,
                    run.tokens_out,
                    &*run.id,
                    crate::ui::text::cleaned(&run.input)
                )
            }
        })
    }
}

/// Prints every event from `rx` to `out` until it ends; connection changes go
/// to `err`. Frames are also appended to `recorder` when given.
pub async fn run(
    mut rx: mpsc::Receiver<ClientEvent>,
    cancel: CancellationToken,
    options: Options,
    mut recorder: Option<Recorder>,
    out: &mut (impl Write + ?Sized),
    err: &mut (impl Write + ?Sized),
) -> io::Result<Ended> {
    let Options {
        format,
        theme,
        zone,
        label,
        mut runs,
    } = options;
    let mut failed = None;
    loop {
        let first = tokio::select! {
            () = cancel.cancelled() => break,
            ev = rx.recv() => ev,
        };
        let Some(first) = first else { break };
        // Drain what is queued, then flush once: fast for bursts, live for trickles.
        let mut batch = vec![first];
        while batch.len() < 1024 {
            match rx.try_recv() {
                Ok(ev) => batch.push(ev),
                Err(_) => break,
            }
        }
        let now_wall = wall_now();
        for ev in batch {
            match ev {
                ClientEvent::State(state) => {
                    let _ = writeln!(err, "orchestrator-tui: {}", state_line(&state, &label));
                    if let ConnState::Failed { reason } = state {
                        failed = Some(reason);
                    }
                }
                ClientEvent::Frame(frame) => {
                    if let Some(rec) = &mut recorder
                        && let Err(e) = rec.write(&frame.text)
                    {
                        let _ = writeln!(err, "orchestrator-tui: recording stopped: {e}");
                        recorder = None;
                    }
                    let text = match &mut runs {
                        Some(log) => match log.line(&frame, format) {
                            Some(text) => text,
                            None => continue,
                        },
                        None => line(&frame, format, &theme, zone, now_wall),
                    };
                    if let Err(e) = writeln!(out, "{text}") {
                        return closed_or(e);
                    }
                }
            }
        }
        if let Err(e) = out.flush() {
            return closed_or(e);
        }
        if let Some(rec) = &mut recorder
            && let Err(e) = rec.flush()
        {
            let _ = writeln!(err, "orchestrator-tui: recording stopped: {e}");
            recorder = None;
        }
    }
    if let Some(rec) = &mut recorder {
        let _ = rec.flush();
    }
    Ok(match failed {
        Some(reason) => Ended::Failed(reason),
        None => Ended::Normally,
    })
}

fn closed_or(e: io::Error) -> io::Result<Ended> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(Ended::Normally)
    } else {
        Err(e)
    }
}

/// The wall clock in Unix seconds.
pub fn wall_now() -> f64 {
    orchestrator_events::clock::now_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theme::ASCII;

    #[test]
    fn formats_plain_and_json_lines() {
        let theme = Theme {
            icons: &ASCII,
            color: false,
        };
        let f = Frame::parse(
            r#"{"type":"tool_use","tool_name":"t","tool_input":{"a":1},"agent":"ag","run_id":"r123456789","timestamp":0.5}"#,
        );
        assert_eq!(
            line(&f, Format::Plain, &theme, Zone::utc(), 9.0),
            r#"00:00:00 $> ag/23456789 t {"a":1}"#
        );
        assert_eq!(line(&f, Format::Json, &theme, Zone::utc(), 9.0), f.text);
        let bad = Frame::parse("oops\u{1b}[2J");
        let j: serde_json::Value =
            serde_json::from_str(&line(&bad, Format::Json, &theme, Zone::utc(), 0.0))
                .expect("json");
        assert_eq!(j["type"], "malformed_frame");
        assert_eq!(j["raw"], "oops\u{1b}[2J");
        let p = line(&bad, Format::Plain, &theme, Zone::utc(), 0.0);
        assert!(
            p.starts_with("00:00:00 xx malformed") && !p.contains('\u{1b}'),
            "{p}"
        );
    }
}

#[cfg(test)]
mod run_log_tests {
    use super::*;

    #[test]
    fn prints_one_line_per_finished_run() {
        let prices = Prices::parse(r#"{"m": {"input": 1.0, "output": 2.0}}"#, "p").ok();
        let mut log = RunLog::new(prices.map(Arc::new));
        let frames = [
            r#"{"type":"run_started","input":"hello\nworld","source":"chat","model":"m","run_id":"r1","agent":"a","timestamp":1.0}"#,
            r#"{"type":"text_generation","data":"hi","run_id":"r1","timestamp":1.5}"#,
            r#"{"type":"run_finished","status":"completed","duration_ms":2000,"usage":{"input_tokens":1000000,"output_tokens":0},"run_id":"r1","timestamp":3.0}"#,
        ];
        let mut plain = Vec::new();
        let mut json = Vec::new();
        let mut log2 = RunLog::new(None);
        for f in frames {
            let frame = Frame::parse(f);
            plain.extend(log.line(&frame, Format::Plain));
            json.extend(log2.line(&frame, Format::Json));
        }
        assert_eq!(
            plain,
            ["completed a 2.0s 1000000 in 0 out $1.0000 r1 hello"]
        );
        assert_eq!(json.len(), 1);
        let v: serde_json::Value = serde_json::from_str(&json[0]).expect("json");
        assert_eq!(v["status"], "completed");
        assert_eq!(v["input_tokens"], 1_000_000);
        assert_eq!(v["cost_usd"], serde_json::Value::Null);
    }
}
