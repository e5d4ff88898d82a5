//! Counters for `/metrics` (Prometheus text) and `/healthz` (JSON).

use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use crate::mapping::MapCounts;

/// Why a request was answered with something other than 200.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// 400: the body does not decode.
    BadBody,
    /// 401: missing or wrong token.
    Unauthorized,
    /// 413: over the body limit (decompressed).
    TooLarge,
    /// 415: wrong content type or encoding.
    UnsupportedType,
    /// 503: the publish queue is full.
    QueueFull,
}

impl Refused {
    const ALL: [Refused; 5] = [
        Refused::BadBody,
        Refused::Unauthorized,
        Refused::TooLarge,
        Refused::UnsupportedType,
        Refused::QueueFull,
    ];

    fn label(self) -> &'static str {
        match self {
            Refused::BadBody => "bad_body",
            Refused::Unauthorized => "unauthorized",
            Refused::TooLarge => "too_large",
            Refused::UnsupportedType => "unsupported_type",
            Refused::QueueFull => "queue_full",
        }
    }
}

/// Every counter of the ingest. Shared by the handlers and the publisher.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    requests: AtomicU64,
    requests_ok: AtomicU64,
    refused: [AtomicU64; 5],
    spans_accepted: AtomicU64,
    spans_mapped: AtomicU64,
    spans_skipped_not_genai: AtomicU64,
    spans_rejected_bad_id: AtomicU64,
    spans_refused: AtomicU64,
    events_published: AtomicU64,
    publish_errors: AtomicU64,
    queue_events: AtomicU64,
    queue_bytes: AtomicU64,
    redis_up: AtomicBool,
    min_replicas: AtomicU64,
    /// The last `WAIT` answer, `u64::MAX` before the first.
    replicas_acked: AtomicU64,
    replication_shortfalls: AtomicU64,
    /// The chunk at the head is on the master but short of replicas.
    replication_short: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            requests: AtomicU64::new(0),
            requests_ok: AtomicU64::new(0),
            refused: Default::default(),
            spans_accepted: AtomicU64::new(0),
            spans_mapped: AtomicU64::new(0),
            spans_skipped_not_genai: AtomicU64::new(0),
            spans_rejected_bad_id: AtomicU64::new(0),
            spans_refused: AtomicU64::new(0),
            events_published: AtomicU64::new(0),
            publish_errors: AtomicU64::new(0),
            queue_events: AtomicU64::new(0),
            queue_bytes: AtomicU64::new(0),
            redis_up: AtomicBool::new(false),
            min_replicas: AtomicU64::new(0),
            replicas_acked: AtomicU64::new(u64::MAX),
            replication_shortfalls: AtomicU64::new(0),
            replication_short: AtomicBool::new(false),
        }
    }
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

impl Metrics {
    /// A request reached `/v1/traces`.
    pub fn request(&self) {
        add(&self.requests, 1);
    }

    /// A request was refused for `why`, with `spans` in it when it decoded.
    pub fn refused(&self, why: Refused, spans: u64) {
        add(&self.refused[why as usize], 1);
        add(&self.spans_refused, spans);
    }

    /// A request was answered 200 with these counts.
    pub fn accepted(&self, c: &MapCounts) {
        add(&self.requests_ok, 1);
        add(&self.spans_accepted, c.spans - c.rejected_bad_id);
        add(&self.spans_mapped, c.mapped);
        add(&self.spans_skipped_not_genai, c.skipped_not_genai);
        add(&self.spans_rejected_bad_id, c.rejected_bad_id);
    }

    /// The publish queue changed by this many events and bytes.
    pub fn queue_delta(&self, events: i64, bytes: i64) {
        let apply = |c: &AtomicU64, d: i64| {
            if d >= 0 {
                c.fetch_add(d as u64, Ordering::Relaxed);
            } else {
                c.fetch_sub(d.unsigned_abs(), Ordering::Relaxed);
            }
        };
        apply(&self.queue_events, events);
        apply(&self.queue_bytes, bytes);
    }

    /// Events now waiting to be published.
    pub fn queued_events(&self) -> u64 {
        get(&self.queue_events)
    }

    /// Events reached Redis.
    pub fn published(&self, n: u64) {
        add(&self.events_published, n);
    }

    /// Events reached Redis, so far.
    pub fn published_total(&self) -> u64 {
        get(&self.events_published)
    }

    /// A publish attempt failed (it is retried).
    pub fn publish_error(&self) {
        add(&self.publish_errors, 1);
    }

    /// Redis answered, or stopped answering.
    pub fn redis_state(&self, up: bool) {
        self.redis_up.store(up, Ordering::Relaxed);
    }

    /// The `--min-replicas` in force, for `/healthz` and `/metrics`.
    pub fn set_min_replicas(&self, n: usize) {
        self.min_replicas.store(n as u64, Ordering::Relaxed);
    }

    /// A `WAIT` answered `acked` replicas: `enough` or a shortfall (counted).
    /// Returns true when this shortfall starts a run of them (worth a log line).
    pub fn replicas_acked(&self, acked: usize, enough: bool) -> bool {
        self.replicas_acked.store(acked as u64, Ordering::Relaxed);
        if !enough {
            add(&self.replication_shortfalls, 1);
        }
        let was_short = self.replication_short.swap(!enough, Ordering::Relaxed);
        !enough && !was_short
    }

    /// `WAIT`s that found too few replicas, so far.
    pub fn replication_shortfalls(&self) -> u64 {
        get(&self.replication_shortfalls)
    }

    /// Whether the last Redis command succeeded.
    pub fn redis_up(&self) -> bool {
        self.redis_up.load(Ordering::Relaxed)
    }

    /// The `/healthz` body.
    pub fn health(&self, redis_url: &str) -> serde_json::Value {
        let short = self.replication_short.load(Ordering::Relaxed);
        let acked = match get(&self.replicas_acked) {
            u64::MAX => None,
            n => Some(n),
        };
        let min_replicas = get(&self.min_replicas);
        serde_json::json!({
            "status": if self.redis_up() && !short { "ok" } else { "degraded" },
            "redis": {
                "url": redis_url,
                "up": self.redis_up(),
                "min_replicas": min_replicas,
                "replicas_acked": acked,
                "replication_error": short.then(|| format!(
                    "{} of {min_replicas} replicas acknowledged the head of the queue; keeping it and retrying WAIT",
                    acked.unwrap_or(0)
                )),
            },
            "uptime_secs": self.started.elapsed().as_secs_f64(),
            "requests": get(&self.requests),
            "spans_accepted": get(&self.spans_accepted),
            "spans_mapped": get(&self.spans_mapped),
            "events_published": get(&self.events_published),
            "queue_events": get(&self.queue_events),
        })
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let mut metric = |name: &str, kind: &str, help: &str, rows: &[(String, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for (labels, value) in rows {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let one = |v: u64| vec![(String::new(), v)];
        metric(
            "ingest_requests_total",
            "counter",
            "Requests to /v1/traces.",
            &one(get(&self.requests)),
        );
        metric(
            "ingest_requests_ok_total",
            "counter",
            "Requests answered 200.",
            &one(get(&self.requests_ok)),
        );
        let refused: Vec<(String, u64)> = Refused::ALL
            .iter()
            .map(|r| {
                (
                    format!("{{reason=\"{}\"}}", r.label()),
                    get(&self.refused[*r as usize]),
                )
            })
            .collect();
        metric(
            "ingest_requests_refused_total",
            "counter",
            "Requests refused, by reason.",
            &refused,
        );
        metric(
            "ingest_spans_accepted_total",
            "counter",
            "Spans in requests answered 200 (valid ids).",
            &one(get(&self.spans_accepted)),
        );
        metric(
            "ingest_spans_mapped_total",
            "counter",
            "Spans that became events.",
            &one(get(&self.spans_mapped)),
        );
        metric(
            "ingest_spans_skipped_total",
            "counter",
            "Valid spans skipped, by reason.",
            &[(
                "{reason=\"not_genai\"}".into(),
                get(&self.spans_skipped_not_genai),
            )],
        );
        metric(
            "ingest_spans_rejected_total",
            "counter",
            "Spans rejected, by reason (partial_success.rejected_spans, or the whole request refused).",
            &[
                (
                    "{reason=\"bad_id\"}".into(),
                    get(&self.spans_rejected_bad_id),
                ),
                (
                    "{reason=\"request_refused\"}".into(),
                    get(&self.spans_refused),
                ),
            ],
        );
        metric(
            "ingest_events_published_total",
            "counter",
            "Events that reached the Redis stream.",
            &one(get(&self.events_published)),
        );
        metric(
            "ingest_publish_errors_total",
            "counter",
            "Failed publish attempts (retried).",
            &one(get(&self.publish_errors)),
        );
        metric(
            "ingest_publish_queue_events",
            "gauge",
            "Events waiting in the publish queue.",
            &one(get(&self.queue_events)),
        );
        metric(
            "ingest_publish_queue_bytes",
            "gauge",
            "Bytes waiting in the publish queue.",
            &one(get(&self.queue_bytes)),
        );
        metric(
            "ingest_replication_shortfalls_total",
            "counter",
            "WAITs that found fewer than --min-replicas replicas (the events stay queued).",
            &one(get(&self.replication_shortfalls)),
        );
        metric(
            "ingest_redis_up",
            "gauge",
            "1 when the last Redis command succeeded.",
            &one(u64::from(self.redis_up())),
        );
        out
    }
}
