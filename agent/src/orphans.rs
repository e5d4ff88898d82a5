//! Closing the runs a previous process of this agent left open.
//!
//! Every run ends with `run_finished`, except when the process dies in the
//! middle of one (SIGKILL, out of memory, a power cut): then a monitor shows
//! that run pending forever. At start, before serving, the agent reads the
//! newest entries of the stream, finds the runs published under *its own name*
//! that never finished, and closes each one with an `error` (kind
//! `agent_restarted`) and a `run_finished` `failed`, continuing the run's
//! `seq`. They go through the normal publisher, so they get stream ids and
//! reach every client like any other event.
//!
//! This assumes one process per agent name (the contract's meaning of
//! `agent`): a second process started under the same name while the first is
//! mid-run would close the first's run. When Redis cannot be read at start the
//! check is skipped and logged; it is never fatal.

use std::collections::HashMap;
use std::time::Duration;

use orchestrator_events::event::{ErrorEvent, RunFinished, RunStatus};
use orchestrator_events::{Event, EventKind};

use crate::publisher::PublisherHandle;
use crate::redis_conn;
use orchestrator_events::clock::now_secs;

/// What is known of one run from the stream.
#[derive(Debug, Default)]
struct RunSeen {
    last_seq: Option<u64>,
    started_at: Option<f64>,
    finished: bool,
}

/// Runs of `agent` found in `events` (newest first or in any order) that have
/// no `run_finished`, with the next `seq` and the start time of each.
pub fn unfinished_runs<'a>(
    agent: &str,
    events: impl IntoIterator<Item = &'a Event>,
) -> Vec<(String, u64, Option<f64>)> {
    let mut runs: HashMap<&str, RunSeen> = HashMap::new();
    for event in events {
        if event.agent.as_deref() != Some(agent) {
            continue;
        }
        let Some(run_id) = event.run_id.as_deref() else {
            continue;
        };
        let seen = runs.entry(run_id).or_default();
        seen.last_seq = seen.last_seq.max(event.seq);
        match event.kind {
            EventKind::RunStarted(_) => seen.started_at = event.time_secs(),
            EventKind::RunFinished(_) => seen.finished = true,
            _ => {}
        }
    }
    let mut open: Vec<_> = runs
        .into_iter()
        .filter(|(_, seen)| !seen.finished)
        .map(|(run_id, seen)| {
            let next_seq = seen.last_seq.map_or(0, |s| s.saturating_add(1));
            (run_id.to_string(), next_seq, seen.started_at)
        })
        .collect();
    open.sort_by(|a, b| a.0.cmp(&b.0));
    open
}

/// The two events that close one orphaned run.
pub fn closing_events(
    agent: &str,
    run_id: &str,
    next_seq: u64,
    started_at: Option<f64>,
    now: f64,
) -> [Event; 2] {
    let duration_ms = started_at
        .map(|t| ((now - t).max(0.0) * 1000.0) as u64)
        .unwrap_or(0);
    let stamp = |kind: EventKind, seq: u64| {
        let mut event = Event::new(kind);
        event.agent = Some(agent.to_string());
        event.run_id = Some(run_id.to_string());
        event.seq = Some(seq);
        event.timestamp = Some(now);
        event
    };
    [
        stamp(
            EventKind::Error(ErrorEvent {
                message:
                    "the agent stopped during this run (it was restarted); the run did not finish"
                        .into(),
                kind: "agent_restarted".into(),
            }),
            next_seq,
        ),
        stamp(
            EventKind::RunFinished(RunFinished {
                status: RunStatus::Failed,
                duration_ms,
                usage: None,
                reason: Some("the agent was restarted during the run".into()),
            }),
            next_seq.saturating_add(1),
        ),
    ]
}

/// Reads up to `scan` of the newest stream entries and publishes the closing
/// events of every unfinished run of `agent`. Returns how many runs it closed.
pub async fn close_orphaned_runs(
    source: &orchestrator_events::source::RedisSource,
    stream: &str,
    agent: &str,
    scan: u64,
    publisher: &PublisherHandle,
) -> redis::RedisResult<usize> {
    let mut conn = redis_conn::connect(source, Duration::from_secs(2)).await?;
    let stored = orchestrator_events::publish::read_stream(
        &mut conn,
        stream,
        orchestrator_events::publish::StreamEnd::Newest,
        Some(scan),
    )
    .await?;
    let events: Vec<Event> = stored
        .iter()
        .filter_map(|(_, frame)| Event::parse(frame).ok())
        .collect();
    let open = unfinished_runs(agent, &events);
    let now = now_secs();
    for (run_id, next_seq, started_at) in &open {
        tracing::warn!(run_id = %run_id, "closing a run the previous process left open");
        for event in closing_events(agent, run_id, *next_seq, *started_at, now) {
            publisher.publish_event(&event);
        }
    }
    Ok(open.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(json: &str) -> Event {
        Event::parse(json).expect("test event")
    }

    #[test]
    fn finds_only_this_agents_unfinished_runs_with_their_next_seq() {
        let events = [
            ev(
                r#"{"type":"run_started","input":"a","source":"chat","agent":"me","run_id":"r1","seq":0,"timestamp":10.0}"#,
            ),
            ev(r#"{"type":"text_generation","data":"x","agent":"me","run_id":"r1","seq":1}"#),
            ev(
                r#"{"type":"run_started","input":"b","source":"chat","agent":"me","run_id":"r2","seq":0}"#,
            ),
            ev(
                r#"{"type":"run_finished","status":"completed","duration_ms":1,"agent":"me","run_id":"r2","seq":1}"#,
            ),
            ev(r#"{"type":"reasoning","content":"y","agent":"other","run_id":"r3","seq":4}"#),
            ev(r#"{"type":"reasoning","content":"seed shape, no envelope"}"#),
        ];
        assert_eq!(
            unfinished_runs("me", &events),
            vec![("r1".to_string(), 2, Some(10.0))]
        );
        assert_eq!(
            unfinished_runs("other", &events),
            vec![("r3".to_string(), 5, None)]
        );
        assert!(unfinished_runs("nobody", &events).is_empty());
    }

    #[test]
    fn closing_events_continue_the_run() {
        let [error, finished] = closing_events("me", "r1", 2, Some(10.0), 12.5);
        assert_eq!(error.seq, Some(2));
        assert!(matches!(&error.kind, EventKind::Error(e) if e.kind == "agent_restarted"));
        assert_eq!(finished.seq, Some(3));
        assert!(matches!(
            &finished.kind,
            EventKind::RunFinished(f) if f.status == RunStatus::Failed && f.duration_ms == 2500
        ));
        assert_eq!(finished.run_id.as_deref(), Some("r1"));
        assert_eq!(finished.id, None, "the publish script assigns ids");
    }
}
