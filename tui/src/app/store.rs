//! The bounded event store and its coalesced rows.
//!
//! Two lists over the same events:
//!
//! - **entries**: every frame as received, one per event (the raw chunk view);
//! - **rows**: what the log shows by default: text chunks of one run coalesced
//!   into one growing message (likewise reasoning), each `tool_use` paired with
//!   its `tool_result` by `tool_use_id`, each `run_finished` annotated with the
//!   time to the run's first text chunk.
//!
//! Both are rings addressed by *global ids* that keep counting as the oldest
//! items are evicted, so positions held elsewhere (the filtered index, the
//! selection) stay valid without renumbering. The entry ring holds at most
//! `max_events`; a row is evicted once every event it is made of is gone.
//! The bookkeeping maps (open messages, pending tools, run timings) are pruned
//! as rows are evicted, so memory stays bounded whatever the server sends.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use orchestrator_events::event::RunFinished;
use orchestrator_events::{EventKind, StreamId};
use serde_json::Value;

use crate::client::Frame;
use crate::kind::Kind;
use crate::summary;

/// One received frame.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The frame's text, for the detail pane.
    pub raw: Box<str>,
    /// Its stream id, when it has one.
    pub id: Option<StreamId>,
    /// What it is.
    pub kind: Kind,
    /// The publishing agent.
    pub agent: Option<Arc<str>>,
    /// The run it belongs to.
    pub run_id: Option<Arc<str>>,
    /// Event time (its `timestamp`, else when it arrived), Unix seconds.
    pub ts: f64,
    /// One-line summary.
    pub summary: String,
    /// What adding it changed in the rows: how views keep their index in
    /// step with the store without a queue per view.
    pub change: RowChange,
    /// The producer cut a large field (the event has a `truncated` object).
    pub truncated: bool,
    /// Its heap estimate in bytes, as counted against `--max-memory`
    /// (see [`entry_bytes`]).
    pub bytes: usize,
}

/// How a tool call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolState {
    /// No result yet: the row shows a spinner.
    Pending,
    /// The result arrived.
    Done {
        /// Whether it succeeded.
        ok: bool,
        /// How long the tool ran.
        duration_ms: u64,
    },
}

/// One row of the coalesced log.
#[derive(Debug, Clone)]
pub struct Row {
    /// Global id of its first entry.
    pub first: u64,
    /// Global id of its newest entry.
    pub last: u64,
    /// What it is (a paired tool row takes its result's kind).
    pub kind: Kind,
    /// The publishing agent.
    pub agent: Option<Arc<str>>,
    /// The run it belongs to.
    pub run_id: Option<Arc<str>>,
    /// Time of its first event.
    pub ts: f64,
    /// The summary, or the whole coalesced message.
    pub text: String,
    /// Events in it (chunks for a message, 2 for a paired tool call).
    pub chunks: u32,
    /// A message still growing (more chunks may come).
    pub open: bool,
    /// For tool rows: pending or done.
    pub tool: Option<ToolState>,
    /// Global id of the tool result entry, once paired.
    pub result: Option<u64>,
    /// One of its events was cut by the producer.
    pub truncated: bool,
}

/// Which list the log shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewMode {
    /// Coalesced rows (default).
    Rows,
    /// One row per received event (`r` toggles).
    Raw,
}

/// A row as the log draws it, from either list.
#[derive(Debug, Clone, Copy)]
pub struct LineRef<'a> {
    /// Event time.
    pub ts: f64,
    /// Icon and colour.
    pub kind: Kind,
    /// Agent column.
    pub agent: Option<&'a str>,
    /// Run column.
    pub run_id: Option<&'a str>,
    /// Summary column: what filters and search look at.
    pub text: &'a str,
    /// Still growing: show the newest end of the text.
    pub open: bool,
    /// Tool status suffix.
    pub tool: Option<ToolState>,
    /// The producer cut a field of it: the row shows a marker.
    pub truncated: bool,
}

/// What one ingest changed in the row list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowChange {
    /// A new row with this global id.
    New(u64),
    /// An existing row (this global id) grew or was paired.
    Updated(u64),
}

/// Timing of one run, to annotate its `run_finished` row.
#[derive(Debug, Clone, Copy, Default)]
struct RunTiming {
    started: Option<f64>,
    first_text: Option<f64>,
    /// Row id when recorded, for pruning.
    row: u64,
}

/// The store: both rings and the maps that join events.
#[derive(Debug)]
pub struct Store {
    entries: VecDeque<Entry>,
    entry_base: u64,
    rows: VecDeque<Row>,
    row_base: u64,
    max_events: usize,
    /// `--max-memory`: the most bytes the entries and rows may take (estimate).
    max_bytes: usize,
    /// What the entries and rows take now, by the same estimate.
    bytes: usize,
    /// The open (growing) message of each run: key → row id.
    open: HashMap<Arc<str>, u64>,
    /// Pending tool calls: (run key, `tool_use_id`) → row id. The run is part
    /// of the key because ids are only unique within a run: two runs that
    /// make the same call may well carry the same `tool_use_id`.
    pending: HashMap<(Arc<str>, Box<str>), u64>,
    /// Start and first-text times per run.
    runs: HashMap<Arc<str>, RunTiming>,
}

/// Above this many entries a bookkeeping map is pruned of evicted rows.
const MAP_PRUNE_AT: usize = 4096;

/// A coalesced message longer than this starts a new row. Why: a row leaves
/// only with its newest event, so one endless message in a single row would
/// outgrow the byte bound however many of its chunks were evicted.
pub const ROW_TEXT_MAX: usize = 256 * 1024;

/// Per heap block, what the allocator keeps besides the bytes asked for
/// (size header and rounding of glibc's malloc), in the estimate.
const BLOCK_OVERHEAD: usize = 16;

/// The heap estimate of one entry: the slot in the ring, the raw frame text,
/// the summary and the per-entry `agent` / `run_id` strings, each with
/// [`BLOCK_OVERHEAD`]. The parsed event itself is dropped after ingest (only
/// the summary and these fields are kept), so its tree costs nothing here; a
/// detail pane parses the raw text again when drawn, per viewer, and frees it.
pub fn entry_bytes(e: &Entry) -> usize {
    let arc = |s: &Option<Arc<str>>| s.as_ref().map_or(0, |s| s.len() + 16 + BLOCK_OVERHEAD);
    std::mem::size_of::<Entry>()
        + e.raw.len()
        + BLOCK_OVERHEAD
        + e.summary.capacity()
        + BLOCK_OVERHEAD
        + arc(&e.agent)
        + arc(&e.run_id)
}

/// The heap estimate of one row: its slot and its text's allocation. The
/// `agent` / `run_id` are shared with its first entry and counted there.
fn row_bytes(r: &Row) -> usize {
    std::mem::size_of::<Row>() + r.text.capacity() + BLOCK_OVERHEAD
}

impl Store {
    /// An empty store holding at most `max_events` events (at least 1), with
    /// no bound in bytes.
    pub fn new(max_events: usize) -> Store {
        Store::with_max_bytes(max_events, usize::MAX)
    }

    /// An empty store holding at most `max_events` events (at least 1) and
    /// about `max_bytes` of heap (see [`entry_bytes`]); the newest event is
    /// always kept, whatever its size.
    pub fn with_max_bytes(max_events: usize, max_bytes: usize) -> Store {
        Store {
            entries: VecDeque::new(),
            entry_base: 0,
            rows: VecDeque::new(),
            row_base: 0,
            max_events: max_events.max(1),
            max_bytes,
            bytes: 0,
            open: HashMap::new(),
            pending: HashMap::new(),
            runs: HashMap::new(),
        }
    }

    /// Events held now.
    pub fn len_entries(&self) -> usize {
        self.entries.len()
    }

    /// Rows held now.
    pub fn len_rows(&self) -> usize {
        self.rows.len()
    }

    /// The most events held at once.
    pub fn max_events(&self) -> usize {
        self.max_events
    }

    /// The bound in bytes (`usize::MAX` when there is none).
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// What the entries and rows may take: the bound less 1/16 for the rest
    /// of the monitor's state (runs, join maps, the rings' spare slots), which
    /// the estimate does not count; `bench/tests/tui_memory.rs` measures the
    /// whole heap against the bound with a counting allocator.
    fn budget(&self) -> usize {
        self.max_bytes - self.max_bytes / 16
    }

    /// What the events and rows held take now, estimated (see [`entry_bytes`]).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Global id of the oldest item still held in `mode`'s list.
    pub fn base(&self, mode: ViewMode) -> u64 {
        match mode {
            ViewMode::Rows => self.row_base,
            ViewMode::Raw => self.entry_base,
        }
    }

    /// One past the newest global id in `mode`'s list.
    pub fn end(&self, mode: ViewMode) -> u64 {
        match mode {
            ViewMode::Rows => self.row_base + self.rows.len() as u64,
            ViewMode::Raw => self.entry_base + self.entries.len() as u64,
        }
    }

    /// The entry with global id `gid`, if still held.
    pub fn entry(&self, gid: u64) -> Option<&Entry> {
        let i = gid.checked_sub(self.entry_base)?;
        self.entries.get(usize::try_from(i).ok()?)
    }

    /// The row with global id `gid`, if still held.
    pub fn row(&self, gid: u64) -> Option<&Row> {
        let i = gid.checked_sub(self.row_base)?;
        self.rows.get(usize::try_from(i).ok()?)
    }

    fn row_mut(&mut self, gid: u64) -> Option<&mut Row> {
        let i = gid.checked_sub(self.row_base)?;
        self.rows.get_mut(usize::try_from(i).ok()?)
    }

    /// Item `gid` of `mode`'s list as the log draws it.
    pub fn line(&self, mode: ViewMode, gid: u64) -> Option<LineRef<'_>> {
        match mode {
            ViewMode::Raw => self.entry(gid).map(|e| LineRef {
                ts: e.ts,
                kind: e.kind,
                agent: e.agent.as_deref(),
                run_id: e.run_id.as_deref(),
                text: &e.summary,
                open: false,
                tool: None,
                truncated: e.truncated,
            }),
            ViewMode::Rows => self.row(gid).map(|r| LineRef {
                ts: r.ts,
                kind: r.kind,
                agent: r.agent.as_deref(),
                run_id: r.run_id.as_deref(),
                text: &r.text,
                open: r.open,
                tool: r.tool,
                truncated: r.truncated,
            }),
        }
    }

    /// Adds one frame, received at `now_wall` (Unix seconds). Returns the new
    /// entry's global id and what changed in the rows.
    pub fn ingest(&mut self, frame: Frame, now_wall: f64) -> (u64, RowChange) {
        let entry_gid = self.entry_base + self.entries.len() as u64;
        let (mut entry, payload) = make_entry(frame, now_wall);
        let change = self.coalesce(entry_gid, &entry, payload);
        entry.change = change;
        entry.bytes = entry_bytes(&entry);
        self.bytes += entry.bytes;
        self.entries.push_back(entry);
        (entry_gid, change)
    }

    /// Evicts the oldest events while more than `max_events` are held or
    /// they take more than `max_bytes` (and rows made only of evicted
    /// events). The newest event always stays. Returns whether anything was
    /// evicted.
    pub fn evict(&mut self) -> bool {
        let mut evicted = false;
        while self.entries.len() > self.max_events
            || (self.bytes > self.budget() && self.entries.len() > 1)
        {
            let Some(e) = self.entries.pop_front() else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(e.bytes);
            self.entry_base += 1;
            evicted = true;
            while self.rows.front().is_some_and(|r| r.last < self.entry_base) {
                if let Some(r) = self.rows.pop_front() {
                    self.bytes = self.bytes.saturating_sub(row_bytes(&r));
                }
                self.row_base += 1;
            }
        }
        if !evicted {
            return false;
        }
        let base = self.row_base;
        if self.open.len() > MAP_PRUNE_AT {
            self.open.retain(|_, row| *row >= base);
        }
        if self.pending.len() > MAP_PRUNE_AT {
            self.pending.retain(|_, row| *row >= base);
        }
        if self.runs.len() > MAP_PRUNE_AT {
            self.runs.retain(|_, t| t.row >= base);
        }
        true
    }

    fn push_row(&mut self, row: Row) -> u64 {
        let gid = self.row_base + self.rows.len() as u64;
        self.bytes += row_bytes(&row);
        self.rows.push_back(row);
        gid
    }

    /// Closes the open message of `key`, if any.
    fn close(&mut self, key: &Arc<str>) {
        if let Some(gid) = self.open.remove(key)
            && let Some(row) = self.row_mut(gid)
        {
            row.open = false;
        }
    }

    fn coalesce(&mut self, gid: u64, entry: &Entry, payload: Payload) -> RowChange {
        // Chunks coalesce per run; envelope-less events (the seed's shape) per
        // agent, or all together when there is no agent either.
        let key: Arc<str> = match (&entry.run_id, &entry.agent) {
            (Some(run), _) => run.clone(),
            (None, Some(agent)) => Arc::from(format!("\u{0}agent:{agent}")),
            (None, None) => Arc::from("\u{0}"),
        };
        let new_row = |text: String, kind: Kind| Row {
            first: gid,
            last: gid,
            kind,
            agent: entry.agent.clone(),
            run_id: entry.run_id.clone(),
            ts: entry.ts,
            text,
            chunks: 1,
            open: false,
            tool: None,
            result: None,
            truncated: entry.truncated,
        };

        if matches!(entry.kind, Kind::Text | Kind::Reasoning) {
            if entry.kind == Kind::Text
                && let Some(run) = &entry.run_id
                && let Some(t) = self.runs.get_mut(run)
                && t.first_text.is_none()
            {
                t.first_text = Some(entry.ts);
            }
            if let Some(&open) = self.open.get(&key)
                && let Some(row) = self.row_mut(open)
                && row.kind == entry.kind
                && row.text.len() + entry.summary.len() <= ROW_TEXT_MAX
            {
                let before = row.text.capacity();
                row.text.push_str(&entry.summary);
                row.last = gid;
                row.chunks += 1;
                row.truncated |= entry.truncated;
                let grown = row.text.capacity().saturating_sub(before);
                self.bytes += grown;
                return RowChange::Updated(open);
            }
            self.close(&key);
            let mut row = new_row(entry.summary.clone(), entry.kind);
            row.open = true;
            let row_gid = self.push_row(row);
            self.open.insert(key, row_gid);
            return RowChange::New(row_gid);
        }

        self.close(&key);
        match payload {
            Payload::ToolUse { id: Some(id) } => {
                let mut row = new_row(entry.summary.clone(), entry.kind);
                row.tool = Some(ToolState::Pending);
                let row_gid = self.push_row(row);
                self.pending.insert((key, id.into_boxed_str()), row_gid);
                RowChange::New(row_gid)
            }
            Payload::ToolResult {
                id,
                ok,
                duration_ms,
            } => {
                if let Some(row_gid) = self.pending.remove(&(key, id.into_boxed_str()))
                    && let Some(row) = self.row_mut(row_gid)
                {
                    row.tool = Some(ToolState::Done { ok, duration_ms });
                    row.kind = entry.kind;
                    row.last = gid;
                    row.chunks += 1;
                    row.result = Some(gid);
                    row.truncated |= entry.truncated;
                    return RowChange::Updated(row_gid);
                }
                RowChange::New(self.push_row(new_row(entry.summary.clone(), entry.kind)))
            }
            Payload::RunStarted => {
                let row_gid = self.push_row(new_row(entry.summary.clone(), entry.kind));
                if let Some(run) = &entry.run_id {
                    self.runs.insert(
                        run.clone(),
                        RunTiming {
                            started: Some(entry.ts),
                            first_text: None,
                            row: row_gid,
                        },
                    );
                }
                RowChange::New(row_gid)
            }
            Payload::RunFinished(finished) => {
                let first_text_ms = entry
                    .run_id
                    .as_ref()
                    .and_then(|run| self.runs.remove(run))
                    .and_then(|t| Some((t.started?, t.first_text?)))
                    .map(|(start, first)| ((first - start) * 1000.0).max(0.0).round() as u64);
                let text = match first_text_ms {
                    Some(ms) => summary::run_finished(&finished, Some(ms)),
                    None => entry.summary.clone(),
                };
                RowChange::New(self.push_row(new_row(text, entry.kind)))
            }
            Payload::ToolUse { id: None } | Payload::Plain => {
                RowChange::New(self.push_row(new_row(entry.summary.clone(), entry.kind)))
            }
        }
    }
}

/// The part of an event the joins need, taken out before the event is dropped.
enum Payload {
    ToolUse {
        id: Option<String>,
    },
    ToolResult {
        id: String,
        ok: bool,
        duration_ms: u64,
    },
    RunStarted,
    RunFinished(Box<RunFinished>),
    Plain,
}

fn make_entry(frame: Frame, now_wall: f64) -> (Entry, Payload) {
    let Frame { text, event } = frame;
    match event {
        Err(err) => {
            let summary = summary::malformed(&text, &err);
            (
                Entry {
                    raw: text.into_boxed_str(),
                    id: None,
                    kind: Kind::Malformed,
                    agent: None,
                    run_id: None,
                    ts: now_wall,
                    summary,
                    change: RowChange::New(0),
                    truncated: false,
                    bytes: 0,
                },
                Payload::Plain,
            )
        }
        Ok(event) => {
            let summary = summary::summarize(&event);
            let kind = Kind::of(&event.kind);
            let truncated = !orchestrator_events::truncate::truncated_fields(&event).is_empty();
            let payload = match &event.kind {
                EventKind::ToolUse(u) => Payload::ToolUse {
                    id: u.tool_use_id.clone(),
                },
                EventKind::ToolResult(r) => Payload::ToolResult {
                    id: r.tool_use_id.clone(),
                    ok: kind == Kind::ToolOk,
                    duration_ms: r.duration_ms,
                },
                EventKind::RunStarted(_) => Payload::RunStarted,
                EventKind::RunFinished(f) => Payload::RunFinished(Box::new(f.clone())),
                _ => Payload::Plain,
            };
            let ts = event
                .time_secs()
                .filter(|t| t.is_finite())
                .or(match &event.kind {
                    EventKind::BridgeHello(h) => Some(h.server_time),
                    _ => None,
                })
                .unwrap_or(now_wall);
            (
                Entry {
                    raw: text.into_boxed_str(),
                    id: event.id,
                    kind,
                    agent: event.agent.map(Arc::from),
                    run_id: event.run_id.map(Arc::from),
                    ts,
                    summary,
                    change: RowChange::New(0),
                    truncated,
                    bytes: 0,
                },
                payload,
            )
        }
    }
}

/// The JSON shown in the detail pane for row `gid` of `mode`: the event itself,
/// a coalesced message with its whole text, or a tool call with its result.
/// `Err` carries the raw text of a frame that is not JSON.
pub fn detail_value(store: &Store, mode: ViewMode, gid: u64) -> Option<Result<Value, String>> {
    let parse = |e: &Entry| serde_json::from_str::<Value>(&e.raw).map_err(|_| e.raw.to_string());
    match mode {
        ViewMode::Raw => store.entry(gid).map(parse),
        ViewMode::Rows => {
            let row = store.row(gid)?;
            let first = store.entry(row.first);
            if let Some(result) = row.result {
                let mut out = serde_json::Map::new();
                let value = |g: u64| match store.entry(g).map(parse) {
                    Some(Ok(v)) => v,
                    Some(Err(raw)) => Value::String(raw),
                    None => Value::String("(evicted)".into()),
                };
                out.insert("tool_use".into(), value(row.first));
                out.insert("tool_result".into(), value(result));
                return Some(Ok(Value::Object(out)));
            }
            if row.chunks > 1 && matches!(row.kind, Kind::Text | Kind::Reasoning) {
                let field = if row.kind == Kind::Text {
                    "data"
                } else {
                    "content"
                };
                let mut obj = match first.map(parse) {
                    Some(Ok(Value::Object(m))) => m,
                    _ => serde_json::Map::new(),
                };
                obj.insert(field.into(), Value::String(row.text.clone()));
                obj.insert("chunks".into(), Value::from(row.chunks));
                if let Some(id) = store.entry(row.last).and_then(|e| e.id) {
                    obj.insert("last_id".into(), Value::String(id.to_string()));
                }
                return Some(Ok(Value::Object(obj)));
            }
            match first {
                Some(e) => Some(parse(e)),
                None => Some(Err(row.text.clone())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(json: &str) -> Frame {
        Frame::parse(json)
    }

    fn text(run: &str, data: &str) -> Frame {
        frame(&format!(
            r#"{{"type":"text_generation","data":"{data}","run_id":"{run}","agent":"a"}}"#
        ))
    }

    #[test]
    fn coalesces_text_chunks_per_run_and_closes_on_other_events() {
        let mut s = Store::new(100);
        s.ingest(text("r1", "Hel"), 0.0);
        s.ingest(text("r2", "Other "), 0.0);
        s.ingest(text("r1", "lo"), 0.0);
        assert_eq!(s.len_rows(), 2);
        assert_eq!(
            s.row(0).map(|r| (r.text.as_str(), r.chunks, r.open)),
            Some(("Hello", 2, true))
        );
        // A reasoning chunk of r1 closes its text message and opens a new row.
        s.ingest(
            frame(r#"{"type":"reasoning","content":"hmm","run_id":"r1"}"#),
            0.0,
        );
        assert_eq!(s.row(0).map(|r| r.open), Some(false));
        s.ingest(text("r1", " again"), 0.0);
        assert_eq!(s.len_rows(), 4);
        assert_eq!(s.row(3).map(|r| r.text.as_str()), Some(" again"));
        assert_eq!(s.len_entries(), 5);
    }

    #[test]
    fn coalesces_envelope_less_chunks_too() {
        let mut s = Store::new(100);
        s.ingest(frame(r#"{"type":"text_generation","data":"a"}"#), 0.0);
        s.ingest(frame(r#"{"type":"text_generation","data":"b"}"#), 0.0);
        assert_eq!(s.len_rows(), 1);
        assert_eq!(s.row(0).map(|r| r.text.as_str()), Some("ab"));
    }

    #[test]
    fn pairs_tool_use_with_its_result() {
        let mut s = Store::new(100);
        s.ingest(frame(r#"{"type":"tool_use","tool_name":"t","tool_input":{},"tool_use_id":"u1","run_id":"r"}"#), 0.0);
        s.ingest(frame(r#"{"type":"tool_use","tool_name":"t","tool_input":{},"tool_use_id":"u2","run_id":"r"}"#), 0.0);
        assert_eq!(s.row(0).and_then(|r| r.tool), Some(ToolState::Pending));
        let (_, change) = s.ingest(frame(r#"{"type":"tool_result","tool_use_id":"u2","tool_name":"t","status":"error","output":"x","duration_ms":7,"run_id":"r"}"#), 0.0);
        assert_eq!(change, RowChange::Updated(1));
        assert_eq!(
            s.row(1).and_then(|r| r.tool),
            Some(ToolState::Done {
                ok: false,
                duration_ms: 7
            })
        );
        assert_eq!(s.row(1).map(|r| r.kind), Some(Kind::ToolErr));
        assert_eq!(s.row(0).and_then(|r| r.tool), Some(ToolState::Pending));
        // A result without a known call gets its own row.
        let (_, change) = s.ingest(frame(r#"{"type":"tool_result","tool_use_id":"zz","tool_name":"t","status":"success","output":1,"duration_ms":1}"#), 0.0);
        assert_eq!(change, RowChange::New(2));
        let detail = detail_value(&s, ViewMode::Rows, 1)
            .and_then(Result::ok)
            .expect("json");
        assert_eq!(detail["tool_result"]["status"], "error");
        assert_eq!(detail["tool_use"]["tool_use_id"], "u2");
    }

    #[test]
    fn the_same_tool_use_id_in_two_runs_pairs_within_each_run() {
        let mut s = Store::new(100);
        let call = |run: &str| {
            frame(&format!(
                r#"{{"type":"tool_use","tool_name":"t","tool_input":{{}},"tool_use_id":"same","run_id":"{run}"}}"#
            ))
        };
        let result = |run: &str, ms: u64| {
            frame(&format!(
                r#"{{"type":"tool_result","tool_use_id":"same","tool_name":"t","status":"success","output":1,"duration_ms":{ms},"run_id":"{run}"}}"#
            ))
        };
        s.ingest(call("r1"), 0.0);
        s.ingest(call("r2"), 0.0);
        assert_eq!(s.ingest(result("r1", 3), 0.0).1, RowChange::Updated(0));
        assert_eq!(s.ingest(result("r2", 4), 0.0).1, RowChange::Updated(1));
        assert_eq!(s.len_rows(), 2, "no orphaned result rows");
        for (row, ms) in [(0, 3), (1, 4)] {
            assert_eq!(
                s.row(row).and_then(|r| r.tool),
                Some(ToolState::Done {
                    ok: true,
                    duration_ms: ms
                })
            );
        }
    }

    #[test]
    fn annotates_run_finished_with_time_to_first_text() {
        let mut s = Store::new(100);
        s.ingest(frame(r#"{"type":"run_started","input":"hi","source":"chat","run_id":"r","timestamp":100.0}"#), 0.0);
        s.ingest(
            frame(r#"{"type":"text_generation","data":"x","run_id":"r","timestamp":100.8}"#),
            0.0,
        );
        s.ingest(
            frame(r#"{"type":"text_generation","data":"y","run_id":"r","timestamp":101.5}"#),
            0.0,
        );
        s.ingest(frame(r#"{"type":"run_finished","status":"completed","duration_ms":2000,"usage":{"input_tokens":10,"output_tokens":5},"run_id":"r","timestamp":102.0}"#), 0.0);
        let row = s.row(2).expect("row");
        assert_eq!(
            row.text,
            "completed in 2.0s, first text 800ms, 10 in, 5 out tokens"
        );
        assert!(
            !s.row(1).expect("text row").open,
            "run_finished closes the message"
        );
    }

    #[test]
    fn evicts_oldest_events_and_rows_but_keeps_ids_stable() {
        let mut s = Store::new(3);
        for i in 0..5 {
            s.ingest(
                frame(&format!(
                    r#"{{"type":"error","message":"m{i}","kind":"k"}}"#
                )),
                0.0,
            );
            s.evict();
        }
        assert_eq!(s.len_entries(), 3);
        assert_eq!(s.base(ViewMode::Raw), 2);
        assert_eq!(s.end(ViewMode::Raw), 5);
        assert_eq!(s.base(ViewMode::Rows), 2);
        assert!(s.row(1).is_none());
        assert_eq!(s.row(4).map(|r| r.text.as_str()), Some("k: m4"));
        assert!(s.entry(1).is_none());
    }

    #[test]
    fn a_growing_message_survives_until_its_last_chunk_is_evicted() {
        let mut s = Store::new(2);
        s.ingest(text("r", "a"), 0.0);
        s.ingest(text("r", "b"), 0.0);
        s.ingest(text("r", "c"), 0.0);
        s.evict();
        assert_eq!(s.len_rows(), 1);
        assert_eq!(s.row(0).map(|r| r.text.as_str()), Some("abc"));
        // The tool call whose use was evicted: its result stands alone.
        let mut s = Store::new(1);
        s.ingest(
            frame(r#"{"type":"tool_use","tool_name":"t","tool_input":{},"tool_use_id":"u"}"#),
            0.0,
        );
        s.ingest(frame(r#"{"type":"error","message":"m","kind":"k"}"#), 0.0);
        s.evict();
        let (_, change) = s.ingest(frame(r#"{"type":"tool_result","tool_use_id":"u","tool_name":"t","status":"success","output":1,"duration_ms":1}"#), 0.0);
        assert_eq!(change, RowChange::New(2));
    }

    #[test]
    fn evicts_by_bytes_keeping_the_newest_and_counts_what_it_holds() {
        let big = "x".repeat(10_000);
        let mut s = Store::with_max_bytes(1_000, 100_000);
        for i in 0..50 {
            s.ingest(
                frame(&format!(
                    r#"{{"type":"error","message":"{i} {big}","kind":"k"}}"#
                )),
                0.0,
            );
            s.evict();
            assert!(
                s.bytes() <= 100_000 - 100_000 / 16,
                "{} after {i}",
                s.bytes()
            );
        }
        // Each event is ~10 kB of raw text (its summary is cut to 300 chars).
        assert!((5..10).contains(&s.len_entries()), "{}", s.len_entries());
        assert_eq!(s.end(ViewMode::Raw), 50, "the newest stay");
        let held: usize = (s.base(ViewMode::Raw)..s.end(ViewMode::Raw))
            .filter_map(|g| s.entry(g))
            .map(|e| e.bytes)
            .sum::<usize>()
            + (s.base(ViewMode::Rows)..s.end(ViewMode::Rows))
                .filter_map(|g| s.row(g))
                .map(row_bytes)
                .sum::<usize>();
        assert_eq!(s.bytes(), held, "the running total is what is held");
        // One event over the bound alone still stays: it is the newest.
        let mut s = Store::with_max_bytes(10, 1_000);
        s.ingest(
            frame(&format!(
                r#"{{"type":"error","message":"{big}","kind":"k"}}"#
            )),
            0.0,
        );
        s.evict();
        assert_eq!(s.len_entries(), 1);
    }

    #[test]
    fn an_endless_message_splits_into_rows_so_its_chunks_can_leave() {
        let chunk = "y".repeat(100_000);
        let mut s = Store::with_max_bytes(1_000, 2_000_000);
        for _ in 0..40 {
            s.ingest(text("r", &chunk), 0.0);
            s.evict();
        }
        assert!(s.bytes() <= 2_000_000, "{}", s.bytes());
        assert!(
            s.row(s.base(ViewMode::Rows))
                .is_some_and(|r| r.text.len() <= ROW_TEXT_MAX)
        );
        assert!(s.base(ViewMode::Rows) > 0, "old rows of the message left");
    }

    #[test]
    fn a_truncated_event_marks_its_entry_and_row() {
        let mut s = Store::new(10);
        s.ingest(frame(r#"{"type":"tool_use","tool_name":"t","tool_input":{"a":"b"},"tool_use_id":"u","run_id":"r","truncated":{"tool_input":2000000}}"#), 0.0);
        s.ingest(frame(r#"{"type":"tool_result","tool_use_id":"u","tool_name":"t","status":"success","output":1,"duration_ms":1,"run_id":"r"}"#), 0.0);
        assert!(s.entry(0).is_some_and(|e| e.truncated));
        assert!(s.entry(1).is_some_and(|e| !e.truncated));
        assert!(
            s.line(ViewMode::Rows, 0).is_some_and(|l| l.truncated),
            "the pair keeps the mark"
        );
    }

    #[test]
    fn malformed_frames_become_marked_entries() {
        let mut s = Store::new(10);
        s.ingest(frame("{nope"), 5.0);
        s.ingest(frame("[1,2]"), 5.0);
        let e = s.entry(0).expect("entry");
        assert_eq!(e.kind, Kind::Malformed);
        assert!(
            e.summary.starts_with("malformed (not JSON"),
            "{}",
            e.summary
        );
        assert_eq!(e.ts, 5.0);
        assert!(matches!(detail_value(&s, ViewMode::Raw, 0), Some(Err(raw)) if raw == "{nope"));
    }
}
