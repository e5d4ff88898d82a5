//! A/B experiment (profiling aid, not part of `just bench`): latency at 100
//! clients × 1,000 ev/s through an in-process bridge whose listening socket has
//! TCP_NODELAY off (as `warp::serve` leaves it) or on (accepted sockets inherit it).
//!
//! `cargo run --release -p orchestrator-bench --example nodelay_ab -- [RATE] [CLIENTS] [EVENT_BYTES]`
#![allow(clippy::unwrap_used, clippy::expect_used)] // a measurement, not a service

use std::os::fd::AsRawFd;
use std::time::Duration;

use orchestrator_bench::harness::Redis;
use orchestrator_bench::loadgen::Generator;
use orchestrator_bench::measure::Percentiles;
use orchestrator_bench::scenarios::fanout::trial;
use orchestrator_bench::ws_clients::Pool;
use orchestrator_events::publish::Target;
use tokio_util::sync::CancellationToken;

fn start_bridge(
    redis_url: String,
    nodelay: bool,
) -> (
    std::net::SocketAddr,
    CancellationToken,
    std::thread::JoinHandle<()>,
) {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    std_listener.set_nonblocking(true).expect("nonblocking");
    let one: libc::c_int = i32::from(nodelay);
    // SAFETY: valid fd and option pointer/length.
    let rc = unsafe {
        libc::setsockopt(
            std_listener.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
    let addr = std_listener.local_addr().expect("addr");
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).expect("from_std");
            let config = orchestrator_bridge::Config {
                redis_url,
                max_connections: 20_000,
                max_connections_per_ip: 20_000,
                new_connections_per_ip_per_sec: 100_000,
                ..orchestrator_bridge::Config::default()
            };
            let _ = orchestrator_bridge::run(listener, config, c).await;
        });
    });
    (addr, cancel, handle)
}

#[tokio::main(worker_threads = 2)]
async fn main() {
    let redis = Redis::start().expect("redis");
    let rate: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000.0);
    let clients: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let bytes: usize = std::env::args()
        .nth(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    for round in 0..2 {
        for nodelay in [false, true] {
            let (addr, cancel, thread) = start_bridge(redis.url(), nodelay);
            tokio::time::sleep(Duration::from_millis(500)).await;
            let pool = Pool::connect(&format!("ws://{addr}/ws/orchestrator"), clients, 64)
                .await
                .expect("pool");
            let mut generator = Generator::connect(&redis.url(), Target::default(), "ab")
                .await
                .expect("gen");
            generator.set_event_bytes(bytes);
            let pid = std::process::id();
            trial(&mut generator, &pool, pid, 1000.0, 0.5, false)
                .await
                .expect("warm");
            for _ in 0..3 {
                let t = trial(&mut generator, &pool, pid, rate, 3.0, true)
                    .await
                    .expect("trial");
                let mut s: Vec<u64> = pool
                    .take_latencies()
                    .into_iter()
                    .map(|x| x / 1000)
                    .collect();
                let p = Percentiles::of(&mut s).expect("samples");
                println!(
                    "round {round} nodelay={nodelay:<5} rate={rate} clients={clients} bytes={bytes}: p50 {} µs p99 {} µs p99.9 {} µs max {} µs lost {}",
                    p.p50, p.p99, p.p999, p.max, t.tally.lost
                );
            }
            pool.close().await;
            cancel.cancel();
            let _ = thread.join();
        }
    }
}
