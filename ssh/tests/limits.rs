//! The SSH server's limits and key types with the real OpenSSH client: six
//! authentication attempts, the login grace, the per-IP connect rate, ecdsa
//! and rsa-sha2 keys, agent forwarding refused by the protocol, the session
//! count back to 0, and the `--history` / `--prices` flags.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Rig, Tmux, keygen, keygen_typed, output_within};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Connects and reads what the server sends first: its version line, or
/// nothing when it closes the connection at once.
fn first_bytes(port: u16) -> Vec<u8> {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut buf = [0u8; 7];
    let mut got = Vec::new();
    while got.len() < buf.len() {
        match conn.read(&mut buf[got.len()..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[got.len()..got.len() + n]),
        }
    }
    got
}

/// Reads until the server closes the connection; how long that took.
fn closed_after(mut conn: TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    conn.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        match conn.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(started.elapsed()),
        }
    }
    None
}

#[test]
fn at_most_six_authentication_attempts_per_connection() {
    let rig = Rig::start();
    let keys: Vec<_> = (0..8)
        .map(|i| keygen(rig.dir.path(), &format!("stranger{i}")))
        .collect();
    let mut options = vec!["-o".to_string(), "LogLevel=DEBUG".to_string()];
    for k in &keys[1..] {
        options.push("-i".into());
        options.push(k.display().to_string());
    }
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let out = rig.run(&keys[0], &options, &["json"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(255), "{err}");
    let offered = err.matches("Offering public key").count();
    assert!(
        err.contains("Too many authentication attempts"),
        "not disconnected for too many attempts ({offered} keys offered):\n{err}"
    );
    assert!(
        (1..=6).contains(&offered),
        "{offered} of 8 keys offered before the disconnect:\n{err}"
    );
}

#[test]
fn a_connection_that_never_authenticates_is_closed_after_the_login_grace() {
    let rig = Rig::start_with(&["--login-grace", "2"]);
    // Silent after the TCP handshake: not even a version line.
    let silent = TcpStream::connect(("127.0.0.1", rig.ssh.port)).expect("connect");
    // A version line, then nothing: no key exchange, no authentication.
    let mut stalled = TcpStream::connect(("127.0.0.1", rig.ssh.port)).expect("connect");
    stalled
        .write_all(b"SSH-2.0-stalled_test\r\n")
        .expect("write");
    let stalled = std::thread::spawn(move || closed_after(stalled, Duration::from_secs(15)));
    let silent = closed_after(silent, Duration::from_secs(15));
    let stalled = stalled.join().expect("thread");
    for (what, took) in [("silent", silent), ("stalled", stalled)] {
        let took = took.unwrap_or_else(|| panic!("the {what} connection was never closed"));
        assert!(
            took >= Duration::from_millis(1500),
            "the {what} connection was closed before the grace: {took:?}"
        );
    }
    assert!(
        rig.wait_log("not authenticated in time", 2, Duration::from_secs(5)),
        "{}",
        rig.ssh.log_text()
    );
}

#[test]
fn the_connect_rate_refuses_the_next_connection_in_the_same_second() {
    let rig = Rig::start_with(&["--connect-rate", "3"]);
    // The readiness probe was a connection too: start a fresh second.
    std::thread::sleep(Duration::from_millis(1100));
    let got: Vec<Vec<u8>> = (0..4).map(|_| first_bytes(rig.ssh.port)).collect();
    for (i, g) in got[..3].iter().enumerate() {
        assert_eq!(g, b"SSH-2.0", "connection {i} within the rate");
    }
    assert!(
        got[3].is_empty(),
        "the 4th connection was served: {:?}",
        got[3]
    );
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(first_bytes(rig.ssh.port), b"SSH-2.0", "a second later");
    assert!(rig.ssh.log_text().contains("too many new connections"));
}

#[test]
fn ecdsa_and_rsa_sha2_keys_are_accepted_when_authorized() {
    let rig = Rig::start();
    let ecdsa = keygen_typed(rig.dir.path(), "ecdsa-viewer", &["-t", "ecdsa"]);
    let rsa = keygen_typed(rig.dir.path(), "rsa-viewer", &["-t", "rsa", "-b", "2048"]);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&rig.authorized)
        .expect("authorized_keys");
    for key in [&ecdsa, &rsa] {
        let public = std::fs::read_to_string(key.with_extension("pub")).expect("pub");
        file.write_all(public.as_bytes()).expect("append");
    }
    drop(file);
    // A refused command proves the key was accepted: it comes after auth.
    let cases: [(&std::path::Path, &[&str]); 3] = [
        (&ecdsa, &[]),
        (&rsa, &["-o", "PubkeyAcceptedAlgorithms=rsa-sha2-256"]),
        (&rsa, &["-o", "PubkeyAcceptedAlgorithms=rsa-sha2-512"]),
    ];
    for (key, options) in cases {
        let out = rig.run(key, options, &["-T", "nope"]);
        assert!(
            stderr(&out).contains("exec request failed"),
            "{} {options:?}: {}",
            key.display(),
            stderr(&out)
        );
    }
    let log = rig.ssh.log_text();
    assert!(
        log.contains("ecdsa-viewer") && log.contains("rsa-viewer"),
        "{log}"
    );
}

#[test]
fn agent_forwarding_is_refused_and_the_connection_lives_on() {
    let rig = Rig::start();
    // OpenSSH asks for agent forwarding only when it has an agent.
    let sock = rig.dir.path().join("agent.sock");
    let agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ssh-agent");
    let _agent = testkit::ChildGuard(agent);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut cmd = Command::new("ssh");
    cmd.args(["-o", "LogLevel=DEBUG", "-A"])
        .args(rig.ssh(&rig.key).get_args())
        .args(["-T", "127.0.0.1", "nope"])
        .env("SSH_AUTH_SOCK", &sock);
    let out = output_within(cmd, Duration::from_secs(30));
    let err = stderr(&out);
    assert!(
        err.contains("Requesting authentication agent forwarding"),
        "the client did not ask:\n{err}"
    );
    // The command's own refusal comes after the agent request: the
    // connection was still there, the request refused, not the link dropped.
    assert!(err.contains("exec request failed"), "{err}");
    assert!(
        rig.wait_log("agent forwarding refused", 1, Duration::from_secs(5)),
        "{}",
        rig.ssh.log_text()
    );
}

#[test]
fn the_session_count_is_logged_and_returns_to_zero() {
    let rig = Rig::start();
    let sessions: Vec<testkit::ChildGuard> = (0..3)
        .map(|_| {
            let mut cmd = rig.ssh(&rig.key);
            cmd.args(["-T", "127.0.0.1", "json"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            testkit::ChildGuard(cmd.spawn().expect("ssh"))
        })
        .collect();
    assert!(rig.wait_log("session started", 3, Duration::from_secs(20)));
    assert!(
        rig.ssh.log_text().contains("sessions=3"),
        "{}",
        rig.ssh.log_text()
    );
    sessions[0].signal("KILL").expect("kill");
    drop(sessions);
    assert!(rig.wait_log("session ended", 3, Duration::from_secs(20)));
    let log = rig.ssh.log_text();
    let ended: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("session ended"))
        .collect();
    assert!(
        ended.iter().any(|l| l.contains("sessions=0")),
        "no session-ended line says 0 left:\n{log}"
    );
}

#[test]
fn history_fills_the_store_and_prices_are_loaded_at_start() {
    let prices_ok = r#"{"claude-sonnet": {"input": 3.0, "output": 15.0}}"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let prices = dir.path().join("prices.json");
    std::fs::write(&prices, prices_ok).expect("prices");
    let mut rig = Rig::start_with(&["--prices", prices.to_str().expect("utf-8")]);
    // Published before the server (re)starts: only --history brings them.
    rig.publish(0, 5);
    rig.restart_ssh();
    let tmux = Tmux::new(rig.dir.path());
    let ssh = format!(
        "ssh -F /dev/null -tt -o BatchMode=yes -o IdentitiesOnly=yes -o IdentityAgent=none \
         -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
         -i {} -p {} 127.0.0.1; sleep 30",
        rig.key.display(),
        rig.ssh.port
    );
    let out = tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "120",
        "-y",
        "30",
        &ssh,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        tmux.wait_for("count", Duration::from_secs(20)),
        "the events from before the start are not shown:\n{}",
        tmux.capture()
    );

    // A prices file that does not parse stops the server at start, naming it.
    std::fs::write(&prices, "not json").expect("prices");
    let bin = testkit::workspace_bin("orchestrator-ssh", "orchestrator-ssh").expect("binary");
    let mut cmd = Command::new(bin);
    cmd.args(["--listen", "127.0.0.1:0", "--prices"])
        .arg(&prices)
        .arg("--authorized-keys")
        .arg(&rig.authorized)
        .arg("--host-key")
        .arg(dir.path().join("host_key"));
    let out = output_within(cmd, Duration::from_secs(20));
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("prices.json"), "{}", stderr(&out));
}
