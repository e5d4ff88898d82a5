//! Two agents with different names on one channel: their events interleave,
//! but each run's sequence is intact and the channel's ids keep one order.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::time::Duration;

use common::{Agent, Subscriber, assert_run_sequence, chat};
use orchestrator_events::StreamId;
use testkit::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_interleave_on_one_channel_and_each_run_stays_intact() {
    let redis = RedisServer::start().expect("redis-server");
    let url = redis.url();
    let sub = Subscriber::start(&url, "orchestrator_events").await;
    let paced = |name: &'static str| {
        move |c: &mut orchestrator_agent::Config| {
            c.name = name.into();
            c.pace = Duration::from_millis(3);
        }
    };
    let alpha = Agent::start(&url, paced("alpha")).await;
    let beta = Agent::start(&url, paced("beta")).await;

    let (a, b) = tokio::join!(
        chat(
            &alpha,
            "Explain how an event travels from the agent to the terminal.",
            Some("planner")
        ),
        chat(
            &beta,
            "Explain in detail what happens when Redis goes down.",
            None
        ),
    );
    assert_eq!(a.0, 200);
    assert_eq!(b.0, 200);
    let run_a = a.1["run_id"].as_str().unwrap().to_string();
    let run_b = b.1["run_id"].as_str().unwrap().to_string();
    let events_a = sub.finished_run(&run_a).await;
    let events_b = sub.finished_run(&run_b).await;
    assert_run_sequence(&events_a);
    assert_run_sequence(&events_b);
    assert!(events_a.iter().all(|e| e["agent"] == "alpha"));
    assert!(events_b.iter().all(|e| e["agent"] == "beta"));

    // Interleaved on the channel: each run starts before the other ends.
    let all = sub.events();
    let position = |run: &str, kind: &str| {
        all.iter()
            .position(|e| e["run_id"] == run && e["type"] == kind)
            .unwrap()
    };
    assert!(position(&run_a, "run_started") < position(&run_b, "run_finished"));
    assert!(position(&run_b, "run_started") < position(&run_a, "run_finished"));
    let switches = all
        .windows(2)
        .filter(|w| w[0]["agent"] != w[1]["agent"])
        .count();
    assert!(switches > 2, "events interleave ({switches} switches)");

    // One channel order: ids strictly increase across both agents.
    let ids: Vec<StreamId> = all
        .iter()
        .map(|e| e["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    alpha.shutdown().await;
    beta.shutdown().await;
}
