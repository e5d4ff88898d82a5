//! The real `orchestrator-tui` binary in a real terminal (tmux): it shows live
//! events with their icons and the connection state, and `q` gives the
//! terminal back (alternate screen off, the shell's text visible again).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use common::Pipeline;
use common::tmux::Tmux;
use serde_json::json;
use testkit::workspace_bin;

#[test]
fn the_monitor_shows_live_events_with_icons_and_q_restores_the_terminal() {
    let pipeline = Pipeline::start();
    let tui = workspace_bin("orchestrator-tui", "orchestrator-tui").expect("tui binary");
    let tmux = Tmux::new("screen");
    let command = format!(
        "echo SHELL-BEFORE; {} {}; echo TUI-EXITED=$?; sleep 60",
        tui.display(),
        pipeline.ws_url()
    );
    tmux.start(100, 30, &command);
    tmux.wait_for("the live state", |s| s.contains("● live"));
    assert!(tmux.alternate_on());

    // A run with a tool call: text, reasoning, tool use and result, start and finish.
    let reply = reqwest::blocking::Client::new()
        .post(format!("{}/chat", pipeline.agent_url()))
        .json(&json!({
            "message": "Please store this research plan.\nPlan: Screen test\n1. Look\n2. See",
            "source_agent": "planner"
        }))
        .send()
        .expect("POST /chat");
    assert!(reply.status().is_success());

    let screen = tmux.wait_for("the run's events", |s| s.contains("🏁"));
    for (icon, what) in [
        ("🚀", "run started"),
        ("💭", "reasoning"),
        ("✅", "tool call paired with its successful result"),
        ("💬", "text"),
    ] {
        assert!(
            screen.contains(icon),
            "{what} icon {icon} missing:\n{screen}"
        );
    }
    assert!(
        screen.contains("store_research_plan"),
        "tool name shown:\n{screen}"
    );
    assert!(screen.contains("orchestrator"), "agent shown:\n{screen}");

    tmux.keys(&["q"]);
    let screen = tmux.wait_for("the monitor to exit", |s| s.contains("TUI-EXITED="));
    assert!(screen.contains("TUI-EXITED=0"), "clean exit:\n{screen}");
    assert!(
        screen.contains("SHELL-BEFORE"),
        "the shell's screen is back:\n{screen}"
    );
    assert!(
        !screen.contains("● live"),
        "the monitor's screen is gone:\n{screen}"
    );
    assert!(!tmux.alternate_on());
}
