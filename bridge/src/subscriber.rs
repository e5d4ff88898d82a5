//! The bridge's one Redis subscription, and keeping it alive.
//!
//! Messages are read in batches (everything already received, up to
//! [`BATCH`]), each turned into a shared [`Frame`] once and handed to the hub
//! in one call. When the connection is lost the subscriber tells every client
//! (`bridge_status` `redis_down`), reconnects with capped exponential backoff
//! and jitter, re-reads the stream's epoch, resubscribes, and queues a
//! [`Resync`] for every client, which then catches up from the stream from the
//! last id it was sent — so a client connected through a Redis restart misses
//! nothing that reached the stream.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use orchestrator_events::Backoff;
use orchestrator_events::config::redact_url;
use orchestrator_events::source::RedisSource;
use orchestrator_events::{BridgeStatus, StatusKind};
use tokio::time::timeout;

use crate::frame::Frame;
use crate::queue::{Item, Resync};
use crate::replay::notice;
use crate::state::Shared;

/// Most messages handed to the hub in one call.
const BATCH: usize = 512;
/// How long connecting and subscribing may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How often an idle subscription is checked with PING (a half-open TCP
/// connection would otherwise look idle forever).
const HEALTH_INTERVAL: Duration = Duration::from_secs(5);
/// First backoff step.
const BACKOFF_BASE: Duration = Duration::from_millis(100);

/// Runs until the bridge stops.
/// `source` is asked for the master on every (re)connection, so after a
/// Sentinel failover the bridge resubscribes on the new master.
pub async fn run(shared: Arc<Shared>, source: RedisSource) {
    let url = shared.config.redis_url.clone();
    let mut failures: u32 = 0;
    let mut ever_up = false;
    let mut last_epoch: Option<String> = None;
    loop {
        if shared.shutdown.is_cancelled() {
            return;
        }
        match connect(&source, &shared.config.channel).await {
            Ok(pubsub) => match shared.store.epoch().await {
                Ok(epoch) => {
                    let changed = last_epoch.as_ref().is_some_and(|old| *old != epoch);
                    last_epoch = Some(epoch.clone());
                    shared.redis.set(true, Some(epoch.clone()));
                    shared.metrics.redis_state(true, ever_up);
                    tracing::info!(
                        redis = %redact_url(&url),
                        master = source.master().as_deref().unwrap_or("?"),
                        channel = %shared.config.channel,
                        %epoch,
                        epoch_changed = changed,
                        "subscribed to Redis"
                    );
                    if ever_up || !shared.hub.is_empty() {
                        shared.hub.broadcast(&Item::Resync(Resync {
                            epoch_changed: changed,
                            epoch: Some(epoch),
                        }));
                    }
                    ever_up = true;
                    failures = 0;
                    let why = pump(&shared, pubsub).await;
                    if shared.shutdown.is_cancelled() {
                        return;
                    }
                    shared.redis.set(false, None);
                    shared.metrics.redis_state(false, false);
                    tracing::warn!(reason = why, "lost the Redis subscription; reconnecting");
                    let status = BridgeStatus::new(
                        StatusKind::RedisDown,
                        format!("lost Redis ({why}); reconnecting — events will be caught up"),
                    );
                    shared.hub.broadcast(&Item::Frame(notice(status)));
                }
                Err(e) => {
                    failures += 1;
                    shared.metrics.redis_connect_failed();
                    tracing::warn!(error = %redact_error(&e, &url), "subscribed but cannot read the epoch");
                }
            },
            Err(e) => {
                failures += 1;
                shared.metrics.redis_connect_failed();
                if failures == 1 || failures.is_multiple_of(20) {
                    tracing::warn!(
                        redis = %redact_url(&url),
                        error = %redact_error(&e, &url),
                        attempts = failures,
                        "cannot reach Redis; retrying with backoff"
                    );
                }
            }
        }
        let delay = backoff(failures, shared.config.reconnect_max_delay);
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

async fn connect(source: &RedisSource, channel: &str) -> redis::RedisResult<redis::aio::PubSub> {
    let attempt = async {
        let client = source.client().await?;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok(pubsub)
    };
    match timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(result) => result,
        Err(_) => Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "timed out connecting to Redis",
        ))),
    }
}

/// Forwards messages until the connection is lost (or the bridge stops);
/// returns why it ended.
async fn pump(shared: &Shared, pubsub: redis::aio::PubSub) -> &'static str {
    let (mut sink, stream) = pubsub.split();
    let mut batches = stream.ready_chunks(BATCH);
    let mut health = tokio::time::interval_at(
        tokio::time::Instant::now() + HEALTH_INTERVAL,
        HEALTH_INTERVAL,
    );
    let max = shared.config.max_event_bytes;
    let mut frames = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            biased;
            _ = shared.shutdown.cancelled() => return "shutdown",
            batch = batches.next() => {
                let Some(batch) = batch else { return "connection closed" };
                for msg in &batch {
                    match Frame::from_channel(msg.get_payload_bytes(), max) {
                        Ok(frame) => {
                            shared.metrics.event_in(frame.kind());
                            frames.push(frame);
                        }
                        Err(why) => {
                            tracing::debug!(?why, bytes = msg.get_payload_bytes().len(), "message not forwarded");
                            shared.metrics.invalid(why);
                        }
                    }
                }
                if let Some(id) = frames.iter().rev().find_map(Frame::id) {
                    shared.redis.set_forwarded(id);
                }
                shared.hub.publish(&frames);
                frames.clear();
            }
            _ = health.tick() => {
                let ping = timeout(Duration::from_secs(3), sink.ping::<redis::Value>()).await;
                if !matches!(ping, Ok(Ok(_))) {
                    return "no answer to PING";
                }
            }
        }
    }
}

/// Capped exponential backoff with jitter: `base·2^failures`, at most `cap`,
/// then a random point in its upper half, so many bridges do not retry in step
/// (the shared [`Backoff`] with equal jitter).
pub fn backoff(failures: u32, cap: Duration) -> Duration {
    Backoff {
        initial: BACKOFF_BASE,
        max: cap,
        factor: 2.0,
    }
    .delay(failures.saturating_add(1))
}

/// A Redis error as text, with the URL's password removed in case the client
/// library echoed it.
fn redact_error(e: &redis::RedisError, url: &str) -> String {
    let text = e.to_string();
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_owned))
    {
        Some(pw) if !pw.is_empty() => text.replace(&pw, "***"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let cap = Duration::from_secs(2);
        for failures in 0..40 {
            let d = backoff(failures, cap);
            assert!(d <= cap, "{d:?}");
        }
        let first = backoff(0, cap);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        let late = backoff(30, cap);
        assert!(late >= Duration::from_secs(1));
    }

    #[test]
    fn errors_never_show_the_password() {
        let e = redis::RedisError::from((
            redis::ErrorKind::Io,
            "failed",
            "auth s3cret rejected".to_string(),
        ));
        let shown = redact_error(&e, "redis://:s3cret@host:1");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
