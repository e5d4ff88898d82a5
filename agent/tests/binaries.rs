//! The three binaries as a person runs them: one-line errors with exit code 2
//! (never a panic or backtrace), `--help`, a clean stop on SIGTERM, a Redis
//! password that never reaches the log, and the original Python system's test script
//! (`orchestrator-listen` + `orchestrator-send`) against a live agent.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use testkit::{ChildGuard, RedisServer, free_port, wait_for_port};

const AGENT: &str = env!("CARGO_BIN_EXE_orchestrator-agent");
const LISTEN: &str = env!("CARGO_BIN_EXE_orchestrator-listen");
const SEND: &str = env!("CARGO_BIN_EXE_orchestrator-send");

/// Runs a binary to completion (bounded) and returns (exit code, stdout, stderr).
fn run(bin: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env_remove("REDIS_URL")
        .env_remove("ORCH_AGENT_LISTEN")
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = ChildGuard(cmd.spawn().expect("spawn"));
    let status = child
        .wait_timeout(Duration::from_secs(20))
        .expect("wait")
        .expect("exits by itself");
    let mut out = String::new();
    let mut err = String::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code().unwrap_or(-1), out, err)
}

fn assert_one_line_error(code: i32, stderr: &str, says: &str) {
    assert_eq!(code, 2, "exit code 2; stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
    assert!(stderr.contains(says), "{stderr:?} should say {says:?}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn user_errors_are_one_line_with_exit_code_2() {
    let (code, _, err) = run(AGENT, &["--bogus"], &[]);
    assert_one_line_error(code, &err, "--bogus");
    let (code, _, err) = run(AGENT, &["--max-runs", "zero"], &[]);
    assert_one_line_error(code, &err, "zero");
    let (code, _, err) = run(AGENT, &["--redis-url", "not a url"], &[]);
    assert_one_line_error(code, &err, "invalid Redis URL");
    let (code, _, err) = run(
        AGENT,
        &[],
        &[("REDIS_URL", "redis://:pw-in-url@host:notaport")],
    );
    assert_one_line_error(code, &err, "invalid Redis URL");
    assert!(!err.contains("pw-in-url"), "{err}");
    let (code, _, err) = run(AGENT, &["--listen", "nonsense"], &[]);
    assert_one_line_error(code, &err, "cannot listen on nonsense");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, _, err) = run(AGENT, &["--listen", &addr], &[]);
    assert_one_line_error(code, &err, &format!("cannot listen on {addr}"));

    let (code, _, err) = run(LISTEN, &["--redis-url", "nope"], &[]);
    assert_one_line_error(code, &err, "invalid Redis URL");
    let (code, _, err) = run(SEND, &["--url", "ftp://x"], &[]);
    assert_one_line_error(code, &err, "invalid agent URL");
}

#[test]
fn help_lists_the_flags() {
    let (code, out, _) = run(AGENT, &["--help"], &[]);
    assert_eq!(code, 0);
    for flag in [
        "--listen",
        "--redis-url",
        "--name",
        "--model",
        "--max-steps",
        "--pace-ms",
        "--max-runs",
        "--token",
        "ORCH_AGENT_LISTEN",
    ] {
        assert!(out.contains(flag), "--help mentions {flag}");
    }
    let (code, out, _) = run(LISTEN, &["--help"], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("--json"));
    let (code, out, _) = run(SEND, &["--help"], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("--loop") && out.contains("--interval"));
}

/// Reads a child's stderr lines on a thread, so the test can wait with a deadline.
fn lines_of(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_line(
    rx: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    timeout: Duration,
    pred: impl Fn(&str) -> bool,
) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(50)) {
            let hit = pred(&line);
            seen.push(line);
            if hit {
                return;
            }
        }
    }
    panic!("no matching line within {timeout:?}; saw: {seen:#?}");
}

#[test]
fn the_password_stays_out_of_the_log_and_sigterm_stops_cleanly() {
    // Nothing listens on this port: the agent starts anyway and logs the failure.
    let redis_port = free_port().unwrap();
    let port = free_port().unwrap();
    let mut child = ChildGuard(
        Command::new(AGENT)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            // Far below the defaults' worst case: the start-up warning is due.
            .args(["--stream-memory-warn", "1000000"])
            .env(
                "REDIS_URL",
                format!("redis://:hunter2-secret@127.0.0.1:{redis_port}"),
            )
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn"),
    );
    let rx = lines_of(child.0.stderr.take().unwrap());
    let mut seen = Vec::new();
    wait_line(&rx, &mut seen, Duration::from_secs(15), |l| {
        l.contains("cannot publish to Redis")
    });
    assert!(wait_for_port(
        SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(5)
    ));
    child.signal("TERM").unwrap();
    let status = child
        .wait_timeout(Duration::from_secs(15))
        .unwrap()
        .expect("stops on SIGTERM");
    assert!(status.success(), "{status:?}");
    seen.extend(rx.try_iter());
    let log = seen.join("\n");
    assert!(log.contains("redis://:***@127.0.0.1"), "{log}");
    assert!(!log.contains("hunter2"), "the password leaked: {log}");
    assert!(
        log.contains("may grow past --stream-memory-warn")
            && log.contains("worst_case_bytes=212019200"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_prints_the_events_that_send_causes() {
    let redis = RedisServer::start().expect("redis-server");
    let agent = common::Agent::start(&redis.url(), |_| {}).await;
    let mut listener = ChildGuard(
        Command::new(LISTEN)
            .args(["--redis-url", &redis.url()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn listen"),
    );
    let errs = lines_of(listener.0.stderr.take().unwrap());
    let outs = lines_of(listener.0.stdout.take().unwrap());
    let mut seen = Vec::new();
    wait_line(&errs, &mut seen, Duration::from_secs(10), |l| {
        l.contains("listening on")
    });

    let sent = tokio::task::spawn_blocking({
        let url = format!("http://{}", agent.addr);
        move || run(SEND, &["--url", &url], &[])
    })
    .await
    .unwrap();
    let (code, out, err) = sent;
    assert_eq!(code, 0, "send: {out}\n{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok")).count(),
        6,
        "{out}"
    );
    for name in [
        "research plan from planner",
        "question",
        "tool that fails",
        "long answer",
        "cancelled",
        "list stored plans",
    ] {
        assert!(out.contains(name), "{name} in {out}");
    }

    // The listener printed one line per event, with type, agent and run.
    let mut lines: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while lines.iter().filter(|l| l.contains("run_finished")).count() < 6 {
        assert!(Instant::now() < deadline, "listen output: {lines:#?}");
        if let Ok(l) = outs.recv_timeout(Duration::from_millis(50)) {
            lines.push(l);
        }
    }
    let text = lines.join("\n");
    for kind in [
        "run_started",
        "reasoning",
        "tool_use",
        "tool_result",
        "text_generation",
        "run_finished",
    ] {
        assert!(text.contains(kind), "{kind} listed");
    }
    assert!(text.contains("orchestrator"));
    assert!(text.contains("get_research_plan -> error"), "{text}");
    assert!(lines.iter().all(|l| !l.contains('\n')));
    agent.shutdown().await;
}
