//! Incremental aggregation of runs and tools: what the runs and tools views show.
//!
//! Every event updates at most one run and one tool in O(1) amortised (hash
//! lookups, a push on a ring); nothing rescans the event buffer. Everything
//! is bounded:
//!
//! - runs: at most [`MAX_RUNS`]. A run leaves, oldest first, once every event
//!   it was seen in has left the event ring (or when the cap is reached);
//! - tools: at most [`MAX_TOOLS`] names (later names count under `(other)`),
//!   each with its last [`TOOL_RECENT`] calls;
//! - durations for percentiles: a ring of the last [`RUN_WINDOW`] finished
//!   runs and the last [`TOOL_WINDOW`] calls per tool.
//!
//! **Percentiles** (p50, p95) are nearest-rank over that bounded window of
//! the most recent values: sort a copy of the window, take the value at rank
//! `ceil(p * n)`. Exact for the window, computed when drawn (sorting at most
//! [`RUN_WINDOW`] numbers), so they follow what is happening now rather than
//! the whole history.
//!
//! **Top-level runs** are kept in their own ring ([`Runs::top`]) in order of
//! first sight, so the runs view reads the rows it draws by position (newest
//! first) instead of walking every run each frame. A run is top-level when it
//! has no parent, or its parent was not held when it was first linked, or its
//! parent has left (its children then rise to the top, in their place by age).
//! Token totals are also kept per model, so the cost total reads a handful of
//! sums, not every run.
//!
//! Robustness: a duplicate `run_finished` or `tool_result` (same run and
//! `tool_use_id`) counts once; events may arrive in any order (a
//! `run_finished` before its `run_started` marks the run finished, the start
//! fills in its input later); a run whose `run_started` was never seen (it
//! is older than the history) is shown as *partial*; a `tool_result` without
//! its call counts for its tool; events without a `run_id` (plain events of
//! the original Python system) make no run and appear in the log only.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use orchestrator_events::event::{RunStatus, ToolStatus};
use orchestrator_events::{Event, EventKind};

/// Most runs held.
pub const MAX_RUNS: usize = 20_000;
/// Most tool names tracked one by one.
pub const MAX_TOOLS: usize = 512;
/// Finished-run durations kept for p50/p95.
pub const RUN_WINDOW: usize = 1024;
/// Call durations kept per tool for p50/p95.
pub const TOOL_WINDOW: usize = 256;
/// Calls listed per tool.
pub const TOOL_RECENT: usize = 100;
/// Tool results remembered per run to drop duplicates.
const SEEN_RESULTS: usize = 256;
/// Characters of a run's input kept.
const INPUT_CHARS: usize = 200;

/// How a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// No `run_finished` yet.
    Running,
    /// Ended as `run_finished` said.
    Done(RunStatus),
}

/// One run as the runs view shows it.
#[derive(Debug, Clone)]
pub struct Run {
    /// Its `run_id`.
    pub id: Arc<str>,
    /// The run that started it, from `parent_run_id`.
    pub parent: Option<Arc<str>>,
    /// The publishing agent.
    pub agent: Option<Arc<str>>,
    /// `chat`, `a2a`, … from `run_started`.
    pub source: Option<String>,
    /// The first line of its input (cut).
    pub input: String,
    /// The model, when `run_started` named it.
    pub model: Option<String>,
    /// `run_started`'s time; `None` when it was not seen.
    pub started: Option<f64>,
    /// Time of the first event seen of it.
    pub first_seen: f64,
    /// Time of the newest event seen of it.
    pub last_seen: f64,
    /// Running or how it ended.
    pub state: RunState,
    /// `run_finished`'s duration.
    pub duration_ms: Option<u64>,
    /// Why it failed or was cancelled.
    pub reason: Option<String>,
    /// Model turns: output after the input or after a tool result.
    pub steps: u32,
    /// Tool calls that succeeded.
    pub tools_ok: u32,
    /// Tool calls that failed.
    pub tools_failed: u32,
    /// Tool calls made (results may still be pending).
    pub tool_calls: u32,
    /// Prompt tokens.
    pub tokens_in: u64,
    /// Completion tokens.
    pub tokens_out: u64,
    /// Time of its first text chunk.
    pub first_text: Option<f64>,
    /// Its `run_started` was not seen: what is shown is what is known.
    pub partial: bool,
    /// Global id of the newest event ring entry of it.
    pub last_entry: u64,
    /// Global id of its first entry seen.
    pub first_entry: u64,
    /// Ids of its children, in order of first sight.
    pub children: Vec<Arc<str>>,
    /// Listed at the top level of the runs view (see the module doc).
    pub top: bool,
    /// Creation number: orders runs by first sight.
    pub seq: u64,
    turn_open: bool,
    seen_results: HashSet<Box<str>>,
}

impl Run {
    /// Time from start to the first text chunk, in milliseconds.
    pub fn first_text_ms(&self) -> Option<u64> {
        let (start, first) = (self.started?, self.first_text?);
        Some(((first - start) * 1000.0).max(0.0).round() as u64)
    }

    /// Duration: the reported one once finished, else the time since start at `now`.
    pub fn duration_at(&self, now_wall: f64) -> u64 {
        match self.duration_ms {
            Some(ms) => ms,
            None => {
                let start = self.started.unwrap_or(self.first_seen);
                ((now_wall - start) * 1000.0).max(0.0) as u64
            }
        }
    }

    /// Whether it is still running.
    pub fn running(&self) -> bool {
        self.state == RunState::Running
    }
}

/// One recent call of a tool.
#[derive(Debug, Clone)]
pub struct ToolCall {
    /// The run that made it.
    pub run_id: Option<Arc<str>>,
    /// When the result arrived.
    pub ts: f64,
    /// Succeeded.
    pub ok: bool,
    /// How long it ran.
    pub duration_ms: u64,
}

/// Statistics of one tool name.
#[derive(Debug, Clone, Default)]
pub struct ToolStats {
    /// Results seen.
    pub calls: u64,
    /// Of which failed.
    pub failures: u64,
    /// Longest call.
    pub max_ms: u64,
    /// Time of the newest result.
    pub last: f64,
    /// The newest calls, oldest first.
    pub recent: VecDeque<ToolCall>,
    durations: Window,
}

impl ToolStats {
    /// p50 and p95 of the recent window (see the module doc).
    pub fn percentiles(&self) -> Option<(u64, u64)> {
        self.durations.percentiles()
    }

    /// Failures over calls, 0..=1.
    pub fn failure_rate(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.failures as f64 / self.calls as f64
        }
    }
}

/// A bounded ring of the newest values.
#[derive(Debug, Clone, Default)]
struct Window {
    values: VecDeque<u64>,
    cap: usize,
}

impl Window {
    fn with_cap(cap: usize) -> Window {
        Window {
            values: VecDeque::with_capacity(cap.min(64)),
            cap,
        }
    }

    fn push(&mut self, v: u64) {
        if self.values.len() >= self.cap.max(1) {
            self.values.pop_front();
        }
        self.values.push_back(v);
    }

    fn percentiles(&self) -> Option<(u64, u64)> {
        if self.values.is_empty() {
            return None;
        }
        let mut v: Vec<u64> = self.values.iter().copied().collect();
        v.sort_unstable();
        Some((nearest_rank(&v, 0.50), nearest_rank(&v, 0.95)))
    }
}

/// The value at rank `ceil(p * n)` (1-based) of sorted, non-empty `v`.
pub fn nearest_rank(v: &[u64], p: f64) -> u64 {
    let n = v.len();
    let rank = ((p * n as f64).ceil() as usize).clamp(1, n.max(1));
    v.get(rank - 1).copied().unwrap_or(0)
}

/// Totals over the runs held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Running now.
    pub running: u64,
    /// Completed.
    pub completed: u64,
    /// Failed.
    pub failed: u64,
    /// Cancelled.
    pub cancelled: u64,
    /// Prompt tokens.
    pub tokens_in: u64,
    /// Completion tokens.
    pub tokens_out: u64,
}

/// Runs and tools, kept up to date event by event.
#[derive(Debug)]
pub struct Runs {
    by_id: HashMap<Arc<str>, Run>,
    /// Run ids in order of first sight, oldest first.
    order: VecDeque<Arc<str>>,
    /// The top-level runs, `(seq, id)`, oldest first.
    tops: VecDeque<(u64, Arc<str>)>,
    /// Tokens of finished runs by model, for the cost total.
    by_model: HashMap<Option<Box<str>>, (u64, u64)>,
    next_seq: u64,
    tools: HashMap<Box<str>, ToolStats>,
    durations: Window,
    totals: Totals,
    max_runs: usize,
}

impl Default for Runs {
    fn default() -> Runs {
        Runs::new(MAX_RUNS)
    }
}

impl Runs {
    /// No runs yet; at most `max_runs` held.
    pub fn new(max_runs: usize) -> Runs {
        Runs {
            by_id: HashMap::new(),
            order: VecDeque::new(),
            tops: VecDeque::new(),
            by_model: HashMap::new(),
            next_seq: 0,
            tools: HashMap::new(),
            durations: Window::with_cap(RUN_WINDOW),
            totals: Totals::default(),
            max_runs: max_runs.max(1),
        }
    }

    /// Runs held.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether no run is held.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The run with this id.
    pub fn get(&self, id: &str) -> Option<&Run> {
        self.by_id.get(id)
    }

    /// Runs, oldest first sight first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Run> {
        self.order.iter().filter_map(|id| self.by_id.get(id))
    }

    /// The run at position `i` in order of first sight (0 = oldest).
    pub fn at(&self, i: usize) -> Option<&Run> {
        self.by_id.get(self.order.get(i)?)
    }

    /// Totals over the runs held.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// Top-level runs held.
    pub fn top_len(&self) -> usize {
        self.tops.len()
    }

    /// The top-level run at `rank`, newest first (0 = the newest).
    pub fn top(&self, rank: usize) -> Option<&Run> {
        let i = self.tops.len().checked_sub(rank + 1)?;
        self.by_id.get(&self.tops.get(i)?.1)
    }

    /// The rank (newest first) of top-level `run`.
    pub fn top_rank(&self, run: &Run) -> Option<usize> {
        let i = self.tops.binary_search_by_key(&run.seq, |t| t.0).ok()?;
        Some(self.tops.len() - 1 - i)
    }

    /// Finished runs' tokens by model, `(model, in, out)`: the cost total's input.
    pub fn tokens_by_model(&self) -> impl Iterator<Item = (Option<&str>, u64, u64)> {
        self.by_model.iter().map(|(m, t)| (m.as_deref(), t.0, t.1))
    }

    fn model_tokens(&mut self, model: Option<&str>, tokens: (u64, u64), add: bool) {
        let e = self.by_model.entry(model.map(Box::from)).or_default();
        if add {
            e.0 += tokens.0;
            e.1 += tokens.1;
        } else {
            e.0 = e.0.saturating_sub(tokens.0);
            e.1 = e.1.saturating_sub(tokens.1);
        }
        if *e == (0, 0) {
            self.by_model.remove(&model.map(Box::from));
        }
    }

    /// p50 and p95 run duration over the recent window.
    pub fn duration_percentiles(&self) -> Option<(u64, u64)> {
        self.durations.percentiles()
    }

    /// Tool statistics by name.
    pub fn tools(&self) -> &HashMap<Box<str>, ToolStats> {
        &self.tools
    }

    /// Takes one event in; `entry` is its global id in the event ring, `ts`
    /// its time.
    pub fn observe(&mut self, event: &Event, entry: u64, ts: f64) {
        if let EventKind::ToolResult(r) = &event.kind
            && event.run_id.is_none()
        {
            // A plain result: no run, but its tool still counts.
            self.tool_result(&r.tool_name, None, r.status, r.duration_ms, ts);
            return;
        }
        let Some(run_id) = event.run_id.as_deref() else {
            return;
        };
        if event.kind.is_bridge_frame() {
            return;
        }
        let parent = event
            .parent_run_id
            .as_deref()
            .filter(|p| !p.is_empty() && *p != run_id)
            .map(Arc::<str>::from);
        let id = self.ensure(run_id, event.agent.as_deref(), entry, ts);
        if let Some(parent) = parent {
            self.set_parent(&id, parent);
        }
        let mut result: Option<(String, ToolStatus, u64)> = None;
        let Some(run) = self.by_id.get_mut(&id) else {
            return;
        };
        run.last_entry = run.last_entry.max(entry);
        run.last_seen = run.last_seen.max(ts);
        match &event.kind {
            EventKind::RunStarted(s) => {
                if run.partial {
                    run.partial = false;
                    run.started = Some(ts);
                    run.source = Some(s.source.clone());
                    let first = s.input.lines().next().unwrap_or("");
                    run.input = crate::summary::cut(first, INPUT_CHARS);
                    run.turn_open = false;
                }
                if let Some(model) = event.extra.get("model").and_then(|v| v.as_str())
                    && run.model.as_deref() != Some(model)
                {
                    let old = run.model.replace(model.to_string());
                    if run.state != RunState::Running {
                        // Finished before its start arrived: its tokens move to the model.
                        let tokens = (run.tokens_in, run.tokens_out);
                        let new = run.model.clone();
                        self.model_tokens(old.as_deref(), tokens, false);
                        self.model_tokens(new.as_deref(), tokens, true);
                    }
                }
            }
            EventKind::TextGeneration(_) | EventKind::Reasoning(_) => {
                if matches!(event.kind, EventKind::TextGeneration(_)) && run.first_text.is_none() {
                    run.first_text = Some(ts);
                }
                open_turn(run);
            }
            EventKind::ToolUse(_) => {
                open_turn(run);
                run.tool_calls += 1;
            }
            EventKind::ToolResult(r) => {
                run.turn_open = false;
                let fresh = run.seen_results.len() < SEEN_RESULTS
                    && run
                        .seen_results
                        .insert(r.tool_use_id.clone().into_boxed_str());
                if fresh || run.seen_results.len() >= SEEN_RESULTS {
                    match r.status {
                        ToolStatus::Success => run.tools_ok += 1,
                        ToolStatus::Error => run.tools_failed += 1,
                    }
                    result = Some((r.tool_name.clone(), r.status, r.duration_ms));
                }
            }
            EventKind::RunFinished(f) if run.state == RunState::Running => {
                run.state = RunState::Done(f.status);
                run.duration_ms = Some(f.duration_ms);
                run.reason = f.reason.clone();
                if let Some(u) = f.usage {
                    run.tokens_in = u.input_tokens;
                    run.tokens_out = u.output_tokens;
                }
                self.durations.push(f.duration_ms);
                self.totals.running = self.totals.running.saturating_sub(1);
                match f.status {
                    RunStatus::Completed => self.totals.completed += 1,
                    RunStatus::Failed => self.totals.failed += 1,
                    RunStatus::Cancelled => self.totals.cancelled += 1,
                }
                if let Some(u) = f.usage {
                    self.totals.tokens_in += u.input_tokens;
                    self.totals.tokens_out += u.output_tokens;
                    let model = run.model.clone();
                    self.model_tokens(model.as_deref(), (u.input_tokens, u.output_tokens), true);
                }
            }
            _ => {}
        }
        if let Some((name, status, ms)) = result {
            self.tool_result(&name, Some(id), status, ms, ts);
        }
    }

    fn tool_result(
        &mut self,
        name: &str,
        run: Option<Arc<str>>,
        status: ToolStatus,
        ms: u64,
        ts: f64,
    ) {
        let key: &str = if self.tools.contains_key(name) || self.tools.len() < MAX_TOOLS {
            name
        } else {
            "(other)"
        };
        let stats = self.tools.entry(key.into()).or_insert_with(|| ToolStats {
            durations: Window::with_cap(TOOL_WINDOW),
            ..ToolStats::default()
        });
        let ok = status == ToolStatus::Success;
        stats.calls += 1;
        stats.failures += u64::from(!ok);
        stats.max_ms = stats.max_ms.max(ms);
        stats.last = stats.last.max(ts);
        stats.durations.push(ms);
        if stats.recent.len() >= TOOL_RECENT {
            stats.recent.pop_front();
        }
        stats.recent.push_back(ToolCall {
            run_id: run,
            ts,
            ok,
            duration_ms: ms,
        });
    }

    /// The run `id`, created (partial, running) when first seen.
    fn ensure(&mut self, id: &str, agent: Option<&str>, entry: u64, ts: f64) -> Arc<str> {
        if let Some((key, _)) = self.by_id.get_key_value(id) {
            return key.clone();
        }
        let key: Arc<str> = Arc::from(id);
        while self.order.len() >= self.max_runs {
            self.pop_oldest();
        }
        self.by_id.insert(
            key.clone(),
            Run {
                id: key.clone(),
                parent: None,
                agent: agent.map(Arc::from),
                source: None,
                input: String::new(),
                model: None,
                started: None,
                first_seen: ts,
                last_seen: ts,
                state: RunState::Running,
                duration_ms: None,
                reason: None,
                steps: 0,
                tools_ok: 0,
                tools_failed: 0,
                tool_calls: 0,
                tokens_in: 0,
                tokens_out: 0,
                first_text: None,
                partial: true,
                last_entry: entry,
                first_entry: entry,
                children: Vec::new(),
                top: true,
                seq: self.next_seq,
                turn_open: false,
                seen_results: HashSet::new(),
            },
        );
        self.order.push_back(key.clone());
        self.tops.push_back((self.next_seq, key.clone()));
        self.next_seq += 1;
        self.totals.running += 1;
        key
    }

    fn set_parent(&mut self, child: &Arc<str>, parent: Arc<str>) {
        let Some(run) = self.by_id.get_mut(child) else {
            return;
        };
        if run.parent.is_some() {
            return;
        }
        run.parent = Some(parent.clone());
        let seq = run.seq;
        if let Some(p) = self.by_id.get_mut(&parent)
            && p.children.len() < 1024
            && p.seq < seq
        {
            p.children.push(child.clone());
            if let Some(run) = self.by_id.get_mut(child) {
                run.top = false;
            }
            self.remove_top(seq);
        }
    }

    fn remove_top(&mut self, seq: u64) {
        if self.tops.front().is_some_and(|t| t.0 == seq) {
            self.tops.pop_front();
        } else if let Ok(i) = self.tops.binary_search_by_key(&seq, |t| t.0) {
            self.tops.remove(i);
        }
    }

    fn pop_oldest(&mut self) {
        let Some(id) = self.order.pop_front() else {
            return;
        };
        if let Some(run) = self.by_id.remove(&id) {
            if run.top {
                self.remove_top(run.seq);
            }
            // Its children rise to the top level, in their place by age.
            for c in &run.children {
                if let Some(child) = self.by_id.get_mut(c) {
                    child.top = true;
                    let at = self.tops.partition_point(|t| t.0 < child.seq);
                    self.tops.insert(at, (child.seq, c.clone()));
                }
            }
            match run.state {
                RunState::Running => self.totals.running = self.totals.running.saturating_sub(1),
                RunState::Done(s) => {
                    match s {
                        RunStatus::Completed => {
                            self.totals.completed = self.totals.completed.saturating_sub(1)
                        }
                        RunStatus::Failed => {
                            self.totals.failed = self.totals.failed.saturating_sub(1)
                        }
                        RunStatus::Cancelled => {
                            self.totals.cancelled = self.totals.cancelled.saturating_sub(1)
                        }
                    }
                    self.totals.tokens_in = self.totals.tokens_in.saturating_sub(run.tokens_in);
                    self.totals.tokens_out = self.totals.tokens_out.saturating_sub(run.tokens_out);
                    self.model_tokens(run.model.as_deref(), (run.tokens_in, run.tokens_out), false);
                }
            }
            if let Some(p) = run.parent.and_then(|p| self.by_id.get_mut(&p)) {
                p.children.retain(|c| *c != id);
            }
        }
    }

    /// Drops the oldest runs whose every event has left the ring (`base` is
    /// the ring's oldest global id). O(1) amortised: each run leaves once.
    pub fn evict(&mut self, base: u64) {
        while let Some(front) = self.order.front()
            && self.by_id.get(front).is_none_or(|r| r.last_entry < base)
        {
            self.pop_oldest();
        }
    }
}

fn open_turn(run: &mut Run) {
    if !run.turn_open {
        run.turn_open = true;
        run.steps += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(json: &str) -> Event {
        Event::parse(json).expect("event")
    }

    fn feed(runs: &mut Runs, lines: &[&str]) {
        for (i, l) in lines.iter().enumerate() {
            let e = ev(l);
            let ts = e.time_secs().unwrap_or(0.0);
            runs.observe(&e, i as u64, ts);
        }
    }

    const START: &str = r#"{"type":"run_started","input":"plan a trip\nsecond line","source":"chat","run_id":"r1","agent":"planner","timestamp":100.0,"model":"gpt-x"}"#;
    const TEXT: &str = r#"{"type":"text_generation","data":"hi","run_id":"r1","timestamp":100.5}"#;
    const USE: &str = r#"{"type":"tool_use","tool_name":"search","tool_input":{},"tool_use_id":"u1","run_id":"r1","timestamp":101.0}"#;
    const RESULT: &str = r#"{"type":"tool_result","tool_use_id":"u1","tool_name":"search","status":"error","output":"x","duration_ms":40,"run_id":"r1","timestamp":101.1}"#;
    const DONE: &str = r#"{"type":"run_finished","status":"completed","duration_ms":3000,"usage":{"input_tokens":10,"output_tokens":5},"run_id":"r1","timestamp":103.0}"#;

    #[test]
    fn a_run_in_order() {
        let mut runs = Runs::default();
        feed(&mut runs, &[START, TEXT, USE, RESULT, TEXT, DONE]);
        let r = runs.get("r1").expect("run");
        assert!(!r.partial);
        assert_eq!(r.input, "plan a trip");
        assert_eq!(r.model.as_deref(), Some("gpt-x"));
        assert_eq!(r.state, RunState::Done(RunStatus::Completed));
        assert_eq!((r.tools_ok, r.tools_failed, r.tool_calls), (0, 1, 1));
        assert_eq!((r.tokens_in, r.tokens_out), (10, 5));
        assert_eq!(r.first_text_ms(), Some(500));
        assert_eq!(r.steps, 2, "a turn before the tool result and one after");
        let t = runs.totals();
        assert_eq!((t.running, t.completed, t.tokens_in), (0, 1, 10));
        let tool = runs.tools().get("search").expect("tool");
        assert_eq!((tool.calls, tool.failures, tool.max_ms), (1, 1, 40));
    }

    #[test]
    fn duplicates_count_once_and_order_does_not_matter() {
        let mut runs = Runs::default();
        feed(&mut runs, &[DONE, RESULT, RESULT, START, DONE, USE]);
        let r = runs.get("r1").expect("run");
        assert!(!r.partial, "the late start fills the run in");
        assert_eq!(r.input, "plan a trip");
        assert_eq!(r.state, RunState::Done(RunStatus::Completed));
        assert_eq!(r.tools_failed, 1);
        assert_eq!(runs.totals().completed, 1);
        assert_eq!(runs.tools().get("search").map(|t| t.calls), Some(1));
        assert_eq!(runs.duration_percentiles(), Some((3000, 3000)));
    }

    #[test]
    fn a_run_whose_start_was_never_seen_is_partial() {
        let mut runs = Runs::default();
        feed(&mut runs, &[TEXT, DONE]);
        let r = runs.get("r1").expect("run");
        assert!(r.partial);
        assert_eq!(r.first_text_ms(), None);
        assert_eq!(r.duration_ms, Some(3000));
    }

    #[test]
    fn a_tool_result_without_its_call_and_plain_events() {
        let mut runs = Runs::default();
        feed(
            &mut runs,
            &[
                r#"{"type":"text_generation","data":"plain"}"#,
                r#"{"type":"tool_use","tool_name":"t","tool_input":{}}"#,
                r#"{"type":"tool_result","tool_use_id":"z","tool_name":"t","status":"success","output":1,"duration_ms":7}"#,
            ],
        );
        assert!(runs.is_empty(), "plain events make no run");
        assert_eq!(
            runs.tools().get("t").map(|t| (t.calls, t.failures)),
            Some((1, 0))
        );
    }

    #[test]
    fn children_fold_under_their_parent() {
        let mut runs = Runs::default();
        feed(
            &mut runs,
            &[
                START,
                r#"{"type":"run_started","input":"sub","source":"a2a","run_id":"c1","parent_run_id":"r1"}"#,
                r#"{"type":"run_started","input":"sub","source":"a2a","run_id":"c2","parent_run_id":"r1"}"#,
            ],
        );
        let p = runs.get("r1").expect("parent");
        assert_eq!(p.children.len(), 2);
        assert_eq!(runs.get("c2").and_then(|c| c.parent.as_deref()), Some("r1"));
    }

    #[test]
    fn runs_leave_with_their_events_and_at_the_cap() {
        let mut runs = Runs::new(3);
        for i in 0..5u64 {
            let e = ev(&format!(
                r#"{{"type":"run_finished","status":"failed","duration_ms":{i},"run_id":"r{i}"}}"#
            ));
            runs.observe(&e, i, 0.0);
        }
        assert_eq!(runs.len(), 3);
        assert!(runs.get("r1").is_none());
        assert_eq!(runs.totals().failed, 3);
        runs.evict(4);
        assert_eq!(runs.len(), 1);
        assert_eq!(runs.at(0).map(|r| &*r.id), Some("r4"));
        assert_eq!(runs.totals().failed, 1);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(nearest_rank(&v, 0.5), 50);
        assert_eq!(nearest_rank(&v, 0.95), 95);
        assert_eq!(nearest_rank(&[7], 0.95), 7);
        let mut w = Window::with_cap(2);
        for x in [1, 100, 200] {
            w.push(x);
        }
        assert_eq!(w.percentiles(), Some((100, 200)), "only the newest two");
    }
}
