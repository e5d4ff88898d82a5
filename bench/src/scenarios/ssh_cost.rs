//! The built-in SSH server (`orchestrator-ssh`) with real OpenSSH clients on
//! loopback: its memory with 1, 10 and 100 monitor sessions over one shared
//! store of 50,000 events, its CPU per session at 100 events/s, and the bytes
//! a session is sent per event and on an idle screen.
//!
//! One private Redis, one release bridge, one release `orchestrator-ssh`
//! (sessions and connect rate raised for one loopback address). The store is
//! filled first (50,000 agent events through the publish script; the bridge's
//! `frames_out` says they left it, then the server's RSS settles), so every
//! session opens on a full store. Clients are `ssh -tt` under a 120×40 pty
//! each ([`crate::ssh_clients`]); a session counts as open once its terminal
//! has received its first screen.
//!
//! - RSS: `VmRSS` of the server with the store full and 0, 1, 10, 100 sessions;
//!   per-view cost = (RSS₁₀₀ − RSS₁) / 99.
//! - CPU: server utime+stime over a paced 100 events/s window with 0, 1 and
//!   100 sessions; per session = (CPU₁₀₀ − CPU₀) / 100.
//! - Bytes: what the clients' terminals received over that window (after
//!   decryption) and what the kernel counts sent on the server's SSH sockets
//!   (`ss -ti` `bytes_sent`: packets, padding, MACs), ÷ events ÷ sessions;
//!   idle: the same over a window with no events, once the status bar's
//!   12-second rate graph has emptied.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use orchestrator_events::publish::{Target, publish_batch, script};

use crate::error::BenchError;
use crate::harness::{Kind, Redis, Service, bridge_args};
use crate::measure::{cpu_time, rss_kib};
use crate::scenarios::tui_cost::agent_event;
use crate::ssh_clients::{SshClient, total_bytes};

/// What to run.
#[derive(Debug, Clone)]
pub struct SshOpts {
    /// Events in the shared store before sessions open.
    pub events: usize,
    /// Session counts, ascending (the first and last give the per-view cost).
    pub sessions: Vec<usize>,
    /// Events per second in the paced windows.
    pub rate: f64,
    /// Length of each paced window, s.
    pub paced_secs: f64,
    /// Length of the idle window, s.
    pub idle_secs: f64,
    /// Wait after the last event before the idle window, s.
    pub idle_after_secs: f64,
    /// Each client's terminal.
    pub size: (u16, u16),
}

impl Default for SshOpts {
    fn default() -> Self {
        SshOpts {
            events: 50_000,
            sessions: vec![1, 10, 100],
            rate: 100.0,
            paced_secs: 10.0,
            idle_secs: 10.0,
            idle_after_secs: 13.0,
            size: (120, 40),
        }
    }
}

/// One paced or idle window.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Window {
    /// Sessions open.
    pub sessions: usize,
    /// Events published in it.
    pub events: u64,
    /// Its length, s.
    pub secs: f64,
    /// Server CPU time over it, s.
    pub cpu_secs: f64,
    /// Bytes the clients' terminals received (all sessions).
    pub client_bytes: u64,
    /// Bytes the server sent on its SSH sockets (`ss`), when readable.
    pub wire_bytes: Option<u64>,
}

impl Window {
    /// Server CPU as a share of one core.
    pub fn cpu_share(&self) -> f64 {
        self.cpu_secs / self.secs.max(1e-9)
    }

    /// Terminal bytes per event per session.
    pub fn client_per_event(&self) -> f64 {
        self.client_bytes as f64 / (self.events.max(1) * self.sessions.max(1) as u64) as f64
    }

    /// Wire bytes per event per session.
    pub fn wire_per_event(&self) -> Option<f64> {
        self.wire_bytes
            .map(|b| b as f64 / (self.events.max(1) * self.sessions.max(1) as u64) as f64)
    }

    /// Terminal bytes per second per session.
    pub fn client_per_sec(&self) -> f64 {
        self.client_bytes as f64 / self.secs.max(1e-9) / self.sessions.max(1) as f64
    }

    /// Wire bytes per second per session.
    pub fn wire_per_sec(&self) -> Option<f64> {
        self.wire_bytes
            .map(|b| b as f64 / self.secs.max(1e-9) / self.sessions.max(1) as f64)
    }
}

/// Everything measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SshResult {
    /// Events in the store.
    pub events: usize,
    /// RSS of the ready server before any event, KiB.
    pub empty_kib: u64,
    /// RSS with the store full and no session, KiB.
    pub full_kib: u64,
    /// (sessions, RSS KiB) with the store full.
    pub rss_kib: Vec<(usize, u64)>,
    /// Paced windows: 0 sessions, the first count, the last count.
    pub paced: Vec<Window>,
    /// The idle window, at the last count.
    pub idle: Option<Window>,
    /// Sessions that ended with exit status 0 after `q`, of all opened.
    pub clean_exits: (usize, usize),
}

impl SshResult {
    /// (RSS at the most sessions − RSS at the fewest) / (difference), KiB.
    pub fn per_view_kib(&self) -> Option<f64> {
        let (&(n1, r1), &(n2, r2)) = (self.rss_kib.first()?, self.rss_kib.last()?);
        (n2 > n1).then(|| (r2 as f64 - r1 as f64) / (n2 - n1) as f64)
    }

    /// The paced window with `n` sessions.
    pub fn paced_at(&self, n: usize) -> Option<&Window> {
        self.paced.iter().find(|w| w.sessions == n)
    }
}

/// Creates an ed25519 key with `ssh-keygen`; returns the private key's path.
fn keygen(dir: &Path) -> Result<std::path::PathBuf, BenchError> {
    let key = dir.join("viewer");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "bench@viewer", "-f"])
        .arg(&key)
        .status()
        .map_err(|e| BenchError::Failed(format!("ssh-keygen (install openssh-client): {e}")))?;
    if !status.success() {
        return Err(BenchError::Failed(format!("ssh-keygen: {status}")));
    }
    Ok(key)
}

fn ssh_command(key: &Path, port: u16) -> Command {
    let mut cmd = Command::new("ssh");
    cmd.args(["-F", "/dev/null", "-tt"])
        .args(["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"])
        .args(["-o", "IdentityAgent=none", "-o", "StrictHostKeyChecking=no"])
        .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"])
        .args(["-o", "SetEnv=LANG=C.UTF-8", "-i"])
        .arg(key)
        .arg("-p")
        .arg(port.to_string())
        .arg("127.0.0.1")
        .env("TERM", "xterm-256color");
    cmd
}

/// Polls the server's RSS until two reads 300 ms apart differ by < 1 % (at
/// most 8 s), and returns the last.
async fn settled_rss(pid: u32) -> Result<u64, BenchError> {
    let mut last = rss_kib(pid)?;
    let deadline = Instant::now() + Duration::from_secs(8);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = rss_kib(pid)?;
        if now.abs_diff(last) * 100 < last.max(1) {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}

/// Bytes the server has sent on its SSH connections: the kernel's
/// `bytes_sent` per socket (`ss -ti`), summed over the established sockets
/// on `port`; `None` when `ss` is missing.
fn wire_sent(port: u16) -> Option<u64> {
    let out = Command::new("ss")
        .args(["-Htin", "state", "established", "sport", "="])
        .arg(format!(":{port}"))
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.split_whitespace()
            .filter_map(|w| w.strip_prefix("bytes_sent:"))
            .filter_map(|v| v.parse::<u64>().ok())
            .sum(),
    )
}

/// Publishes agent events `0..n` in batches, each once the bridge has sent
/// all but 2,048 of the earlier ones (so its per-client queue never
/// overflows on a busy box), then waits until it has sent them all, having
/// dropped none.
async fn fill(redis: &Redis, bridge: &Service, n: usize) -> Result<(), BenchError> {
    let mut conn = redis.conn().await?;
    let script = script();
    let target = Target::default();
    let mut i = 0;
    while i < n {
        let end = (i + 512).min(n);
        let batch: Vec<String> = (i..end).map(|k| agent_event(k, false)).collect();
        publish_batch(&mut conn, &script, &target, &batch).await?;
        i = end;
        wait_frames(bridge, i.saturating_sub(2048) as u64).await?;
    }
    wait_frames(bridge, n as u64).await
}

/// Waits until the bridge has sent `n` frames and dropped none.
async fn wait_frames(bridge: &Service, n: u64) -> Result<(), BenchError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let health = bridge.health().await.unwrap_or_default();
        if health["frames_dropped"].as_u64().unwrap_or(0) > 0 {
            return Err(BenchError::Failed(
                "the bridge dropped frames for the SSH server".into(),
            ));
        }
        if health["frames_out"].as_u64().unwrap_or(0) >= n {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Err(BenchError::Failed(format!(
        "the bridge never sent {n} frames"
    )))
}

/// Opens clients until there are `n`, ten at a time, each counted open at
/// its first screen (≥ 1 KiB received).
async fn open(
    clients: &mut Vec<SshClient>,
    n: usize,
    key: &Path,
    port: u16,
    (w, h): (u16, u16),
) -> Result<(), BenchError> {
    while clients.len() < n {
        let start = clients.len();
        let group = (n - start).min(10);
        for _ in 0..group {
            clients.push(SshClient::spawn(ssh_command(key, port), w, h)?);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while clients[start..].iter().any(|c| c.bytes() < 1024) {
            if Instant::now() > deadline {
                let mut dead = 0;
                for c in &mut clients[start..] {
                    dead += usize::from(!c.running());
                }
                return Err(BenchError::Failed(format!(
                    "SSH sessions {start}..{} never drew a screen ({dead} clients exited)",
                    start + group
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // Let the first frames and their ticks pass.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    Ok(())
}

/// A window of `secs`: `rate` events/s published (0: none), then 0.5 s for
/// the last frames to arrive before the bytes are read.
async fn window(
    redis: &Redis,
    (pid, port): (u32, u16),
    clients: &[SshClient],
    next: &mut usize,
    rate: f64,
    secs: f64,
) -> Result<Window, BenchError> {
    let mut conn = redis.conn().await?;
    let script = script();
    let target = Target::default();
    let cpu0 = cpu_time(pid)?;
    let wire0 = wire_sent(port);
    let bytes0 = total_bytes(clients);
    let start = Instant::now();
    let length = Duration::from_secs_f64(secs);
    let planned = (rate * secs).round() as u64;
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    while start.elapsed() < length {
        tick.tick().await;
        let due = ((rate * start.elapsed().as_secs_f64()) as u64).min(planned);
        if due > sent {
            let batch: Vec<String> = (sent..due)
                .map(|k| agent_event(*next + k as usize, false))
                .collect();
            publish_batch(&mut conn, &script, &target, &batch).await?;
            sent = due;
        }
    }
    let took = start.elapsed().as_secs_f64();
    let cpu = cpu_time(pid)?.saturating_sub(cpu0);
    *next += sent as usize;
    if rate > 0.0 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let wire = match (wire0, wire_sent(port)) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    Ok(Window {
        sessions: clients.len(),
        events: sent,
        secs: took,
        cpu_secs: cpu.as_secs_f64(),
        client_bytes: total_bytes(clients).saturating_sub(bytes0),
        wire_bytes: wire,
    })
}

/// The whole part.
pub async fn run(opts: &SshOpts) -> Result<SshResult, BenchError> {
    let redis = Redis::start()?;
    let mut bridge = Service::start(Kind::Bridge, &bridge_args(&redis.url(), &[])).await?;
    let dir = tempfile::Builder::new()
        .prefix("orch-bench-ssh-")
        .tempdir()?;
    let key = keygen(dir.path())?;
    let authorized = dir.path().join("authorized_keys");
    std::fs::copy(key.with_extension("pub"), &authorized)?;
    let path = |p: &Path| p.display().to_string();
    let args = vec![
        bridge.ws_url(""),
        "--authorized-keys".into(),
        path(&authorized),
        "--host-key".into(),
        path(&dir.path().join("host_key")),
        "--max-sessions".into(),
        "1000".into(),
        "--connect-rate".into(),
        "100000".into(),
        "--max-events".into(),
        opts.events.to_string(),
    ];
    let mut ssh = Service::start(Kind::Ssh, &args).await?;
    let pid = ssh
        .pid()
        .ok_or_else(|| BenchError::Failed("orchestrator-ssh is not running".into()))?;
    let port = ssh.addr().port();
    let deadline = Instant::now() + Duration::from_secs(20);
    while bridge.counter("clients").await < 1 {
        if Instant::now() > deadline {
            return Err(BenchError::Failed(
                "orchestrator-ssh never connected to the bridge".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let empty_kib = settled_rss(pid).await?;
    fill(&redis, &bridge, opts.events).await?;
    let full_kib = settled_rss(pid).await?;
    tracing::info!(empty_kib, full_kib, "ssh: store full");
    let mut next = opts.events;
    let mut paced = vec![
        window(
            &redis,
            (pid, port),
            &[],
            &mut next,
            opts.rate,
            opts.paced_secs,
        )
        .await?,
    ];

    let mut clients = Vec::new();
    let mut rss = Vec::new();
    let first = opts.sessions.first().copied().unwrap_or(1);
    let last = opts.sessions.last().copied().unwrap_or(1);
    for &n in &opts.sessions {
        open(&mut clients, n, &key, port, opts.size).await?;
        let kib = settled_rss(pid).await?;
        tracing::info!(sessions = n, rss_kib = kib, "ssh: sessions open");
        rss.push((n, kib));
        if n == first || n == last {
            let w = window(
                &redis,
                (pid, port),
                &clients,
                &mut next,
                opts.rate,
                opts.paced_secs,
            )
            .await?;
            tracing::info!(
                sessions = n,
                cpu = w.cpu_share(),
                bytes_per_event = w.client_per_event(),
                "ssh: paced"
            );
            paced.push(w);
        }
    }
    // The status bar's 12-second rate graph scrolls until it is empty.
    tokio::time::sleep(Duration::from_secs_f64(opts.idle_after_secs)).await;
    let idle = window(
        &redis,
        (pid, port),
        &clients,
        &mut next,
        0.0,
        opts.idle_secs,
    )
    .await?;
    let opened = clients.len();
    for c in &clients {
        c.type_quit();
    }
    let mut clean = 0;
    for c in clients {
        if c.wait(Duration::from_secs(10)) == Some(0) {
            clean += 1;
        }
    }
    ssh.terminate(Duration::from_secs(5));
    bridge.terminate(Duration::from_secs(3));
    Ok(SshResult {
        events: opts.events,
        empty_kib,
        full_kib,
        rss_kib: rss,
        paced,
        idle: Some(idle),
        clean_exits: (clean, opened),
    })
}
