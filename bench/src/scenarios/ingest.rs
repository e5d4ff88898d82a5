//! The OTLP ingest: spans per second from `POST /v1/traces` to the Redis
//! stream, and CPU per span, beside the publish script's own ceiling measured
//! in the same run on the same Redis.
//!
//! The ingest runs in this process ([`orchestrator_ingest::run`], release
//! build) on a private Redis. Requests are made before the clock starts: 512
//! spans each (the OpenTelemetry SDK's default batch), protobuf, a mix of one
//! `execute_tool` span (two events) to three `chat` spans (one event each, a
//! short reply). Two keep-alive connections send them back to back (as two
//! exporters would); the time is from the first byte sent to the ingest's count
//! of events published reaching the total. CPU is `/proc` utime+stime of this
//! process (the ingest and the two senders, which only write ready bytes) and
//! of Redis.
//!
//! The ceiling: the same events as JSON, published straight through the
//! publish script in chunks of 512 (the ingest's chunk) from one connection;
//! what the ingest cannot beat, since it publishes through that script.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use orchestrator_events::publish::{self, Target};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::error::BenchError;
use crate::harness::Redis;
use crate::measure::{cpu_time, median, self_cpu_time};

/// Spans per request: the SDK's default `max_export_batch_size`.
pub const BATCH: usize = 512;
/// Concurrent senders.
const SENDERS: usize = 2;

/// What to run.
#[derive(Debug, Clone)]
pub struct IngestOpts {
    /// Spans per run (rounded up to whole batches).
    pub spans: usize,
    /// Runs.
    pub runs: usize,
}

impl Default for IngestOpts {
    fn default() -> Self {
        IngestOpts {
            spans: 200_704,
            runs: 3,
        }
    }
}

/// One run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IngestRun {
    /// Spans sent.
    pub spans: u64,
    /// Events they became (and that reached Redis).
    pub events: u64,
    /// Spans per second, first request to last event published.
    pub spans_per_sec: f64,
    /// This process's CPU per span (ingest + senders), ns.
    pub ingest_cpu_ns: f64,
    /// Redis CPU per span, ns.
    pub redis_cpu_ns: f64,
    /// The publish script alone, events per second (same events, chunks of 512).
    pub script_events_per_sec: f64,
    /// Mean protobuf request size, bytes.
    pub request_bytes: usize,
}

/// All runs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IngestResult {
    /// The runs.
    pub runs: Vec<IngestRun>,
}

impl IngestResult {
    /// Median of one figure.
    pub fn med(&self, f: impl Fn(&IngestRun) -> f64) -> f64 {
        median(&self.runs.iter().map(f).collect::<Vec<_>>()).unwrap_or(0.0)
    }
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
    }
}

/// Request `r` of a run: 512 spans under one agent span that is not sent.
fn request(run: usize, r: usize) -> Vec<u8> {
    let mut trace = [0u8; 16];
    trace[..8].copy_from_slice(&(run as u64 + 1).to_be_bytes());
    trace[8..].copy_from_slice(&(r as u64 + 1).to_be_bytes());
    let base = 1_764_086_400_000_000_000u64 + r as u64 * 1_000_000_000;
    let spans = (0..BATCH)
        .map(|i| {
            let start = base + i as u64 * 1_000_000;
            let attributes = if i % 4 == 0 {
                vec![
                    kv("gen_ai.operation.name", "execute_tool"),
                    kv("gen_ai.tool.name", "search"),
                    kv("gen_ai.tool.call.id", &format!("call-{r}-{i}")),
                    kv("gen_ai.tool.call.arguments", r#"{"query":"small models"}"#),
                    kv("gen_ai.tool.call.result", r#"{"hits":3}"#),
                ]
            } else {
                vec![
                    kv("gen_ai.operation.name", "chat"),
                    kv("gen_ai.request.model", "bench-model"),
                    kv(
                        "gen_ai.output.messages",
                        r#"[{"role":"assistant","parts":[{"type":"text","content":"a streamed reply chunk of ordinary length"}]}]"#,
                    ),
                ]
            };
            Span {
                trace_id: trace.to_vec(),
                span_id: (i as u64 + 2).to_be_bytes().to_vec(),
                parent_span_id: 1u64.to_be_bytes().to_vec(),
                name: if i % 4 == 0 { "execute_tool search" } else { "chat bench-model" }.into(),
                start_time_unix_nano: start,
                end_time_unix_nano: start + 500_000,
                attributes,
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "bench")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// Reads one HTTP/1.1 answer with a `Content-Length` body; its status.
async fn read_answer(s: &mut TcpStream, buf: &mut Vec<u8>) -> Result<u16, BenchError> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status = head
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    return Err(BenchError::Failed("ingest closed mid-answer".into()));
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Ok(status);
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(BenchError::Failed("ingest closed the connection".into()));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Sends `bodies` on one keep-alive connection, one after another.
async fn send_all(addr: SocketAddr, bodies: Vec<Vec<u8>>) -> Result<(), BenchError> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut buf = Vec::new();
    for body in bodies {
        let head = format!(
            "POST /v1/traces HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-protobuf\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await?;
        s.write_all(&body).await?;
        let status = read_answer(&mut s, &mut buf).await?;
        if status != 200 {
            return Err(BenchError::Failed(format!("ingest answered {status}")));
        }
    }
    Ok(())
}

async fn published(addr: SocketAddr) -> u64 {
    crate::http::get(addr, "/healthz", Duration::from_secs(5))
        .await
        .ok()
        .and_then(|r| r.json())
        .and_then(|v| v["events_published"].as_u64())
        .unwrap_or(0)
}

async fn redis_cpu(pid: Option<u32>) -> Duration {
    pid.and_then(|p| cpu_time(p).ok()).unwrap_or_default()
}

/// The publish script's rate for `events`, in chunks of the ingest's size.
async fn script_ceiling(redis: &Redis, events: &[String]) -> Result<f64, BenchError> {
    let mut conn = redis.conn().await?;
    let script = publish::script();
    let target = Target {
        stream: "bench:ingest:ceiling".into(),
        channel: "bench:ingest:ceiling".into(),
        ..Target::default()
    };
    let started = Instant::now();
    for chunk in events.chunks(orchestrator_ingest::sink::CHUNK) {
        publish::publish_batch(&mut conn, &script, &target, chunk)
            .await
            .map_err(|e| BenchError::Failed(format!("publish script: {e}")))?;
    }
    Ok(events.len() as f64 / started.elapsed().as_secs_f64())
}

/// Runs the ingest benchmark on a fresh private Redis.
pub async fn run(opts: &IngestOpts) -> Result<IngestResult, BenchError> {
    let redis = Redis::start()?;
    let redis_pid = redis.pid().await.ok();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    let config = orchestrator_ingest::Config {
        redis_url: redis.url(),
        ..orchestrator_ingest::Config::default()
    };
    let ingest = tokio::spawn(orchestrator_ingest::run(config, listener, stop.clone()));
    let batches = opts.spans.div_ceil(BATCH).max(SENDERS);
    let mut result = IngestResult { runs: Vec::new() };
    // Warm-up: connection, script cache, allocator.
    send_all(addr, (0..4).map(|r| request(usize::MAX / 2, r)).collect()).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while published(addr).await == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for run in 0..opts.runs {
        let bodies: Vec<Vec<u8>> = (0..batches).map(|r| request(run, r)).collect();
        let request_bytes = bodies.iter().map(Vec::len).sum::<usize>() / bodies.len();
        // The events these spans become, for the ceiling and the expected count.
        let mut index = orchestrator_ingest::mapping::SpanIndex::new(1_000_000);
        let mut events = Vec::new();
        for b in &bodies {
            let req = orchestrator_ingest::decode::decode(
                orchestrator_ingest::decode::Encoding::Protobuf,
                b,
            )
            .map_err(|e| BenchError::Failed(e.to_string()))?;
            events.extend(orchestrator_ingest::mapping::map_request(&req, &mut index).events);
        }
        let before = published(addr).await;
        let total = events.len() as u64;
        let mut per_sender: Vec<Vec<Vec<u8>>> = (0..SENDERS).map(|_| Vec::new()).collect();
        for (i, b) in bodies.into_iter().enumerate() {
            per_sender[i % SENDERS].push(b);
        }
        let cpu0 = self_cpu_time()?;
        let rcpu0 = redis_cpu(redis_pid).await;
        let started = Instant::now();
        let senders: Vec<_> = per_sender
            .into_iter()
            .map(|bodies| tokio::spawn(send_all(addr, bodies)))
            .collect();
        for s in senders {
            s.await
                .map_err(|e| BenchError::Failed(format!("sender: {e}")))??;
        }
        let deadline = Instant::now() + Duration::from_secs(300);
        while published(addr).await < before + total {
            if Instant::now() > deadline {
                return Err(BenchError::Failed(
                    "the ingest did not publish everything within 300 s".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let wall = started.elapsed().as_secs_f64();
        let cpu = self_cpu_time()?.saturating_sub(cpu0);
        let rcpu = redis_cpu(redis_pid).await.saturating_sub(rcpu0);
        let spans = (batches * BATCH) as u64;
        let script_events_per_sec = script_ceiling(&redis, &events).await?;
        tracing::info!(
            run,
            spans_per_sec = spans as f64 / wall,
            script_events_per_sec,
            "ingest run"
        );
        result.runs.push(IngestRun {
            spans,
            events: total,
            spans_per_sec: spans as f64 / wall,
            ingest_cpu_ns: cpu.as_nanos() as f64 / spans as f64,
            redis_cpu_ns: rcpu.as_nanos() as f64 / spans as f64,
            script_events_per_sec,
            request_bytes,
        });
    }
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), ingest).await;
    Ok(result)
}
