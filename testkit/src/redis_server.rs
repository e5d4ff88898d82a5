//! A private `redis-server` for one test.
//!
//! Each test gets its own server on a free port, in its own temp dir, with
//! persistence off, so tests run in parallel and never see each other's data or
//! the shared Redis on 6379. The server can be SIGKILLed and restarted on the
//! same port to test reconnection. [`RedisServer::start_tls`] serves TLS only
//! (`rediss://`), with a certificate from a throw-away CA.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{ChildGuard, free_port};
use crate::tls::TlsFiles;

/// Why a test Redis could not be started.
#[derive(Debug, thiserror::Error)]
pub enum RedisServerError {
    /// `redis-server` is not installed or could not be spawned.
    #[error("cannot run redis-server (install it: apt-get install redis-server): {0}")]
    Spawn(#[source] std::io::Error),
    /// The temp dir or a port could not be had.
    #[error("test setup failed: {0}")]
    Io(#[from] std::io::Error),
    /// It started but never answered PING.
    #[error("redis-server on port {0} did not answer PING within 10 s")]
    NotReady(u16),
    /// The TLS certificates could not be made (`openssl` missing or failing).
    #[error("TLS test certificates: {0}")]
    Tls(String),
}

/// A running private `redis-server`; killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    password: Option<String>,
    tls: Option<TlsFiles>,
    dir: tempfile::TempDir,
    child: Option<ChildGuard>,
    /// The master's port, for a replica (`--replicaof`).
    replica_of: Option<u16>,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it answers PING.
    pub fn start() -> Result<RedisServer, RedisServerError> {
        Self::start_inner(None, false)
    }

    /// Starts a replica of the server on `master_port` (`--replicaof`), for
    /// tests and benchmarks of replicated writes (`WAIT`) without Sentinels.
    pub fn start_replica_of(master_port: u16) -> Result<RedisServer, RedisServerError> {
        let mut last_err = None;
        for _ in 0..5 {
            let mut server = RedisServer {
                port: free_port()?,
                password: None,
                tls: None,
                dir: tempfile::Builder::new().prefix("test-redis-").tempdir()?,
                child: None,
                replica_of: Some(master_port),
            };
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or(RedisServerError::NotReady(0)))
    }

    /// Starts a server that requires `password` (`requirepass`).
    pub fn start_with_password(password: &str) -> Result<RedisServer, RedisServerError> {
        Self::start_inner(Some(password.to_string()), false)
    }

    /// Starts a server that speaks TLS only (no plain port), with a server
    /// certificate for 127.0.0.1 signed by a fresh CA ([`RedisServer::tls`]).
    /// Clients need no certificate of their own. Needs `openssl` and
    /// `redis-cli` (the readiness check), both beside Debian's redis-server.
    pub fn start_tls() -> Result<RedisServer, RedisServerError> {
        Self::start_inner(None, true)
    }

    /// [`RedisServer::start_tls`] that also requires `password`.
    pub fn start_tls_with_password(password: &str) -> Result<RedisServer, RedisServerError> {
        Self::start_inner(Some(password.to_string()), true)
    }

    fn start_inner(password: Option<String>, tls: bool) -> Result<RedisServer, RedisServerError> {
        // A port picked as free can be taken before redis binds it: retry.
        let mut last_err = None;
        for _ in 0..5 {
            let port = free_port()?;
            let dir = tempfile::Builder::new().prefix("test-redis-").tempdir()?;
            let tls = if tls {
                Some(TlsFiles::generate(dir.path())?)
            } else {
                None
            };
            let mut server = RedisServer {
                port,
                password: password.clone(),
                tls,
                dir,
                child: None,
                replica_of: None,
            };
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or(RedisServerError::NotReady(0)))
    }

    fn spawn(&mut self) -> Result<(), RedisServerError> {
        let mut cmd = Command::new("redis-server");
        match &self.tls {
            None => cmd.arg("--port").arg(self.port.to_string()),
            Some(tls) => cmd
                .args(["--port", "0", "--tls-port"])
                .arg(self.port.to_string())
                .arg("--tls-cert-file")
                .arg(&tls.cert)
                .arg("--tls-key-file")
                .arg(&tls.key)
                .arg("--tls-ca-cert-file")
                .arg(&tls.ca_cert)
                .args(["--tls-auth-clients", "no"]),
        };
        cmd.args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(pw) = &self.password {
            cmd.arg("--requirepass").arg(pw);
        }
        if let Some(master) = self.replica_of {
            cmd.arg("--replicaof")
                .arg("127.0.0.1")
                .arg(master.to_string());
        }
        let child = cmd.spawn().map_err(RedisServerError::Spawn)?;
        let mut guard = ChildGuard(child);
        if self.wait_ready(&mut guard) {
            self.child = Some(guard);
            Ok(())
        } else {
            Err(RedisServerError::NotReady(self.port))
        }
    }

    fn wait_ready(&self, child: &mut ChildGuard) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.0.try_wait() {
                return false; // exited: port taken or bad arguments
            }
            if self.ping() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Whether the server answers PING right now.
    pub fn ping(&self) -> bool {
        if let Some(tls) = &self.tls {
            return self.ping_tls(tls);
        }
        let Ok(mut s) = TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
        let mut req = String::new();
        if let Some(pw) = &self.password {
            req.push_str(&format!("AUTH {pw}\r\n"));
        }
        req.push_str("PING\r\n");
        if s.write_all(req.as_bytes()).is_err() {
            return false;
        }
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if got.windows(5).any(|w| w == b"+PONG") {
                return true;
            }
            if got.starts_with(b"-") {
                return false;
            }
        }
        false
    }

    /// PING over TLS with `redis-cli`, verifying the certificate against the CA.
    fn ping_tls(&self, tls: &TlsFiles) -> bool {
        let mut cmd = Command::new("redis-cli");
        cmd.args(["--tls", "--no-auth-warning", "-h", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("--cacert")
            .arg(&tls.ca_cert)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(pw) = &self.password {
            cmd.arg("-a").arg(pw);
        }
        let Ok(child) = cmd.arg("PING").spawn() else {
            return false;
        };
        let mut child = ChildGuard(child);
        // redis-cli has no connect timeout: bound it here.
        match child.wait_timeout(Duration::from_secs(2)) {
            Ok(Some(status)) if status.success() => {}
            _ => return false,
        }
        let mut out = String::new();
        child
            .0
            .stdout
            .take()
            .is_some_and(|mut s| s.read_to_string(&mut out).is_ok())
            && out.trim() == "PONG"
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `redis://127.0.0.1:<port>` (with the password when it has one);
    /// `rediss://…` for a TLS server: verified, so the client must trust
    /// [`TlsFiles::ca_cert`] (rustls-native-certs reads `SSL_CERT_FILE`).
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        match &self.password {
            Some(pw) => format!("{scheme}://:{pw}@127.0.0.1:{}", self.port),
            None => format!("{scheme}://127.0.0.1:{}", self.port),
        }
    }

    /// [`RedisServer::url`] with the redis crate's `#insecure` fragment: TLS
    /// without certificate verification, for a client in this process (which
    /// cannot be told about the test CA through the URL).
    pub fn insecure_url(&self) -> String {
        format!("{}/#insecure", self.url())
    }

    /// The certificate files of a TLS server ([`RedisServer::start_tls`]).
    pub fn tls(&self) -> Option<&TlsFiles> {
        self.tls.as_ref()
    }

    /// SIGKILLs the server (no shutdown, no save), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.0.kill();
            let _ = child.0.wait();
        }
    }

    /// Starts it again on the same port (empty: persistence is off), retrying
    /// for a few seconds while the old socket is released.
    pub fn restart(&mut self) -> Result<(), RedisServerError> {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Whether the process is running (not killed).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_kills_and_restarts_on_the_same_port() {
        let mut server = RedisServer::start().expect("redis-server starts");
        assert_ne!(server.port(), 6379);
        assert!(server.ping());
        let port = server.port();
        server.kill();
        assert!(!server.ping());
        server.restart().expect("restarts");
        assert_eq!(server.port(), port);
        assert!(server.ping());
    }

    #[test]
    fn tls_server_answers_over_tls_only_and_survives_a_restart() {
        let mut server = RedisServer::start_tls().expect("TLS redis-server starts");
        let tls = server.tls().expect("has TLS files").clone();
        assert!(tls.ca_cert.exists() && tls.cert.exists() && tls.key.exists());
        assert!(server.url().starts_with("rediss://127.0.0.1:"));
        assert!(server.insecure_url().ends_with("/#insecure"));
        assert!(server.ping(), "PING over verified TLS");
        // A plain-text client gets no PONG from the TLS port.
        let plain = RedisServer {
            port: server.port(),
            password: None,
            tls: None,
            replica_of: None,
            dir: tempfile::tempdir().expect("dir"),
            child: None,
        };
        assert!(!plain.ping(), "plain PING must fail on a TLS-only port");
        server.restart().expect("restarts");
        assert!(server.ping());

        let locked = RedisServer::start_tls_with_password("tls-pw").expect("starts");
        assert!(locked.ping(), "AUTH then PING over TLS");
        assert!(locked.url().starts_with("rediss://:tls-pw@127.0.0.1:"));
    }

    #[test]
    fn password_is_required_when_set() {
        let server = RedisServer::start_with_password("s3cret").expect("starts");
        assert!(server.ping(), "AUTH then PING works");
        assert!(server.url().contains(":s3cret@"));
    }
}
