//! The processes under test: a private Redis, the bridge and the agent
//! binaries, each on its own loopback port, each stopped when dropped.
//!
//! The bridge and the agent run as separate processes (the binaries of the
//! same profile as this program, found by [`testkit::workspace_bin`]), so their
//! CPU time and memory can be read from `/proc/<pid>` apart from the load
//! generator's, and so they can be SIGKILLed and restarted like in production.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::{ChildGuard, RedisServer, RedisServerError, free_port, workspace_bin};

use crate::http;

/// Why a process could not be started or probed.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The private Redis did not start.
    #[error(transparent)]
    Redis(#[from] RedisServerError),
    /// A binary is missing and could not be built.
    #[error("{name}: {source}")]
    Binary {
        /// Binary name.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Spawning failed, or a temp dir / log file could not be made.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The process started but never became ready.
    #[error("{name} on port {port} was not ready within {timeout:?}; last log lines:\n{log}")]
    NotReady {
        /// Binary name.
        name: String,
        /// Its port.
        port: u16,
        /// How long we waited.
        timeout: Duration,
        /// The tail of its log.
        log: String,
    },
    /// A Redis command failed.
    #[error("redis: {0}")]
    RedisCmd(#[from] redis::RedisError),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// Which binary, and how to tell it is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `orchestrator-bridge`: ready when `/healthz` says Redis is up.
    Bridge,
    /// `orchestrator-agent`: ready when `/healthz` answers.
    Agent,
    /// `orchestrator-ssh`: ready when its port sends the SSH banner.
    Ssh,
}

impl Kind {
    fn package(self) -> &'static str {
        match self {
            Kind::Bridge => "orchestrator-bridge",
            Kind::Agent => "orchestrator-agent",
            Kind::Ssh => "orchestrator-ssh",
        }
    }
}

/// A bridge or agent process on a fixed loopback port. Restarting keeps the
/// port, as a supervisor would, so clients reconnect to the same address.
#[derive(Debug)]
pub struct Service {
    kind: Kind,
    bin: PathBuf,
    args: Vec<String>,
    port: u16,
    child: Option<ChildGuard>,
    log: PathBuf,
    /// Holds the log file; removed with the service.
    _dir: Option<tempfile::TempDir>,
    /// Times the process was started.
    pub starts: u32,
}

impl Service {
    /// Starts `kind` with `--listen 127.0.0.1:<free port>` and `args`, and waits
    /// until it is ready. The child logs warnings and errors to a file.
    pub async fn start(kind: Kind, args: &[String]) -> Result<Service, HarnessError> {
        let name = kind.package();
        let bin = binary(name)?;
        let dir = tempfile::Builder::new()
            .prefix("orch-bench-")
            .tempdir()
            .map_err(io_err("temp dir"))?;
        let mut last = None;
        // A port that was free can be taken before the child binds it: retry.
        for _ in 0..3 {
            let port = free_port().map_err(io_err("free port"))?;
            let mut svc = Service {
                kind,
                bin: bin.clone(),
                args: args.to_vec(),
                port,
                child: None,
                log: dir.path().join(format!("{name}-{port}.log")),
                _dir: None,
                starts: 0,
            };
            match svc.spawn_ready(Duration::from_secs(20)).await {
                Ok(()) => {
                    svc._dir = Some(dir);
                    return Ok(svc);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| HarnessError::Io {
            what: format!("start {name}"),
            source: std::io::Error::other("no attempt made"),
        }))
    }

    fn spawn(&mut self) -> Result<(), HarnessError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(io_err("log file"))?;
        let err = file.try_clone().map_err(io_err("log file"))?;
        let child = Command::new(&self.bin)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .args(&self.args)
            .env("RUST_LOG", "warn")
            .env_remove("REDIS_URL")
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(io_err(format!("spawn {}", self.bin.display())))?;
        self.child = Some(ChildGuard(child));
        self.starts += 1;
        Ok(())
    }

    async fn spawn_ready(&mut self, timeout: Duration) -> Result<(), HarnessError> {
        self.spawn()?;
        self.wait_ready(timeout).await
    }

    /// Waits until the process is ready (see [`Kind`]).
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<(), HarnessError> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.0.try_wait()
            {
                break; // exited: port taken or bad flags
            }
            if self.kind == Kind::Ssh {
                if ssh_banner(self.addr()).await {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
                continue;
            }
            if let Ok(r) = http::get(self.addr(), "/healthz", Duration::from_secs(1)).await {
                let ready = match self.kind {
                    Kind::Agent => r.status == 200,
                    Kind::Bridge => r.json().is_some_and(|v| v["redis"] == "up"),
                    Kind::Ssh => false,
                };
                if ready {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(HarnessError::NotReady {
            name: self.kind.package().into(),
            port: self.port,
            timeout,
            log: self.log_tail(20),
        })
    }

    /// The last `n` lines of the process's log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Its process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(ChildGuard::id)
    }

    /// `ws://127.0.0.1:<port>/ws/orchestrator` plus `?query` when not empty.
    pub fn ws_url(&self, query: &str) -> String {
        let base = format!("ws://{}/ws/orchestrator", self.addr());
        if query.is_empty() {
            base
        } else {
            format!("{base}?{query}")
        }
    }

    /// `/healthz` as JSON.
    pub async fn health(&self) -> Option<serde_json::Value> {
        http::get(self.addr(), "/healthz", Duration::from_secs(3))
            .await
            .ok()?
            .json()
    }

    /// A counter from the bridge's `/healthz` (0 when unreadable).
    pub async fn counter(&self, name: &str) -> u64 {
        self.health()
            .await
            .and_then(|v| v[name].as_u64())
            .unwrap_or(0)
    }

    /// SIGKILL, as a crash: no shutdown, no flush.
    pub fn kill(&mut self) {
        drop(self.child.take());
    }

    /// SIGTERM and wait up to `grace` for the exit (then SIGKILL). Returns
    /// whether it exited by itself.
    pub fn terminate(&mut self, grace: Duration) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        if child.signal("TERM").is_err() {
            return false;
        }
        matches!(child.wait_timeout(grace), Ok(Some(_)))
    }

    /// Starts it again on the same port and waits until ready (retrying while
    /// the old socket is released).
    pub async fn restart(&mut self, timeout: Duration) -> Result<(), HarnessError> {
        self.kill();
        self.spawn_ready(timeout).await
    }
}

/// Whether `addr` answers with an SSH version banner within a second.
async fn ssh_banner(addr: SocketAddr) -> bool {
    use tokio::io::AsyncReadExt;
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let mut buf = [0u8; 8];
        stream.read_exact(&mut buf).await.ok()?;
        Some(buf.starts_with(b"SSH-2.0"))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(1), probe).await,
        Ok(Some(true))
    )
}

/// The path of a workspace binary of this build's profile: beside this
/// program, or one level up when this is an example (`target/<profile>/examples/`);
/// otherwise [`workspace_bin`] finds or builds it.
pub fn binary(name: &str) -> Result<PathBuf, HarnessError> {
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(PathBuf::from))
        && dir.ends_with("examples")
        && let Some(profile_dir) = dir.parent()
    {
        let path = profile_dir.join(name);
        if path.exists() {
            return Ok(path);
        }
    }
    workspace_bin(name, name).map_err(|source| HarnessError::Binary {
        name: name.into(),
        source,
    })
}

/// A private Redis for one benchmark or scenario, with its process id (from
/// `INFO`) so its CPU time can be read too.
#[derive(Debug)]
pub struct Redis {
    /// The server (killed on drop).
    pub server: RedisServer,
}

impl Redis {
    /// Starts a private redis-server (persistence off).
    pub fn start() -> Result<Redis, HarnessError> {
        Ok(Redis {
            server: RedisServer::start()?,
        })
    }

    /// Its URL.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// A client for it.
    pub fn client(&self) -> Result<redis::Client, HarnessError> {
        Ok(redis::Client::open(self.url())?)
    }

    /// A multiplexed connection whose every call has a deadline (3 s to
    /// connect, 30 s per answer: a pipeline of 500 commands or a 500-event
    /// script call), so a hung Redis is an error, not a hung benchmark.
    pub async fn conn(&self) -> Result<redis::aio::MultiplexedConnection, HarnessError> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(30)));
        Ok(self
            .client()?
            .get_multiplexed_async_connection_with_config(&config)
            .await?)
    }

    /// Its process id, from `INFO server`.
    pub async fn pid(&self) -> Result<u32, HarnessError> {
        let info = self.info("server").await?;
        info_field(&info, "process_id")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| HarnessError::Io {
                what: "INFO server".into(),
                source: std::io::Error::other("no process_id"),
            })
    }

    /// `INFO <section>` as text.
    pub async fn info(&self, section: &str) -> Result<String, HarnessError> {
        let mut conn = self.conn().await?;
        Ok(redis::cmd("INFO")
            .arg(section)
            .query_async(&mut conn)
            .await?)
    }
}

/// One `field:value` line of an `INFO` answer.
pub fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines().find_map(|l| {
        l.strip_prefix(field)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim)
    })
}

/// Bridge flags for benchmarks: connection limits high enough for thousands of
/// loopback clients from one address (the defaults protect a real deployment
/// from one peer; here every client is 127.0.0.1).
pub fn bridge_args(redis_url: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--redis-url",
        redis_url,
        "--max-connections",
        "20000",
        "--max-connections-per-ip",
        "20000",
        "--connect-rate",
        "100000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_info_fields() {
        let info = "# Server\r\nredis_version:7.0.15\r\nprocess_id:4242\r\n";
        assert_eq!(info_field(info, "process_id"), Some("4242"));
        assert_eq!(info_field(info, "redis_version"), Some("7.0.15"));
        assert_eq!(info_field(info, "nope"), None);
    }
}
