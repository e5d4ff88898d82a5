//! One line per event, for `orchestrator-listen` (the original Python system's "1: listen for
//! events"): time, type, agent, run, and a summary that fits a terminal.
//!
//! Never fails on input: unknown types are shown as compact JSON, text that
//! is not JSON is shown as it is.

use serde_json::Value;

use crate::timefmt::clock;

/// Widest summary, in characters.
pub const SUMMARY_WIDTH: usize = 140;

/// `15:58:41.123  tool_use         orchestrator  run-3f2a9c1b0d4e #3  store_research_plan {…}`
pub fn line(payload: &str) -> String {
    let Ok(Value::Object(event)) = serde_json::from_str::<Value>(payload) else {
        return format!("{:<12}  {:<15}  {}", "--:--:--", "(not JSON)", cut(payload));
    };
    let s = |k: &str| event.get(k).and_then(Value::as_str).unwrap_or("");
    let time = event
        .get("timestamp")
        .and_then(Value::as_f64)
        .map(clock)
        .unwrap_or_else(|| "--:--:--.---".into());
    let kind = s("type");
    let agent = if s("agent").is_empty() {
        "-"
    } else {
        s("agent")
    };
    let run = match (s("run_id"), event.get("seq").and_then(Value::as_u64)) {
        ("", _) => "-".to_string(),
        (run, Some(seq)) => format!("{run} #{seq}"),
        (run, None) => run.to_string(),
    };
    let summary = match kind {
        "run_started" => {
            let from = match (s("source"), s("source_agent")) {
                (src, "") => src.to_string(),
                (src, who) => format!("{src} from {who}"),
            };
            format!("[{from}] {}", s("input"))
        }
        "text_generation" => s("data").to_string(),
        "reasoning" => s("content").to_string(),
        "tool_use" => format!(
            "{} {}",
            s("tool_name"),
            event.get("tool_input").map(compact).unwrap_or_default()
        ),
        "tool_result" => format!(
            "{} → {} in {} ms: {}",
            s("tool_name"),
            s("status"),
            event
                .get("duration_ms")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            event.get("output").map(compact).unwrap_or_default()
        ),
        "run_finished" => {
            let mut out = format!(
                "{} in {} ms",
                s("status"),
                event
                    .get("duration_ms")
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            );
            if let Some(u) = event.get("usage") {
                out.push_str(&format!(
                    " ({} in / {} out tokens)",
                    u.get("input_tokens").and_then(Value::as_u64).unwrap_or(0),
                    u.get("output_tokens").and_then(Value::as_u64).unwrap_or(0)
                ));
            }
            out
        }
        "error" => format!("{}: {}", s("kind"), s("message")),
        _ => compact(&Value::Object(event.clone())),
    };
    format!(
        "{time}  {kind:<15}  {agent:<12}  {run:<20}  {}",
        cut(&summary)
    )
}

/// JSON on one line; strings shown without quotes.
fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Newlines made visible, cut to [`SUMMARY_WIDTH`].
fn cut(text: &str) -> String {
    let flat = text.replace('\n', "⏎").replace('\r', "");
    if flat.chars().count() <= SUMMARY_WIDTH {
        flat
    } else {
        let mut out: String = flat.chars().take(SUMMARY_WIDTH - 1).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_kind() {
        let l = line(
            r#"{"id":"1-0","type":"tool_use","tool_name":"store_research_plan","tool_input":{"plan_data":"a\nb"},"agent":"orchestrator","run_id":"run-1","seq":3,"timestamp":1703123456.789}"#,
        );
        assert_eq!(
            l,
            "01:50:56.789  tool_use         orchestrator  run-1 #3              store_research_plan {\"plan_data\":\"a\\nb\"}"
        );
        assert!(line(r#"{"type":"text_generation","data":"hi\nthere"}"#).ends_with("hi⏎there"));
        assert!(line("not json").contains("(not JSON)"));
        assert!(line(r#"{"type":"custom","x":1}"#).contains(r#"{"type":"custom","x":1}"#));
        let long = format!(r#"{{"type":"reasoning","content":"{}"}}"#, "x".repeat(500));
        assert!(line(&long).ends_with('…'));
    }
}
