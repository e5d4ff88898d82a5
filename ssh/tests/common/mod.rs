//! The SSH server as a process in front of a real bridge and redis-server,
//! driven by the real OpenSSH client.
#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use orchestrator_events::publish::{Target, publish_batch, script};
use testkit::{ChildGuard, RedisServer, free_port, wait_for_port, workspace_bin};

/// A process on a port, its log in a file; killed when dropped.
pub struct Service {
    pub child: ChildGuard,
    pub port: u16,
    pub log: PathBuf,
}

impl Service {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn start(bin: &str, package: &str, port: u16, args: &[&str], dir: &Path) -> Service {
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
        .env_remove("ORCH_WS_URL")
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .expect("spawn");
    let service = Service {
        child: ChildGuard(child),
        port,
        log,
    };
    assert!(
        wait_for_port(service.addr(), Duration::from_secs(30)),
        "{bin} did not listen on {port}; log:\n{}",
        service.log_text()
    );
    service
}

/// Redis, the bridge and the SSH server, and a viewer's key.
pub struct Rig {
    pub redis: RedisServer,
    pub bridge: Service,
    pub ssh: Service,
    pub dir: tempfile::TempDir,
    /// The authorized viewer's private key.
    pub key: PathBuf,
    pub host_key: PathBuf,
    pub authorized: PathBuf,
    /// Extra flags for the SSH server (kept for restarts).
    pub ssh_args: Vec<String>,
}

/// Creates an ed25519 key pair with `ssh-keygen`; returns the private key path.
pub fn keygen(dir: &Path, name: &str) -> PathBuf {
    keygen_typed(dir, name, &["-t", "ed25519"])
}

/// Creates a key pair of the type in `kind` (`-t ecdsa`, `-t rsa -b 2048`).
pub fn keygen_typed(dir: &Path, name: &str, kind: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .arg("-q")
        .args(kind)
        .args(["-N", "", "-C", name, "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen (install openssh-client)");
    assert!(status.success());
    path
}

impl Rig {
    pub fn start() -> Rig {
        Self::start_with(&[])
    }

    /// Like [`Rig::start`], the SSH server with `extra` flags too.
    pub fn start_with(extra: &[&str]) -> Rig {
        let ssh_args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let redis = RedisServer::start().expect("redis-server");
        let dir = tempfile::tempdir().expect("tempdir");
        let bridge = Self::bridge_on(&redis, free_port().expect("port"), dir.path());
        let key = keygen(dir.path(), "viewer@test");
        let authorized = dir.path().join("authorized_keys");
        let public = std::fs::read_to_string(key.with_extension("pub")).expect("pub");
        std::fs::write(&authorized, public).expect("authorized_keys");
        let host_key = dir.path().join("host_key");
        let ssh = Self::ssh_on(
            &bridge,
            free_port().expect("port"),
            &authorized,
            &host_key,
            dir.path(),
            &ssh_args,
        );
        Rig {
            redis,
            bridge,
            ssh,
            dir,
            key,
            host_key,
            authorized,
            ssh_args,
        }
    }

    pub fn bridge_on(redis: &RedisServer, port: u16, dir: &Path) -> Service {
        start(
            "orchestrator-bridge",
            "orchestrator-bridge",
            port,
            &["--redis-url", &redis.url()],
            dir,
        )
    }

    pub fn ssh_on(
        bridge: &Service,
        port: u16,
        authorized: &Path,
        host_key: &Path,
        dir: &Path,
        extra: &[String],
    ) -> Service {
        let url = format!("ws://127.0.0.1:{}/ws/orchestrator", bridge.port);
        let mut args = vec![
            url.as_str(),
            "--authorized-keys",
            authorized.to_str().expect("utf-8 path"),
            "--host-key",
            host_key.to_str().expect("utf-8 path"),
        ];
        if !extra.iter().any(|a| a == "--connect-rate") {
            args.extend(["--connect-rate", "100"]);
        }
        args.extend(extra.iter().map(String::as_str));
        start("orchestrator-ssh", "orchestrator-ssh", port, &args, dir)
    }

    /// Restarts the SSH server on the same port and files.
    pub fn restart_ssh(&mut self) {
        let port = self.ssh.port;
        self.ssh.child.signal("TERM").expect("term");
        let _ = self.ssh.child.wait_timeout(Duration::from_secs(10));
        self.ssh = Self::ssh_on(
            &self.bridge,
            port,
            &self.authorized,
            &self.host_key,
            self.dir.path(),
            &self.ssh_args,
        );
    }

    /// SIGKILLs the bridge and starts a new one on the same port.
    pub fn restart_bridge(&mut self) {
        let port = self.bridge.port;
        self.bridge.child.signal("KILL").expect("kill bridge");
        let _ = self.bridge.child.wait_timeout(Duration::from_secs(5));
        self.bridge = Self::bridge_on(&self.redis, port, self.dir.path());
    }

    /// `ssh` to the server with `key`, no agent, no config; host keys not
    /// checked (the first `-o` of a name wins, so callers add theirs first).
    pub fn ssh(&self, key: &Path) -> Command {
        let mut cmd = self.ssh_checked(key);
        cmd.args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ]);
        cmd
    }

    /// `ssh` to the server with `key`, no agent, no config, no host key options.
    pub fn ssh_checked(&self, key: &Path) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
        ])
        .args(["-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10"])
        .arg("-i")
        .arg(key)
        .arg("-p")
        .arg(self.ssh.port.to_string());
        cmd
    }

    /// Runs `ssh … 127.0.0.1 args` to its end (with a time limit).
    pub fn run(&self, key: &Path, options: &[&str], args: &[&str]) -> Output {
        let mut cmd = Command::new("ssh");
        cmd.args(options);
        cmd.args(self.ssh(key).get_args());
        cmd.arg("127.0.0.1").args(args);
        output_within(cmd, Duration::from_secs(30))
    }

    /// Publishes `n` numbered events; returns their ids.
    pub fn publish(&self, from: u64, n: u64) -> Vec<String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let client = redis::Client::open(self.redis.url()).expect("url");
            let mut conn = client
                .get_multiplexed_async_connection()
                .await
                .expect("redis");
            let batch: Vec<String> = (from..from + n)
                .map(|i| format!(
                    r#"{{"type":"tool_use","tool_name":"count","tool_input":{{"i":{i}}},"tool_use_id":"t{i}","agent":"ssh-test","run_id":"run-1","seq":{i}}}"#
                ))
                .collect();
            publish_batch(&mut conn, &script(), &Target::default(), &batch)
                .await
                .expect("publish")
                .into_iter()
                .map(|id| id.to_string())
                .collect()
        })
    }

    /// Waits until the server's log has `n` lines containing `text`.
    pub fn wait_log(&self, text: &str, n: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.ssh.log_text().matches(text).count() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

/// Runs `cmd` with stdin closed and returns its output, killing it after `limit`.
pub fn output_within(mut cmd: Command, limit: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ssh");
    let pid = child.id();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(limit);
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .status();
    });
    let out = child.wait_with_output().expect("ssh output");
    drop(killer);
    out
}

/// A tmux server of its own (its socket in `dir`), killed when dropped.
pub struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    pub fn new(dir: &Path) -> Tmux {
        Tmux {
            socket: dir.join("tmux.sock"),
        }
    }

    pub fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux (install tmux)")
    }

    pub fn capture(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned()
    }

    /// Waits until the pane shows `text`.
    pub fn wait_for(&self, text: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.capture().contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}
