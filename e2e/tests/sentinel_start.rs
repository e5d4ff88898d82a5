//! The agent and bridge binaries started on a Sentinel URL that cannot work
//! yet. A master name no Sentinel monitors can never work: each exits at once
//! with status 2 and says so. Sentinels that are merely down are an outage:
//! each starts, serves, and picks the master up once they are back.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::start_service;
use serde_json::Value;
use testkit::{ChildGuard, MASTER_NAME, SentinelGroup, free_port, workspace_bin};

const BINARIES: [(&str, &str); 2] = [
    ("orchestrator-agent", "orchestrator-agent"),
    ("orchestrator-bridge", "orchestrator-bridge"),
];

const WAIT: Duration = Duration::from_secs(60);

#[test]
fn a_master_name_no_sentinel_monitors_ends_the_service_with_status_2() {
    let group = SentinelGroup::start().expect("sentinel group");
    let url = group.url().replace(MASTER_NAME, "x");
    for (package, bin) in BINARIES {
        let path = workspace_bin(package, bin).expect("binary available");
        let child = Command::new(path)
            .args(["--listen", &format!("127.0.0.1:{}", free_port().unwrap())])
            .args(["--redis-url", &url])
            .env_remove("REDIS_URL")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut child = ChildGuard(child);
        let status = child
            .wait_timeout(WAIT)
            .expect("wait")
            .unwrap_or_else(|| panic!("{bin} kept running with a wrong master name"));
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(2), "{bin}: {err}");
        let last = err.trim().lines().last().unwrap_or_default();
        assert!(
            last.starts_with(&format!("{bin}: "))
                && last.contains("no Sentinel (127.0.0.1:")
                && last.contains(r#"monitors a master named "x""#),
            "{bin}: {err}"
        );
    }
}

fn healthz(port: u16) -> Option<Value> {
    reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .timeout(Duration::from_secs(3))
        .send()
        .ok()?
        .json()
        .ok()
}

fn wait_health(port: u16, what: &str, done: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        if healthz(port).is_some_and(|h| done(&h)) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn unreachable_sentinels_are_an_outage_the_services_ride_out() {
    let mut group = SentinelGroup::start().expect("sentinel group");
    assert!(group.wait_master_is(group.master_port(), WAIT));
    group.kill_sentinels();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = group.url();
    let mut services: Vec<_> = BINARIES
        .iter()
        .map(|(package, bin)| {
            start_service(
                package,
                bin,
                free_port().unwrap(),
                &["--redis-url", &url],
                dir.path(),
            )
        })
        .collect();
    let (agent, bridge) = (services[0].port, services[1].port);
    wait_health(bridge, "the bridge to report Redis down", |h| {
        h["redis"] == "down"
    });
    wait_health(agent, "the agent to report no master", |h| {
        h["redis"]["master"].is_null() && h["redis"]["sentinel"] == true
    });
    for s in &mut services {
        assert!(
            s.child.0.try_wait().expect("try_wait").is_none(),
            "a service exited with the Sentinels down; log:\n{}",
            std::fs::read_to_string(&s.log).unwrap_or_default()
        );
    }

    group.restart_sentinels().expect("Sentinels restart");
    let master = format!("127.0.0.1:{}", group.master_port());
    wait_health(bridge, "the bridge to reach the master", |h| {
        h["redis"] == "up"
    });
    wait_health(agent, "the agent to reach the master", |h| {
        h["redis"]["master"] == master.as_str()
    });
}
