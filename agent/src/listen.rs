//! One line per event, for `orchestrator-listen` (the original Python
//! system's "1: listen for events"): time, type, agent, run, and the same
//! typed summary `orchestrator-tui --plain` prints
//! ([`orchestrator_events::summary`]).
//!
//! Never fails on input: a payload that is not an event is shown as the
//! monitor shows a malformed frame.

use orchestrator_events::Event;
use orchestrator_events::summary;

use crate::timefmt::clock;

/// Widest summary, in characters.
pub const SUMMARY_WIDTH: usize = 140;

/// `15:58:41.123  tool_use         orchestrator  run-3f2a9c1b0d4e #3  store_research_plan {…}`
pub fn line(payload: &str) -> String {
    let event = match Event::parse(payload) {
        Ok(event) => event,
        Err(err) => {
            return format!(
                "{:<12}  {:<15}  {}",
                "--:--:--.---",
                "(not an event)",
                flat(&summary::malformed(payload, &err))
            );
        }
    };
    let time = event
        .time_secs()
        .map(clock)
        .unwrap_or_else(|| "--:--:--.---".into());
    let agent = event
        .agent
        .as_deref()
        .filter(|a| !a.is_empty())
        .unwrap_or("-");
    let run = match (event.run_id.as_deref(), event.seq) {
        (None | Some(""), _) => "-".to_string(),
        (Some(run), Some(seq)) => format!("{run} #{seq}"),
        (Some(run), None) => run.to_string(),
    };
    format!(
        "{time}  {:<15}  {agent:<12}  {run:<20}  {}",
        event.kind.type_name(),
        flat(&summary::summarize(&event))
    )
}

/// Newlines made visible, cut to [`SUMMARY_WIDTH`].
fn flat(text: &str) -> String {
    let flat = text.replace('\n', "⏎").replace('\r', "");
    summary::cut(&flat, SUMMARY_WIDTH)
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
        assert!(line("not json").contains("(not an event)"));
        assert!(line(r#"{"type":"custom","x":1}"#).ends_with(r#"custom {"x":1}"#));
        let long = format!(r#"{{"type":"reasoning","content":"{}"}}"#, "x".repeat(500));
        assert!(line(&long).ends_with("..."));
    }

    #[test]
    fn the_summary_is_the_monitors() {
        let json = r#"{"type":"tool_result","tool_use_id":"t1","tool_name":"search","status":"error","output":"boom","duration_ms":1500}"#;
        let event = Event::parse(json).expect("valid event");
        assert!(line(json).ends_with(&summary::summarize(&event)));
    }
}
