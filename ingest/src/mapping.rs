//! GenAI spans → orchestrator events. Pure: a decoded export request and the
//! [`SpanIndex`] of spans seen before go in, event JSON and counts come out.
//!
//! | span | events |
//! | --- | --- |
//! | `invoke_agent` (or `invoke_*`, OpenInference `AGENT`) | `run_started` at its start, `run_finished` at its end |
//! | `execute_tool` (OpenInference `TOOL`) | `tool_use` at its start, `tool_result` at its end |
//! | `chat`, `text_completion`, `generate_content` (OpenInference `LLM`) | `reasoning`, `text_generation` at its end, from the output content |
//! | anything else | skipped and counted (`not_genai`) |
//!
//! ## Runs, and children that arrive first
//!
//! A span is exported when it ends, so a run's tool and model spans reach the
//! ingest before its `invoke_agent` span, often in an earlier request. Their
//! events are published at once, each with its span's own timestamp, under the
//! run of the nearest enclosing agent span *as far as the ingest knows the
//! ancestry* ([`SpanIndex`] remembers the parent of every span it has seen,
//! bounded). When an ancestor has not arrived yet, the child goes to the run of
//! its trace's root. That is why a root `invoke_agent` span (one without a
//! parent) has the trace id alone as its run id, and any other agent span the
//! trace id plus its span id: children that came early and the root agent's
//! `run_finished` meet in the same run. A trace whose root is not an agent span
//! (a LangGraph graph, an OpenAI Agents workflow, the application's own span)
//! gets its root run closed by its root span when children were shown under it.
//!
//! `parent_run_id` is the run of the nearest enclosing agent span, found the same way.

use std::collections::{HashMap, VecDeque};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{Span, status::StatusCode};
use serde_json::{Map, Value, json};

use crate::attrs;
use crate::content;

/// What kind of GenAI operation a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// An agent invocation: a run.
    Agent,
    /// A tool call.
    Tool,
    /// A model call.
    Model,
    /// Not a GenAI span.
    Other,
}

/// Reads the operation from `gen_ai.operation.name`, the span name's first word
/// (Strands and the conventions name spans `"{operation} {target}"`), or
/// OpenInference's `openinference.span.kind`.
pub fn operation(span: &Span) -> Operation {
    fn of(name: &str) -> Option<Operation> {
        match name {
            "invoke_agent" | "create_agent" => None,
            "execute_tool" => Some(Operation::Tool),
            "chat" | "text_completion" | "generate_content" => Some(Operation::Model),
            n if n.starts_with("invoke_") => Some(Operation::Agent),
            _ => None,
        }
    }
    fn agent_or(name: &str) -> Option<Operation> {
        if name == "invoke_agent" {
            Some(Operation::Agent)
        } else {
            of(name)
        }
    }
    if let Some(op) = attrs::string(&span.attributes, "gen_ai.operation.name")
        && let Some(found) = agent_or(&op)
    {
        return found;
    }
    let first_word = span.name.split(' ').next().unwrap_or_default();
    if let Some(found) = agent_or(first_word) {
        return found;
    }
    match attrs::string(&span.attributes, "openinference.span.kind")
        .map(|k| k.to_ascii_uppercase())
        .as_deref()
    {
        Some("AGENT") => Operation::Agent,
        Some("TOOL") => Operation::Tool,
        Some("LLM") => Operation::Model,
        _ => Operation::Other,
    }
}

/// A span's key: trace id and span id.
type SpanKey = ([u8; 16], [u8; 8]);

/// What the index remembers of a span.
#[derive(Debug, Clone)]
struct Known {
    parent: Option<[u8; 8]>,
    /// Set for agent spans: their run id and agent name.
    run: Option<(String, String)>,
}

/// Parents of recently seen spans (bounded, oldest forgotten first), so a
/// span can find its enclosing agent across export requests.
#[derive(Debug)]
pub struct SpanIndex {
    capacity: usize,
    spans: HashMap<SpanKey, Known>,
    order: VecDeque<SpanKey>,
    /// Token usage of model calls per run, for agent spans that carry none.
    usage: HashMap<String, (u64, u64)>,
    usage_order: VecDeque<String>,
    /// Root runs that children were shown under (closed by their root span).
    shown_roots: HashMap<[u8; 16], ()>,
    shown_order: VecDeque<[u8; 16]>,
}

impl SpanIndex {
    /// An index remembering at most `capacity` spans.
    pub fn new(capacity: usize) -> Self {
        SpanIndex {
            capacity: capacity.max(1),
            spans: HashMap::new(),
            order: VecDeque::new(),
            usage: HashMap::new(),
            usage_order: VecDeque::new(),
            shown_roots: HashMap::new(),
            shown_order: VecDeque::new(),
        }
    }

    /// Spans remembered now.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn insert(&mut self, key: SpanKey, known: Known) {
        if self.spans.insert(key, known).is_none() {
            self.order.push_back(key);
            while self.order.len() > self.capacity {
                if let Some(old) = self.order.pop_front() {
                    self.spans.remove(&old);
                }
            }
        }
    }

    fn add_usage(&mut self, run: &str, input: u64, output: u64) {
        if !self.usage.contains_key(run) {
            self.usage_order.push_back(run.to_string());
            while self.usage_order.len() > self.capacity {
                if let Some(old) = self.usage_order.pop_front() {
                    self.usage.remove(&old);
                }
            }
        }
        let entry = self.usage.entry(run.to_string()).or_default();
        entry.0 = entry.0.saturating_add(input);
        entry.1 = entry.1.saturating_add(output);
    }

    fn mark_root_shown(&mut self, trace: [u8; 16]) {
        if self.shown_roots.insert(trace, ()).is_none() {
            self.shown_order.push_back(trace);
            while self.shown_order.len() > self.capacity {
                if let Some(old) = self.shown_order.pop_front() {
                    self.shown_roots.remove(&old);
                }
            }
        }
    }

    /// The enclosing agent run of a span whose parent is `parent`: `(run_id,
    /// agent name)`, or the trace's root run when the ancestry is not known.
    fn enclosing_run(&self, trace: [u8; 16], mut parent: Option<[u8; 8]>) -> Enclosing {
        for _ in 0..256 {
            let Some(p) = parent else {
                return Enclosing::None;
            };
            match self.spans.get(&(trace, p)) {
                Some(Known {
                    run: Some(run),
                    parent: above,
                }) => return Enclosing::Agent(run.clone(), *above),
                Some(known) => parent = known.parent,
                None => return Enclosing::Root,
            }
        }
        Enclosing::Root
    }
}

enum Enclosing {
    /// The nearest enclosing agent span's run and agent name, and that agent
    /// span's own parent (to find the run's parent run).
    Agent((String, String), Option<[u8; 8]>),
    /// No agent above, as far as the ingest knows.
    None,
    /// An ancestor has not arrived: the trace's root run.
    Root,
}

/// Why spans were not mapped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MapCounts {
    /// Spans in the request.
    pub spans: u64,
    /// Spans that produced events.
    pub mapped: u64,
    /// Spans skipped as not GenAI (valid, nothing to show).
    pub skipped_not_genai: u64,
    /// Spans refused: trace or span id missing or malformed.
    pub rejected_bad_id: u64,
}

impl MapCounts {
    /// The `partial_success.error_message` for these counts (empty when all were mapped).
    pub fn message(&self) -> String {
        let mut parts = Vec::new();
        if self.rejected_bad_id > 0 {
            parts.push(format!(
                "{} spans rejected: trace_id must be 16 bytes and span_id 8 bytes, not all zero",
                self.rejected_bad_id
            ));
        }
        if self.skipped_not_genai > 0 {
            parts.push(format!(
                "{} spans skipped: not a GenAI agent, tool or model span",
                self.skipped_not_genai
            ));
        }
        parts.join("; ")
    }
}

/// One event to publish, with the time it sorts by.
#[derive(Debug, Clone)]
struct Pending {
    time_ns: u64,
    json: String,
}

/// The result of mapping one request: events in publish order, and counts.
#[derive(Debug, Default)]
pub struct Mapped {
    /// Event JSON objects (no `id`: the publish script adds it), oldest first.
    pub events: Vec<String>,
    /// What happened to the spans.
    pub counts: MapCounts,
}

fn id16(b: &[u8]) -> Option<[u8; 16]> {
    let a: [u8; 16] = b.try_into().ok()?;
    (a != [0; 16]).then_some(a)
}

fn id8(b: &[u8]) -> Option<[u8; 8]> {
    let a: [u8; 8] = b.try_into().ok()?;
    (a != [0; 8]).then_some(a)
}

/// The run id of an agent span (see the module docs for why roots differ).
pub fn agent_run_id(trace: &[u8; 16], span: &[u8; 8], is_root: bool) -> String {
    if is_root {
        root_run_id(trace)
    } else {
        format!("otel-{}-{}", attrs::hex(trace), attrs::hex(span))
    }
}

/// The run id of a trace's root.
pub fn root_run_id(trace: &[u8; 16]) -> String {
    format!("otel-{}", attrs::hex(trace))
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

fn duration_ms(span: &Span) -> u64 {
    span.end_time_unix_nano
        .saturating_sub(span.start_time_unix_nano)
        / 1_000_000
}

fn failed(span: &Span) -> bool {
    span.status
        .as_ref()
        .is_some_and(|s| s.code == StatusCode::Error as i32)
}

/// Why a failed span failed: `error.type`, else the status message.
fn reason(span: &Span) -> Option<String> {
    attrs::string(&span.attributes, "error.type").or_else(|| {
        span.status
            .as_ref()
            .map(|s| s.message.clone())
            .filter(|m| !m.is_empty())
    })
}

/// Token usage, current names first, then the older ones and OpenInference's.
fn usage(span: &Span) -> Option<(u64, u64)> {
    let a = &span.attributes;
    let input = attrs::first_count(
        a,
        &[
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
        ],
    );
    let output = attrs::first_count(
        a,
        &[
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
        ],
    );
    (input.is_some() || output.is_some()).then(|| (input.unwrap_or(0), output.unwrap_or(0)))
}

fn model(span: &Span) -> Option<String> {
    attrs::first_string(
        &span.attributes,
        &[
            "gen_ai.response.model",
            "gen_ai.request.model",
            "llm.model_name",
        ],
    )
}

struct Envelope<'a> {
    agent: &'a str,
    run_id: &'a str,
    parent_run_id: Option<&'a str>,
    trace: &'a [u8; 16],
    span: &'a [u8; 8],
}

fn event(env: &Envelope<'_>, kind: &str, time_ns: u64, fields: Value) -> Pending {
    let mut map = Map::new();
    map.insert("type".into(), Value::String(kind.into()));
    map.insert("agent".into(), Value::String(env.agent.into()));
    map.insert("run_id".into(), Value::String(env.run_id.into()));
    if let Some(p) = env.parent_run_id {
        map.insert("parent_run_id".into(), Value::String(p.into()));
    }
    map.insert("timestamp".into(), json!(secs(time_ns)));
    if let Value::Object(f) = fields {
        map.extend(f);
    }
    map.insert("trace_id".into(), Value::String(attrs::hex(env.trace)));
    map.insert("span_id".into(), Value::String(attrs::hex(env.span)));
    Pending {
        time_ns,
        json: Value::Object(map).to_string(),
    }
}

/// Maps one export request. Spans of every resource are indexed first, so the
/// ancestry inside one request is always complete; then each span becomes its
/// events. Events are ordered by their timestamps (stable, so a span's own
/// events keep their order).
pub fn map_request(request: &ExportTraceServiceRequest, index: &mut SpanIndex) -> Mapped {
    let mut counts = MapCounts::default();
    let mut valid: Vec<Valid<'_>> = Vec::new();
    // Pass 1: index every valid span, agent spans with their run.
    for rs in &request.resource_spans {
        let service = service_name(rs);
        for ss in &rs.scope_spans {
            for span in &ss.spans {
                counts.spans += 1;
                let (Some(trace), Some(id)) = (id16(&span.trace_id), id8(&span.span_id)) else {
                    counts.rejected_bad_id += 1;
                    continue;
                };
                let parent = id8(&span.parent_span_id);
                let op = operation(span);
                let run = (op == Operation::Agent).then(|| {
                    let name = attrs::string(&span.attributes, "gen_ai.agent.name")
                        .unwrap_or_else(|| service.clone());
                    (agent_run_id(&trace, &id, parent.is_none()), name)
                });
                index.insert((trace, id), Known { parent, run });
                valid.push(Valid {
                    span,
                    trace,
                    id,
                    parent,
                    op,
                    service: service.clone(),
                });
            }
        }
    }
    // Pass 2: events. Model spans first add their usage to their run, so an
    // agent span in the same request that carries none still reports a total.
    let mut pending = Vec::new();
    for v in &valid {
        if v.op == Operation::Model
            && let Some((i, o)) = usage(v.span)
        {
            let run = match index.enclosing_run(v.trace, v.parent) {
                Enclosing::Agent((run, _), _) => run,
                Enclosing::None | Enclosing::Root => root_run_id(&v.trace),
            };
            index.add_usage(&run, i, o);
        }
    }
    for v in &valid {
        if map_span(v, index, &mut pending) {
            counts.mapped += 1;
        } else {
            counts.skipped_not_genai += 1;
        }
    }
    pending.sort_by_key(|p| p.time_ns);
    Mapped {
        events: pending.into_iter().map(|p| p.json).collect(),
        counts,
    }
}

/// A span with valid ids, and what pass 1 learnt of it.
struct Valid<'a> {
    span: &'a Span,
    trace: [u8; 16],
    id: [u8; 8],
    parent: Option<[u8; 8]>,
    op: Operation,
    service: String,
}

/// Appends the events of one span; false when it is not a GenAI span (and
/// not a root that closes a root run).
fn map_span(v: &Valid<'_>, index: &mut SpanIndex, out: &mut Vec<Pending>) -> bool {
    let span = v.span;
    let enclosing = index.enclosing_run(v.trace, v.parent);
    if v.op == Operation::Agent {
        let is_root = v.parent.is_none();
        let run_id = agent_run_id(&v.trace, &v.id, is_root);
        let agent = attrs::string(&span.attributes, "gen_ai.agent.name")
            .unwrap_or_else(|| v.service.clone());
        let parent_run = run_of(&enclosing, &v.trace);
        let env = Envelope {
            agent: &agent,
            run_id: &run_id,
            parent_run_id: parent_run.as_deref(),
            trace: &v.trace,
            span: &v.id,
        };
        let mut started = Map::new();
        started.insert(
            "input".into(),
            Value::String(content::input(span).unwrap_or_default()),
        );
        started.insert("source".into(), Value::String("otel".into()));
        if let Some(m) = model(span) {
            started.insert("model".into(), Value::String(m));
        }
        out.push(event(
            &env,
            "run_started",
            span.start_time_unix_nano,
            Value::Object(started),
        ));
        out.push(run_finished(&env, span, index.usage.get(&run_id).copied()));
        return true;
    }
    // The protocol sets `parent_run_id` on every event of a child run, not
    // only on its start and end: a monitor that sees a child's tool call
    // first still folds it under the parent.
    let (run_id, agent, parent_run) = match enclosing {
        Enclosing::Agent(run, above) => {
            let parent =
                run_of(&index.enclosing_run(v.trace, above), &v.trace).filter(|p| *p != run.0);
            (run.0, run.1, parent)
        }
        Enclosing::None | Enclosing::Root => {
            index.mark_root_shown(v.trace);
            (root_run_id(&v.trace), v.service.clone(), None)
        }
    };
    let env = Envelope {
        agent: &agent,
        run_id: &run_id,
        parent_run_id: parent_run.as_deref(),
        trace: &v.trace,
        span: &v.id,
    };
    match v.op {
        Operation::Tool => {
            let name = attrs::first_string(&span.attributes, &["gen_ai.tool.name", "tool.name"])
                .or_else(|| span.name.strip_prefix("execute_tool ").map(str::to_string))
                .unwrap_or_else(|| span.name.clone());
            let call_id =
                attrs::first_string(&span.attributes, &["gen_ai.tool.call.id", "tool_call.id"])
                    .unwrap_or_else(|| format!("otel-{}", attrs::hex(&v.id)));
            let tool_failed = failed(span)
                || attrs::string(&span.attributes, "gen_ai.tool.status")
                    .is_some_and(|s| s.eq_ignore_ascii_case("error"));
            let output = content::tool_output(span)
                .or_else(|| reason(span).map(Value::String))
                .unwrap_or(Value::Null);
            out.push(event(
                &env,
                "tool_use",
                span.start_time_unix_nano,
                json!({
                    "tool_name": name,
                    "tool_input": content::tool_input(span).unwrap_or_else(|| json!({})),
                    "tool_use_id": call_id,
                }),
            ));
            out.push(event(
                &env,
                "tool_result",
                span.end_time_unix_nano,
                json!({
                    "tool_use_id": call_id,
                    "tool_name": name,
                    "status": if tool_failed { "error" } else { "success" },
                    "output": output,
                    "duration_ms": duration_ms(span),
                }),
            ));
            true
        }
        Operation::Model => {
            let reply = content::reply(span);
            for r in reply.reasoning {
                out.push(event(
                    &env,
                    "reasoning",
                    span.end_time_unix_nano,
                    json!({ "content": r }),
                ));
            }
            for t in reply.text {
                out.push(event(
                    &env,
                    "text_generation",
                    span.end_time_unix_nano,
                    json!({ "data": t }),
                ));
            }
            true
        }
        Operation::Agent => true,
        Operation::Other => {
            // A root that is not an agent span closes the root run that its
            // children were shown under.
            if v.parent.is_none() && index.shown_roots.remove(&v.trace).is_some() {
                let mut started = Map::new();
                started.insert(
                    "input".into(),
                    Value::String(content::input(span).unwrap_or_default()),
                );
                started.insert("source".into(), Value::String("otel".into()));
                out.push(event(
                    &env,
                    "run_started",
                    span.start_time_unix_nano,
                    Value::Object(started),
                ));
                out.push(run_finished(&env, span, index.usage.get(&run_id).copied()));
                return true;
            }
            false
        }
    }
}

/// The run an [`Enclosing`] names: an agent's, the trace's root run when the
/// ancestry is not known, or none.
fn run_of(enclosing: &Enclosing, trace: &[u8; 16]) -> Option<String> {
    match enclosing {
        Enclosing::Agent((run, _), _) => Some(run.clone()),
        Enclosing::Root => Some(root_run_id(trace)),
        Enclosing::None => None,
    }
}

fn run_finished(env: &Envelope<'_>, span: &Span, from_children: Option<(u64, u64)>) -> Pending {
    let is_failed = failed(span);
    let mut fields = Map::new();
    fields.insert(
        "status".into(),
        Value::String(if is_failed { "failed" } else { "completed" }.into()),
    );
    fields.insert("duration_ms".into(), json!(duration_ms(span)));
    if let Some((i, o)) = usage(span).or(from_children) {
        fields.insert(
            "usage".into(),
            json!({"input_tokens": i, "output_tokens": o}),
        );
    }
    if is_failed && let Some(r) = reason(span) {
        fields.insert("reason".into(), Value::String(r));
    }
    if let Some(m) = model(span) {
        fields.insert("model".into(), Value::String(m));
    }
    event(
        env,
        "run_finished",
        span.end_time_unix_nano,
        Value::Object(fields),
    )
}

fn service_name(rs: &opentelemetry_proto::tonic::trace::v1::ResourceSpans) -> String {
    rs.resource
        .as_ref()
        .and_then(|r| attrs::string(&r.attributes, "service.name"))
        .unwrap_or_else(|| "unknown_service".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Status, span};

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.into())),
            }),
        }
    }
    fn kvi(k: &str, v: i64) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::IntValue(v)),
            }),
        }
    }
    const T: [u8; 16] = [7; 16];
    fn sp(
        id: u8,
        parent: Option<u8>,
        name: &str,
        start: u64,
        end: u64,
        attrs: Vec<KeyValue>,
    ) -> Span {
        Span {
            trace_id: T.to_vec(),
            span_id: vec![id; 8],
            parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
            name: name.into(),
            start_time_unix_nano: start,
            end_time_unix_nano: end,
            attributes: attrs,
            ..Default::default()
        }
    }
    fn req(spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", "svc")],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }
    fn parse(events: &[String]) -> Vec<Value> {
        events
            .iter()
            .map(|e| serde_json::from_str(e).expect("event json"))
            .collect()
    }

    /// A Strands-shaped run, children exported in an earlier request than
    /// their agent span, older attribute names and the event form of content.
    #[test]
    fn strands_run_split_across_requests_meets_in_one_run() {
        let mut index = SpanIndex::new(1000);
        let mut tool = sp(
            3,
            Some(2),
            "execute_tool calc",
            2_000_000_000,
            2_500_000_000,
            vec![
                kv("gen_ai.operation.name", "execute_tool"),
                kv("gen_ai.tool.name", "calc"),
                kv("gen_ai.tool.call.id", "t1"),
                kv("gen_ai.tool.status", "success"),
            ],
        );
        tool.events.push(span::Event {
            name: "gen_ai.tool.message".into(),
            attributes: vec![kv("content", r#"{"x":1}"#)],
            ..Default::default()
        });
        let mut chat = sp(
            4,
            Some(2),
            "chat",
            1_000_000_000,
            1_900_000_000,
            vec![
                kv("gen_ai.operation.name", "chat"),
                kv("gen_ai.request.model", "m1"),
                kvi("gen_ai.usage.prompt_tokens", 10),
                kvi("gen_ai.usage.completion_tokens", 5),
            ],
        );
        chat.events.push(span::Event {
            name: "gen_ai.choice".into(),
            attributes: vec![kv(
                "message",
                r#"[{"reasoningContent":{"reasoningText":{"text":"hmm"}}},{"text":"hello"}]"#,
            )],
            ..Default::default()
        });
        let first = map_request(&req(vec![chat, tool]), &mut index);
        assert_eq!(first.counts.mapped, 2);
        let ev = parse(&first.events);
        let types: Vec<&str> = ev
            .iter()
            .map(|e| e["type"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            types,
            ["reasoning", "text_generation", "tool_use", "tool_result"]
        );
        let root = root_run_id(&T);
        assert!(ev.iter().all(|e| e["run_id"] == root.as_str()));
        assert_eq!(ev[2]["tool_input"], serde_json::json!({"x": 1}));
        assert_eq!(ev[3]["duration_ms"], 500);

        // The cycle span and then the root agent span arrive later.
        let cycle = sp(
            2,
            Some(1),
            "execute_event_loop_cycle",
            900_000_000,
            2_600_000_000,
            vec![],
        );
        let mut agent = sp(
            1,
            None,
            "invoke_agent helper",
            500_000_000,
            3_000_000_000,
            vec![
                kv("gen_ai.operation.name", "invoke_agent"),
                kv("gen_ai.agent.name", "helper"),
            ],
        );
        agent.events.push(span::Event {
            name: "gen_ai.user.message".into(),
            attributes: vec![kv("content", r#"[{"text":"add 1"}]"#)],
            ..Default::default()
        });
        agent.status = Some(Status {
            code: StatusCode::Error as i32,
            message: "boom".into(),
        });
        let second = map_request(&req(vec![cycle, agent]), &mut index);
        assert_eq!(second.counts.skipped_not_genai, 1);
        let ev = parse(&second.events);
        assert_eq!(ev[0]["type"], "run_started");
        assert_eq!(ev[0]["input"], "add 1");
        assert_eq!(ev[0]["agent"], "helper");
        assert_eq!(ev[1]["type"], "run_finished");
        assert_eq!(ev[1]["run_id"], root.as_str());
        assert_eq!(ev[1]["status"], "failed");
        assert_eq!(ev[1]["reason"], "boom");
        assert_eq!(ev[1]["duration_ms"], 2500);
        assert_eq!(
            ev[1]["usage"],
            serde_json::json!({"input_tokens": 10, "output_tokens": 5})
        );
        assert!(ev[0].get("parent_run_id").is_none());
    }

    #[test]
    fn nested_agent_gets_parent_run_and_its_children() {
        let mut index = SpanIndex::new(1000);
        let outer = sp(
            1,
            None,
            "invoke_agent outer",
            0,
            10,
            vec![kv("gen_ai.operation.name", "invoke_agent")],
        );
        let tool = sp(
            2,
            Some(1),
            "execute_tool inner",
            1,
            9,
            vec![kv("gen_ai.operation.name", "execute_tool")],
        );
        let inner = sp(
            3,
            Some(2),
            "invoke_agent inner",
            2,
            8,
            vec![kv("gen_ai.agent.name", "inner")],
        );
        let chat = sp(
            4,
            Some(3),
            "chat m",
            3,
            7,
            vec![kv("llm.output_messages.0.message.content", "hi")],
        );
        let out = map_request(&req(vec![chat, inner, tool, outer]), &mut index);
        let ev = parse(&out.events);
        let inner_run = agent_run_id(&T, &[3; 8], false);
        let text = ev
            .iter()
            .find(|e| e["type"] == "text_generation")
            .expect("text");
        assert_eq!(text["run_id"], inner_run.as_str());
        assert_eq!(text["agent"], "inner");
        assert_eq!(text["parent_run_id"], root_run_id(&T).as_str());
        let started = ev
            .iter()
            .find(|e| e["type"] == "run_started" && e["agent"] == "inner")
            .expect("inner run");
        assert_eq!(started["parent_run_id"], root_run_id(&T).as_str());
        let tool_use = ev.iter().find(|e| e["type"] == "tool_use").expect("tool");
        assert_eq!(tool_use["run_id"], root_run_id(&T).as_str());
        assert_eq!(tool_use["agent"], "svc");
        assert!(tool_use.get("parent_run_id").is_none(), "{tool_use}");
    }

    #[test]
    fn bad_ids_are_rejected_and_unknown_spans_skipped() {
        let mut index = SpanIndex::new(10);
        let mut no_trace = sp(1, None, "chat", 0, 1, vec![]);
        no_trace.trace_id.clear();
        let mut zero_span = sp(2, None, "chat", 0, 1, vec![]);
        zero_span.span_id = vec![0; 8];
        let other = sp(3, Some(9), "http get", 0, 1, vec![]);
        let out = map_request(&req(vec![no_trace, zero_span, other]), &mut index);
        assert_eq!(out.counts.rejected_bad_id, 2);
        assert_eq!(out.counts.skipped_not_genai, 1);
        assert!(out.events.is_empty());
        assert!(out.counts.message().contains("2 spans rejected"));
    }

    #[test]
    fn openinference_kinds_and_index_bound() {
        let mut index = SpanIndex::new(2);
        let llm = sp(
            5,
            None,
            "ChatOpenAI",
            0,
            1,
            vec![kv("openinference.span.kind", "LLM")],
        );
        assert_eq!(operation(&llm), Operation::Model);
        let t = sp(
            6,
            None,
            "search",
            0,
            1,
            vec![
                kv("openinference.span.kind", "TOOL"),
                kv("tool.name", "search"),
            ],
        );
        assert_eq!(operation(&t), Operation::Tool);
        let a = sp(
            7,
            None,
            "Agent",
            0,
            1,
            vec![kv("openinference.span.kind", "AGENT")],
        );
        assert_eq!(operation(&a), Operation::Agent);
        let out = map_request(&req(vec![llm, t, a]), &mut index);
        assert_eq!(index.len(), 2);
        assert_eq!(out.counts.mapped, 3);
        let ev = parse(&out.events);
        assert!(
            ev.iter()
                .any(|e| e["type"] == "tool_use" && e["tool_name"] == "search")
        );
    }
}
