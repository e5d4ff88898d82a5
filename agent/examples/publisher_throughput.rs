//! How fast the publisher gets events into Redis: N events of a realistic
//! size through `PublisherHandle::publish`, timed until Redis confirmed them
//! all. Uses a private redis-server (testkit).
//!
//!     cargo run --release -p orchestrator-agent --example publisher_throughput [N]

use std::time::{Duration, Instant};

use orchestrator_agent::{Publisher, PublisherOptions};
use orchestrator_events::event::TextGeneration;
use orchestrator_events::publish::Target;
use orchestrator_events::{Event, EventKind};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let redis = testkit::RedisServer::start()?;
    let client = redis::Client::open(redis.url())?;
    let mut options = PublisherOptions::new(Target::default(), "bench");
    options.buffer_limit = n as usize + 1;
    let publisher = Publisher::start(client, options);
    let handle = publisher.handle();
    // Let it connect first, so the timing is publishing, not connecting.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !handle.status().connected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let started = Instant::now();
    let mut longest_publish_call = Duration::ZERO;
    for seq in 0..n {
        let mut event = Event::new(EventKind::TextGeneration(TextGeneration {
            data: "streams its reply in word-ish chunks ".into(),
        }));
        event.agent = Some("bench".into());
        event.run_id = Some("run-0123456789ab".into());
        event.seq = Some(seq);
        event.timestamp = Some(1_703_123_456.789);
        let t = Instant::now();
        handle.publish_event(&event);
        longest_publish_call = longest_publish_call.max(t.elapsed());
    }
    let queued_in = started.elapsed();
    let idle = handle.wait_idle(Duration::from_secs(120)).await;
    let total = started.elapsed();
    let status = publisher.shutdown(Duration::from_secs(1)).await;
    println!(
        "{n} events: enqueued in {:.0} ms (longest publish() call {} µs); all confirmed by Redis: {idle} in {:.0} ms → {:.0} events/s, {} script calls (avg batch {:.0})",
        queued_in.as_secs_f64() * 1e3,
        longest_publish_call.as_micros(),
        total.as_secs_f64() * 1e3,
        n as f64 / total.as_secs_f64(),
        status.batches,
        status.published as f64 / status.batches.max(1) as f64,
    );
    Ok(())
}
