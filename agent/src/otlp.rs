//! The OTLP trace export (`--otlp-endpoint`): each run becomes OpenTelemetry
//! GenAI spans — `invoke_agent {agent}` per run, `chat {model}` per model
//! turn, `execute_tool {tool}` per call — sent over OTLP/HTTP protobuf to
//! Langfuse, Phoenix, Jaeger or `orchestrator-ingest`.
//!
//! Off the run's path: [`RunTrace`] collects a run's spans in memory and hands
//! them, at `run_finished`, to a bounded queue (`otlp_export`, in spans) in one
//! piece, or drops the whole run when the queue is full (a trace with holes is
//! worse than none). One task drains the queue in batches through the real
//! `opentelemetry-otlp` exporter; an endpoint that is down, refusing or slow
//! only fills the queue — runs never wait for it. Drops and failed exports are
//! counted (`/metrics`) and logged once per burst.
//!
//! Attribute names are those `orchestrator-ingest` maps (ingest/src/mapping.rs,
//! content.rs), so the agent's export looped into the ingest is the same run.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks};
use orchestrator_events::event::{RunStatus, ToolStatus, Usage};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::callback::{CallbackHandler, ModelTurn, Step};

/// Spans per export request.
const BATCH_MAX: usize = 512;

/// Default bound of the export queue, in spans.
pub const DEFAULT_OTLP_QUEUE: usize = 4096;

/// The export's settings.
#[derive(Debug, Clone)]
pub struct OtlpConfig {
    /// The full traces URL (`…/v1/traces`).
    pub endpoint: String,
    /// Put input, output, tool arguments and results on the spans.
    pub content: bool,
    /// Bound of the queue, in spans.
    pub queue_spans: usize,
    /// Deadline of one export request.
    pub timeout: Duration,
    /// `service.name` of the resource (`OTEL_SERVICE_NAME`).
    pub service_name: String,
    /// `gen_ai.agent.name` on the spans; default: the agent's name.
    pub agent_name: Option<String>,
}

impl OtlpConfig {
    /// The export these variables ask for, or `None` when no endpoint is set.
    /// `flag` (`--otlp-endpoint`) is a base URL like
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` appended unless already
    /// there); `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as it is.
    pub fn resolve(flag: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Option<String> {
        let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        if let Some(f) = flag.filter(|f| !f.trim().is_empty()) {
            return Some(with_traces_path(f));
        }
        if let Some(t) = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            return Some(t);
        }
        env("OTEL_EXPORTER_OTLP_ENDPOINT").map(|b| with_traces_path(&b))
    }
}

fn with_traces_path(base: &str) -> String {
    let base = base.trim();
    if base.trim_end_matches('/').ends_with("/v1/traces") {
        return base.to_string();
    }
    format!("{}/v1/traces", base.trim_end_matches('/'))
}

/// Why the export could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    /// The HTTP client or the exporter refused the settings.
    #[error("OTLP exporter: {0}")]
    Build(String),
}

/// Counters of the export, for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportStatus {
    /// Spans accepted by the endpoint.
    pub exported: u64,
    /// Spans dropped because the queue was full.
    pub dropped: u64,
    /// Spans in requests that failed (error answer, refused, timed out).
    pub failed: u64,
    /// Spans waiting now.
    pub queued: usize,
    /// The queue's bound.
    pub capacity: usize,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<VecDeque<SpanData>>,
    wake: Notify,
    capacity: usize,
    exported: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    dropping: AtomicBool,
    closing: CancellationToken,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where runs hand their spans; cheap to clone.
#[derive(Debug, Clone)]
pub struct TraceExport {
    shared: Arc<Shared>,
    content: bool,
    agent_name: Option<String>,
    max_field_bytes: usize,
}

/// The running export task.
#[derive(Debug)]
pub struct Exporter {
    handle: TraceExport,
    task: JoinHandle<()>,
}

impl Exporter {
    /// Builds the OTLP/HTTP exporter (headers from `OTEL_EXPORTER_OTLP_HEADERS`
    /// or `OTEL_EXPORTER_OTLP_TRACES_HEADERS`) and starts draining the queue.
    pub fn start(config: &OtlpConfig, max_field_bytes: usize) -> Result<Exporter, OtlpError> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(3)))
            .build()
            .map_err(|e| OtlpError::Build(e.to_string()))?;
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(config.endpoint.clone())
            .with_timeout(config.timeout)
            .build()
            .map_err(|e| OtlpError::Build(e.to_string()))?;
        exporter.set_resource(
            &Resource::builder_empty()
                .with_service_name(config.service_name.clone())
                .build(),
        );
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            capacity: config.queue_spans.max(1),
            exported: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropping: AtomicBool::new(false),
            closing: CancellationToken::new(),
        });
        let task = tokio::spawn(drain(shared.clone(), exporter, config.timeout));
        tracing::info!(
            endpoint = %orchestrator_events::config::redact_url(&config.endpoint),
            service_name = %config.service_name,
            content = config.content,
            queue_spans = shared.capacity,
            "exporting runs as OpenTelemetry GenAI traces"
        );
        Ok(Exporter {
            handle: TraceExport {
                shared,
                content: config.content,
                agent_name: config.agent_name.clone(),
                max_field_bytes,
            },
            task,
        })
    }

    /// A handle for runs.
    pub fn handle(&self) -> TraceExport {
        self.handle.clone()
    }

    /// Exports what is queued for up to `grace`, then stops.
    pub async fn shutdown(self, grace: Duration) -> ExportStatus {
        self.handle.shared.closing.cancel();
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            task.abort();
        }
        self.handle.status()
    }
}

async fn drain(shared: Arc<Shared>, exporter: opentelemetry_otlp::SpanExporter, timeout: Duration) {
    let mut failing = false;
    loop {
        let batch: Vec<SpanData> = {
            let mut q = lock(&shared.queue);
            let n = q.len().min(BATCH_MAX);
            q.drain(..n).collect()
        };
        if batch.is_empty() {
            if shared.closing.is_cancelled() {
                return;
            }
            tokio::select! {
                _ = shared.wake.notified() => {}
                _ = shared.closing.cancelled() => {}
            }
            continue;
        }
        let n = batch.len() as u64;
        // The exporter has its own deadline; this one also covers a client
        // that ignores it.
        let result =
            tokio::time::timeout(timeout + Duration::from_secs(1), exporter.export(batch)).await;
        match result {
            Ok(Ok(())) => {
                shared.exported.fetch_add(n, Ordering::Relaxed);
                if failing {
                    failing = false;
                    tracing::info!("OTLP endpoint accepts traces again");
                }
            }
            Ok(Err(e)) => {
                shared.failed.fetch_add(n, Ordering::Relaxed);
                if !failing {
                    failing = true;
                    tracing::warn!(error = %e, "OTLP trace export failed; spans counted as failed in /metrics until it recovers");
                }
            }
            Err(_) => {
                shared.failed.fetch_add(n, Ordering::Relaxed);
                if !failing {
                    failing = true;
                    tracing::warn!(
                        "OTLP trace export timed out; spans counted as failed in /metrics until it recovers"
                    );
                }
            }
        }
    }
}

impl TraceExport {
    /// Counters now.
    pub fn status(&self) -> ExportStatus {
        ExportStatus {
            exported: self.shared.exported.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            failed: self.shared.failed.load(Ordering::Relaxed),
            queued: lock(&self.shared.queue).len(),
            capacity: self.shared.capacity,
        }
    }

    /// Prometheus text of the counters.
    pub fn render(&self) -> String {
        let s = self.status();
        format!(
            "# HELP orchestrator_agent_otlp_spans_total Spans of the OTLP trace export, by outcome.\n\
             # TYPE orchestrator_agent_otlp_spans_total counter\n\
             orchestrator_agent_otlp_spans_total{{outcome=\"exported\"}} {}\n\
             orchestrator_agent_otlp_spans_total{{outcome=\"dropped\"}} {}\n\
             orchestrator_agent_otlp_spans_total{{outcome=\"failed\"}} {}\n\
             # HELP orchestrator_agent_queue_items Items waiting in a bounded queue.\n\
             # TYPE orchestrator_agent_queue_items gauge\n\
             orchestrator_agent_queue_items{{queue=\"otlp_export\"}} {}\n\
             # HELP orchestrator_agent_queue_capacity Bound of a queue.\n\
             # TYPE orchestrator_agent_queue_capacity gauge\n\
             orchestrator_agent_queue_capacity{{queue=\"otlp_export\"}} {}\n",
            s.exported, s.dropped, s.failed, s.queued, s.capacity
        )
    }

    /// Queues one run's spans, all or none. Never waits.
    fn submit(&self, spans: Vec<SpanData>) {
        let n = spans.len();
        let accepted = {
            let mut q = lock(&self.shared.queue);
            if q.len() + n > self.shared.capacity {
                false
            } else {
                q.extend(spans);
                true
            }
        };
        if accepted {
            if self.shared.dropping.swap(false, Ordering::Relaxed) {
                tracing::info!(
                    dropped_total = self.shared.dropped.load(Ordering::Relaxed),
                    "OTLP export queue accepts runs again"
                );
            }
            self.shared.wake.notify_one();
        } else {
            self.shared.dropped.fetch_add(n as u64, Ordering::Relaxed);
            if !self.shared.dropping.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    capacity = self.shared.capacity,
                    "OTLP export queue full (endpoint slow or down): dropping runs' spans, counted in /metrics"
                );
            }
        }
    }

    /// The handler that turns one run into spans.
    pub fn run(&self, agent: &str, run_id: &str, model: &str) -> RunTrace {
        RunTrace {
            export: self.clone(),
            agent: self.agent_name.clone().unwrap_or_else(|| agent.to_string()),
            run_id: run_id.to_string(),
            model: model.to_string(),
            state: Mutex::new(RunState {
                trace: TraceId::from_bytes(nonzero()),
                root: SpanId::from_bytes(nonzero()),
                ..RunState::default()
            }),
        }
    }

    fn cap(&self, mut s: String) -> String {
        orchestrator_events::truncate::truncate_str(&mut s, self.max_field_bytes);
        s
    }
}

fn nonzero<const N: usize>() -> [u8; N] {
    loop {
        let b: [u8; N] = std::array::from_fn(|_| rand::random::<u8>());
        if b.iter().any(|x| *x != 0) {
            return b;
        }
    }
}

#[derive(Debug)]
struct OpenTool {
    span: SpanId,
    started: SystemTime,
    input: Value,
}

#[derive(Debug)]
struct RunState {
    trace: TraceId,
    root: SpanId,
    started: SystemTime,
    input: String,
    context_id: Option<String>,
    reply: String,
    turn_text: String,
    turn_reasoning: String,
    tools: HashMap<String, OpenTool>,
    error_kind: Option<String>,
    spans: Vec<SpanData>,
}

impl Default for RunState {
    fn default() -> Self {
        RunState {
            trace: TraceId::INVALID,
            root: SpanId::INVALID,
            started: SystemTime::now(),
            input: String::new(),
            context_id: None,
            reply: String::new(),
            turn_text: String::new(),
            turn_reasoning: String::new(),
            tools: HashMap::new(),
            error_kind: None,
            spans: Vec::new(),
        }
    }
}

/// One run's spans, collected in memory and queued at its end.
#[derive(Debug)]
pub struct RunTrace {
    export: TraceExport,
    agent: String,
    run_id: String,
    model: String,
    state: Mutex<RunState>,
}

impl RunTrace {
    #[allow(clippy::too_many_arguments)]
    fn span(
        &self,
        st: &RunState,
        id: SpanId,
        parent: SpanId,
        kind: SpanKind,
        name: String,
        started: SystemTime,
        attributes: Vec<KeyValue>,
        status: Status,
    ) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                st.trace,
                id,
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: parent,
            parent_span_is_remote: false,
            span_kind: kind,
            name: name.into(),
            start_time: started,
            end_time: SystemTime::now().max(started),
            attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status,
            instrumentation_scope: InstrumentationScope::builder("orchestrator-agent")
                .with_version(env!("CARGO_PKG_VERSION"))
                .build(),
        }
    }

    fn messages(&self, role: &str, text: &str, reasoning: &str) -> String {
        let mut parts = Vec::new();
        if !reasoning.is_empty() {
            parts.push(json!({"type": "reasoning", "content": reasoning}));
        }
        if !text.is_empty() {
            parts.push(json!({"type": "text", "content": text}));
        }
        self.export
            .cap(json!([{"role": role, "parts": parts}]).to_string())
    }
}

fn usage_attrs(attrs: &mut Vec<KeyValue>, usage: Option<Usage>) {
    if let Some(u) = usage {
        attrs.push(KeyValue::new(
            "gen_ai.usage.input_tokens",
            u.input_tokens as i64,
        ));
        attrs.push(KeyValue::new(
            "gen_ai.usage.output_tokens",
            u.output_tokens as i64,
        ));
    }
}

impl CallbackHandler for RunTrace {
    fn on_step(&self, step: &Step) {
        let mut st = lock(&self.state);
        let content = self.export.content;
        match step {
            Step::RunStarted {
                input, context_id, ..
            } => {
                st.started = SystemTime::now();
                st.input = input.clone();
                st.context_id = context_id.clone();
            }
            Step::Text(t) => {
                st.reply.push_str(t);
                st.turn_text.push_str(t);
            }
            Step::Reasoning(r) => st.turn_reasoning.push_str(r),
            Step::ToolUse { id, input, .. } => {
                st.tools.insert(
                    id.clone(),
                    OpenTool {
                        span: SpanId::from_bytes(nonzero()),
                        started: SystemTime::now(),
                        input: input.clone(),
                    },
                );
            }
            Step::ToolResult {
                id,
                name,
                status,
                output,
                ..
            } => {
                let open = st.tools.remove(id).unwrap_or(OpenTool {
                    span: SpanId::from_bytes(nonzero()),
                    started: SystemTime::now(),
                    input: Value::Null,
                });
                let mut attrs = vec![
                    KeyValue::new("gen_ai.operation.name", "execute_tool"),
                    KeyValue::new("gen_ai.tool.name", name.clone()),
                    KeyValue::new("gen_ai.tool.call.id", id.clone()),
                    KeyValue::new("gen_ai.tool.type", "function"),
                ];
                let span_status = match status {
                    ToolStatus::Success => Status::Ok,
                    ToolStatus::Error => {
                        attrs.push(KeyValue::new("error.type", "tool_error"));
                        let message = match output {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        Status::error(self.export.cap(message))
                    }
                };
                if content {
                    attrs.push(KeyValue::new(
                        "gen_ai.tool.call.arguments",
                        self.export.cap(open.input.to_string()),
                    ));
                    attrs.push(KeyValue::new(
                        "gen_ai.tool.call.result",
                        self.export.cap(output.to_string()),
                    ));
                }
                let span = self.span(
                    &st,
                    open.span,
                    st.root,
                    SpanKind::Internal,
                    format!("execute_tool {name}"),
                    open.started,
                    attrs,
                    span_status,
                );
                st.spans.push(span);
            }
            Step::Error { kind, .. } => st.error_kind = Some(kind.clone()),
            Step::RunFinished {
                status,
                usage,
                reason,
                ..
            } => {
                let mut attrs = vec![
                    KeyValue::new("gen_ai.operation.name", "invoke_agent"),
                    KeyValue::new("gen_ai.agent.name", self.agent.clone()),
                    KeyValue::new("gen_ai.request.model", self.model.clone()),
                    KeyValue::new("orchestrator.run_id", self.run_id.clone()),
                ];
                if let Some(c) = &st.context_id {
                    attrs.push(KeyValue::new("gen_ai.conversation.id", c.clone()));
                }
                usage_attrs(&mut attrs, *usage);
                let span_status = match status {
                    RunStatus::Completed => Status::Ok,
                    RunStatus::Failed | RunStatus::Cancelled => {
                        let kind = if *status == RunStatus::Cancelled {
                            "cancelled".to_string()
                        } else {
                            st.error_kind.clone().unwrap_or_else(|| "failed".into())
                        };
                        attrs.push(KeyValue::new("error.type", kind.clone()));
                        Status::error(self.export.cap(reason.clone().unwrap_or(kind)))
                    }
                };
                if content {
                    attrs.push(KeyValue::new(
                        "gen_ai.input.messages",
                        self.messages("user", &st.input, ""),
                    ));
                    attrs.push(KeyValue::new(
                        "gen_ai.output.messages",
                        self.messages("assistant", &st.reply, ""),
                    ));
                }
                let root = self.span(
                    &st,
                    st.root,
                    SpanId::INVALID,
                    SpanKind::Internal,
                    format!("invoke_agent {}", self.agent),
                    st.started,
                    attrs,
                    span_status,
                );
                let mut spans = std::mem::take(&mut st.spans);
                spans.push(root);
                drop(st);
                self.export.submit(spans);
            }
        }
    }

    fn on_model_turn(&self, turn: &ModelTurn) {
        let mut st = lock(&self.state);
        let mut attrs = vec![
            KeyValue::new("gen_ai.operation.name", "chat"),
            KeyValue::new("gen_ai.request.model", self.model.clone()),
        ];
        usage_attrs(&mut attrs, turn.usage);
        let status = match &turn.error {
            None => Status::Unset,
            Some(kind) => {
                attrs.push(KeyValue::new("error.type", kind.clone()));
                Status::error(kind.clone())
            }
        };
        let text = std::mem::take(&mut st.turn_text);
        let reasoning = std::mem::take(&mut st.turn_reasoning);
        if self.export.content {
            attrs.push(KeyValue::new(
                "gen_ai.output.messages",
                self.messages("assistant", &text, &reasoning),
            ));
        }
        let span = self.span(
            &st,
            SpanId::from_bytes(nonzero()),
            st.root,
            SpanKind::Client,
            format!("chat {}", self.model),
            turn.started,
            attrs,
            status,
        );
        st.spans.push(span);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_resolve_as_the_specification_says() {
        let none = |_: &str| None;
        assert_eq!(OtlpConfig::resolve(None, none), None);
        assert_eq!(
            OtlpConfig::resolve(Some("http://h:4318"), none).as_deref(),
            Some("http://h:4318/v1/traces")
        );
        assert_eq!(
            OtlpConfig::resolve(Some("http://h:6006/v1/traces"), none).as_deref(),
            Some("http://h:6006/v1/traces")
        );
        let env = |k: &str| match k {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => {
                Some("https://cloud.langfuse.com/api/public/otel/".into())
            }
            _ => None,
        };
        assert_eq!(
            OtlpConfig::resolve(None, env).as_deref(),
            Some("https://cloud.langfuse.com/api/public/otel/v1/traces")
        );
        let both = |k: &str| match k {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://wrong".into()),
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" => Some("http://t/custom".into()),
            _ => None,
        };
        assert_eq!(
            OtlpConfig::resolve(None, both).as_deref(),
            Some("http://t/custom")
        );
    }
}
