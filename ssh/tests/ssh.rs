//! The built-in SSH server with the real OpenSSH client: authentication,
//! refusals, the monitor in tmux, `json` streams, many sessions, dead and
//! frozen clients, bridge restarts and the host key.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Rig, Tmux, keygen};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A `json` session: its lines arrive on a channel (read by a thread).
struct JsonSession {
    child: testkit::ChildGuard,
    lines: mpsc::Receiver<String>,
}

impl JsonSession {
    fn start(rig: &Rig) -> JsonSession {
        let mut cmd = rig.ssh(&rig.key);
        cmd.args(["-T", "127.0.0.1", "json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("ssh");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        JsonSession {
            child: testkit::ChildGuard(child),
            lines,
        }
    }

    /// Ids of events received until `want` distinct ids were seen or time ran
    /// out; also the count of every id (duplicates show as > 1).
    fn collect(&self, want: &HashSet<String>, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut ids = Vec::new();
        while Instant::now() < deadline {
            let seen: HashSet<&String> = ids.iter().collect();
            if want.iter().all(|id| seen.contains(id)) {
                break;
            }
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100)) {
                let value: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
                if let Some(id) = value.get("id").and_then(|v| v.as_str()) {
                    ids.push(id.to_owned());
                }
            }
        }
        ids
    }
}

/// Waits until the server logged `n` started json sessions, then publishes.
fn wait_started(rig: &Rig, n: usize) {
    assert!(
        rig.wait_log("session started", n, Duration::from_secs(20)),
        "sessions did not start; log:\n{}",
        rig.ssh.log_text()
    );
}

#[test]
fn unknown_keys_and_passwords_are_refused() {
    let rig = Rig::start();
    let stranger = keygen(rig.dir.path(), "stranger");
    let out = rig.run(&stranger, &[], &["json"]);
    assert_eq!(out.status.code(), Some(255));
    assert!(
        stderr(&out).contains("Permission denied (publickey)"),
        "{}",
        stderr(&out)
    );

    let out = rig.run(
        &rig.key,
        &[
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "PreferredAuthentications=password,keyboard-interactive",
        ],
        &["json"],
    );
    assert_eq!(out.status.code(), Some(255));
    assert!(
        stderr(&out).contains("Permission denied (publickey)"),
        "{}",
        stderr(&out)
    );
    assert!(rig.ssh.log_text().contains("unknown key refused"));
}

#[test]
fn commands_subsystems_and_forwards_are_refused() {
    let rig = Rig::start();
    // `ssh host ls`: the exec request is refused.
    let out = rig.run(&rig.key, &[], &["ls"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("exec request failed"),
        "{}",
        stderr(&out)
    );

    // sftp: the subsystem request is refused.
    let mut sftp = Command::new("sftp");
    sftp.args([
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
    ])
    .args([
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
    ])
    .arg("-i")
    .arg(&rig.key)
    .arg("-P")
    .arg(rig.ssh.port.to_string())
    .arg("127.0.0.1");
    let out = common::output_within(sftp, Duration::from_secs(30));
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("subsystem request failed"),
        "{}",
        stderr(&out)
    );

    // -R: the server refuses the tcpip-forward request.
    let out = rig.run(
        &rig.key,
        &[
            "-N",
            "-o",
            "ExitOnForwardFailure=yes",
            "-R",
            "0:127.0.0.1:9",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(255));
    assert!(
        stderr(&out).contains("forwarding failed"),
        "{}",
        stderr(&out)
    );

    // -L: each forwarded connection's channel open is refused.
    let local = testkit::free_port().expect("port");
    // The first -o of a name wins: LogLevel=INFO before the rig's ERROR.
    let mut forward = Command::new("ssh");
    forward
        .args(["-o", "LogLevel=INFO"])
        .args(rig.ssh(&rig.key).get_args())
        .args(["-N", "-L"])
        .arg(format!("{local}:127.0.0.1:{}", rig.bridge.port))
        .arg("127.0.0.1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(rig.dir.path().join("forward.err")).expect("file"));
    let forward = testkit::ChildGuard(forward.spawn().expect("ssh -L"));
    assert!(testkit::wait_for_port(
        std::net::SocketAddr::from(([127, 0, 0, 1], local)),
        Duration::from_secs(10)
    ));
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", local)).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut buf = [0u8; 16];
    let n = std::io::Read::read(&mut conn, &mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the forwarded connection is closed, not served");
    std::thread::sleep(Duration::from_millis(300));
    drop(forward);
    let text = std::fs::read_to_string(rig.dir.path().join("forward.err")).unwrap_or_default();
    assert!(text.contains("administratively prohibited"), "{text}");
    // -A needs an agent to be sent at all: see tests/limits.rs.
}

#[test]
fn the_monitor_in_tmux_shows_live_events_resizes_and_q_exits_zero() {
    let rig = Rig::start();
    let tmux = Tmux::new(rig.dir.path());
    let status = rig.dir.path().join("status");
    let ssh = format!(
        "ssh -F /dev/null -tt -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none \
         -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
         -o SetEnv=LANG=C.UTF-8 -i {} -p {} 127.0.0.1; echo EXIT=$? > {}; sleep 30",
        rig.key.display(),
        rig.ssh.port,
        status.display()
    );
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "100",
        "-y",
        "30",
        &ssh,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    wait_started(&rig, 1);
    assert!(
        tmux.wait_for("live", Duration::from_secs(20)),
        "no live state:\n{}",
        tmux.capture()
    );
    rig.publish(0, 5);
    assert!(
        tmux.wait_for("count", Duration::from_secs(20)),
        "no events:\n{}",
        tmux.capture()
    );

    // Wider: the monitor re-lays to the new width.
    let widest = |s: &str| {
        s.lines()
            .map(|l| l.trim_end().chars().count())
            .max()
            .unwrap_or(0)
    };
    assert!(widest(&tmux.capture()) <= 100);
    let out = tmux.cmd(&["resize-window", "-t", "t", "-x", "140", "-y", "40"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let deadline = Instant::now() + Duration::from_secs(10);
    while widest(&tmux.capture()) <= 100 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        widest(&tmux.capture()) > 100,
        "not re-laid:\n{}",
        tmux.capture()
    );

    tmux.cmd(&["send-keys", "-t", "t", "q"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !status.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = std::fs::read_to_string(&status).unwrap_or_default();
    assert_eq!(text.trim(), "EXIT=0");
    // The alternate screen was left: the shell's line is on the main screen.
    assert!(
        tmux.capture().contains("EXIT")
            || tmux
                .cmd(&["display", "-p", "-t", "t", "#{alternate_on}"])
                .stdout
                .starts_with(b"0")
    );
    assert!(rig.wait_log("session ended", 1, Duration::from_secs(5)));
    assert!(
        rig.ssh.log_text().contains("reason=\"quit\"")
            || rig.ssh.log_text().contains("reason=quit")
    );
}

#[test]
fn twenty_sessions_see_the_same_events_and_the_count_returns_to_zero() {
    let rig = Rig::start();
    let sessions: Vec<JsonSession> = (0..20).map(|_| JsonSession::start(&rig)).collect();
    wait_started(&rig, 20);
    let ids: HashSet<String> = rig.publish(0, 50).into_iter().collect();
    for (i, s) in sessions.iter().enumerate() {
        let got = s.collect(&ids, Duration::from_secs(20));
        let set: HashSet<String> = got.iter().cloned().collect();
        assert_eq!(set, ids, "session {i} missed events");
        assert_eq!(got.len(), set.len(), "session {i} got duplicates");
    }
    // One killed mid-session; the rest closed normally.
    sessions[0].child.signal("KILL").expect("kill");
    drop(sessions);
    assert!(
        rig.wait_log("session ended", 20, Duration::from_secs(30)),
        "not every session ended; log:\n{}",
        rig.ssh.log_text()
    );
}

#[test]
fn a_stopped_client_does_not_slow_the_others() {
    let rig = Rig::start();
    let frozen = JsonSession::start(&rig);
    let live = JsonSession::start(&rig);
    wait_started(&rig, 2);
    frozen.child.signal("STOP").expect("stop");
    let mut all = HashSet::new();
    for round in 0..10u64 {
        let ids: HashSet<String> = rig.publish(round * 1000, 1000).into_iter().collect();
        let started = Instant::now();
        let got: HashSet<String> = live
            .collect(&ids, Duration::from_secs(20))
            .into_iter()
            .collect();
        assert!(
            ids.is_subset(&got),
            "round {round}: the live session missed events"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "round {round} took {:?}",
            started.elapsed()
        );
        all.extend(ids);
    }
    let rss = rss_kib(rig.ssh.child.id());
    assert!(
        rss < 200 * 1024,
        "server RSS {rss} KiB after 10,000 events with a frozen viewer"
    );
    frozen.child.signal("CONT").expect("cont");
    assert_eq!(all.len(), 10_000);
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_json_session_resumes_with_no_gap_after_a_bridge_restart() {
    let mut rig = Rig::start();
    let session = JsonSession::start(&rig);
    wait_started(&rig, 1);
    let mut published: Vec<String> = rig.publish(0, 100);
    let first: HashSet<String> = published.iter().cloned().collect();
    let mut got = session.collect(&first, Duration::from_secs(20));
    rig.restart_bridge();
    published.extend(rig.publish(100, 100));
    let want: HashSet<String> = published.iter().cloned().collect();
    got.extend(session.collect(&want, Duration::from_secs(30)));
    let set: HashSet<String> = got.iter().cloned().collect();
    assert_eq!(set, want, "events missing after the bridge restart");
    assert_eq!(got.len(), set.len(), "duplicates after the bridge restart");
}

#[test]
fn the_host_key_is_private_and_the_same_after_a_restart() {
    let mut rig = Rig::start();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&rig.host_key)
            .expect("host key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let known = rig.dir.path().join("known_hosts");
    let check = |rig: &Rig, policy: &str| {
        let mut cmd = rig.ssh_checked(&rig.key);
        cmd.arg("-o")
            .arg(format!("UserKnownHostsFile={}", known.display()))
            .arg("-o")
            .arg(format!("StrictHostKeyChecking={policy}"))
            .args(["-T", "127.0.0.1", "nope"]);
        common::output_within(cmd, Duration::from_secs(30))
    };
    // The refused command still proves the host key was accepted (after auth).
    let out = check(&rig, "accept-new");
    assert!(
        stderr(&out).contains("exec request failed"),
        "{}",
        stderr(&out)
    );
    let printed = rig.ssh.log_text();
    rig.restart_ssh();
    let out = check(&rig, "yes");
    assert!(
        stderr(&out).contains("exec request failed"),
        "{}",
        stderr(&out)
    );
    // The fingerprint printed at start is the same on both starts.
    let prints: Vec<String> = rig
        .ssh
        .log_text()
        .lines()
        .chain(printed.lines())
        .filter_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("SHA256:"))
                .map(str::to_owned)
        })
        .collect();
    assert!(
        prints.len() >= 2 && prints.iter().all(|p| p == &prints[0]),
        "{prints:?}"
    );
}
