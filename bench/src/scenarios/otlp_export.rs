//! The agent's run latency with its OTLP trace export on and off: the export
//! must stay off the run's path (issue 15), so the two medians should be
//! within noise of each other.
//!
//! Two release `orchestrator-agent` processes on one private Redis, the
//! builtin model with no pacing: one plain, one exporting every run (with
//! content) to a real `orchestrator-ingest` in this process, which publishes
//! the traced copy to a stream of its own. The same `/chat` message is sent
//! to each in turn, one request at a time, so both see the same machine;
//! the figure is the median wall time of a request, client side.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use orchestrator_events::publish::Target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::error::BenchError;
use crate::harness::{Kind, Redis, Service};
use crate::measure::median;

/// What to run.
#[derive(Debug, Clone)]
pub struct OtlpOpts {
    /// Requests to each agent per run.
    pub requests: usize,
    /// Runs.
    pub runs: usize,
}

impl Default for OtlpOpts {
    fn default() -> Self {
        OtlpOpts {
            requests: 200,
            runs: 3,
        }
    }
}

/// One run: median request time with the export off and on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OtlpRun {
    /// Median `/chat` time, export off, ms.
    pub off_ms: f64,
    /// Median `/chat` time, export on, ms.
    pub on_ms: f64,
    /// Spans the exporting agent reported exported by the end of the run.
    pub exported: u64,
    /// Spans it dropped.
    pub dropped: u64,
}

/// All runs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OtlpResult {
    /// The runs.
    pub runs: Vec<OtlpRun>,
}

impl OtlpResult {
    /// Median of one figure.
    pub fn med(&self, f: impl Fn(&OtlpRun) -> f64) -> f64 {
        median(&self.runs.iter().map(f).collect::<Vec<_>>()).unwrap_or(0.0)
    }
}

const MESSAGE: &str = r#"{"message":"List the stored research plans."}"#;

/// One `POST /chat` on a fresh connection; its wall time.
async fn chat(addr: SocketAddr) -> Result<Duration, BenchError> {
    let started = Instant::now();
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| BenchError::Failed(format!("connect to the agent: {e}")))?;
    let req = format!(
        "POST /chat HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{MESSAGE}",
        MESSAGE.len()
    );
    let mut answer = Vec::new();
    let io = async {
        s.write_all(req.as_bytes()).await?;
        s.read_to_end(&mut answer).await
    };
    tokio::time::timeout(Duration::from_secs(30), io)
        .await
        .map_err(|_| BenchError::Failed("a /chat took over 30 s".into()))?
        .map_err(|e| BenchError::Failed(format!("/chat: {e}")))?;
    if !answer.starts_with(b"HTTP/1.1 200") {
        return Err(BenchError::Failed(format!(
            "/chat answered {}",
            String::from_utf8_lossy(&answer[..answer.len().min(200)])
        )));
    }
    Ok(started.elapsed())
}

/// `orchestrator_agent_otlp_spans_total{outcome}` from the agent's `/metrics`
/// (0 when it cannot be read: the figure is then visibly wrong, not fatal).
async fn spans(addr: SocketAddr, outcome: &str) -> u64 {
    let page = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        let req = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.ok()?;
        let mut raw = String::new();
        s.read_to_string(&mut raw).await.ok()?;
        Some(raw)
    };
    let name = format!("orchestrator_agent_otlp_spans_total{{outcome=\"{outcome}\"}} ");
    tokio::time::timeout(Duration::from_secs(5), page)
        .await
        .ok()
        .flatten()
        .and_then(|raw| {
            raw.lines()
                .find_map(|l| l.strip_prefix(&name)?.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Runs the comparison.
pub async fn run(opts: &OtlpOpts) -> Result<OtlpResult, BenchError> {
    let redis = Redis::start()?;
    let stop = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| BenchError::Failed(format!("bind the ingest: {e}")))?;
    let ingest_addr = listener
        .local_addr()
        .map_err(|e| BenchError::Failed(format!("the ingest's address: {e}")))?;
    let config = orchestrator_ingest::Config {
        redis_url: redis.url(),
        target: Target {
            channel: "traced_events".into(),
            stream: "traced_events:log".into(),
            ..Target::default()
        },
        ..orchestrator_ingest::Config::default()
    };
    let ingest = tokio::spawn(orchestrator_ingest::run(config, listener, stop.clone()));

    let common = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = ["--redis-url", &redis.url(), "--pace-ms", "0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let endpoint = format!("http://{ingest_addr}");
    let off = Service::start(Kind::Agent, &common(&[])).await?;
    let on = Service::start(
        Kind::Agent,
        &common(&["--otlp-endpoint", &endpoint, "--otlp-content"]),
    )
    .await?;
    // Warm-up: connections, the script cache, the exporter's client.
    for _ in 0..20 {
        chat(off.addr()).await?;
        chat(on.addr()).await?;
    }
    let mut result = OtlpResult { runs: Vec::new() };
    for _ in 0..opts.runs {
        let mut off_ms = Vec::with_capacity(opts.requests);
        let mut on_ms = Vec::with_capacity(opts.requests);
        for _ in 0..opts.requests {
            off_ms.push(chat(off.addr()).await?.as_secs_f64() * 1e3);
            on_ms.push(chat(on.addr()).await?.as_secs_f64() * 1e3);
        }
        let run = OtlpRun {
            off_ms: median(&off_ms).unwrap_or(0.0),
            on_ms: median(&on_ms).unwrap_or(0.0),
            exported: spans(on.addr(), "exported").await,
            dropped: spans(on.addr(), "dropped").await,
        };
        tracing::info!(
            off = run.off_ms,
            on = run.on_ms,
            "agent latency, export off/on"
        );
        result.runs.push(run);
    }
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), ingest).await;
    Ok(result)
}
