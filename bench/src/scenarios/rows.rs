//! The table rows: each figure with the method that produced it and, where
//! the issue sets one, its target.

use crate::report::{Report, Verdict, thousands};
use crate::scenarios::agent_publisher::{AgentOpts, AgentResult};
use crate::scenarios::ceiling::{CeilingResult, lossless, median_rate, total_lost};
use crate::scenarios::fanout::{FanoutOpts, FanoutResult, MAX_LAG};
use crate::scenarios::ingest::{BATCH, IngestOpts, IngestResult};
use crate::scenarios::latency::{LatencyOpts, LatencyResult};
use crate::scenarios::memory::{MemoryOpts, MemoryResult};
use crate::scenarios::otlp_export::{OtlpOpts, OtlpResult};
use crate::scenarios::replicas::{ReplicasOpts, ReplicasResult};
use crate::scenarios::tui_cost::TuiResult;
use crate::scenarios::tui_views::{EVENTS_PER_RUN, ViewsResult, ViewsRun};
use orchestrator_events::DEFAULT_MAX_FIELD_BYTES;

/// Bridge CPU per delivered frame at 100 clients, ns.
pub const TARGET_CPU_NS: f64 = 1_000.0;
/// 1-client rate over the PUBLISH ceiling.
pub const TARGET_RATIO: f64 = 0.30;
/// p99 at 100 clients × 1,000 events/s, µs.
pub const TARGET_P99_US: f64 = 5_000.0;
/// Bytes per idle connection (8 KiB).
pub const TARGET_CONN_BYTES: f64 = 8_192.0;
/// One frame with 100,000 events buffered, µs.
pub const TARGET_DRAW_US: f64 = 2_000.0;

fn ms(us: f64) -> String {
    format!("{:.2} ms", us / 1000.0)
}

/// Fan-out rows.
pub fn fanout(report: &mut Report, results: &[FanoutResult], opts: &FanoutOpts) {
    for r in results {
        let (ok, n) = r.zero_loss_runs();
        report.row(
            "fan-out",
            format!("sustained rate, {} client(s)", r.clients),
            if r.sustained_rate > 0.0 {
                format!(
                    "{} ev/s; delivered {} ev/s = {} frames/s; {ok}/{n} runs zero-loss; next step failed {}",
                    thousands(r.sustained_rate),
                    thousands(r.median_eps()),
                    thousands(r.median_fps()),
                    r.limit,
                )
            } else {
                format!("no rate passed ({})", r.limit)
            },
            None,
            format!(
                "publish script (XADD+PUBLISH) paced on a 1 ms schedule, ~200 B events; {} s search trials (×2/÷2, bisect to 15 %, ≤{} trials) then {n}×{} s at the rate found; pass = every client got every seq once, no drop notice, no disconnect, last event ≤{} ms after publication; delivered = median over the {n} runs",
                opts.search_secs,
                opts.max_trials,
                opts.confirm_secs,
                MAX_LAG.as_millis()
            ),
        );
        let cpu = r.median_cpu_ns();
        let target = (r.clients == 100).then(|| {
            (
                format!("≤ {:.0} ns", TARGET_CPU_NS),
                Verdict::from(cpu > 0.0 && cpu <= TARGET_CPU_NS),
            )
        });
        report.row(
            "fan-out",
            format!("bridge CPU per delivered frame, {} client(s)", r.clients),
            format!("{cpu:.0} ns"),
            target,
            format!(
                "bridge utime+stime from /proc/<pid>/stat over each run ÷ frames delivered (all clients); median of the {n} runs at the sustained rate"
            ),
        );
    }
}

/// Reference ceiling rows (and the ratio to the 1-client fan-out rate).
pub fn ceiling(report: &mut Report, c: Option<&CeilingResult>, one_client: Option<&FanoutResult>) {
    let Some(c) = c else { return };
    let publish = median_rate(&c.publish);
    let script = median_rate(&c.script);
    let bridge = median_rate(&c.bridge);
    let runs = c.publish.len();
    report.row(
        "ceiling",
        "Redis PUBLISH → 1 subscriber",
        format!("{} msg/s (lost {})", thousands(publish), total_lost(&c.publish)),
        None,
        format!(
            "plain PUBLISH of ~200 B messages pipelined {} per round trip flat out on one connection; one redis-rs async subscriber counts; received ÷ (last receipt − first send); median of {runs}",
            c.pipeline
        ),
    );
    report.row(
        "ceiling",
        "publish script (XADD+PUBLISH) → 1 subscriber",
        format!(
            "{} ev/s (lost {})",
            thousands(script),
            total_lost(&c.script)
        ),
        None,
        format!(
            "our publish script flat out, {} events per call, same subscriber; median of {runs}",
            c.pipeline
        ),
    );
    let (ok, all) = lossless(&c.bridge);
    let causes: Vec<&str> = c
        .bridge
        .iter()
        .filter_map(|r| r.loss_cause.as_deref())
        .collect();
    report.row(
        "ceiling",
        "plain PUBLISH flat out → bridge → 1 WebSocket client",
        if ok > 0 {
            format!(
                "{} ev/s in the {ok}/{all} runs without loss{}",
                thousands(bridge),
                if ok < all {
                    format!("; {} lost in the others", thousands(total_lost(&c.bridge) as f64))
                } else {
                    String::new()
                }
            )
        } else {
            format!("every run lost events ({} in all)", thousands(total_lost(&c.bridge) as f64))
        },
        None,
        format!(
            "the same PUBLISH blast ({} × {} messages, unpaced) on the bridge's channel, received by one WebSocket client; median over lossless runs{}",
            all,
            thousands(c.bridge.first().map(|r| r.sent as f64).unwrap_or(0.0)),
            if causes.is_empty() {
                String::new()
            } else {
                format!("; losses: {}", causes.join(" / "))
            }
        ),
    );
    if let Some(one) = one_client
        && publish > 0.0
    {
        let ratio = one.sustained_rate / publish;
        report.row(
            "ceiling",
            "bridge 1-client sustained rate ÷ Redis PUBLISH ceiling",
            format!("{:.0} %", ratio * 100.0),
            Some((
                format!("≥ {:.0} %", TARGET_RATIO * 100.0),
                Verdict::from(ratio >= TARGET_RATIO),
            )),
            "fan-out 1-client sustained rate (zero loss, paced, through the publish script) ÷ median PUBLISH ceiling, same run, same box",
        );
        if bridge > 0.0 {
            report.row(
                "ceiling",
                "bridge flat-out 1-client rate ÷ Redis PUBLISH ceiling",
                format!("{:.0} %", bridge / publish * 100.0),
                None,
                "same publisher (plain PUBLISH blast) with and without the bridge in the path: the bridge's own overhead",
            );
        }
    }
}

/// Latency rows.
pub fn latency(report: &mut Report, results: &[LatencyResult], opts: &LatencyOpts) {
    for r in results {
        let value = match (r.p50(), r.p99(), r.p999()) {
            (Some(a), Some(b), Some(c)) => format!(
                "p50 {} / p99 {} / p99.9 {}; lost+dup {}",
                ms(a),
                ms(b),
                ms(c),
                r.faults()
            ),
            _ => "no samples".into(),
        };
        let target = (r.rate == 1_000.0 && r.clients == 100).then(|| {
            (
                "p99 < 5 ms, zero loss".to_string(),
                Verdict::from(r.p99().is_some_and(|p| p < TARGET_P99_US) && r.faults() == 0),
            )
        });
        report.row(
            "latency",
            format!("publish → receipt, {} clients × {} ev/s", r.clients, thousands(r.rate)),
            value,
            target,
            format!(
                "t_ns (monotonic, taken before the script call) carried in each event, minus receipt time in each client task; percentiles over all clients' events of a run; median of {} runs of {} s",
                opts.runs, opts.secs
            ),
        );
        report.row(
            "latency",
            format!(
                "bridge CPU per delivered frame, {} clients × {} ev/s",
                r.clients,
                thousands(r.rate)
            ),
            format!("{:.0} ns", r.cpu_ns()),
            None,
            format!(
                "/proc/<pid>/stat utime+stime over the run ÷ frames delivered; median of {}",
                opts.runs
            ),
        );
    }
}

/// Memory rows.
pub fn memory(report: &mut Report, results: &[MemoryResult], opts: &MemoryOpts) {
    for r in results {
        let b = r.median_bytes();
        report.row(
            "memory",
            format!("bridge RSS per idle connection, {} clients", thousands(r.clients as f64)),
            format!("{} B (base RSS {:.1} MiB)", thousands(b), r.median_base_kib() / 1024.0),
            Some((
                "< 8 KiB".into(),
                Verdict::from(b > 0.0 && b < TARGET_CONN_BYTES),
            )),
            format!(
                "fresh bridge per run; VmRSS (/proc/<pid>/status) with N idle clients (hello received, /healthz counts N, +0.5 s) minus VmRSS before; ÷ N; median of {}",
                opts.runs
            ),
        );
    }
}

/// TUI rows.
pub fn tui(report: &mut Report, r: &TuiResult) {
    let n = r.runs.len();
    let events = thousands(r.events as f64);
    report.row(
        "tui",
        format!("ingest {events} events"),
        format!(
            "{:.0} ms ({:.2} µs/event)",
            r.ingest_ms(),
            r.ingest_ms() * 1000.0 / r.events.max(1) as f64
        ),
        None,
        format!("Frame::parse (JSON) + App::ingest for each ~200 B agent event, max_events = {events}; median of {n}"),
    );
    let p50 = r.draw_p50_us();
    report.row(
        "tui",
        format!("draw one frame, {events} buffered, {}×{}", r.size.0, r.size.1),
        format!(
            "p50 {} / p99 {} wall, p99 {} CPU (first draw {})",
            ms(p50),
            ms(r.draw_p99_us()),
            ms(r.draw_cpu_p99_us()),
            ms(r.first_draw_us())
        ),
        Some((
            "< 2 ms".into(),
            Verdict::from(p50 > 0.0 && p50 < TARGET_DRAW_US && r.draw_cpu_p99_us() < TARGET_DRAW_US),
        )),
        format!(
            "Terminal<TestBackend>::draw(ui::draw) including the diff; one new event ingested between draws; {} draws per run, wall clock and thread CPU time (CLOCK_THREAD_CPUTIME_ID: wall minus preemption by other processes); medians of {n} runs' percentiles; target checked on wall p50 and CPU p99",
            r.runs.first().and_then(|x| x.draw_us.map(|p| p.count)).unwrap_or(0)
        ),
    );
    let heap = r
        .heap_bytes()
        .map(|b| {
            format!(
                "{:.1} MiB heap ({:.0} B/event)",
                b / 1048576.0,
                b / r.events.max(1) as f64
            )
        })
        .unwrap_or_else(|| "heap n/a".into());
    let rss = r.runs.first().map(|x| x.rss_growth_kib).unwrap_or(0);
    report.row(
        "tui",
        format!("memory with {events} buffered"),
        format!("{heap}; RSS +{:.1} MiB", rss as f64 / 1024.0),
        None,
        "counting global allocator: live bytes after ingest minus before (the app and its events); RSS growth of the first run",
    );
}

/// Rows of the dashboard views (issue 13); `cost` gives the full ingest figure.
pub fn tui_views(report: &mut Report, r: &ViewsResult, cost: Option<&TuiResult>) {
    let n = r.reps.len();
    let runs = thousands(r.runs as f64);
    let (w, h) = r.size;
    for view in ["runs", "tools"] {
        let wall = |x: &ViewsRun| {
            if view == "runs" {
                x.runs_us
            } else {
                x.tools_us
            }
        };
        let cpu = |x: &ViewsRun| {
            if view == "runs" {
                x.runs_cpu_us
            } else {
                x.tools_cpu_us
            }
        };
        let p50 = r.med(|x| wall(x).map(|p| p.p50 as f64));
        let p99 = r.med(|x| wall(x).map(|p| p.p99 as f64));
        let cpu99 = r.med(|x| cpu(x).map(|p| p.p99 as f64));
        report.row(
            "tui",
            format!("{view} view: one frame, {runs} runs, {w}×{h}"),
            format!("p50 {} / p99 {} wall, p99 {} CPU", ms(p50), ms(p99), ms(cpu99)),
            Some((
                "median < 2 ms".into(),
                Verdict::from(p50 > 0.0 && p50 < TARGET_DRAW_US),
            )),
            format!(
                "App with {runs} runs of {EVENTS_PER_RUN} events (1 in 10 a child, 1 in 7 failed, 6 tool names), Action::Open(Page::{}), Terminal<TestBackend>::draw(ui::draw) incl. the diff; one new event ingested between draws; {} draws per run; medians of {n} runs' percentiles",
                if view == "runs" { "Runs" } else { "Tools" },
                r.reps.first().and_then(|x| wall(x).map(|p| p.count)).unwrap_or(0)
            ),
        );
    }
    let per_run = r.med(|x| x.bytes_per_run);
    report.row(
        "tui",
        "runs/tools aggregation: memory per run",
        format!(
            "{per_run:.0} B/run ({:.1} MiB at {runs})",
            per_run * r.runs as f64 / 1048576.0
        ),
        None,
        "counting global allocator: live bytes held by a Runs after observing the runs' events, ÷ runs held",
    );
    let observe = r.med(|x| Some(x.observe_ns));
    let full_ns = cost.map(|c| c.ingest_ms() * 1e6 / c.events.max(1) as f64);
    let value = match full_ns {
        Some(full) => format!(
            "{:.2} µs with / {:.2} µs without (aggregation {observe:.0} ns, +{:.0} %)",
            full / 1000.0,
            (full - observe) / 1000.0,
            observe * 100.0 / (full - observe).max(1.0)
        ),
        None => format!("aggregation {observe:.0} ns/event"),
    };
    report.row(
        "tui",
        "ingest per event with / without the runs/tools aggregation",
        value,
        full_ns.map(|full| {
            (
                "must not double".into(),
                Verdict::from(observe < full - observe),
            )
        }),
        format!(
            "the aggregation is one call per event (Runs::observe); timed alone over the {} agent events of the ingest row, parsed beforehand; without = that row's ingest per event minus it; median of {n}",
            cost.map_or(0, |c| c.events)
        ),
    );
}

/// Agent publisher rows.
pub fn agent(report: &mut Report, r: &AgentResult, opts: &AgentOpts) {
    let n = r.runs.len();
    let dropped: u64 = r.runs.iter().map(|x| x.dropped).sum();
    report.row(
        "agent",
        "publisher throughput",
        format!(
            "{} ev/s (mean batch {:.0}, dropped {dropped})",
            thousands(r.med(|x| x.events_per_sec)),
            r.med(|x| x.published as f64 / x.batches.max(1) as f64)
        ),
        None,
        format!(
            "orchestrator_agent::Publisher on a private Redis: {} publish_event calls as fast as possible, until Redis confirmed all; events ÷ that time; median of {n}",
            thousands(opts.events as f64)
        ),
    );
    report.row(
        "agent",
        "publish overhead per event (caller)",
        format!("{:.0} ns", r.med(|x| x.call_ns)),
        None,
        format!(
            "wall time of the publish_event loop (serialise + queue push) ÷ events; ~{} B events; median of {n}",
            r.runs.first().map(|x| x.event_bytes).unwrap_or(0)
        ),
    );
    let plain = r.med(|x| x.serialize_ns);
    let capped = r.med(|x| x.serialize_capped_ns);
    report.row(
        "agent",
        "field cap when nothing is cut (serialise)",
        format!(
            "{capped:.0} ns vs {plain:.0} ns uncapped ({:.2}×)",
            capped / plain.max(1e-9)
        ),
        None,
        format!(
            "capped_json(event, {DEFAULT_MAX_FIELD_BYTES}) vs Event::to_json over the same events, back to back in each run; median of {n}"
        ),
    );
    report.row(
        "agent",
        "CPU per event: agent process / Redis",
        format!(
            "{:.0} ns / {:.0} ns",
            r.med(|x| x.agent_cpu_ns),
            r.med(|x| x.redis_cpu_ns)
        ),
        None,
        format!("/proc/self/stat and /proc/<redis pid>/stat utime+stime over the run ÷ events; median of {n}"),
    );
}

/// The publisher with `--min-replicas` 0 and 1: the latency and rate it costs.
pub fn replicas(report: &mut Report, r: &ReplicasResult, opts: &ReplicasOpts) {
    let n = opts.runs;
    let (m0, m1) = (
        r.med(0, |x| x.batch_median_us),
        r.med(1, |x| x.batch_median_us),
    );
    report.row(
        "agent",
        "--min-replicas 0 / 1: latency per batch (median, p99)",
        format!(
            "{m0:.0} / {m1:.0} µs (+{:.0} µs); p99 {:.0} / {:.0} µs",
            m1 - m0,
            r.med(0, |x| x.batch_p99_us),
            r.med(1, |x| x.batch_p99_us)
        ),
        None,
        format!(
            "{} batches of {} events, one at a time, each from publish to confirmed (wait_idle), master + 1 redis-server --replicaof on this host; median of {n} runs per mode, modes alternating",
            opts.batches, opts.batch_events
        ),
    );
    let (e0, e1) = (
        r.med(0, |x| x.events_per_sec),
        r.med(1, |x| x.events_per_sec),
    );
    let shortfalls: u64 = r.runs.iter().map(|x| x.shortfalls).sum();
    report.row(
        "agent",
        "--min-replicas 0 / 1: publisher throughput",
        format!(
            "{} / {} ev/s ({:.0} %); mean batch {:.0} / {:.0}; shortfalls {shortfalls}",
            thousands(e0),
            thousands(e1),
            100.0 * e1 / e0.max(1e-9),
            r.med(0, |x| opts.events as f64 / x.batches.max(1) as f64),
            r.med(1, |x| opts.events as f64 / x.batches.max(1) as f64),
        ),
        None,
        format!(
            "{} events published at once until all confirmed, same master and replica; median of {n} runs per mode",
            thousands(opts.events as f64)
        ),
    );
}

/// The agent's OTLP export, off the run's path.
pub fn otlp(report: &mut Report, r: &OtlpResult, opts: &OtlpOpts) {
    let n = r.runs.len();
    let off = r.med(|x| x.off_ms);
    let on = r.med(|x| x.on_ms);
    let exported: u64 = r.runs.last().map(|x| x.exported).unwrap_or(0);
    let dropped: u64 = r.runs.last().map(|x| x.dropped).unwrap_or(0);
    report.row(
        "otlp",
        "agent /chat latency, OTLP export off / on",
        format!(
            "{off:.2} ms / {on:.2} ms ({:.2}×; {exported} spans exported, {dropped} dropped)",
            on / off.max(1e-9)
        ),
        None,
        format!(
            "two release agents, builtin model, pace 0; {} alternating requests each per run, the exporting one to an in-process orchestrator-ingest with content; median request time; median of {n} runs",
            opts.requests
        ),
    );
}

/// The ingest's target: spans per second on the project's 2 cores.
const TARGET_INGEST_SPANS_PER_SEC: f64 = 20_000.0;

/// The OTLP ingest's rows.
pub fn ingest(report: &mut Report, r: &IngestResult, opts: &IngestOpts) {
    let n = r.runs.len();
    let rate = r.med(|x| x.spans_per_sec);
    let events_per_span = r.med(|x| x.events as f64 / x.spans.max(1) as f64);
    report.row(
        "ingest",
        format!("OTLP spans ingested, batches of {BATCH}"),
        format!(
            "{} spans/s ({} events/s)",
            thousands(rate),
            thousands(rate * events_per_span)
        ),
        Some((
            format!("≥ {} spans/s", thousands(TARGET_INGEST_SPANS_PER_SEC)),
            Verdict::from(rate >= TARGET_INGEST_SPANS_PER_SEC),
        )),
        format!(
            "orchestrator_ingest::run in-process on a private Redis; {} spans per run as protobuf POST /v1/traces of {BATCH} spans (~{} B each; 1 execute_tool to 3 chat spans, {events_per_span:.2} events per span) on 2 keep-alive connections; first byte sent to the ingest's events_published reaching the total; median of {n}",
            thousands(opts.spans as f64),
            r.runs.first().map(|x| x.request_bytes).unwrap_or(0)
        ),
    );
    report.row(
        "ingest",
        "CPU per span: ingest process / Redis",
        format!(
            "{:.0} ns / {:.0} ns",
            r.med(|x| x.ingest_cpu_ns),
            r.med(|x| x.redis_cpu_ns)
        ),
        None,
        format!("/proc/self/stat (the ingest and the two senders, which only write ready bytes) and /proc/<redis pid>/stat utime+stime over the run ÷ spans; median of {n}"),
    );
    let script = r.med(|x| x.script_events_per_sec);
    report.row(
        "ingest",
        "publish script ceiling, same run",
        format!(
            "{} events/s (= {} spans/s at {events_per_span:.2} events/span)",
            thousands(script),
            thousands(script / events_per_span.max(f64::MIN_POSITIVE))
        ),
        None,
        format!("the same events as JSON through the publish script in chunks of {} from one connection, on the same Redis right after each ingest run; median of {n}", orchestrator_ingest::sink::CHUNK),
    );
}
