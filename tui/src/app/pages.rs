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

/// The runs view's lines, read by position: top-level runs in `sort` order,
/// each unfolded parent followed by its children.
///
/// In the default order (newest start first) nothing walks every run: the
/// count is the top-level runs plus the rows of the unfolded parents, and a
/// window of rows is read by rank from [`Runs::top`], so a frame costs the
/// rows it draws and the unfolded trees. The other orders sort the top-level
/// runs (`O(n log n)`, only while one of them is chosen).
#[derive(Debug)]
pub struct RunLines<'a> {
    runs: &'a Runs,
    unfolded: &'a HashSet<Arc<str>>,
    /// Sorted top-level runs, for the orders other than start.
    sorted: Option<Vec<&'a Run>>,
    /// Unfolded top-level parents as (rank, rows under them), by rank.
    open: Vec<(usize, usize)>,
    len: usize,
}

impl<'a> RunLines<'a> {
    /// The lines of `runs` that pass `filter` (themselves or through a
    /// child), in `sort` order with `unfolded` parents open. A filter, like
    /// an order other than start, makes one pass over the top-level runs.
    pub fn new(
        runs: &'a Runs,
        sort: RunSort,
        unfolded: &'a HashSet<Arc<str>>,
        filter: &RunFilter,
        now_wall: f64,
    ) -> RunLines<'a> {
        let sorted = (sort != RunSort::Start || !filter.is_empty()).then(|| {
            let mut top: Vec<&Run> = (0..runs.top_len())
                .filter_map(|r| runs.top(r))
                .filter(|r| filter.is_empty() || tree_passes(runs, r, 0, filter))
                .collect();
            if sort != RunSort::Start {
                sort_runs(&mut top, sort, now_wall);
            }
            top
        });
        let mut open: Vec<(usize, usize)> = unfolded
            .iter()
            .filter_map(|id| runs.get(id))
            .filter(|r| r.top)
            .filter_map(|r| {
                let rank = match &sorted {
                    None => runs.top_rank(r)?,
                    Some(v) => v.iter().position(|x| x.seq == r.seq)?,
                };
                Some((rank, below(runs, r, 0, unfolded)))
            })
            .collect();
        open.sort_unstable();
        let top_len = sorted.as_ref().map_or(runs.top_len(), Vec::len);
        let len = top_len + open.iter().map(|o| o.1).sum::<usize>();
        RunLines {
            runs,
            unfolded,
            sorted,
            open,
            len,
        }
    }

    /// How many lines.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn top(&self, rank: usize) -> Option<&'a Run> {
        match &self.sorted {
            None => self.runs.top(rank),
            Some(v) => v.get(rank).copied(),
        }
    }

    /// Up to `count` lines from line `start`.
    pub fn window(&self, start: usize, count: usize) -> Vec<RunLine<'a>> {
        // Which top-level run line `start` falls in, and how far into its
        // tree: the row of the top run at rank `r` is line `r` plus the rows
        // opened under the unfolded runs ranked before it.
        let mut extra = 0;
        let mut found = None;
        for &(r, rows) in &self.open {
            if start < r + extra {
                break;
            }
            if start <= r + extra + rows {
                found = Some((r, start - r - extra));
                break;
            }
            extra += rows;
        }
        let (mut rank, mut skip) = found.unwrap_or((start - extra, 0));
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let Some(run) = self.top(rank) else { break };
            let mut tree = Vec::new();
            push_tree(self.runs, run, 0, self.unfolded, &mut tree);
            out.extend(tree.into_iter().skip(skip).take(count - out.len()));
            skip = 0;
            rank += 1;
        }
        out
    }

    /// The line at `i`.
    pub fn get(&self, i: usize) -> Option<RunLine<'a>> {
        self.window(i, 1).into_iter().next()
    }
}

/// Rows shown under `run` (its unfolded descendants).
fn below(runs: &Runs, run: &Run, depth: u8, unfolded: &HashSet<Arc<str>>) -> usize {
    if depth >= MAX_DEPTH || !unfolded.contains(&run.id) {
        return 0;
    }
    run.children
        .iter()
        .filter_map(|c| runs.get(c))
        .map(|c| 1 + below(runs, c, depth + 1, unfolded))
        .sum()
}

fn sort_runs(top: &mut [&Run], sort: RunSort, now_wall: f64) {
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
}

/// Every line at once (tests; the screen reads a window).
pub fn run_lines<'a>(
    runs: &'a Runs,
    sort: RunSort,
    unfolded: &'a HashSet<Arc<str>>,
    filter: &RunFilter,
    now_wall: f64,
) -> Vec<RunLine<'a>> {
    let lines = RunLines::new(runs, sort, unfolded, filter, now_wall);
    lines.window(0, lines.len())
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
                let lines = RunLines::new(
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
                drop(lines);
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

    /// A click on row `y` of the view's area (`height` rows): selects the line
    /// under it; a click on the line already selected opens it, as `Enter`.
    pub fn on_click(&mut self, feed: &Feed, y: u16, height: u16, now_wall: f64) {
        let y = usize::from(y);
        let runs = &feed.runs;
        match self.page {
            Page::Runs if y >= 1 => {
                // A header row above, the totals line below.
                let body = usize::from(height).saturating_sub(2);
                let lines = RunLines::new(
                    runs,
                    self.runs_sort,
                    &self.unfolded,
                    &self.runs_filter,
                    now_wall,
                );
                let sel = self.runs_sel.min(lines.len().saturating_sub(1));
                let at = crate::layout::window_start(sel, lines.len(), body) + y - 1;
                if y > body || at >= lines.len() {
                    return;
                }
                if at == sel {
                    if let Some(line) = lines.get(at) {
                        self.open_transcript(line.run.id.clone(), Page::Runs);
                    }
                } else {
                    self.runs_sel = at;
                }
            }
            Page::Tools if y >= 1 && self.tool_open.is_none() => {
                let body = usize::from(height).saturating_sub(1);
                let lines = tool_lines(runs, self.tools_sort);
                let sel = self.tools_sel.min(lines.len().saturating_sub(1));
                let at = crate::layout::window_start(sel, lines.len(), body) + y - 1;
                if y > body || at >= lines.len() {
                    return;
                }
                if at == sel {
                    if let Some((name, _)) = lines.get(at) {
                        self.tool_open = Some((*name).into());
                        self.call_sel = 0;
                    }
                } else {
                    self.tools_sel = at;
                }
            }
            _ => {}
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

#[cfg(test)]
mod tests {
    use super::*;
    use orchestrator_events::Event;

    /// 30 runs; runs 3k+1 and 3k+2 are children of 3k; 3k+2 has a child of its own.
    fn runs(cap: usize) -> Runs {
        let mut runs = Runs::new(cap);
        let mut entry = 0;
        let mut add = |runs: &mut Runs, id: String, parent: Option<String>| {
            let parent = parent.map_or(String::new(), |p| format!(r#","parent_run_id":"{p}""#));
            let e = Event::parse(&format!(
                r#"{{"type":"run_started","input":"{id}","source":"chat","run_id":"{id}"{parent}}}"#
            ))
            .expect("event");
            runs.observe(&e, entry, entry as f64);
            entry += 1;
        };
        for k in 0..10 {
            add(&mut runs, format!("r{}", 3 * k), None);
            add(
                &mut runs,
                format!("r{}", 3 * k + 1),
                Some(format!("r{}", 3 * k)),
            );
            add(
                &mut runs,
                format!("r{}", 3 * k + 2),
                Some(format!("r{}", 3 * k)),
            );
            add(&mut runs, format!("g{k}"), Some(format!("r{}", 3 * k + 2)));
        }
        runs
    }

    /// The lines the obvious way: every top-level run, newest first, with its tree.
    fn naive<'a>(runs: &'a Runs, unfolded: &HashSet<Arc<str>>) -> Vec<&'a str> {
        let mut out = Vec::new();
        for r in runs.iter().rev().filter(|r| r.top) {
            push_tree(runs, r, 0, unfolded, &mut out);
        }
        out.iter().map(|l| &*l.run.id).collect()
    }

    #[test]
    fn a_window_is_the_same_slice_of_the_whole_list() {
        let runs = runs(1000);
        for open in [
            vec![],
            vec!["r0"],
            vec!["r27", "r29", "r12", "r14", "r0"],
            vec!["r14"],
        ] {
            let unfolded: HashSet<Arc<str>> = open.iter().map(|s| Arc::from(*s)).collect();
            let all = naive(&runs, &unfolded);
            let lines = RunLines::new(&runs, RunSort::Start, &unfolded, &RunFilter::default(), 0.0);
            assert_eq!(lines.len(), all.len(), "{open:?}");
            for start in 0..=all.len() {
                let got: Vec<&str> = lines.window(start, 4).iter().map(|l| &*l.run.id).collect();
                let want = &all[start..(start + 4).min(all.len())];
                assert_eq!(got, want, "{open:?} from {start}");
            }
        }
    }

    #[test]
    fn children_rise_when_their_parent_leaves_and_late_parents_do_not_hide_them() {
        // At most 36 runs: the first parent (r0) and r1 leave; r2 (with g0) rises.
        let runs = runs(38);
        assert!(runs.get("r0").is_none());
        let none = HashSet::new();
        let ids: Vec<&str> = run_lines(&runs, RunSort::Start, &none, &RunFilter::default(), 0.0)
            .iter()
            .map(|l| &*l.run.id)
            .collect();
        assert_eq!(ids.last(), Some(&"r2"), "{ids:?}");
        assert_eq!(ids.len(), runs.top_len());

        // A child seen before its parent stays at the top level.
        let mut runs = Runs::default();
        for (i, json) in [
            r#"{"type":"run_started","input":"c","source":"a2a","run_id":"c","parent_run_id":"p"}"#,
            r#"{"type":"run_started","input":"p","source":"chat","run_id":"p"}"#,
        ]
        .iter()
        .enumerate()
        {
            runs.observe(&Event::parse(json).expect("event"), i as u64, 0.0);
        }
        let ids: Vec<&str> = run_lines(&runs, RunSort::Start, &none, &RunFilter::default(), 0.0)
            .iter()
            .map(|l| &*l.run.id)
            .collect();
        assert_eq!(ids, ["p", "c"]);
    }
}
