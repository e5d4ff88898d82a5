//! Ports and child processes for tests.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

/// A loopback port that is free right now. Another process could take it before
/// the caller binds it; callers that can, retry on "address in use".
pub fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until something accepts TCP connections on `addr`, up to `timeout`.
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A child process that is killed (SIGKILL) and reaped when dropped, so a failing
/// test leaves nothing running.
#[derive(Debug)]
pub struct ChildGuard(pub Child);

impl ChildGuard {
    /// The process id.
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Sends a signal (e.g. `"TERM"`, `"INT"`, `"KILL"`) with `kill(1)`.
    pub fn signal(&self, name: &str) -> io::Result<()> {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.0.id().to_string())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!("kill -{name} failed: {status}")))
        }
    }

    /// Waits for the process to exit, up to `timeout`; returns its status if it did.
    pub fn wait_timeout(
        &mut self,
        timeout: Duration,
    ) -> io::Result<Option<std::process::ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.0.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Path of a workspace binary (e.g. `orchestrator-bridge`) built in the same
/// profile as the running test or benchmark: tests run from `target/<profile>/deps/`,
/// binaries sit in `target/<profile>/`. When it is missing, it is built with
/// `cargo build -p <package> --bin <name>` (release when the caller runs in release).
pub fn workspace_bin(package: &str, name: &str) -> io::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    let mut dir = exe
        .parent()
        .ok_or_else(|| io::Error::other("current exe has no parent dir"))?
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    if path.exists() {
        return Ok(path);
    }
    let release = dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", package, "--bin", name]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status()?;
    if !status.success() || !path.exists() {
        return Err(io::Error::other(format!(
            "{name} is not built and `cargo build -p {package} --bin {name}` failed ({status}); \
             build it first: cargo build --workspace --bins"
        )));
    }
    Ok(path)
}
