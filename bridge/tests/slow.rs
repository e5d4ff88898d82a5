//! Slow clients: a client that falls behind is told exactly what it lost; one
//! that never reads delays nobody and costs bounded memory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use futures_util::StreamExt;
use orchestrator_bridge::Config;
use orchestrator_events::Peek;
use orchestrator_events::StreamId;
use testkit::{ChildGuard, RedisServer, free_port};
use tokio_tungstenite::tungstenite::Message;

/// Events of about `size` bytes.
fn fat_events(from: usize, n: usize, size: usize) -> Vec<String> {
    (from..from + n)
        .map(|i| {
            serde_json::json!({"type": "text_generation", "data": "z".repeat(size), "seq": i})
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_falls_behind_is_told_what_was_dropped_and_where_to_resume() {
    let redis = RedisServer::start().expect("redis-server");
    let bridge = TestBridge::start_ready(Config {
        queue_max_frames: 16,
        ..config(&redis.url())
    })
    .await;
    let mut slow = connect(&bridge.ws_url("")).await;
    hello(&mut slow).await;

    // Publish 16 MB while the client does not read: more than the kernel's
    // socket buffers hold, so the bridge's writes stall and its queue overflows.
    let mut p = Publisher::new(&redis.url()).await;
    let mut published = Vec::new();
    for batch in 0..100 {
        published.extend(p.must(&fat_events(batch * 20, 20, 8192)).await);
    }
    let last = *published.last().expect("published");

    // Now read everything: events and `dropped` notices.
    let mut received: Vec<StreamId> = Vec::new();
    let mut dropped_total = 0;
    let mut first_notice = None;
    loop {
        let Some(f) = next_json(&mut slow, Duration::from_secs(10)).await else {
            panic!(
                "stalled after {} events, {dropped_total} dropped; metrics:\n{}",
                received.len(),
                bridge.metrics().await
            );
        };
        if f["type"] == "bridge_status" {
            assert_eq!(f["status"], "dropped", "{f}");
            let resume: StreamId = f["resume_from"]
                .as_str()
                .expect("resume_from")
                .parse()
                .expect("id");
            assert_eq!(
                Some(&resume),
                received.last(),
                "resume_from is the last id received"
            );
            dropped_total += f["dropped"].as_u64().expect("count");
            first_notice.get_or_insert((resume, received.len()));
        } else {
            let id = id_of(&f).expect("id");
            assert!(received.last().is_none_or(|prev| *prev < id), "in order");
            received.push(id);
        }
        if received.last() == Some(&last)
            || received.len() as u64 + dropped_total >= published.len() as u64
        {
            break;
        }
    }
    assert!(
        dropped_total > 0,
        "the client was slow enough to drop frames"
    );
    assert_eq!(
        received.len() as u64 + dropped_total,
        published.len() as u64,
        "every event was either delivered or counted as dropped"
    );
    let metrics = bridge.metrics().await;
    assert_eq!(
        metric(&metrics, "bridge_frames_dropped_total"),
        dropped_total as f64
    );

    // Resuming from the notice's id fetches exactly what was missed.
    let (resume, seen) = first_notice.expect("a notice");
    let next_seen = received[seen];
    let missed: Vec<StreamId> = published
        .iter()
        .copied()
        .filter(|id| *id > resume && *id < next_seen)
        .collect();
    assert!(!missed.is_empty());
    let mut refill = connect(&bridge.ws_url(&format!("since={resume}"))).await;
    hello(&mut refill).await;
    for want in missed {
        assert_eq!(id_of(&must_next(&mut refill).await), Some(want));
    }
}

/// Peak resident memory of a process, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_delays_nobody_and_memory_stays_bounded() {
    let redis = RedisServer::start().expect("redis-server");
    let port = free_port().expect("port");
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let child = Command::new(env!("CARGO_BIN_EXE_orchestrator-bridge"))
        .args(["--listen", &addr.to_string(), "--redis-url", &redis.url()])
        .args(["--queue-bytes", "4194304", "--write-timeout", "2s"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn bridge");
    let child = ChildGuard(child);
    assert!(
        testkit::wait_for_port(addr, Duration::from_secs(10)),
        "bridge listens"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !http_get(addr, "/healthz", &[])
        .await
        .1
        .contains(r#""redis":"up""#)
    {
        assert!(Instant::now() < deadline, "bridge never reached Redis");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let url = format!("ws://{addr}/ws/orchestrator");

    let _stuck = connect(&url).await; // never read, not even the hello
    let mut normal = connect(&url).await;
    hello(&mut normal).await;
    let baseline = peak_rss(child.id());

    const N: usize = 4000;
    let reader = tokio::spawn(async move {
        let mut ids: Vec<StreamId> = Vec::with_capacity(N);
        while ids.len() < N {
            let msg = tokio::time::timeout(Duration::from_secs(10), normal.next())
                .await
                .expect("a frame within 10 s")
                .expect("open")
                .expect("no error");
            let Message::Text(text) = msg else { continue };
            let peek = Peek::parse(text.as_str()).expect("JSON");
            assert_ne!(
                peek.kind.as_deref(),
                Some("bridge_status"),
                "{}",
                &text[..text.len().min(200)]
            );
            ids.push(peek.stream_id().expect("id"));
        }
        ids
    });
    // 64 MB of events.
    let mut p = Publisher::new(&redis.url()).await;
    let mut published = Vec::with_capacity(N);
    for batch in 0..N / 20 {
        published.extend(p.must(&fat_events(batch * 20, 20, 16 * 1024)).await);
    }
    let got = tokio::time::timeout(Duration::from_secs(60), reader)
        .await
        .expect("normal client keeps up")
        .expect("reader");
    assert_eq!(got, published);

    // The stuck client is dropped by the write timeout; its queue was bounded.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, m) = http_get(addr, "/metrics", &[]).await;
        if metric(&m, "bridge_connections_closed_total{reason=\"slow\"}") == 1.0 {
            assert!(metric(&m, "bridge_frames_dropped_total") > 0.0);
            break;
        }
        assert!(Instant::now() < deadline, "stuck client never closed: {m}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let peak = peak_rss(child.id());
    eprintln!(
        "bridge peak RSS: baseline {} MB, after 64 MB of events {} MB",
        baseline >> 20,
        peak >> 20
    );
    assert!(
        peak < baseline + 48 * 1024 * 1024,
        "bridge memory grew by {} MB while 64 MB went to a client that never reads",
        (peak - baseline) >> 20
    );
}
