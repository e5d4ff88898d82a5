//! One viewer's state: what it shows of a [`Feed`] and how.
//!
//! A [`View`] holds everything that differs between two people watching the
//! same feed: the filter and the index of rows passing it, the selection and
//! scroll position, search, the open pane and prompt, help, theme, time zone,
//! screen size and clock. It changes only through [`View::sync`] (catch up
//! with the feed), [`View::act`] (what the user asks), [`View::on_key`] /
//! [`View::on_mouse`] (which turn input into actions), [`View::set_now`] and
//! [`View::resize`]. Drawing ([`crate::ui`]) only reads it and the feed.
//!
//! Cost does not grow with the buffer: [`View::sync`] visits each new event
//! once (each entry records what it changed in the rows), the filtered index
//! is updated per event (append, or one binary-searched insert/remove when a
//! coalesced row changes), positions are global ids found by binary search,
//! and drawing touches only the rows on screen. Only changing the filter or
//! the mode rebuilds the index, once; so does a view that fell so far behind
//! that the events it had not seen were evicted.
//!
//! Time is injected ([`View::set_now`]): a view never reads a clock, so tests
//! (and snapshots) are deterministic.

use std::cell::Cell;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;

use super::feed::Feed;
use super::filter::{Pattern, ViewFilter};
use super::pages::Pages;
use super::prices::Prices;
use super::run_filter::RunFilter;
use super::store::{LineRef, RowChange, ViewMode};
use super::{Detail, Now, Prompt, PromptKind};
use crate::action::{Action, Page};
use crate::clock::Zone;
use crate::keymap;
use crate::layout;
use crate::theme::Theme;

/// How long a one-line message (e.g. "not found") stays in the info bar.
const FLASH_FOR: Duration = Duration::from_secs(4);

/// How a view looks when it opens.
#[derive(Debug, Clone)]
pub struct ViewConfig {
    /// Icons and colours.
    pub theme: Theme,
    /// Zone for the time column.
    pub zone: Zone,
    /// The `--record` file, shown in the info bar.
    pub recording: Option<String>,
    /// Screen size (columns, rows).
    pub size: (u16, u16),
    /// `--prices`: the cost column's prices.
    pub prices: Option<Arc<Prices>>,
    /// `--export-dir`: where `e` writes a run.
    pub export_dir: Option<PathBuf>,
}

impl Default for ViewConfig {
    fn default() -> ViewConfig {
        ViewConfig {
            theme: Theme::default(),
            zone: Zone::Local,
            recording: None,
            size: (80, 24),
            prices: None,
            export_dir: Some(PathBuf::from(".")),
        }
    }
}

/// One viewer of a feed.
#[derive(Debug)]
pub struct View {
    pub(crate) mode: ViewMode,
    pub(crate) filter: ViewFilter,
    /// Global ids (in `mode`'s list) of rows passing the filter, ascending.
    pub(crate) visible: VecDeque<u64>,
    pub(crate) follow: bool,
    pub(crate) selected: Option<u64>,
    /// First row on screen when not following.
    pub(crate) top: u64,
    /// Rows added while paused.
    pub(crate) unseen: u64,
    pub(crate) search: Option<Pattern>,
    pub(crate) prompt: Option<Prompt>,
    pub(crate) detail: Option<Detail>,
    pub(crate) help: bool,
    /// First line of the help screen shown (it scrolls when it does not fit).
    pub(crate) help_scroll: usize,
    pub(crate) theme: Theme,
    pub(crate) zone: Zone,
    pub(crate) now: Now,
    pub(crate) size: (u16, u16),
    pub(crate) flash: Option<(String, Duration)>,
    pub(crate) recording: Option<String>,
    /// The runs, tools and transcript views.
    pub(crate) pages: Pages,
    /// Global entry id up to which this view has taken the feed's events in.
    synced: u64,
    /// The feed's version at the last sync.
    synced_version: Option<u64>,
    /// The detail pane's largest scroll, written by the last draw.
    pub(crate) detail_max: Cell<usize>,
    /// Input changed something since the last [`View::take_dirty`].
    dirty: bool,
    quit: bool,
}

impl View {
    /// A view of nothing yet: call [`View::sync`] with its feed before drawing.
    pub fn new(config: ViewConfig) -> View {
        View {
            mode: ViewMode::Rows,
            filter: ViewFilter::default(),
            visible: VecDeque::new(),
            follow: true,
            selected: None,
            top: 0,
            unseen: 0,
            search: None,
            prompt: None,
            detail: None,
            help: false,
            help_scroll: 0,
            theme: config.theme,
            zone: config.zone,
            now: Now::default(),
            size: config.size,
            flash: None,
            recording: config.recording,
            pages: Pages {
                prices: config.prices,
                export_dir: config.export_dir,
                ..Pages::default()
            },
            synced: 0,
            synced_version: None,
            detail_max: Cell::new(0),
            dirty: true,
            quit: false,
        }
    }

    /// Sets the clock (call before handling what happened at that time).
    pub fn set_now(&mut self, now: Now) {
        self.now = now;
    }

    /// Tells the view the terminal's size, which decides page sizes.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.size = (width, height);
        self.dirty = true;
    }

    /// The size last given to [`View::resize`].
    pub fn size(&self) -> (u16, u16) {
        self.size
    }

    /// Whether the user asked to quit.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Rows the log would show with the current filter and mode.
    pub fn visible_count(&self) -> usize {
        self.visible.len()
    }

    /// The filter in force.
    pub fn filter(&self) -> &ViewFilter {
        &self.filter
    }

    /// The open view.
    pub fn page(&self) -> Page {
        self.pages.page
    }

    /// Whether the log follows new rows.
    pub fn following(&self) -> bool {
        self.follow
    }

    /// Whether input changed the view since the last call (and clears it).
    /// A view needs a redraw when this is true, when [`View::sync`] returned
    /// true, or on the periodic tick (spinners, durations, countdowns).
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// `--record` failed: stop showing it as active and say why.
    pub fn recording_stopped(&mut self, why: &str) {
        self.recording = None;
        self.flash(format!("recording stopped: {why}"));
    }

    /// Catches up with `feed`: takes in every event added since the last
    /// sync (O(1) each) and forgets rows the feed evicted. Returns whether
    /// the feed changed since the last sync, i.e. whether to redraw.
    pub fn sync(&mut self, feed: &Feed) -> bool {
        let changed = self.synced_version != Some(feed.version());
        self.synced_version = Some(feed.version());
        let store = &feed.store;
        let (base, end) = (store.base(ViewMode::Raw), store.end(ViewMode::Raw));
        if self.synced < base {
            // Events this view never saw are gone: start over from what is held.
            self.rebuild(feed);
            return changed;
        }
        for gid in self.synced..end {
            let Some(change) = store.entry(gid).map(|e| e.change) else {
                continue;
            };
            match self.mode {
                ViewMode::Raw => self.offer_new(feed, gid),
                ViewMode::Rows => match change {
                    RowChange::New(row) => self.offer_new(feed, row),
                    RowChange::Updated(row) => self.recheck(feed, row),
                },
            }
        }
        self.synced = end;
        let base = store.base(self.mode);
        while self.visible.front().is_some_and(|&g| g < base) {
            self.visible.pop_front();
        }
        changed
    }

    /// The selected row, as the log draws it.
    pub fn selected_line<'f>(&self, feed: &'f Feed) -> Option<LineRef<'f>> {
        let (_, sel) = self.window(self.log_height());
        let gid = *self.visible.get(sel?)?;
        feed.store.line(self.mode, gid)
    }

    /// The texts of the rows the log shows, oldest first (for tests and tools).
    pub fn visible_texts(&self, feed: &Feed) -> Vec<String> {
        self.visible
            .iter()
            .filter_map(|&g| feed.store.line(self.mode, g).map(|l| l.text.to_string()))
            .collect()
    }

    fn passes(&self, feed: &Feed, gid: u64) -> bool {
        self.filter.is_empty()
            || feed
                .store
                .line(self.mode, gid)
                .is_some_and(|l| self.filter.matches(&l))
    }

    /// A new item at the end of the active list.
    fn offer_new(&mut self, feed: &Feed, gid: u64) {
        if self.passes(feed, gid) {
            self.visible.push_back(gid);
            if !self.follow {
                self.unseen += 1;
            }
        }
    }

    /// An existing item changed: it may now pass the filter or not.
    fn recheck(&mut self, feed: &Feed, gid: u64) {
        if self.filter.is_empty() {
            return;
        }
        let passes = self.passes(feed, gid);
        match (passes, self.visible.binary_search(&gid)) {
            (true, Err(i)) => self.visible.insert(i, gid),
            (false, Ok(i)) => {
                self.visible.remove(i);
            }
            _ => {}
        }
    }

    /// Recomputes the filtered index (after a filter or view change).
    fn rebuild(&mut self, feed: &Feed) {
        self.visible.clear();
        self.synced = feed.store.end(ViewMode::Raw);
        let (base, end) = (feed.store.base(self.mode), feed.store.end(self.mode));
        for gid in base..end {
            if self.passes(feed, gid) {
                self.visible.push_back(gid);
            }
        }
    }

    /// Position of the first visible row at or after `gid`.
    fn pos_of(&self, gid: u64) -> usize {
        self.visible.partition_point(|&g| g < gid)
    }

    /// Rows of the log area.
    pub(crate) fn log_height(&self) -> usize {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        usize::from(layout::areas(area, self.detail.is_some()).log.height).max(1)
    }

    /// Which rows are on screen for a log of `height` rows: the position of the
    /// first one and of the selected one.
    pub(crate) fn window(&self, height: usize) -> (usize, Option<usize>) {
        let len = self.visible.len();
        let height = height.max(1);
        if len == 0 {
            return (0, None);
        }
        if self.follow {
            return (len.saturating_sub(height), Some(len - 1));
        }
        let sel = self
            .selected
            .map_or(len - 1, |g| self.pos_of(g).min(len - 1));
        let mut start = self.pos_of(self.top).min(len.saturating_sub(height));
        if sel < start {
            start = sel;
        } else if sel >= start + height {
            start = sel + 1 - height;
        }
        (start, Some(sel))
    }

    /// Stops following, keeping what is on screen where it is.
    fn pause(&mut self) {
        if !self.follow {
            return;
        }
        let (start, sel) = self.window(self.log_height());
        if let Some(sel) = sel {
            self.top = self.visible[start];
            self.selected = Some(self.visible[sel]);
        }
        self.follow = false;
        self.unseen = 0;
    }

    /// Selects the row at position `pos`, scrolling as little as needed.
    fn select_pos(&mut self, pos: usize) {
        let len = self.visible.len();
        if len == 0 {
            return;
        }
        let h = self.log_height();
        let (mut start, _) = self.window(h);
        let pos = pos.min(len - 1);
        if pos < start {
            start = pos;
        } else if pos >= start + h {
            start = pos + 1 - h;
        }
        self.selected = Some(self.visible[pos]);
        self.top = self.visible[start];
        // Rows scrolled past are seen: "N new" counts only those still below.
        let below = (len - 1 - pos) as u64;
        self.unseen = self.unseen.min(below);
        if let Some(d) = &mut self.detail {
            d.scroll = 0;
        }
    }

    fn move_by(&mut self, delta: i64) {
        let len = self.visible.len();
        if len == 0 {
            return;
        }
        if delta < 0 {
            self.pause();
        }
        let (_, sel) = self.window(self.log_height());
        let cur = sel.unwrap_or(len - 1) as i64;
        let target = (cur + delta).clamp(0, len as i64 - 1) as usize;
        if self.follow {
            return; // moving down while following: already at the newest row
        }
        self.select_pos(target);
    }

    fn flash(&mut self, message: impl Into<String>) {
        self.flash = Some((message.into(), self.now.mono + FLASH_FOR));
    }

    /// Moves to the next (or previous) row matching the search.
    fn find(&mut self, feed: &Feed, forward: bool, include_current: bool) {
        let Some(pattern) = self.search.clone() else {
            self.flash("no search: press / to search");
            return;
        };
        if self.pages.page == Page::Transcript {
            self.find_in_transcript(feed, &pattern, forward, include_current);
            return;
        }
        let len = self.visible.len();
        if len == 0 {
            return;
        }
        let (_, sel) = self.window(self.log_height());
        let cur = sel.unwrap_or(len - 1);
        let first = usize::from(!include_current);
        for step in first..=len {
            let pos = if forward {
                (cur + step) % len
            } else {
                (cur + len - step % len) % len
            };
            let hit = feed
                .store
                .line(self.mode, self.visible[pos])
                .is_some_and(|l| pattern.matches_line(&l));
            if hit {
                self.pause();
                self.select_pos(pos);
                return;
            }
        }
        self.flash(format!("not found: {}", pattern.text));
    }

    fn set_filter(&mut self, feed: &Feed, filter: ViewFilter) {
        self.filter = filter;
        self.rebuild(feed);
    }

    fn with_selected<T>(&self, feed: &Feed, pick: impl Fn(&LineRef<'_>) -> Option<T>) -> Option<T> {
        self.selected_line(feed).as_ref().and_then(pick)
    }

    fn toggle_raw(&mut self, feed: &Feed) {
        // Keep the selection on the same event across the switch.
        let map = |app: &View, gid: u64| -> u64 {
            match app.mode {
                ViewMode::Rows => feed.store.row(gid).map_or(gid, |r| r.first),
                ViewMode::Raw => {
                    let (base, end) = (
                        feed.store.base(ViewMode::Rows),
                        feed.store.end(ViewMode::Rows),
                    );
                    // The newest row that starts at or before this entry.
                    let (mut lo, mut hi) = (base, end);
                    while lo < hi {
                        let mid = lo + (hi - lo) / 2;
                        if feed.store.row(mid).is_some_and(|r| r.first <= gid) {
                            lo = mid + 1;
                        } else {
                            hi = mid;
                        }
                    }
                    lo.saturating_sub(1).max(base)
                }
            }
        };
        let selected = self.selected.map(|g| map(self, g));
        let top = map(self, self.top);
        self.mode = match self.mode {
            ViewMode::Rows => ViewMode::Raw,
            ViewMode::Raw => ViewMode::Rows,
        };
        self.selected = selected;
        self.top = top;
        self.rebuild(feed);
        self.flash(match self.mode {
            ViewMode::Raw => "raw view: one row per event",
            ViewMode::Rows => "coalesced view",
        });
    }

    /// The detail pane's last scroll position that still fills the pane, as
    /// measured by the last draw (the pane's line count is known only once
    /// its JSON is laid out, and that happens when it is drawn, not per key).
    fn detail_max_scroll(&self) -> usize {
        self.detail_max.get()
    }

    /// Does what the user asked.
    pub fn act(&mut self, feed: &Feed, action: Action) {
        self.dirty = true;
        let detail_focus = self.detail.is_some_and(|d| d.focus);
        match action {
            Action::Quit => self.quit = true,
            Action::Move(n) if detail_focus => self.scroll_detail(i64::from(n)),
            Action::Move(n) | Action::Wheel(n) => self.move_by(i64::from(n)),
            Action::Page(n) if detail_focus => {
                let h = self.detail_height() as i64;
                self.scroll_detail(i64::from(n) * (h - 1).max(1));
            }
            Action::Page(n) => {
                let h = self.log_height() as i64;
                self.move_by(i64::from(n) * (h - 1).max(1));
            }
            Action::Top if detail_focus => self.scroll_detail(i64::MIN / 2),
            Action::Bottom if detail_focus => self.scroll_detail(i64::MAX / 2),
            Action::Top => {
                self.pause();
                self.select_pos(0);
            }
            Action::Bottom => {
                self.follow = true;
                self.unseen = 0;
            }
            Action::ToggleFollow => {
                if self.follow {
                    self.pause();
                } else {
                    self.act(feed, Action::Bottom);
                }
            }
            Action::SearchPrompt => {
                self.prompt = Some(Prompt {
                    kind: PromptKind::Search,
                    input: String::new(),
                });
            }
            Action::SearchNext => self.find(feed, true, false),
            Action::SearchPrev => self.find(feed, false, false),
            Action::FilterPrompt => {
                let (kind, input) = if self.pages.page == Page::Runs {
                    (PromptKind::RunFilter, self.pages.runs_filter.describe())
                } else {
                    (PromptKind::Filter, self.filter.describe())
                };
                self.prompt = Some(Prompt {
                    kind,
                    input: if input.is_empty() { input } else { input + " " },
                });
            }
            Action::ToggleType(cat) => {
                let mut f = self.filter.clone();
                f.toggle_type(cat);
                self.set_filter(feed, f);
            }
            Action::OnlyRun => match self.with_selected(feed, |l| l.run_id.map(str::to_string)) {
                Some(run) => {
                    let mut f = self.filter.clone();
                    f.toggle_only_run(&run);
                    self.set_filter(feed, f);
                }
                None => self.flash("this row has no run id"),
            },
            Action::OnlyAgent | Action::HideAgent => {
                match self.with_selected(feed, |l| l.agent.map(str::to_string)) {
                    Some(agent) => {
                        let mut f = self.filter.clone();
                        if action == Action::OnlyAgent {
                            f.toggle_only_agent(&agent);
                        } else {
                            f.toggle_hide_agent(&agent);
                        }
                        self.set_filter(feed, f);
                    }
                    None => self.flash("this row has no agent"),
                }
            }
            Action::ClearFilters if self.pages.page == Page::Runs => {
                self.pages.runs_filter = RunFilter::default();
                self.pages.runs_sel = 0;
            }
            Action::ClearFilters => self.set_filter(feed, ViewFilter::default()),
            Action::Detail => {
                if self.detail.is_some() {
                    self.detail = None;
                } else if !self.visible.is_empty() {
                    self.detail = Some(Detail {
                        focus: true,
                        scroll: 0,
                    });
                }
            }
            Action::SwitchFocus => {
                if let Some(d) = &mut self.detail {
                    d.focus = !d.focus;
                }
            }
            Action::Escape => {
                if self.help {
                    self.help = false;
                } else if self.detail.is_some() {
                    self.detail = None;
                } else if self.search.is_some() {
                    self.search = None;
                    // "not found: …" was about the search just cleared.
                    self.flash = None;
                }
            }
            Action::ToggleRaw => self.toggle_raw(feed),
            Action::Open(page) => {
                if page == Page::Tools {
                    self.pages.tool_open = None;
                }
                self.pages.page = page;
                self.detail = None;
            }
            Action::Help => {
                self.help = !self.help;
                self.help_scroll = 0;
            }
            Action::Click(y) => {
                let h = self.log_height();
                let (start, sel) = self.window(h);
                let pos = start + usize::from(y);
                if pos < self.visible.len() {
                    if sel == Some(pos) && !self.follow {
                        self.act(feed, Action::Detail);
                        return;
                    }
                    self.pause();
                    self.select_pos(pos);
                }
            }
        }
    }

    fn detail_height(&self) -> usize {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        layout::areas(area, true)
            .detail
            .map_or(1, |r| usize::from(layout::inner(r).height).max(1))
    }

    fn scroll_detail(&mut self, delta: i64) {
        let max = self.detail_max_scroll() as i64;
        if let Some(d) = &mut self.detail {
            d.scroll = (d.scroll as i64).saturating_add(delta).clamp(0, max) as usize;
        }
    }

    /// Handles a key press: prompt editing, the help screen, or the keymap.
    pub fn on_key(&mut self, feed: &Feed, key: KeyEvent) {
        self.dirty = true;
        if key.kind == KeyEventKind::Release {
            return;
        }
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return;
        }
        if let Some(prompt) = &mut self.prompt {
            match key.code {
                KeyCode::Esc => self.prompt = None,
                KeyCode::Enter => {
                    if let Some(prompt) = self.prompt.take() {
                        self.submit(feed, prompt);
                    }
                }
                KeyCode::Backspace => {
                    prompt.input.pop();
                }
                KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    prompt.input.clear()
                }
                KeyCode::Char(c)
                    if !key.modifiers.contains(KeyModifiers::CONTROL)
                        && prompt.input.len() < 512 =>
                {
                    prompt.input.push(c);
                }
                _ => {}
            }
            return;
        }
        if self.help {
            // j/k and the page keys scroll a help screen taller than the
            // terminal; any other key closes it.
            let (w, h) = self.size;
            let max = crate::keymap::help_rows(w >= crate::keymap::HELP_TWO_COLUMNS)
                .saturating_sub(usize::from(h).saturating_sub(3));
            let page = usize::from(h).saturating_sub(4).max(1);
            self.help_scroll = match key.code {
                KeyCode::Char('j') | KeyCode::Down => self.help_scroll + 1,
                KeyCode::Char('k') | KeyCode::Up => self.help_scroll.saturating_sub(1),
                KeyCode::PageDown | KeyCode::Char(' ') => self.help_scroll + page,
                KeyCode::PageUp | KeyCode::Char('b') => self.help_scroll.saturating_sub(page),
                _ => {
                    self.help = false;
                    0
                }
            }
            .min(max);
            return;
        }
        if self.pages.page != Page::Log {
            let mut message = None;
            let rows = self.log_height();
            let handled = self
                .pages
                .on_key(feed, &key, self.now.wall, rows, &mut message);
            if let Some(m) = message {
                self.flash(m);
            }
            if handled {
                return;
            }
        }
        if let Some(action) = keymap::action_for(&key) {
            self.act(feed, action);
        }
    }

    /// `/`, `n`, `N` in the transcript: scroll so that the next (or
    /// previous) line holding the pattern is the top line.
    fn find_in_transcript(
        &mut self,
        feed: &Feed,
        pattern: &super::filter::Pattern,
        forward: bool,
        include_current: bool,
    ) {
        let run = self
            .pages
            .transcript
            .as_ref()
            .and_then(|id| feed.runs.get(id));
        let Some(run) = run else {
            return;
        };
        let texts: Vec<String> =
            crate::ui::transcript::lines(&crate::ui::Screen::new(feed, self), run, self.size.0)
                .iter()
                .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
                .collect();
        let len = texts.len();
        let hits = |i: usize| pattern.find_from(&texts[i], 0).is_some();
        let cur = self.pages.scroll.min(len.saturating_sub(1));
        let first = usize::from(!include_current);
        for step in first..=len.max(1) {
            if len == 0 {
                break;
            }
            let pos = if forward {
                (cur + step) % len
            } else {
                (cur + len - step % len) % len
            };
            if hits(pos) {
                self.pages.scroll = pos;
                return;
            }
        }
        self.flash(format!("not found: {}", pattern.text));
    }

    fn submit(&mut self, feed: &Feed, prompt: Prompt) {
        match prompt.kind {
            PromptKind::Search => {
                let text = prompt.input.trim();
                if text.is_empty() {
                    self.search = None;
                } else {
                    self.search = Some(Pattern::new(text));
                    self.find(feed, true, true);
                }
            }
            PromptKind::RunFilter => match RunFilter::parse(&prompt.input) {
                Ok(f) => {
                    self.pages.runs_filter = f;
                    self.pages.runs_sel = 0;
                }
                Err(e) => self.flash(format!("filter: {e}")),
            },
            PromptKind::Filter => match ViewFilter::parse(&prompt.input) {
                Ok(f) => self.set_filter(feed, f),
                Err(e) => self.flash(format!("filter: {e}")),
            },
        }
    }

    /// Handles the mouse: the wheel scrolls the pane under it, a click selects.
    pub fn on_mouse(&mut self, feed: &Feed, mouse: MouseEvent) {
        self.dirty = true;
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let areas = layout::areas(area, self.detail.is_some());
        let inside = |r: Rect| r.contains(ratatui::layout::Position::new(mouse.column, mouse.row));
        let over_detail = areas.detail.is_some_and(inside);
        match mouse.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let n: i32 = if mouse.kind == MouseEventKind::ScrollDown {
                    3
                } else {
                    -3
                };
                if self.pages.page != Page::Log {
                    // The other views scroll as their own keys do.
                    let code = if n > 0 { KeyCode::Down } else { KeyCode::Up };
                    let rows = self.log_height();
                    let mut message = None;
                    for _ in 0..n.unsigned_abs() {
                        let key = KeyEvent::new(code, KeyModifiers::NONE);
                        self.pages
                            .on_key(feed, &key, self.now.wall, rows, &mut message);
                    }
                } else if over_detail {
                    self.scroll_detail(i64::from(n));
                } else {
                    self.act(feed, Action::Wheel(n));
                }
            }
            MouseEventKind::Down(MouseButton::Left)
                if self.pages.page != Page::Log && inside(layout::areas(area, false).log) =>
            {
                let body = layout::areas(area, false).log;
                self.pages
                    .on_click(feed, mouse.row - body.y, body.height, self.now.wall);
            }
            MouseEventKind::Down(MouseButton::Left) if inside(areas.log) => {
                self.act(feed, Action::Click(mouse.row - areas.log.y));
            }
            _ => {}
        }
    }
}
