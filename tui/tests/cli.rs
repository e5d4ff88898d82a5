//! The real binary: flags, errors, `--plain`, `--json`, the non-terminal
//! fallback, `--record` then `--replay`, and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{Server, event, hello};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::http::StatusCode;

const BIN: &str = env!("CARGO_BIN_EXE_orchestrator-tui");

fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env_remove("ORCH_WS_URL")
        .env_remove("ORCH_BRIDGE_TOKEN")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

async fn output(args: &[&str]) -> std::process::Output {
    tokio::time::timeout(Duration::from_secs(20), cmd(args).output())
        .await
        .expect("exits within 20 s")
        .expect("runs")
}

/// Reads `n` lines from the child's stdout (20 s at most).
async fn lines(child: &mut Child, n: usize) -> Vec<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut reader = BufReader::new(stdout).lines();
    let mut out = Vec::new();
    while out.len() < n {
        let line = tokio::time::timeout(Duration::from_secs(20), reader.next_line())
            .await
            .expect("a line within 20 s")
            .expect("read");
        match line {
            Some(l) => out.push(l),
            None => break,
        }
    }
    out
}

#[tokio::test]
async fn user_errors_are_one_line_with_exit_code_2() {
    for (args, needle) in [
        (vec!["not a url", "--plain"], "invalid URL"),
        (
            vec!["wss://example.org/ws", "--plain"],
            "unsupported URL scheme",
        ),
        (
            vec!["ws://127.0.0.1:1/ws", "--plain", "--types", "a b"],
            "--types",
        ),
        (
            vec!["--replay", "/nonexistent/file.jsonl", "--plain"],
            "cannot read",
        ),
        (
            vec![
                "ws://127.0.0.1:1/ws",
                "--plain",
                "--record",
                "/nonexistent/dir/x.jsonl",
            ],
            "--record",
        ),
    ] {
        let out = output(&args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{args:?}: one line: {stderr}"
        );
        assert!(
            stderr.starts_with("orchestrator-tui: ") && stderr.contains(needle),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
    }
    let out = output(&["--no-such-flag"]).await;
    assert_eq!(out.status.code(), Some(2));
    let out = output(&["--plain", "--json"]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn a_flag_error_is_clap_s_first_line_with_a_hint_to_help() {
    for (args, needle) in [
        (
            vec!["--no-such-flag"],
            "unexpected argument '--no-such-flag'",
        ),
        (vec!["--plain", "--json"], "cannot be used with"),
        (vec!["--max-events", "0"], "--max-events"),
    ] {
        let out = output(&args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one line: {stderr}");
        let line = stderr.trim_end();
        assert!(line.starts_with("orchestrator-tui: "), "{args:?}: {line}");
        assert!(line.contains(needle), "{args:?}: {line}");
        assert!(line.ends_with("(see --help)"), "{args:?}: {line}");
        assert!(!line.contains("Usage:"), "{args:?}: {line}");
    }
    let help = output(&["--help"]).await;
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage:"));
    let version = output(&["--version"]).await;
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).contains("orchestrator-tui"));
}

#[tokio::test]
async fn plain_prints_one_human_line_per_event() {
    let mut server = Server::start().await;
    let mut child = cmd(&[
        &server.url,
        "--plain",
        "--utc",
        "--types",
        "error",
        "--token",
        "tok",
    ])
    .spawn()
    .expect("spawn");
    let mut conn = server.next().await;
    assert_eq!(conn.param("types").as_deref(), Some("error"));
    assert_eq!(conn.param("token").as_deref(), Some("tok"));
    conn.send(hello("e")).await;
    conn.send(r#"{"type":"tool_use","tool_name":"search","tool_input":{"q":"x"},"tool_use_id":"u","agent":"orchestrator","run_id":"abcdef123456","timestamp":1703123456.0}"#).await;
    conn.send("{broken\u{1b}[2J").await;
    let got = lines(&mut child, 3).await;
    assert!(got[0].contains("bridge test"), "{got:?}");
    assert_eq!(
        got[1],
        r#"01:50:56 🔧 orchestrator/ef123456 search {"q":"x"}"#
    );
    assert!(
        got[2].contains("🚫 malformed (not JSON") && !got[2].contains('\u{1b}'),
        "{got:?}"
    );
    child.kill().await.expect("kill");
}

#[tokio::test]
async fn json_prints_raw_frames_and_falls_back_to_plain_without_a_terminal() {
    let mut server = Server::start().await;
    let mut child = cmd(&[&server.url, "--json"]).spawn().expect("spawn");
    let mut conn = server.next().await;
    conn.send(event(1)).await;
    conn.send("[1,2]").await;
    let got = lines(&mut child, 2).await;
    assert_eq!(got[0], event(1));
    let v: serde_json::Value = serde_json::from_str(&got[1]).expect("valid JSON line");
    assert_eq!(v["type"], "malformed_frame");
    assert_eq!(v["raw"], "[1,2]");
    child.kill().await.expect("kill");

    // Neither flag, stdout is a pipe: plain lines and a note on stderr.
    let mut child = cmd(&[&server.url, "--utc"]).spawn().expect("spawn");
    let mut conn = server.next().await;
    conn.send(event(2)).await;
    let got = lines(&mut child, 1).await;
    assert!(got[0].contains("test: event 2"), "{got:?}");
    child.kill().await.expect("kill");
    let out = child.wait_with_output().await.expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stdout is not a terminal"), "{stderr}");
}

#[tokio::test]
async fn record_then_replay_shows_the_same_frames() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("session.jsonl");
    let file_s = file.to_str().expect("utf-8 path");
    let mut server = Server::start().await;
    let mut child = cmd(&[&server.url, "--json", "--record", file_s])
        .spawn()
        .expect("spawn");
    let mut conn = server.next().await;
    let sent = [
        hello("e"),
        event(1),
        "{\n \"type\": \"x\"\n}".to_string(),
        "oops".to_string(),
        event(2),
    ];
    for s in &sent {
        conn.send(s.clone()).await;
    }
    let live = lines(&mut child, sent.len()).await;
    assert_eq!(live.len(), sent.len());
    // The recorder flushes each batch; wait for the last line to reach the file.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if text.lines().count() == sent.len() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "recording incomplete: {text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().await.expect("kill");

    let out = output(&["--replay", file_s, "--json"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replayed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(replayed, live, "replay prints what was seen live");
    assert_eq!(
        replayed[2], r#"{"type":"x"}"#,
        "multi-line frames are recorded on one line"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("replay done: 5 lines"));
}

#[tokio::test]
async fn a_client_that_gives_up_exits_with_1() {
    let server = Server::start().await;
    *server.refuse.lock().expect("lock") = Some(StatusCode::FORBIDDEN);
    let out = output(&[&server.url, "--plain"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("failed: HTTP 403"), "{stderr}");
}
