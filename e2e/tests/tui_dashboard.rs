//! The dashboard views of the real `orchestrator-tui` binary in a real
//! terminal (tmux), against the real agent and bridge: `R` lists the runs of
//! two chats and an A2A call as completed with their token counts, a child
//! run (`parent_run_id` in the `/chat` body) folds under its parent and the
//! parent's row sums it, `Enter` opens the transcript with the reply, `e`
//! writes exactly that run's events as JSON Lines, and `T` counts the calls
//! of `store_research_plan`.
//!
//! The expected figures (token counts, call counts, the run's events) are
//! read from the Redis stream, the ground truth, never written into the test.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::collections::HashMap;

use common::Pipeline;
use common::tmux::Tmux;
use orchestrator_events::{Event, EventKind};
use serde_json::{Value, json};
use testkit::workspace_bin;

/// The first `n` characters of the first line of `s`.
fn head(s: &str, n: usize) -> String {
    s.lines().next().unwrap_or("").chars().take(n).collect()
}

/// `s` with every run of whitespace made one space.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The screen line that contains `needle`.
fn line_with<'a>(screen: &'a str, needle: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(needle))
}

/// Sends a `/chat` message; returns the reply body (`run_id`, `reply`).
fn chat(http: &reqwest::blocking::Client, pipeline: &Pipeline, body: Value) -> Value {
    let response = http
        .post(format!("{}/chat", pipeline.agent_url()))
        .json(&body)
        .send()
        .expect("POST /chat");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().expect("chat reply")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn runs_tree_transcript_export_and_tools_views_show_the_real_runs() {
    let pipeline = Pipeline::start();
    let tui = workspace_bin("orchestrator-tui", "orchestrator-tui").expect("tui binary");
    let export_dir = tempfile::tempdir().expect("tempdir");
    let tmux = Tmux::new("dashboard");
    let command = format!(
        "{} --export-dir {} {}; sleep 60",
        tui.display(),
        export_dir.path().display(),
        pipeline.ws_url()
    );
    // 120 columns: every column of the runs view fits, tokens included.
    tmux.start(120, 40, &command);
    tmux.wait_for("the live state", |s| s.contains("● live"));

    let http = reqwest::blocking::Client::new();
    let plan = chat(
        &http,
        &pipeline,
        json!({"message": "Please store this research plan.\nPlan: Dashboard test\n1. Look\n2. See",
               "source_agent": "planner"}),
    );
    let parent = plan["run_id"].as_str().expect("run_id").to_string();
    let question = chat(
        &http,
        &pipeline,
        json!({"message": "What is the difference between the replay stream and the pub/sub channel?"}),
    );
    let a2a: Value = http
        .post(format!("{}/", pipeline.agent_url()))
        .json(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "message/send",
            "params": {"message": {
                "kind": "message", "role": "user", "messageId": "m-dash-1",
                "parts": [{"kind": "text", "text": "What tools do you have, and what do they do?"}]
            }}
        }))
        .send()
        .expect("POST /")
        .json()
        .expect("json-rpc reply");
    assert_eq!(a2a["result"]["status"]["state"], "completed", "{a2a}");
    let child = chat(
        &http,
        &pipeline,
        json!({"message": "What happens to my events if Redis goes down for a minute?",
               "parent_run_id": parent}),
    );
    let child_id = child["run_id"].as_str().expect("run_id").to_string();

    // The ground truth: every event in the stream, tokens per run. A reply
    // can come back before the agent's publisher has written the run's last
    // events, so read until the four runs have finished there.
    let stream = runtime().block_on(async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let events: Vec<Event> = pipeline
                .stream_events()
                .await
                .iter()
                .map(|t| Event::parse(t).expect("stored event parses"))
                .collect();
            let finished = events
                .iter()
                .filter(|e| matches!(e.kind, EventKind::RunFinished(_)))
                .count();
            if finished >= 4 {
                assert_eq!(finished, 4, "only the four runs sent");
                return events;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{finished} runs finished in the stream"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    });
    let mut tokens: HashMap<String, (u64, u64)> = HashMap::new();
    let mut a2a_run = None;
    for e in &stream {
        let id = e.run_id.clone().unwrap_or_default();
        match &e.kind {
            EventKind::RunFinished(f) => {
                let u = f.usage.expect("the agent reports usage");
                tokens.insert(id, (u.input_tokens, u.output_tokens));
            }
            EventKind::RunStarted(s) if s.source == "a2a" => a2a_run = Some(id),
            _ => {}
        }
    }
    let a2a_run = a2a_run.expect("the A2A run in the stream");
    let fmt = |(i, o): (u64, u64)| {
        format!(
            "{}/{}",
            orchestrator_tui::ui::bars::thousands(i),
            orchestrator_tui::ui::bars::thousands(o)
        )
    };
    let question_id = question["run_id"].as_str().expect("run_id").to_string();
    let (p, c) = (tokens[&parent], tokens[&child_id]);
    let parent_sum = (p.0 + c.0, p.1 + c.1);

    // R: three top-level runs, each completed with its tokens; the child is
    // folded under its parent, whose row sums both.
    tmux.keys(&["R"]);
    let rows = [
        ("Please store this", parent_sum),
        ("What is the differ", tokens[&question_id]),
        ("What tools do you", tokens[&a2a_run]),
    ];
    // Every run, the child too, has reached the monitor once the totals say so.
    let screen = tmux.wait_for("four completed runs", |s| {
        s.contains("0 running  4 completed")
            && rows
                .iter()
                .all(|(input, _)| line_with(s, input).is_some_and(|l| l.contains("✓ completed")))
    });
    assert!(
        screen.contains("view: runs"),
        "the status says the view:\n{screen}"
    );
    for (input, tok) in rows {
        let line = line_with(&screen, input).expect("row");
        assert!(
            line.contains(&fmt(tok)),
            "{input}: tokens {}:\n{screen}",
            fmt(tok)
        );
    }
    assert!(
        line_with(&screen, "Please store this").is_some_and(|l| l.contains("▸ ")),
        "the parent shows a folded marker:\n{screen}"
    );
    assert!(
        !screen.contains("What happens to my"),
        "the child is folded away:\n{screen}"
    );

    // The parent is the oldest top-level run: the last row. Space unfolds it.
    tmux.keys(&["G", "Space"]);
    let screen = tmux.wait_for("the child unfolded", |s| s.contains("What happens to my"));
    let child_line = line_with(&screen, "What happens to my").expect("child row");
    assert!(
        child_line.contains("└ ") && child_line.contains("✓ completed"),
        "the child is drawn under its parent:\n{screen}"
    );
    assert!(
        child_line.contains(&fmt(c)),
        "child tokens {}:\n{screen}",
        fmt(c)
    );
    let lines: Vec<&str> = screen.lines().collect();
    let at = |needle: &str| lines.iter().position(|l| l.contains(needle)).expect(needle);
    assert_eq!(
        at("What happens to my"),
        at("Please store this") + 1,
        "the child sits right under its parent:\n{screen}"
    );
    assert!(
        line_with(&screen, "Please store this").is_some_and(|l| l.contains("▾ ")),
        "{screen}"
    );

    // Enter: the parent's transcript, ending with its reply.
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the transcript", |s| s.contains(&format!("run {parent}")));
    assert!(screen.contains("view: transcript"), "{screen}");
    assert!(
        screen.contains("input  Please store this research plan."),
        "{screen}"
    );
    let reply = plan["reply"].as_str().expect("reply");
    let reply_head = head(reply.trim(), 30);
    assert!(!reply_head.is_empty(), "the agent replied: {plan}");
    // The reply comes after the tool call's input and output: go to the end.
    tmux.keys(&["G"]);
    let reply_tail: String = {
        let last = reply.trim().lines().last().unwrap_or("").trim();
        let n = last.chars().count();
        last.chars().skip(n.saturating_sub(20)).collect()
    };
    // Wrapped lines break at spaces: compare with whitespace collapsed.
    let reply_tail = squash(&reply_tail);
    tmux.wait_for("the reply text", |s| squash(s).contains(&reply_tail));
    tmux.keys(&["g"]);
    let top = tmux.wait_for("the top again", |s| s.contains(&format!("run {parent}")));
    assert!(top.contains("store_research_plan"), "the tool call:\n{top}");

    // e: the run's events as JSON Lines, exactly those in the stream.
    tmux.keys(&["e"]);
    let file = export_dir.path().join(format!("run-{parent}.jsonl"));
    let screen = tmux.wait_for("the export message", |s| s.contains("wrote "));
    let written = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}\n{screen}", file.display()));
    let exported: Vec<Event> = written
        .lines()
        .map(|l| Event::parse(l).expect("an exported line is an event"))
        .collect();
    let expected: Vec<_> = stream
        .iter()
        .filter(|e| e.run_id.as_deref() == Some(parent.as_str()))
        .map(|e| e.id)
        .collect();
    assert!(expected.len() > 3, "the run has events: {expected:?}");
    assert_eq!(
        exported.iter().map(|e| e.id).collect::<Vec<_>>(),
        expected,
        "the file holds that run's events, in order"
    );
    assert!(
        exported
            .iter()
            .all(|e| e.run_id.as_deref() == Some(parent.as_str())),
        "only that run's"
    );

    // Esc back to the runs, T: the tools with their call counts.
    tmux.keys(&["Escape"]);
    tmux.wait_for("back to the runs", |s| s.contains("view: runs"));
    let calls = stream
        .iter()
        .filter(
            |e| matches!(&e.kind, EventKind::ToolResult(r) if r.tool_name == "store_research_plan"),
        )
        .count();
    assert!(calls >= 1, "the plan was stored");
    tmux.keys(&["T"]);
    let screen = tmux.wait_for("the tools view", |s| s.contains("store_research_plan"));
    let line = line_with(&screen, "store_research_plan").expect("tool row");
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cols.get(1).copied(),
        Some(calls.to_string().as_str()),
        "calls column:\n{screen}"
    );
    assert_eq!(cols.get(2).copied(), Some("0"), "no failures:\n{screen}");
}
