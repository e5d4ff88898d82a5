//! The pipeline as processes: a private redis-server, the agent and bridge
//! binaries on free ports, and helpers to talk to them; [`tmux`] is a real
//! terminal for the monitor.
#![allow(dead_code)] // each test file uses a different part

pub mod tmux;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use testkit::{ChildGuard, RedisServer, free_port, wait_for_port, workspace_bin};

/// One service binary running on a port of its own; killed when dropped.
pub struct Service {
    pub child: ChildGuard,
    pub port: u16,
    pub log: std::path::PathBuf,
}

impl Service {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

/// Starts `bin` from `package` with `--listen 127.0.0.1:<port>` and `args`, and
/// waits until it accepts connections. The log goes to a file in `dir`.
pub fn start_service(
    package: &str,
    bin: &str,
    port: u16,
    args: &[&str],
    dir: &std::path::Path,
) -> Service {
    let path = workspace_bin(package, bin).expect("binary available");
    let log = dir.join(format!("{bin}-{port}.log"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .expect("log file");
    let err = file.try_clone().expect("log file");
    let child = Command::new(path)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .expect("spawn service");
    let service = Service {
        child: ChildGuard(child),
        port,
        log,
    };
    assert!(
        wait_for_port(service.addr(), Duration::from_secs(20)),
        "{bin} did not listen on {port}; log:\n{}",
        std::fs::read_to_string(&service.log).unwrap_or_default()
    );
    service
}

/// Redis, agent and bridge, wired together.
pub struct Pipeline {
    /// The private Redis, when the pipeline started its own ([`Pipeline::start`]).
    pub redis: Option<RedisServer>,
    /// What the services were given as `--redis-url`.
    pub redis_url: String,
    pub agent: Service,
    pub bridge: Service,
    pub dir: tempfile::TempDir,
}

impl Pipeline {
    /// Agent and bridge on a private Redis of their own.
    pub fn start() -> Pipeline {
        let redis = RedisServer::start().expect("redis-server");
        let mut pipeline = Pipeline::on(&redis.url());
        pipeline.redis = Some(redis);
        pipeline
    }

    /// Agent and bridge on Redis at `url` (plain, or `redis+sentinel://`),
    /// which the caller runs.
    pub fn on(url: &str) -> Pipeline {
        let dir = tempfile::tempdir().expect("tempdir");
        let agent = start_service(
            "orchestrator-agent",
            "orchestrator-agent",
            free_port().expect("port"),
            &["--redis-url", url, "--pace-ms", "2"],
            dir.path(),
        );
        let bridge = Self::bridge_on(url, free_port().expect("port"), dir.path());
        Pipeline {
            redis: None,
            redis_url: url.to_string(),
            agent,
            bridge,
            dir,
        }
    }

    pub fn bridge_on(url: &str, port: u16, dir: &std::path::Path) -> Service {
        start_service(
            "orchestrator-bridge",
            "orchestrator-bridge",
            port,
            &["--redis-url", url],
            dir,
        )
    }

    /// SIGKILLs the bridge and starts a new one on the same port.
    pub fn restart_bridge(&mut self) {
        let port = self.bridge.port;
        self.bridge.child.signal("KILL").expect("kill bridge");
        let _ = self.bridge.child.wait_timeout(Duration::from_secs(5));
        // The port is free again at once (SO_REUSEADDR), but retry a little anyway.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let attempt = std::panic::catch_unwind(|| {
                Self::bridge_on(&self.redis_url, port, self.dir.path())
            });
            match attempt {
                Ok(service) => {
                    self.bridge = service;
                    return;
                }
                Err(e) if std::time::Instant::now() >= deadline => std::panic::resume_unwind(e),
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }

    pub fn agent_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.agent.port)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws/orchestrator", self.bridge.port)
    }

    /// Every event in the replay stream of the pipeline's own Redis, as
    /// stored (the ground truth).
    pub async fn stream_events(&self) -> Vec<String> {
        let redis = self.redis.as_ref().expect("the pipeline's own Redis");
        stream_events_at(&redis.url()).await
    }
}

/// Every event in the replay stream of the Redis at `url` (a plain URL: one
/// node, e.g. the master a failover promoted).
pub async fn stream_events_at(url: &str) -> Vec<String> {
    let client = redis::Client::open(url).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(orchestrator_events::config::DEFAULT_STREAM)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .expect("xrange");
    reply
        .ids
        .iter()
        .map(|entry| entry.get::<String>("event").expect("event field"))
        .collect()
}
