//! Profiling aid (not part of `just bench`): the release bridge binary under a
//! steady load, long enough to attach `perf record -p <pid>` to it.
//!
//! `cargo run --release -p orchestrator-bench --example profile_load -- CLIENTS RATE SECS`
//! prints the bridge's pid, runs one paced trial and prints its figures.

use orchestrator_bench::harness::{Kind, Redis, Service, bridge_args};
use orchestrator_bench::loadgen::Generator;
use orchestrator_bench::scenarios::fanout::trial;
use orchestrator_bench::ws_clients::Pool;
use orchestrator_events::publish::Target;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let clients: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let rate: f64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000.0);
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let redis = Redis::start()?;
    let bridge = Service::start(Kind::Bridge, &bridge_args(&redis.url(), &[])).await?;
    let pid = bridge.pid().ok_or("bridge not running")?;
    let pool = Pool::connect(&bridge.ws_url(""), clients, 64).await?;
    let mut generator = Generator::connect(&redis.url(), Target::default(), "profile").await?;
    trial(&mut generator, &pool, pid, 1000.0, 0.5, false).await?;
    println!("bridge pid {pid} (redis pid {})", redis.pid().await?);
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let t = trial(&mut generator, &pool, pid, rate, secs, true).await?;
    let mut lat: Vec<u64> = pool
        .take_latencies()
        .into_iter()
        .map(|x| x / 1000)
        .collect();
    let p = orchestrator_bench::measure::Percentiles::of(&mut lat);
    println!(
        "{clients} clients × {rate} ev/s for {secs} s: pass={} ({}), delivered {:.0} ev/s, {:.0} frames/s, bridge CPU {:.0} ns/frame, latency µs {:?}",
        t.pass, t.why, t.delivered_eps, t.frames_per_sec, t.cpu_ns_per_frame, p
    );
    pool.close().await;
    Ok(())
}
