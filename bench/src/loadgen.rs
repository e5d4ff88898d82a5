//! The load generator: publishes bench events to Redis the way the agent does
//! (the one XADD + PUBLISH script, in batches), at a paced rate or flat out.
//!
//! - [`Generator::paced`]: `rate` events per second for `duration`, sent on a
//!   1 ms schedule: at each tick everything that is due goes out in one script
//!   call, so a slow call makes the next batch bigger instead of slipping the
//!   schedule. If even that cannot keep up, the run says so (`behind`), and the
//!   rate it reached is the generator's, not the bridge's.
//! - [`Generator::resilient`]: the same, but a failed call (Redis killed) is
//!   retried until it succeeds or the deadline passes, and each event's
//!   acknowledgement time is kept, so the fault suite can tell which events
//!   reached which Redis.
//! - [`blast_publish`] / [`blast_script`]: as fast as one connection allows,
//!   for the reference ceilings.
//!
//! Every loop is bounded in count and in time.

use std::time::{Duration, Instant};

use orchestrator_events::publish::{Target, publish_batch, script};
use redis::aio::ConnectionManager;

use crate::measure::now_ns;
use crate::payload;

/// Largest batch handed to the script in one call (the agent's own cap).
pub const MAX_BATCH: usize = 512;

/// What a publishing run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PublishReport {
    /// `seq` of the first event.
    pub first_seq: u64,
    /// Events Redis acknowledged.
    pub sent: u64,
    /// Events the run meant to send.
    pub planned: u64,
    /// When the first batch went out ([`now_ns`]).
    pub started_ns: u64,
    /// When the last batch was acknowledged.
    pub finished_ns: u64,
    /// Script calls made.
    pub batches: u64,
    /// Calls that failed (retried or not).
    pub errors: u64,
    /// The schedule slipped: the generator, not the system under test, set the pace.
    pub behind: bool,
}

impl PublishReport {
    /// Events per second actually published.
    pub fn rate(&self) -> f64 {
        let secs = self.finished_ns.saturating_sub(self.started_ns) as f64 / 1e9;
        if secs > 0.0 {
            self.sent as f64 / secs
        } else {
            0.0
        }
    }
}

/// One event's fate in a resilient run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Acknowledged by Redis at this time ([`now_ns`]).
    Acked(u64),
    /// Never acknowledged before the deadline.
    NotAcked,
}

/// Publishes bench events through the publish script on one connection.
pub struct Generator {
    conn: ConnectionManager,
    script: redis::Script,
    target: Target,
    run_id: String,
    next_seq: u64,
    event_bytes: usize,
}

impl Generator {
    /// Connects to `redis_url`; events go to `target` with `run_id`.
    pub async fn connect(
        redis_url: &str,
        target: Target,
        run_id: &str,
    ) -> redis::RedisResult<Generator> {
        let client = redis::Client::open(redis_url)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn = client.get_connection_manager_with_config(config).await?;
        Ok(Generator {
            conn,
            script: script(),
            target,
            run_id: run_id.to_string(),
            next_seq: 0,
            event_bytes: payload::EVENT_BYTES,
        })
    }

    /// Pads later events to about `bytes` on the wire (default
    /// [`payload::EVENT_BYTES`]).
    pub fn set_event_bytes(&mut self, bytes: usize) {
        self.event_bytes = bytes;
    }

    /// The `seq` the next event will carry.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn batch(&mut self, n: usize) -> Vec<String> {
        let t = now_ns();
        let wall = payload::wall_secs();
        let out = (0..n as u64)
            .map(|i| {
                payload::event_sized(&self.run_id, self.next_seq + i, t, wall, self.event_bytes)
            })
            .collect();
        self.next_seq += n as u64;
        out
    }

    /// `rate` events/s for `duration` (at least one event). Stops at the first
    /// error, or when twice the duration plus 5 s has passed.
    pub async fn paced(
        &mut self,
        rate: f64,
        duration: Duration,
    ) -> redis::RedisResult<PublishReport> {
        let planned = ((rate * duration.as_secs_f64()).round() as u64).max(1);
        let mut report = PublishReport {
            first_seq: self.next_seq,
            planned,
            started_ns: now_ns(),
            ..PublishReport::default()
        };
        let start = Instant::now();
        let hard_stop = start + duration * 2 + Duration::from_secs(5);
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        while report.sent < planned && Instant::now() < hard_stop {
            tick.tick().await;
            let due = ((rate * start.elapsed().as_secs_f64()) as u64).clamp(1, planned);
            while report.sent < due {
                let n = (due - report.sent).min(MAX_BATCH as u64) as usize;
                let events = self.batch(n);
                publish_batch(&mut self.conn, &self.script, &self.target, &events).await?;
                report.sent += n as u64;
                report.batches += 1;
            }
        }
        report.finished_ns = now_ns();
        let took = start.elapsed();
        // Slipped if the last event went out noticeably after its slot.
        report.behind =
            report.sent < planned || took > duration + Duration::from_millis(50).max(duration / 20);
        Ok(report)
    }

    /// Like [`Generator::paced`] for `count` events, but a failed call is
    /// retried (after 50 ms) until `deadline`; returns each event's fate in
    /// `seq` order starting at `report.first_seq`. `on_progress` is called
    /// after every acknowledged batch with the number acknowledged so far (the
    /// fault suite uses it to strike at a chosen moment).
    pub async fn resilient(
        &mut self,
        rate: f64,
        count: u64,
        deadline: Instant,
        mut on_progress: impl FnMut(u64),
    ) -> (PublishReport, Vec<Fate>) {
        let mut report = PublishReport {
            first_seq: self.next_seq,
            planned: count,
            started_ns: now_ns(),
            ..PublishReport::default()
        };
        let mut fates = Vec::with_capacity(count as usize);
        let start = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut pending: Vec<String> = Vec::new();
        while (fates.len() as u64) < count && Instant::now() < deadline {
            tick.tick().await;
            let due = ((rate * start.elapsed().as_secs_f64()) as u64).clamp(1, count);
            let have = fates.len() as u64 + pending.len() as u64;
            if pending.is_empty() && have < due {
                let n = (due - have).min(MAX_BATCH as u64) as usize;
                pending = self.batch(n);
            }
            if pending.is_empty() {
                continue;
            }
            match publish_batch(&mut self.conn, &self.script, &self.target, &pending).await {
                Ok(_) => {
                    let t = now_ns();
                    fates.extend(std::iter::repeat_n(Fate::Acked(t), pending.len()));
                    report.sent += pending.len() as u64;
                    report.batches += 1;
                    pending.clear();
                    on_progress(report.sent);
                }
                Err(_) => {
                    // Redis is down or the answer was lost: the same events
                    // (same seq) are sent again once it answers.
                    report.errors += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        fates.resize(count as usize, Fate::NotAcked);
        report.finished_ns = now_ns();
        report.behind = (report.sent) < count;
        (report, fates)
    }

    /// Publishes `payloads` as raw channel messages (no script, no stream):
    /// what a foreign or broken publisher does.
    pub async fn publish_raw(&mut self, payloads: &[Vec<u8>]) -> redis::RedisResult<()> {
        let mut pipe = redis::pipe();
        for p in payloads {
            pipe.cmd("PUBLISH")
                .arg(&self.target.channel)
                .arg(p.as_slice())
                .ignore();
        }
        pipe.query_async::<()>(&mut self.conn).await
    }

    /// Publishes `n` bench events now, through the script, in one call.
    pub async fn publish_now(&mut self, n: usize) -> redis::RedisResult<()> {
        let events = self.batch(n);
        publish_batch(&mut self.conn, &self.script, &self.target, &events)
            .await
            .map(|_| ())
    }
}

/// Plain `PUBLISH` of `count` bench events (without `id`, so nothing downstream
/// deduplicates them) on `channel`, pipelined `pipeline` at a time, as fast as
/// one connection goes. Returns the report (seq from `first_seq`).
pub async fn blast_publish(
    conn: &mut redis::aio::MultiplexedConnection,
    channel: &str,
    first_seq: u64,
    count: u64,
    pipeline: usize,
) -> redis::RedisResult<PublishReport> {
    let mut report = PublishReport {
        first_seq,
        planned: count,
        started_ns: now_ns(),
        ..PublishReport::default()
    };
    let wall = payload::wall_secs();
    while report.sent < count {
        let n = (count - report.sent).min(pipeline as u64);
        let t = now_ns();
        let mut pipe = redis::pipe();
        for i in 0..n {
            let seq = first_seq + report.sent + i;
            pipe.cmd("PUBLISH")
                .arg(channel)
                .arg(payload::event("blast", seq, t, wall))
                .ignore();
        }
        pipe.query_async::<()>(conn).await?;
        report.sent += n;
        report.batches += 1;
    }
    report.finished_ns = now_ns();
    Ok(report)
}

/// The publish script flat out: `count` events in batches of `batch`.
pub async fn blast_script(
    conn: &mut redis::aio::MultiplexedConnection,
    target: &Target,
    first_seq: u64,
    count: u64,
    batch: usize,
) -> redis::RedisResult<PublishReport> {
    let script = script();
    let mut report = PublishReport {
        first_seq,
        planned: count,
        started_ns: now_ns(),
        ..PublishReport::default()
    };
    let wall = payload::wall_secs();
    while report.sent < count {
        let n = (count - report.sent).min(batch as u64);
        let t = now_ns();
        let events: Vec<String> = (0..n)
            .map(|i| payload::event("blast", first_seq + report.sent + i, t, wall))
            .collect();
        publish_batch(conn, &script, target, &events).await?;
        report.sent += n;
        report.batches += 1;
    }
    report.finished_ns = now_ns();
    Ok(report)
}
