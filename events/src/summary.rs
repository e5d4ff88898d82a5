//! One-line summaries of events, shared by the monitor's log rows, its
//! `--plain` lines and `orchestrator-listen`.
//!
//! A summary is what a person scanning the log needs in one line: the text of
//! a chunk, a tool's name with its compact input, a result's status and
//! duration. Long values are cut here (at [`MAX_FIELD_CHARS`]) so one huge tool
//! input cannot make every later operation on its row slow; the full event is
//! always in the detail pane. The summaries' own punctuation is ASCII, so they
//! read the same on any terminal. Control characters are not removed here;
//! the drawing code does that for everything it puts on screen.

use crate::event::{RunFinished, RunStatus, ToolStatus, Usage};
use crate::frame::StatusKind;
use crate::{Event, EventKind, ParseError};
use serde_json::Value;

/// Longest value (in characters) kept in a summary, beyond text chunks.
pub const MAX_FIELD_CHARS: usize = 300;

/// Cuts `s` to at most `max` characters, adding `...` when cut.
pub fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((at, _)) => format!("{}...", &s[..at]),
    }
}

/// A JSON value on one line, cut to [`MAX_FIELD_CHARS`]; strings without quotes.
pub fn compact(value: &Value) -> String {
    match value {
        Value::String(s) => cut(s, MAX_FIELD_CHARS),
        Value::Null => String::new(),
        other => cut(&other.to_string(), MAX_FIELD_CHARS),
    }
}

/// A duration for people: `850ms`, `2.3s`, `1m05s`.
pub fn duration_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// Token usage as `12 in, 34 out tokens`.
pub fn usage(u: &Usage) -> String {
    format!("{} in, {} out tokens", u.input_tokens, u.output_tokens)
}

/// The status of a tool result, as a word.
pub fn tool_status(status: ToolStatus) -> &'static str {
    match status {
        ToolStatus::Success => "ok",
        ToolStatus::Error => "error",
    }
}

/// The status of a finished run, as a word.
pub fn run_status(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Completed => "completed",
        RunStatus::Failed => "failed",
        RunStatus::Cancelled => "cancelled",
    }
}

/// The status of a bridge report, as its wire word.
pub fn status_kind(kind: StatusKind) -> &'static str {
    match kind {
        StatusKind::RedisDown => "redis_down",
        StatusKind::RedisUp => "redis_up",
        StatusKind::Dropped => "dropped",
        StatusKind::Gap => "gap",
        StatusKind::HistoryReset => "history_reset",
        StatusKind::ReplayDone => "replay_done",
        StatusKind::Unknown => "status",
    }
}

/// The one-line summary of a parsed event.
pub fn summarize(event: &Event) -> String {
    match &event.kind {
        EventKind::TextGeneration(t) => t.data.clone(),
        EventKind::Reasoning(r) => r.content.clone(),
        EventKind::ToolUse(u) => {
            let input = compact(&u.tool_input);
            if input.is_empty() {
                u.tool_name.clone()
            } else {
                format!("{} {input}", u.tool_name)
            }
        }
        EventKind::ToolResult(r) => format!(
            "{} -> {} {} {}",
            r.tool_name,
            tool_status(r.status),
            duration_ms(r.duration_ms),
            compact(&r.output)
        )
        .trim_end()
        .to_string(),
        EventKind::RunStarted(s) => format!("[{}] {}", s.source, cut(&s.input, MAX_FIELD_CHARS)),
        EventKind::RunFinished(f) => run_finished(f, None),
        EventKind::Error(e) => format!("{}: {}", e.kind, cut(&e.message, MAX_FIELD_CHARS)),
        EventKind::BridgeHello(h) => {
            let redis = match h.redis {
                Some(true) => ", redis up",
                Some(false) => ", redis down",
                None => "",
            };
            let newest = h
                .newest_id
                .map(|id| format!(", newest {id}"))
                .unwrap_or_default();
            format!("bridge {}{newest}{redis}", h.version)
        }
        EventKind::BridgeStatus(s) => {
            let mut out = status_kind(s.status).to_string();
            if !s.message.is_empty() {
                out.push_str(": ");
                out.push_str(&cut(&s.message, MAX_FIELD_CHARS));
            }
            if let Some(n) = s.dropped {
                out.push_str(&format!(", dropped {n}"));
            }
            if let (Some(from), Some(to)) = (s.from, s.to) {
                out.push_str(&format!(", {from}..{to}"));
            }
            if let Some(from) = s.resume_from {
                out.push_str(&format!(", resume from {from}"));
            }
            if let Some(n) = s.replayed {
                out.push_str(&format!(", {n} replayed"));
            }
            out
        }
        EventKind::Other { type_name } => {
            let fields = Value::Object(event.extra.clone());
            let fields = if event.extra.is_empty() {
                String::new()
            } else {
                format!(" {}", compact(&fields))
            };
            format!("{}{fields}", cut(type_name, 64))
        }
    }
}

/// A `run_finished` line: status, duration, the time to the run's first
/// text when known, usage, and why it did not complete.
pub fn run_finished(f: &RunFinished, first_text_ms: Option<u64>) -> String {
    // Most telling first, so that a narrow terminal cuts the least of it.
    let mut s = format!("{} in {}", run_status(f.status), duration_ms(f.duration_ms));
    if let Some(ms) = first_text_ms {
        s.push_str(", first text ");
        s.push_str(&duration_ms(ms));
    }
    if let Some(u) = &f.usage {
        s.push_str(", ");
        s.push_str(&usage(u));
    }
    if let Some(reason) = f.reason.as_deref().filter(|r| !r.is_empty()) {
        s.push_str(" — ");
        s.push_str(&cut(reason, MAX_FIELD_CHARS));
    }
    s
}

/// The one-line summary of a frame that is not an event.
pub fn malformed(text: &str, err: &ParseError) -> String {
    format!("malformed ({err}): {}", cut(text, MAX_FIELD_CHARS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(json: &str) -> String {
        summarize(&Event::parse(json).expect("valid event"))
    }

    #[test]
    fn summarizes_each_type() {
        assert_eq!(sum(r#"{"type":"text_generation","data":"hi"}"#), "hi");
        assert_eq!(
            sum(
                r#"{"type":"tool_use","tool_name":"search","tool_input":{"q":"x"},"tool_use_id":"t1"}"#
            ),
            r#"search {"q":"x"}"#
        );
        assert_eq!(
            sum(
                r#"{"type":"tool_result","tool_use_id":"t1","tool_name":"search","status":"error","output":"boom","duration_ms":1500}"#
            ),
            "search -> error 1.5s boom"
        );
        assert_eq!(
            sum(
                r#"{"type":"run_finished","status":"completed","duration_ms":61000,"usage":{"input_tokens":3,"output_tokens":4}}"#
            ),
            "completed in 1m01s, 3 in, 4 out tokens"
        );
        assert_eq!(
            sum(
                r#"{"type":"run_finished","status":"failed","duration_ms":900,"reason":"stopped after 3 model turns"}"#
            ),
            "failed in 900ms — stopped after 3 model turns"
        );
        assert_eq!(sum(r#"{"type":"mystery","x":1}"#), r#"mystery {"x":1}"#);
        assert_eq!(
            sum(
                r#"{"type":"bridge_status","status":"gap","message":"lost","from":"1-0","to":"5-0"}"#
            ),
            "gap: lost, 1-0..5-0"
        );
    }

    #[test]
    fn cuts_long_values() {
        assert_eq!(cut("abcdef", 3), "abc...");
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("ééé", 2), "éé...");
    }
}
