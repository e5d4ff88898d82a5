//! The real `orchestrator-tui` binary in a real terminal (tmux): it shows live
//! events with their icons and the connection state, and `q` gives the
//! terminal back (alternate screen off, the shell's text visible again).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::Pipeline;
use serde_json::json;
use testkit::workspace_bin;

/// A private tmux server (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new() -> Tmux {
        Tmux {
            socket: format!("orch-e2e-{}", std::process::id()),
        }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux is installed (apt-get install tmux)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "tui"])
    }

    /// Polls the screen until `pred` holds; panics with the last screen if not.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

#[test]
fn the_monitor_shows_live_events_with_icons_and_q_restores_the_terminal() {
    let pipeline = Pipeline::start();
    let tui = workspace_bin("orchestrator-tui", "orchestrator-tui").expect("tui binary");
    let tmux = Tmux::new();
    let command = format!(
        "echo SHELL-BEFORE; {} {}; echo TUI-EXITED=$?; sleep 60",
        tui.display(),
        pipeline.ws_url()
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "tui",
        "-x",
        "100",
        "-y",
        "30",
        "-e",
        "LANG=C.UTF-8",
        "-e",
        "TERM=xterm-256color",
        &command,
    ]);
    tmux.wait_for("the live state", |s| s.contains("● live"));
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "tui", "#{alternate_on}"])
            .trim(),
        "1"
    );

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

    tmux.run(&["send-keys", "-t", "tui", "q"]);
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
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "tui", "#{alternate_on}"])
            .trim(),
        "0"
    );
}
