//! A run whose agent was SIGKILLed mid-way is closed by the next process under
//! the same name: `error` (agent_restarted) then `run_finished` failed, with the
//! run's seq continued — so no monitor shows it pending forever.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use orchestrator_events::event::RunStatus;
use orchestrator_events::{Event, EventKind};
use testkit::{ChildGuard, RedisServer, free_port, wait_for_port};

fn start_agent(redis: &RedisServer, port: u16) -> ChildGuard {
    let child = Command::new(env!("CARGO_BIN_EXE_orchestrator-agent"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--redis-url", &redis.url(), "--pace-ms", "50"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn agent");
    let guard = ChildGuard(child);
    assert!(wait_for_port(
        ([127, 0, 0, 1], port).into(),
        Duration::from_secs(20)
    ));
    guard
}

async fn stream(redis: &RedisServer) -> Vec<Event> {
    let client = redis::Client::open(redis.url()).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(orchestrator_events::config::DEFAULT_STREAM)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .expect("xrange");
    reply
        .ids
        .iter()
        .map(|e| Event::parse(&e.get::<String>("event").expect("field")).expect("event"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_cut_by_sigkill_is_closed_by_the_next_process() {
    let redis = RedisServer::start().expect("redis-server");
    let port = free_port().expect("port");
    let mut agent = start_agent(&redis, port);

    // A long answer at 50 ms per chunk: kill the agent while it streams.
    let url = format!("http://127.0.0.1:{port}/chat");
    tokio::spawn(async move {
        let _ = reqwest::Client::new()
            .post(url)
            .json(&serde_json::json!({"message": "Explain in detail how an event travels, step by step."}))
            .send()
            .await;
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let run_id = loop {
        let events = stream(&redis).await;
        let texts = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::TextGeneration(_)))
            .count();
        if texts >= 3 {
            break events[0].run_id.clone().expect("run id");
        }
        assert!(Instant::now() < deadline, "the run never got going");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    agent.signal("KILL").expect("kill");
    let _ = agent.wait_timeout(Duration::from_secs(5));
    let before = stream(&redis).await;
    assert!(
        !before
            .iter()
            .any(|e| matches!(e.kind, EventKind::RunFinished(_))),
        "the killed run had no run_finished"
    );
    let last_seq = before.iter().filter_map(|e| e.seq).max().expect("seqs");

    let _agent = start_agent(&redis, free_port().expect("port"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let events = stream(&redis).await;
        if events
            .iter()
            .any(|e| matches!(e.kind, EventKind::RunFinished(_)))
        {
            break events;
        }
        assert!(
            Instant::now() < deadline,
            "the orphaned run was never closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let closing: Vec<&Event> = after[before.len()..].iter().collect();
    assert_eq!(
        closing.len(),
        2,
        "exactly an error and a run_finished: {closing:?}"
    );
    assert!(matches!(&closing[0].kind, EventKind::Error(e) if e.kind == "agent_restarted"));
    assert!(matches!(&closing[1].kind, EventKind::RunFinished(f) if f.status == RunStatus::Failed));
    for (i, e) in closing.iter().enumerate() {
        assert_eq!(e.run_id.as_deref(), Some(run_id.as_str()));
        assert_eq!(e.seq, Some(last_seq + 1 + i as u64), "seq continues");
        assert_eq!(e.agent.as_deref(), Some("orchestrator"));
    }

    // A third start finds nothing left to close.
    let _third = start_agent(&redis, free_port().expect("port"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stream(&redis).await.len(), after.len());
}
