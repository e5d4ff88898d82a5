//! The runs, tools and transcript views: their per-viewer state, the lists
//! they show (computed from the feed's aggregation, never from the event
//! ring), and their keys.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent};

use super::feed::Feed;
use super::prices::Prices;
use super::run_filter::RunFilter;
use super::runs::{Run, Runs, ToolStats};
use super::store::{Row, Store, ViewMode};
use crate::action::Page;

/// Orders of the runs view (`s` cycles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunSort {
    /// Newest start first.
    #[default]
    Start,
    /// Longest first.
    Duration,
    /// Most tokens first.
    Tokens,
    /// Most failed tool calls first (failed runs first among equals).
    Failures,
}

impl RunSort {
    fn next(self) -> RunSort {
        match self {
            RunSort::Start => RunSort::Duration,
            RunSort::Duration => RunSort::Tokens,
            RunSort::Tokens => RunSort::Failures,
            RunSort::Failures => RunSort::Start,
        }
    }

    /// As the status line says it.
    pub fn name(self) -> &'static str {
        match self {
            RunSort::Start => "start",
            RunSort::Duration => "duration",
            RunSort::Tokens => "tokens",
            RunSort::Failures => "failures",
        }
    }
}

/// Orders of the tools view (`s` cycles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ToolSort {
    /// Most calls first.
    #[default]
    Calls,
    /// Highest failure rate first.
    Failures,
    /// Slowest p95 first.
    Slowest,
    /// Most recent call first.
    Recent,
}

impl ToolSort {
    fn next(self) -> ToolSort {
        match self {
            ToolSort::Calls => ToolSort::Failures,
            ToolSort::Failures => ToolSort::Slowest,
            ToolSort::Slowest => ToolSort::Recent,
            ToolSort::Recent => ToolSort::Calls,
        }
    }

    /// As the status line says it.
    pub fn name(self) -> &'static str {
        match self {
            ToolSort::Calls => "calls",
            ToolSort::Failures => "failure rate",
            ToolSort::Slowest => "p95",
            ToolSort::Recent => "last call",
        }
    }
}

/// One line of the runs view.
#[derive(Debug, Clone, Copy)]
pub struct RunLine<'a> {
    /// The run.
    pub run: &'a Run,
    /// 0 for a top-level run, 1 for a child shown under its parent, …
    pub depth: u8,
}

/// Deepest child level listed under an unfolded parent.
const MAX_DEPTH: u8 = 4;

/// The state of the views other than the log.
#[derive(Debug, Clone, Default)]
pub struct Pages {
    /// The open view.
    pub page: Page,
    /// Where `Esc` from the transcript goes.
    pub back: Page,
    /// Selected line of the runs view.
    pub runs_sel: usize,
    /// Order of the runs view.
    pub runs_sort: RunSort,
    /// Which runs the runs view lists (`&` there).
    pub runs_filter: RunFilter,
    /// Parents whose children are shown.
    pub unfolded: HashSet<Arc<str>>,
    /// Selected line of the tools view.
    pub tools_sel: usize,
    /// Order of the tools view.
    pub tools_sort: ToolSort,
    /// The tool whose calls are listed (`Enter` in the tools view).
    pub tool_open: Option<Box<str>>,
    /// Selected call in that list.
    pub call_sel: usize,
    /// The run the transcript shows.
    pub transcript: Option<Arc<str>>,
    /// First transcript line shown.
    pub scroll: usize,
    /// Reasoning unfolded in the transcript (`z`).
    pub reasoning: bool,
    /// Prices for the cost column.
    pub prices: Option<Arc<Prices>>,
    /// Where `e` writes; `None` for a read-only viewer (an SSH session must
    /// not write files on the server).
    pub export_dir: Option<PathBuf>,
}

/// The runs view's lines: top-level runs that pass `filter` (themselves or
/// through a child) in `sort` order, each unfolded parent followed by its
/// children.
pub fn run_lines<'a>(
    runs: &'a Runs,
    sort: RunSort,
    unfolded: &HashSet<Arc<str>>,
    filter: &RunFilter,
    now_wall: f64,
) -> Vec<RunLine<'a>> {
    let is_top = |r: &Run| r.parent.as_ref().is_none_or(|p| runs.get(p).is_none());
    let passes = |r: &Run| filter.is_empty() || tree_passes(runs, r, 0, filter);
    let mut top: Vec<&Run> = runs
        .iter()
        .rev()
        .filter(|r| is_top(r) && passes(r))
        .collect();
    match sort {
        RunSort::Start => {}
        RunSort::Duration => top.sort_by_key(|r| std::cmp::Reverse(r.duration_at(now_wall))),
        RunSort::Tokens => top.sort_by_key(|r| std::cmp::Reverse(r.tokens_in + r.tokens_out)),
        RunSort::Failures => top.sort_by_key(|r| {
            std::cmp::Reverse((
                r.tools_failed,
                matches!(
                    r.state,
                    super::runs::RunState::Done(orchestrator_events::event::RunStatus::Failed)
                ),
            ))
        }),
    }
    let mut out = Vec::with_capacity(top.len());
    for r in top {
        push_tree(runs, r, 0, unfolded, &mut out);
    }
    out
}

fn tree_passes(runs: &Runs, run: &Run, depth: u8, filter: &RunFilter) -> bool {
    filter.matches(run)
        || (depth < MAX_DEPTH
            && run.children.iter().any(|c| {
                runs.get(c)
                    .is_some_and(|child| tree_passes(runs, child, depth + 1, filter))
            }))
}

fn push_tree<'a>(
    runs: &'a Runs,
    run: &'a Run,
    depth: u8,
    unfolded: &HashSet<Arc<str>>,
    out: &mut Vec<RunLine<'a>>,
) {
    out.push(RunLine { run, depth });
    if depth < MAX_DEPTH && unfolded.contains(&run.id) {
        for c in &run.children {
            if let Some(child) = runs.get(c) {
                push_tree(runs, child, depth + 1, unfolded, out);
            }
        }
    }
}

/// A run's tokens with its children's (a parent's row sums its tree).
pub fn tree_tokens(runs: &Runs, run: &Run) -> (u64, u64) {
    fn walk(runs: &Runs, run: &Run, depth: u8, acc: &mut (u64, u64)) {
        acc.0 += run.tokens_in;
        acc.1 += run.tokens_out;
        if depth < MAX_DEPTH {
            for c in &run.children {
                if let Some(child) = runs.get(c) {
                    walk(runs, child, depth + 1, acc);
                }
            }
        }
    }
    let mut acc = (0, 0);
    walk(runs, run, 0, &mut acc);
    acc
}

/// The tools view's rows in `sort` order.
pub fn tool_lines(runs: &Runs, sort: ToolSort) -> Vec<(&str, &ToolStats)> {
    let mut v: Vec<(&str, &ToolStats)> = runs.tools().iter().map(|(k, s)| (&**k, s)).collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    match sort {
        ToolSort::Calls => v.sort_by_key(|(_, s)| std::cmp::Reverse(s.calls)),
        ToolSort::Failures => v.sort_by(|a, b| b.1.failure_rate().total_cmp(&a.1.failure_rate())),
        ToolSort::Slowest => {
            v.sort_by_key(|(_, s)| std::cmp::Reverse(s.percentiles().map_or(0, |p| p.1)))
        }
        ToolSort::Recent => v.sort_by(|a, b| b.1.last.total_cmp(&a.1.last)),
    }
    v
}

/// The coalesced rows of one run, oldest first: the rows that start within
/// the run's span of the ring and carry its id (a binary search, then a walk
/// over that span only).
pub fn transcript_rows<'a>(store: &'a Store, run: &Run) -> Vec<&'a Row> {
    let (base, end) = (store.base(ViewMode::Rows), store.end(ViewMode::Rows));
    let (mut lo, mut hi) = (base, end);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if store.row(mid).is_some_and(|r| r.first < run.first_entry) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    (lo..end)
        .filter_map(|g| store.row(g))
        .take_while(|r| r.first <= run.last_entry)
        .filter(|r| r.run_id.as_deref() == Some(&*run.id))
        .collect()
}

/// Writes the events of `run` still held as JSON Lines into `dir`; returns the file.
pub fn export(feed: &Feed, run: &Run, dir: &std::path::Path) -> std::io::Result<PathBuf> {
    let safe: String = run
        .id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let path = dir.join(format!("run-{safe}.jsonl"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    let store = &feed.store;
    for gid in run.first_entry..=run.last_entry {
        if let Some(e) = store.entry(gid)
            && e.run_id.as_deref() == Some(&*run.id)
        {
            out.write_all(e.raw.as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(path)
}

impl Pages {
    /// Handles a key of the open view; `false` when it is not one of its keys.
    /// `flash` receives a message for the info bar.
    pub fn on_key(
        &mut self,
        feed: &Feed,
        key: &KeyEvent,
        now_wall: f64,
        page_rows: usize,
        flash: &mut Option<String>,
    ) -> bool {
        let runs = &feed.runs;
        match self.page {
            Page::Log => false,
            Page::Runs => {
                let lines = run_lines(
                    runs,
                    self.runs_sort,
                    &self.unfolded,
                    &self.runs_filter,
                    now_wall,
                );
                let n = lines.len();
                let sel_id = lines
                    .get(self.runs_sel.min(n.saturating_sub(1)))
                    .map(|l| l.run.id.clone());
                match key.code {
                    KeyCode::Char('j') | KeyCode::Down => self.runs_sel = step(self.runs_sel, 1, n),
                    KeyCode::Char('k') | KeyCode::Up => self.runs_sel = step(self.runs_sel, -1, n),
                    KeyCode::PageDown => self.runs_sel = step(self.runs_sel, page_rows as i64, n),
                    KeyCode::PageUp => self.runs_sel = step(self.runs_sel, -(page_rows as i64), n),
                    KeyCode::Char('g') | KeyCode::Home => self.runs_sel = 0,
                    KeyCode::Char('G') | KeyCode::End => self.runs_sel = n.saturating_sub(1),
                    KeyCode::Char('s') => {
                        self.runs_sort = self.runs_sort.next();
                        *flash = Some(format!("runs sorted by {}", self.runs_sort.name()));
                    }
                    KeyCode::Char(' ') | KeyCode::Left | KeyCode::Right => {
                        if let Some(id) = sel_id {
                            let open = match key.code {
                                KeyCode::Left => false,
                                KeyCode::Right => true,
                                _ => !self.unfolded.contains(&id),
                            };
                            if open {
                                self.unfolded.insert(id);
                            } else {
                                self.unfolded.remove(&id);
                            }
                        }
                    }
                    KeyCode::Enter => {
                        if let Some(id) = sel_id {
                            self.open_transcript(id, Page::Runs);
                        }
                    }
                    _ => return false,
                }
                true
            }
            Page::Tools => {
                if let Some(name) = self.tool_open.clone() {
                    let calls = runs.tools().get(&name).map_or(0, |t| t.recent.len());
                    match key.code {
                        KeyCode::Char('j') | KeyCode::Down => {
                            self.call_sel = step(self.call_sel, 1, calls)
                        }
                        KeyCode::Char('k') | KeyCode::Up => {
                            self.call_sel = step(self.call_sel, -1, calls)
                        }
                        KeyCode::Esc => self.tool_open = None,
                        KeyCode::Enter => {
                            // Newest call first on screen.
                            let call = runs
                                .tools()
                                .get(&name)
                                .and_then(|t| t.recent.iter().rev().nth(self.call_sel));
                            match call.and_then(|c| c.run_id.clone()) {
                                Some(id) if runs.get(&id).is_some() => {
                                    self.open_transcript(id, Page::Tools)
                                }
                                _ => *flash = Some("that call's run is no longer held".into()),
                            }
                        }
                        _ => return false,
                    }
                    return true;
                }
                let n = runs.tools().len();
                match key.code {
                    KeyCode::Char('j') | KeyCode::Down => {
                        self.tools_sel = step(self.tools_sel, 1, n)
                    }
                    KeyCode::Char('k') | KeyCode::Up => {
                        self.tools_sel = step(self.tools_sel, -1, n)
                    }
                    KeyCode::Char('g') | KeyCode::Home => self.tools_sel = 0,
                    KeyCode::Char('G') | KeyCode::End => self.tools_sel = n.saturating_sub(1),
                    KeyCode::Char('s') => {
                        self.tools_sort = self.tools_sort.next();
                        *flash = Some(format!("tools sorted by {}", self.tools_sort.name()));
                    }
                    KeyCode::Enter => {
                        let lines = tool_lines(runs, self.tools_sort);
                        if let Some((name, _)) = lines.get(self.tools_sel) {
                            self.tool_open = Some((*name).into());
                            self.call_sel = 0;
                        }
                    }
                    _ => return false,
                }
                true
            }
            Page::Transcript => {
                match key.code {
                    KeyCode::Char('j') | KeyCode::Down => self.scroll += 1,
                    KeyCode::Char('k') | KeyCode::Up => self.scroll = self.scroll.saturating_sub(1),
                    KeyCode::PageDown | KeyCode::Char(' ') => self.scroll += page_rows.max(2) - 1,
                    KeyCode::PageUp => {
                        self.scroll = self.scroll.saturating_sub(page_rows.max(2) - 1)
                    }
                    KeyCode::Char('g') | KeyCode::Home => self.scroll = 0,
                    KeyCode::Char('G') | KeyCode::End => self.scroll = usize::MAX / 2,
                    KeyCode::Char('z') => self.reasoning = !self.reasoning,
                    KeyCode::Esc => {
                        self.page = self.back;
                    }
                    KeyCode::Char('e') => {
                        let run = self.transcript.as_ref().and_then(|id| runs.get(id));
                        *flash = Some(match (run, &self.export_dir) {
                            (_, None) => "export is off in this session (read-only)".into(),
                            (None, _) => "the run is no longer held".into(),
                            (Some(run), Some(dir)) => match export(feed, run, dir) {
                                Ok(path) => format!("wrote {}", path.display()),
                                Err(e) => format!("export failed: {e}"),
                            },
                        });
                    }
                    _ => return false,
                }
                true
            }
        }
    }

    fn open_transcript(&mut self, id: Arc<str>, from: Page) {
        self.transcript = Some(id);
        self.back = from;
        self.page = Page::Transcript;
        self.scroll = 0;
    }
}

fn step(cur: usize, by: i64, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (cur as i64 + by).clamp(0, len as i64 - 1) as usize
}
