//! A Sentinel failover in the middle of a stream (issue 16), end to end: the
//! agent and bridge binaries on `redis+sentinel://`, chats sent one after the
//! other the whole time, one raw WebSocket client connected throughout, and
//! the master SIGKILLed while a run streams. The Sentinels promote the
//! replica; the client must be told `redis_down` then `redis_up` (never
//! `gap`), and every run must arrive whole — `seq` 0..n, each id once — and
//! be exactly what the new master's stream holds. Then the old master comes
//! back as a replica of the new one, and the services must not write to it.
//!
//! The client is a plain WebSocket reader, not the TUI's client: that one
//! drops duplicate ids, and a duplicate is what this test must see.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Pipeline, stream_events_at};
use futures_util::StreamExt;
use orchestrator_events::{Event, EventKind, StatusKind, StreamId};
use serde_json::{Value, json};
use testkit::SentinelGroup;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

const LONG: &str = "Explain in detail what happens when Redis is restarted in the middle of a run.";

/// Generous: a 2-core box shared with other builds.
const WAIT: Duration = Duration::from_secs(90);

/// Everything the client received, in arrival order, with when.
#[derive(Default)]
struct Log {
    frames: Vec<(Instant, Event)>,
    /// Why the connection ended, if it did (it must not).
    ended: Option<String>,
}

impl Log {
    fn status_at(&self, kind: StatusKind, from: usize) -> Option<usize> {
        (from..self.frames.len()).find(
            |&i| matches!(&self.frames[i].1.kind, EventKind::BridgeStatus(s) if s.status == kind),
        )
    }

    fn agent_events(&self) -> impl Iterator<Item = &Event> {
        self.frames
            .iter()
            .map(|(_, e)| e)
            .filter(|e| !e.kind.is_bridge_frame())
    }

    /// Runs with a `run_finished`, from frame `from` on.
    fn finished_since(&self, from: usize) -> Vec<String> {
        self.frames[from.min(self.frames.len())..]
            .iter()
            .filter(|(_, e)| matches!(e.kind, EventKind::RunFinished(_)))
            .filter_map(|(_, e)| e.run_id.clone())
            .collect()
    }

    /// Runs that both started and finished from frame `from` on.
    fn whole_runs_since(&self, from: usize) -> usize {
        let tail = &self.frames[from.min(self.frames.len())..];
        self.finished_since(from)
            .iter()
            .filter(|run| {
                tail.iter().any(|(_, e)| {
                    matches!(e.kind, EventKind::RunStarted(_))
                        && e.run_id.as_deref() == Some(run.as_str())
                })
            })
            .count()
    }

    /// Whether some run has started and not finished yet.
    fn mid_run(&self) -> bool {
        let finished = self.finished_since(0);
        self.agent_events().any(|e| {
            e.run_id
                .as_ref()
                .is_some_and(|r| !finished.iter().any(|f| f == r))
        })
    }
}

type Shared = Arc<Mutex<Log>>;

/// Connects once and records every frame; never reconnects.
async fn witness(url: &str) -> Shared {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket connects");
    let log: Shared = Arc::default();
    let sink = log.clone();
    tokio::spawn(async move {
        let (_tx, mut rx) = ws.split();
        let reason = loop {
            match rx.next().await {
                Some(Ok(Message::Text(text))) => {
                    let event = Event::parse(&text).expect("every frame is a valid event");
                    sink.lock().unwrap().frames.push((Instant::now(), event));
                }
                Some(Ok(Message::Close(frame))) => break format!("closed: {frame:?}"),
                Some(Ok(_)) => {}
                Some(Err(e)) => break format!("error: {e}"),
                None => break "eof".to_string(),
            }
        };
        sink.lock().unwrap().ended = Some(reason);
    });
    log
}

async fn wait_for(log: &Shared, what: &str, done: impl Fn(&Log) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        {
            let l = log.lock().unwrap();
            if done(&l) {
                return;
            }
            assert!(
                l.ended.is_none(),
                "the client was disconnected: {:?}",
                l.ended
            );
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; {} frames",
                l.frames.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends chats one after the other until `stop`; returns the runs that ended.
fn chatter(base: String, stop: CancellationToken) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("http client");
        let mut runs = Vec::new();
        while !stop.is_cancelled() {
            let reply: Value = http
                .post(format!("{base}/chat"))
                .json(&json!({"message": LONG}))
                .send()
                .await
                .expect("POST /chat")
                .error_for_status()
                .expect("/chat status")
                .json()
                .await
                .expect("/chat json");
            runs.push(reply["run_id"].as_str().expect("run_id").to_string());
        }
        runs
    })
}

/// Commands only a client can have sent to a replica, as `INFO commandstats`
/// names them. A replica counts what it replays from its master too, but
/// scripts reach it as their effects (`MULTI`, `XADD`, `PUBLISH`, `EXEC`),
/// never as `EVALSHA`, and reads are not replicated at all. The services write
/// only through the publish script and read the stream, the epoch and its
/// size, so these would show any of them using the old master; a direct write
/// of any other kind is refused with `READONLY`, counted in `INFO errorstats`.
const CLIENT_ONLY: [&str; 14] = [
    "evalsha",
    "eval",
    "evalsha_ro",
    "eval_ro",
    "fcall",
    "script|load",
    "xrange",
    "xrevrange",
    "xread",
    "xlen",
    "xinfo|stream",
    "get",
    "memory|usage",
    "role",
];

async fn assert_untouched(port: u16) {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).expect("url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("old master answers");
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .expect("INFO");
    let errors: String = redis::cmd("INFO")
        .arg("errorstats")
        .query_async(&mut conn)
        .await
        .expect("INFO");
    let (_, subscribers): (String, u64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(orchestrator_events::config::DEFAULT_CHANNEL)
        .query_async(&mut conn)
        .await
        .expect("PUBSUB NUMSUB");
    let used: Vec<&str> = stats
        .lines()
        .filter_map(|l| l.strip_prefix("cmdstat_"))
        .filter(|l| {
            CLIENT_ONLY.iter().any(|c| l.starts_with(&format!("{c}:")))
                || !l.contains("rejected_calls=0,")
        })
        .collect();
    assert!(
        used.is_empty(),
        "a service used the old master: {used:?}\n{stats}"
    );
    assert!(
        !errors.contains("READONLY"),
        "writes were refused:\n{errors}"
    );
    assert_eq!(subscribers, 0, "the bridge subscribes on the old master");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_mid_stream_loses_and_duplicates_nothing() {
    let mut group = SentinelGroup::start().expect("sentinel group");
    assert!(group.wait_master_is(group.master_port(), WAIT));
    let pipeline = Pipeline::on(&group.url());
    let log = witness(&pipeline.ws_url()).await;
    let stop = CancellationToken::new();
    let chats = chatter(pipeline.agent_url(), stop.clone());

    // Mid-stream: runs have gone through, and one is streaming now.
    wait_for(&log, "two runs, then one streaming", |l| {
        l.finished_since(0).len() >= 2 && l.mid_run()
    })
    .await;
    let before_kill = log.lock().unwrap().frames.len();
    let killed = Instant::now();
    tokio::task::block_in_place(|| group.kill_master());
    let promoted = tokio::task::block_in_place(|| group.wait_master_is(group.replica_port(), WAIT));
    assert!(promoted, "the Sentinels did not promote the replica");
    let promoted_after = killed.elapsed();

    wait_for(&log, "redis_down then redis_up", |l| {
        l.status_at(StatusKind::RedisDown, before_kill)
            .and_then(|d| l.status_at(StatusKind::RedisUp, d))
            .is_some()
    })
    .await;
    let (down, up) = {
        let l = log.lock().unwrap();
        let down = l.status_at(StatusKind::RedisDown, before_kill).unwrap();
        (down, l.status_at(StatusKind::RedisUp, down).unwrap())
    };
    wait_for(&log, "two whole runs after the failover", |l| {
        l.whole_runs_since(up) >= 2
    })
    .await;

    // The old master comes back, as a replica of the new one.
    tokio::task::block_in_place(|| {
        group
            .restart_old_master_as_replica(group.replica_port())
            .expect("old master restarts");
        assert!(
            group.wait_replica_synced(group.master_port(), WAIT),
            "the old master did not sync from the new one"
        );
    });
    let rejoined = log.lock().unwrap().frames.len();
    wait_for(&log, "two whole runs with the old master back", |l| {
        l.whole_runs_since(rejoined) >= 2
    })
    .await;
    stop.cancel();
    let sent = chats.await.expect("chat task");
    wait_for(&log, "every run that was sent", |l| {
        let finished = l.finished_since(0);
        sent.iter().all(|r| finished.contains(r))
    })
    .await;

    let stream: Vec<Event> =
        stream_events_at(&format!("redis://127.0.0.1:{}", group.replica_port()))
            .await
            .iter()
            .map(|t| Event::parse(t).expect("stored event parses"))
            .collect();
    // Taken out: the witness keeps appending to an empty log from here.
    let l = std::mem::take(&mut *log.lock().unwrap());
    let at = |i: usize| l.frames[i].0.duration_since(killed);
    let first_new = (down..l.frames.len())
        .find(|&i| !l.frames[i].1.kind.is_bridge_frame())
        .expect("events after redis_down");
    eprintln!(
        "failover: promoted {promoted_after:?} after the kill; redis_down at {:?}, redis_up at {:?}, \
         first event from the new master at {:?}",
        at(down),
        at(up),
        at(first_new)
    );
    assert!(
        l.ended.is_none(),
        "the client stayed connected: {:?}",
        l.ended
    );
    let hellos = l
        .frames
        .iter()
        .filter(|(_, e)| matches!(e.kind, EventKind::BridgeHello(_)))
        .count();
    assert_eq!(hellos, 1, "one connection throughout");
    for (_, e) in &l.frames {
        if let EventKind::BridgeStatus(s) = &e.kind {
            assert!(
                !matches!(
                    s.status,
                    StatusKind::Gap | StatusKind::HistoryReset | StatusKind::Dropped
                ),
                "the client was told of a loss: {s:?}"
            );
        }
    }

    // Exactly once, counted by id.
    let mut count: HashMap<StreamId, u32> = HashMap::new();
    for e in l.agent_events() {
        *count
            .entry(e.id.expect("agent events carry an id"))
            .or_default() += 1;
    }
    let dups: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "delivered more than once: {dups:?}");

    // Every run whole at the client, and exactly the new master's stream.
    let mut runs: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for e in l.agent_events() {
        runs.entry(e.run_id.as_deref().expect("run_id"))
            .or_default()
            .push(e);
    }
    assert!(runs.len() >= 6, "{} runs", runs.len());
    let stored_runs: std::collections::BTreeSet<&str> =
        stream.iter().filter_map(|e| e.run_id.as_deref()).collect();
    assert!(
        stored_runs.iter().copied().eq(runs.keys().copied()),
        "the client's runs are not the new master's: {stored_runs:?}"
    );
    for (run, got) in &runs {
        let seqs: Vec<u64> = got.iter().map(|e| e.seq.expect("seq")).collect();
        assert!(
            seqs.iter().copied().eq(0..seqs.len() as u64),
            "run {run} has a hole or is out of order: {seqs:?}"
        );
        assert!(matches!(got[0].kind, EventKind::RunStarted(_)), "run {run}");
        assert!(
            matches!(got[got.len() - 1].kind, EventKind::RunFinished(_)),
            "run {run} did not finish"
        );
        assert!(got.windows(2).all(|w| w[0].id < w[1].id), "run {run}");
        let stored: Vec<&Event> = stream
            .iter()
            .filter(|e| e.run_id.as_deref() == Some(run))
            .collect();
        assert_eq!(
            got, &stored,
            "run {run} differs from the new master's stream"
        );
    }

    // The old master, back as a replica, was never written to by a service.
    assert_untouched(group.master_port()).await;
}
