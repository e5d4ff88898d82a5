//! The real binary in a real terminal (tmux, 80×24): it draws, answers keys,
//! and gives the terminal back on `q` and on Ctrl-C.
//!
//! Uses a private tmux server (`tmux -L <unique name>`), so it never touches
//! anyone's sessions. CI installs tmux; where tmux is missing the test says so
//! and does nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, hello};

const BIN: &str = env!("CARGO_BIN_EXE_orchestrator-tui");

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self, session: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", session])
    }

    /// Waits until the screen satisfies `ok` (15 s at most).
    fn wait_for(&self, session: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.screen(session);
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draws_at_80x24_answers_keys_and_restores_the_terminal() {
    if !tmux_available() {
        eprintln!("tmux is not installed: skipping the real-terminal test");
        return;
    }
    let mut server = Server::start().await;
    let tmux = Tmux {
        socket: format!("orch-tui-test-{}", std::process::id()),
    };
    let url = server.url.clone();
    let start = |session: &str| {
        let command = format!("env LANG=C.UTF-8 {BIN} {url} --utc; echo EXITED $?; sleep 60");
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "80",
            "-y",
            "24",
            &command,
        ]);
    };

    start("main");
    let mut conn = server.next().await;
    conn.send(hello("e")).await;
    for i in 0..30 {
        conn.send(format!(
            r#"{{"type":"tool_use","tool_name":"tool_{i}","tool_input":{{"n":{i}}},"tool_use_id":"u{i}","agent":"orchestrator","run_id":"run-0000000000ab","id":"{}-0","timestamp":1703123456.0}}"#,
            i + 1
        ))
        .await;
    }
    let screen = tmux.wait_for("main", "the log", |s| {
        s.contains("tool_29") && s.contains("live")
    });
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        lines[0].contains("● live") && lines[0].contains("31 ev"),
        "{screen}"
    );
    assert!(
        screen.contains("🔧 orchest… 0000ab tool_29 {\"n\":29}"),
        "{screen}"
    );
    assert!(
        !screen.contains("tool_5 "),
        "only the newest rows fit: {screen}"
    );

    tmux.run(&["send-keys", "-t", "main", "?"]);
    tmux.wait_for("main", "help", |s| {
        s.contains("keys") && s.contains("only this run")
    });
    tmux.run(&["send-keys", "-t", "main", "x"]);
    tmux.run(&["send-keys", "-t", "main", "g"]);
    tmux.wait_for("main", "the oldest rows", |s| {
        s.contains("tool_0 ") && s.contains("paused")
    });
    tmux.run(&["send-keys", "-t", "main", "q"]);
    let after = tmux.wait_for("main", "exit", |s| s.contains("EXITED 0"));
    assert!(
        !after.contains("tool_0"),
        "the alternate screen is gone: {after}"
    );
    Server::drain(conn);

    // Ctrl-C quits too, and the shell gets a working terminal back.
    start("ctrlc");
    let conn = server.next().await;
    tmux.wait_for("ctrlc", "live", |s| s.contains("live"));
    tmux.run(&["send-keys", "-t", "ctrlc", "C-c"]);
    tmux.wait_for("ctrlc", "exit", |s| s.contains("EXITED 0"));
    Server::drain(conn);
}
