//! A master, one replica and three Sentinels for one test, as real processes.
//!
//! Failover tests need the real thing: `redis-server --replicaof` for the
//! replica and `redis-server conf --sentinel` for each Sentinel, each on a free
//! port in its own temp dir, all killed on drop. Sentinel timeouts are short so
//! a failover takes seconds, not minutes.

use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{ChildGuard, free_port, wait_for_port};
use crate::redis_server::RedisServerError;

/// The master name every test Sentinel monitors.
pub const MASTER_NAME: &str = "testmaster";

/// One `redis-server` of the group (data node or Sentinel).
#[derive(Debug)]
struct Node {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<ChildGuard>,
}

/// A running master + replica + three Sentinels; all killed when dropped.
#[derive(Debug)]
pub struct SentinelGroup {
    master: Node,
    replica: Node,
    sentinels: Vec<Node>,
}

fn spawn(args: &[String], port: u16) -> Result<ChildGuard, RedisServerError> {
    let child = Command::new("redis-server")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(RedisServerError::Spawn)?;
    let guard = ChildGuard(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    if wait_for_port(addr, Duration::from_secs(10)) {
        Ok(guard)
    } else {
        Err(RedisServerError::NotReady(port))
    }
}

fn data_node(replica_of: Option<u16>) -> Result<Node, RedisServerError> {
    let port = free_port()?;
    let dir = tempfile::Builder::new().prefix("test-redis-").tempdir()?;
    let child = spawn(&data_args(port, dir.path(), replica_of), port)?;
    Ok(Node {
        port,
        dir,
        child: Some(child),
    })
}

fn data_args(port: u16, dir: &std::path::Path, replica_of: Option<u16>) -> Vec<String> {
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
        // Diskless sync waits 5 s for more replicas by default: none come.
        "--repl-diskless-sync-delay",
        "0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push("--dir".into());
    args.push(dir.display().to_string());
    if let Some(m) = replica_of {
        args.extend(["--replicaof".into(), "127.0.0.1".into(), m.to_string()]);
    }
    args
}

/// `redis-cli -p port args…`'s output (empty when it cannot run).
fn cli(port: u16, args: &[&str]) -> String {
    Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// Whether the node on `port` is a replica done with its sync (link up).
fn replica_synced(port: u16) -> bool {
    let info = cli(port, &["INFO", "replication"]);
    info.contains("role:slave") && info.contains("master_link_status:up")
}

fn sentinel_args(dir: &std::path::Path) -> Vec<String> {
    vec![
        dir.join("sentinel.conf").display().to_string(),
        "--sentinel".to_string(),
    ]
}

fn sentinel_node(master_port: u16) -> Result<Node, RedisServerError> {
    let port = free_port()?;
    let dir = tempfile::Builder::new()
        .prefix("test-sentinel-")
        .tempdir()?;
    let conf = dir.path().join("sentinel.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {dir}\n\
             sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
             sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
             sentinel failover-timeout {MASTER_NAME} 3000\n\
             sentinel parallel-syncs {MASTER_NAME} 1\n",
            dir = dir.path().display()
        ),
    )?;
    let child = spawn(&sentinel_args(dir.path()), port)?;
    Ok(Node {
        port,
        dir,
        child: Some(child),
    })
}

impl SentinelGroup {
    /// Starts the master, its replica and three Sentinels watching it.
    pub fn start() -> Result<SentinelGroup, RedisServerError> {
        let master = data_node(None)?;
        let replica = data_node(Some(master.port))?;
        // A failover before the first sync would promote an empty replica.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !replica_synced(replica.port) {
            if Instant::now() >= deadline {
                return Err(RedisServerError::NotReady(replica.port));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let sentinels = (0..3)
            .map(|_| sentinel_node(master.port))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SentinelGroup {
            master,
            replica,
            sentinels,
        })
    }

    /// The port of the node started as master.
    pub fn master_port(&self) -> u16 {
        self.master.port
    }

    /// The port of the node started as replica.
    pub fn replica_port(&self) -> u16 {
        self.replica.port
    }

    /// The Sentinels' ports.
    pub fn sentinel_ports(&self) -> Vec<u16> {
        self.sentinels.iter().map(|s| s.port).collect()
    }

    /// `redis+sentinel://127.0.0.1:p1,…/MASTER_NAME` for the services.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect();
        format!("redis+sentinel://{}/{MASTER_NAME}", hosts.join(","))
    }

    /// SIGKILLs the node started as master (a machine dying).
    pub fn kill_master(&mut self) {
        self.master.child = None; // ChildGuard kills on drop
    }

    /// Whether the node started as master still accepts connections.
    pub fn master_reachable(&self) -> bool {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.master.port));
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    }

    /// Starts the node killed by [`SentinelGroup::kill_master`] again, on its
    /// port, as a replica of `new_master` (empty: persistence is off), as an
    /// operator brings a failed machine back. Retries while the old socket is
    /// released.
    pub fn restart_old_master_as_replica(
        &mut self,
        new_master: u16,
    ) -> Result<(), RedisServerError> {
        self.master.child = None;
        let args = data_args(self.master.port, self.master.dir.path(), Some(new_master));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match spawn(&args, self.master.port) {
                Ok(child) => {
                    self.master.child = Some(child);
                    return Ok(());
                }
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// SIGKILLs the three Sentinels (the data nodes keep running).
    pub fn kill_sentinels(&mut self) {
        for s in &mut self.sentinels {
            s.child = None;
        }
    }

    /// Starts the Sentinels killed by [`SentinelGroup::kill_sentinels`] again,
    /// on their ports, from the configuration they had rewritten.
    pub fn restart_sentinels(&mut self) -> Result<(), RedisServerError> {
        for s in &mut self.sentinels {
            if s.child.is_none() {
                s.child = Some(spawn(&sentinel_args(s.dir.path()), s.port)?);
            }
        }
        Ok(())
    }

    /// `INFO <section>` of the data node on `port` (empty when unreachable).
    pub fn info(&self, port: u16, section: &str) -> String {
        cli(port, &["INFO", section])
    }

    /// Waits until the node on `port` is a replica with its link to the master up.
    pub fn wait_replica_synced(&self, port: u16, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if replica_synced(port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// Waits until a Sentinel reports `port` as the master.
    pub fn wait_master_is(&self, port: u16, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            for s in &self.sentinels {
                let out = cli(
                    s.port,
                    &["SENTINEL", "get-master-addr-by-name", MASTER_NAME],
                );
                if out.lines().nth(1) == Some(&port.to_string()) {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}
