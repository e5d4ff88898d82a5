//! A slowloris against the bridge while readers receive a paced stream.
//!
//! N counting clients ([`Pool`]) read a paced run; in the second phase one
//! attacker address (127.0.0.2; Linux routes all of 127.0.0.0/8 to loopback)
//! holds thousands of connections that send a partial request head and one
//! more header line every few seconds, reconnecting a second after each
//! close, as the original tool does. The bridge's answer is its connection
//! guard: the attacker's excess over `--max-pending-per-ip` is closed at
//! once, the rest at `--header-timeout`. The row shows the readers' p99 and
//! loss before and during the attack, whether a new client (from the readers'
//! address) still connects and `/healthz` still answers, and how many
//! descriptors the bridge held.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio_util::sync::CancellationToken;

use crate::chaos::{ChaosRow, Stack, target};
use crate::error::BenchError;
use crate::loadgen::Generator;
use crate::measure::Percentiles;
use crate::ws_clients::Pool;

/// Sizes of the scenario.
#[derive(Debug, Clone)]
pub struct SlowlorisOpts {
    /// Reading clients.
    pub clients: usize,
    /// Events/s.
    pub rate: f64,
    /// Seconds before the attack.
    pub before_secs: f64,
    /// Seconds of attack measured (after it has ramped up).
    pub during_secs: f64,
    /// Attacking connections held open (or re-opened) at once.
    pub connections: usize,
    /// Extra bridge flags.
    pub bridge_flags: Vec<String>,
}

impl SlowlorisOpts {
    /// 5,000 connections against the bridge's default limits, long enough
    /// for the held ones to hit the 10 s header deadline.
    pub fn full() -> SlowlorisOpts {
        SlowlorisOpts {
            clients: 100,
            rate: 1_000.0,
            before_secs: 5.0,
            during_secs: 15.0,
            connections: 5_000,
            bridge_flags: Vec::new(),
        }
    }

    /// Small and quick, with a 1 s header deadline.
    pub fn fast() -> SlowlorisOpts {
        SlowlorisOpts {
            clients: 20,
            rate: 1_000.0,
            before_secs: 1.0,
            during_secs: 3.0,
            connections: 500,
            bridge_flags: vec!["--header-timeout".into(), "1s".into()],
        }
    }
}

/// What the attacker saw.
#[derive(Debug, Default)]
struct Attack {
    attempts: AtomicU64,
    held: AtomicU64,
    closed_at_once: AtomicU64,
    closed_later: AtomicU64,
    connect_errors: AtomicU64,
}

const ATTACKER: [u8; 4] = [127, 0, 0, 2];
/// Time between two header lines of a held connection.
const TRICKLE: Duration = Duration::from_secs(2);
/// Closed this soon after connecting counts as refused at once.
const AT_ONCE: Duration = Duration::from_millis(200);

async fn attacker(bridge: SocketAddr, attack: Arc<Attack>, stop: CancellationToken) {
    while !stop.is_cancelled() {
        attack.attempts.fetch_add(1, Ordering::Relaxed);
        let socket = match TcpSocket::new_v4().and_then(|s| {
            s.bind(SocketAddr::new(IpAddr::from(ATTACKER), 0))?;
            Ok(s)
        }) {
            Ok(s) => s,
            Err(_) => {
                attack.connect_errors.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let connected = tokio::select! {
            c = socket.connect(bridge) => c,
            () = stop.cancelled() => return,
        };
        let Ok(mut stream) = connected else {
            attack.connect_errors.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        let opened = Instant::now();
        attack.held.fetch_add(1, Ordering::Relaxed);
        let _ = stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await;
        let mut buf = [0u8; 256];
        let mut line = 0u64;
        loop {
            tokio::select! {
                r = stream.read(&mut buf) => match r {
                    Ok(n) if n > 0 => continue,
                    _ => break,
                },
                () = tokio::time::sleep(TRICKLE) => {
                    line += 1;
                    if stream.write_all(format!("X-Slow-{line}: 1\r\n").as_bytes()).await.is_err() {
                        break;
                    }
                }
                () = stop.cancelled() => {
                    attack.held.fetch_sub(1, Ordering::Relaxed);
                    return;
                }
            }
        }
        attack.held.fetch_sub(1, Ordering::Relaxed);
        if opened.elapsed() < AT_ONCE {
            attack.closed_at_once.fetch_add(1, Ordering::Relaxed);
        } else {
            attack.closed_later.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn p99_ms(samples: &mut [u64]) -> String {
    match Percentiles::of(samples) {
        Some(p) => format!("{:.2} ms", p.p99 as f64 / 1e6),
        None => "n/a".into(),
    }
}

/// Time for a new WebSocket client to connect and receive `bridge_hello`.
async fn probe_ws(url: &str) -> Option<Duration> {
    let started = Instant::now();
    let go = async {
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.ok()?;
        ws.next().await?.ok()?;
        Some(started.elapsed())
    };
    tokio::time::timeout(Duration::from_secs(5), go)
        .await
        .ok()?
}

async fn probe_health(addr: SocketAddr) -> Option<Duration> {
    let started = Instant::now();
    let r = crate::http::get(addr, "/healthz", Duration::from_secs(5))
        .await
        .ok()?;
    (r.status == 200).then(|| started.elapsed())
}

fn open_fds(pid: Option<u32>) -> Option<usize> {
    Some(
        std::fs::read_dir(format!("/proc/{}/fd", pid?))
            .ok()?
            .count(),
    )
}

fn closed_by(metrics: &str, reason: &str) -> u64 {
    let name = format!("bridge_http_connections_closed_total{{reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&name)?.parse().ok())
        .unwrap_or(0)
}

fn worst(d: &[Option<Duration>]) -> String {
    let ok: Vec<Duration> = d.iter().flatten().copied().collect();
    let failed = d.len() - ok.len();
    let max = ok.iter().max().map_or("n/a".to_string(), |m| {
        format!("{:.1} ms", m.as_secs_f64() * 1e3)
    });
    format!("{}/{} ok, slowest {max}", ok.len(), d.len())
        + &if failed > 0 {
            format!(", {failed} FAILED")
        } else {
            String::new()
        }
}

/// Runs the scenario: one row for the readers.
pub async fn run(opts: &SlowlorisOpts) -> Result<ChaosRow, BenchError> {
    let flags: Vec<&str> = opts.bridge_flags.iter().map(String::as_str).collect();
    let stack = Stack::start(&flags).await?;
    let pool = Pool::connect(&stack.bridge.ws_url(""), opts.clients, 32).await?;
    let mut generator = Generator::connect(&stack.redis.url(), target(), "chaos").await?;

    // Before: readers only.
    pool.begin_run(generator.next_seq(), true);
    let before = generator
        .paced(opts.rate, Duration::from_secs_f64(opts.before_secs))
        .await?;
    pool.wait_all(before.sent, Duration::from_secs(10)).await;
    let tally_before = pool.tally(before.sent);
    let mut lat_before = pool.take_latencies();
    let fds_before = open_fds(stack.bridge.pid());

    // During: the attack ramps up, then the same paced run.
    let attack = Arc::new(Attack::default());
    let stop = CancellationToken::new();
    let bridge_addr = stack.bridge.addr();
    let attackers: Vec<_> = (0..opts.connections)
        .map(|_| tokio::spawn(attacker(bridge_addr, attack.clone(), stop.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held_at_start = attack.held.load(Ordering::Relaxed);
    pool.begin_run(generator.next_seq(), true);
    let url = stack.bridge.ws_url("");
    let probes = async {
        let mut ws = Vec::new();
        let mut health = Vec::new();
        let mut fds = 0;
        let end = Instant::now() + Duration::from_secs_f64(opts.during_secs);
        while Instant::now() < end {
            ws.push(probe_ws(&url).await);
            health.push(probe_health(bridge_addr).await);
            fds = fds.max(open_fds(stack.bridge.pid()).unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        (ws, health, fds)
    };
    let (during, (ws_probes, health_probes, fds_during)) = tokio::join!(
        generator.paced(opts.rate, Duration::from_secs_f64(opts.during_secs)),
        probes
    );
    let during = during?;
    pool.wait_all(during.sent, Duration::from_secs(10)).await;
    let tally_during = pool.tally(during.sent);
    let mut lat_during = pool.take_latencies();
    let metrics = crate::http::get(bridge_addr, "/metrics", Duration::from_secs(5))
        .await
        .map(|r| r.body)
        .unwrap_or_default();
    stop.cancel();
    for a in attackers {
        let _ = a.await;
    }
    pool.close().await;

    let sent = (before.sent + during.sent) * opts.clients as u64;
    Ok(ChaosRow {
        scenario: format!("slowloris: {} readers", opts.clients),
        sent,
        reached_redis: sent,
        received: tally_before.delivered + tally_during.delivered,
        lost: tally_before.lost + tally_during.lost,
        duplicated: tally_before.duplicated + tally_during.duplicated,
        undeliverable: 0,
        undeliverable_reported: true,
        reported: if tally_before.dropped_notices + tally_during.dropped_notices == 0 {
            "none".into()
        } else {
            format!(
                "dropped×{}",
                tally_before.dropped_notices + tally_during.dropped_notices
            )
        },
        notes: vec![
            format!(
                "readers' p99 before the attack {}, during it {} ({} ev/s, {:.0} s + {:.0} s; counts are events × readers)",
                p99_ms(&mut lat_before),
                p99_ms(&mut lat_during),
                opts.rate,
                opts.before_secs,
                opts.during_secs
            ),
            format!(
                "attack from 127.0.0.2: {} connections kept up ({} open 2 s in), {} attempts, {} closed at once, {} closed later, {} connect errors",
                opts.connections,
                held_at_start,
                attack.attempts.load(Ordering::Relaxed),
                attack.closed_at_once.load(Ordering::Relaxed),
                attack.closed_later.load(Ordering::Relaxed),
                attack.connect_errors.load(Ordering::Relaxed),
            ),
            format!(
                "bridge counted pending_limit {}, header_timeout {}; its open descriptors {} before, at most {} during",
                closed_by(&metrics, "pending_limit"),
                closed_by(&metrics, "header_timeout"),
                fds_before.map_or("n/a".into(), |n| n.to_string()),
                fds_during
            ),
            format!(
                "during the attack a new WebSocket client from 127.0.0.1 (to bridge_hello): {}; /healthz: {}",
                worst(&ws_probes),
                worst(&health_probes)
            ),
        ],
    })
}
