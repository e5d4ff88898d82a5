//! The monitor's state and every change to it.
//!
//! [`App`] holds the event store, the filtered index of what the log shows,
//! the selection and scroll position, search, filters, the connection's
//! state and the open panes. It changes only through [`App::apply`] (what the
//! client reports), [`App::act`] (what the user asks), [`App::on_key`] /
//! [`App::on_mouse`] (which turn input into actions), [`App::set_now`] and
//! [`App::resize`]. Drawing ([`crate::ui`]) only reads it.
//!
//! Cost does not grow with the buffer: the filtered index is updated per
//! event (append, or one binary-searched insert/remove when a coalesced row
//! changes), positions are global ids found by binary search, and drawing
//! touches only the rows on screen. Only changing the filter or the view
//! rebuilds the index, once.
//!
//! Time is injected ([`App::set_now`]): the app never reads a clock, so tests
//! (and snapshots) are deterministic.

pub mod filter;
pub mod rate;
pub mod store;

use std::collections::VecDeque;
use std::time::Duration;

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use orchestrator_events::frame::StatusKind;
use orchestrator_events::{EventKind, Filter, StreamId};
use ratatui::layout::Rect;

use crate::action::Action;
use crate::client::{ClientEvent, ConnState, Frame};
use crate::clock::Zone;
use crate::keymap;
use crate::theme::Theme;
use filter::{Pattern, ViewFilter};
use rate::RateMeter;
use store::{LineRef, RowChange, Store, ViewMode};

/// Default size of the event ring (`--max-events`).
pub const DEFAULT_MAX_EVENTS: usize = 50_000;

/// How long a one-line message (e.g. "not found") stays in the info bar.
const FLASH_FOR: Duration = Duration::from_secs(4);

/// Where events come from, for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A live bridge at this URL (token never included).
    Live {
        /// The URL as shown.
        url: String,
    },
    /// A recorded JSONL file (`--replay`).
    Replay {
        /// The file as given.
        path: String,
    },
}

/// Settings the app starts with.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Events kept before the oldest is evicted.
    pub max_events: usize,
    /// Icons and colours.
    pub theme: Theme,
    /// Zone for the time column.
    pub zone: Zone,
    /// Where events come from.
    pub source: Source,
    /// The `--record` file, shown in the info bar.
    pub recording: Option<String>,
}

impl AppConfig {
    /// Defaults for a live source: 50,000 events, Unicode icons with colour, local time.
    pub fn new(source: Source) -> AppConfig {
        AppConfig {
            max_events: DEFAULT_MAX_EVENTS,
            theme: Theme::default(),
            zone: Zone::Local,
            source,
            recording: None,
        }
    }
}

/// The clock as the app sees it: set from outside.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Now {
    /// Wall clock, Unix seconds (times of events without a timestamp).
    pub wall: f64,
    /// Monotonic time since start (rates, spinners, countdowns).
    pub mono: Duration,
}

/// What the connection looks like, from client states and bridge frames.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Where events come from.
    pub source: Source,
    /// The client's state.
    pub state: ConnState,
    /// When `state` was entered (monotonic).
    pub since: Duration,
    /// Redis as the bridge last reported it.
    pub redis: Option<bool>,
    /// The bridge's version from `bridge_hello`.
    pub bridge_version: Option<String>,
    /// The filter the bridge applies.
    pub server_filter: Filter,
    /// Events the bridge reported dropping for this client, in total.
    pub dropped: u64,
    /// Gaps the bridge reported, in total.
    pub gaps: u64,
    /// The latest gap, as text.
    pub last_gap: Option<String>,
    /// The bridge reported that Redis lost its history.
    pub history_reset: bool,
    /// Newest event id received.
    pub last_id: Option<StreamId>,
}

/// A prompt being typed in the footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// Search or filter.
    pub kind: PromptKind,
    /// What was typed so far.
    pub input: String,
}

/// Which prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// `/`: search.
    Search,
    /// `&`: filter.
    Filter,
}

/// The detail pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detail {
    /// Keys scroll the pane rather than the log.
    pub focus: bool,
    /// First line shown.
    pub scroll: usize,
}

/// The whole state of the monitor.
#[derive(Debug)]
pub struct App {
    pub(crate) store: Store,
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
    pub(crate) conn: Connection,
    pub(crate) rate: RateMeter,
    pub(crate) theme: Theme,
    pub(crate) zone: Zone,
    pub(crate) now: Now,
    pub(crate) size: (u16, u16),
    pub(crate) flash: Option<(String, Duration)>,
    pub(crate) recording: Option<String>,
    pub(crate) received: u64,
    quit: bool,
}

impl App {
    /// An empty monitor.
    pub fn new(config: AppConfig) -> App {
        App {
            store: Store::new(config.max_events),
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
            conn: Connection {
                state: match config.source {
                    Source::Live { .. } => ConnState::Connecting { attempt: 1 },
                    Source::Replay { .. } => ConnState::Replaying,
                },
                source: config.source,
                since: Duration::ZERO,
                redis: None,
                bridge_version: None,
                server_filter: Filter::default(),
                dropped: 0,
                gaps: 0,
                last_gap: None,
                history_reset: false,
                last_id: None,
            },
            rate: RateMeter::default(),
            theme: config.theme,
            zone: config.zone,
            now: Now::default(),
            size: (80, 24),
            flash: None,
            recording: config.recording,
            received: 0,
            quit: false,
        }
    }

    /// Sets the clock (call before applying what happened at that time).
    pub fn set_now(&mut self, now: Now) {
        self.now = now;
    }

    /// Tells the app the terminal's size, which decides page sizes.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.size = (width, height);
        self.clamp_detail_scroll();
    }

    /// Whether the user asked to quit.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Events held in the ring now.
    pub fn event_count(&self) -> usize {
        self.store.len_entries()
    }

    /// Frames received in total (including evicted ones).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Rows the log would show with the current filter and view.
    pub fn visible_count(&self) -> usize {
        self.visible.len()
    }

    /// The connection as the status bar shows it.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The filter in force.
    pub fn filter(&self) -> &ViewFilter {
        &self.filter
    }

    /// Whether the log follows new rows.
    pub fn following(&self) -> bool {
        self.follow
    }

    /// The selected row, as the log draws it.
    pub fn selected_line(&self) -> Option<LineRef<'_>> {
        let (_, sel) = self.window(self.log_height());
        let gid = *self.visible.get(sel?)?;
        self.store.line(self.mode, gid)
    }

    /// The texts of the rows the log shows, oldest first (for tests and tools).
    pub fn visible_texts(&self) -> Vec<String> {
        self.visible
            .iter()
            .filter_map(|&g| self.store.line(self.mode, g).map(|l| l.text.to_string()))
            .collect()
    }

    /// `--record` failed: stop showing it as active and say why.
    pub fn recording_stopped(&mut self, why: &str) {
        self.recording = None;
        self.flash(format!("recording stopped: {why}"));
    }

    /// The client's channel closed. After `failed` or the end of a replay that
    /// is expected; otherwise the connection task stopped and the screen must
    /// not go on saying "live".
    pub fn source_ended(&mut self) {
        if matches!(
            self.conn.state,
            ConnState::Live
                | ConnState::Connecting { .. }
                | ConnState::Reconnecting { .. }
                | ConnState::Replaying
        ) {
            self.apply(ClientEvent::State(ConnState::Failed {
                reason: "the connection task stopped".into(),
            }));
        }
    }

    /// Applies what the client reported.
    pub fn apply(&mut self, event: ClientEvent) {
        match event {
            ClientEvent::State(state) => {
                if state != ConnState::Live {
                    // Redis as seen through a bridge we are not connected to is unknown.
                    self.conn.redis = None;
                }
                self.conn.state = state;
                self.conn.since = self.now.mono;
            }
            ClientEvent::Frame(frame) => self.ingest(frame),
        }
    }

    /// Adds one received frame to the log.
    pub fn ingest(&mut self, frame: Frame) {
        self.received += 1;
        self.rate.record(self.now.mono);
        if let Ok(event) = &frame.event {
            self.note_bridge(&event.kind);
            if let Some(id) = event.id {
                self.conn.last_id = Some(id);
            }
        }
        let (entry, change) = self.store.ingest(frame, self.now.wall);
        match self.mode {
            ViewMode::Raw => self.offer_new(entry),
            ViewMode::Rows => match change {
                RowChange::New(gid) => self.offer_new(gid),
                RowChange::Updated(gid) => self.recheck(gid),
            },
        }
        if self.store.evict() {
            let base = self.store.base(self.mode);
            while self.visible.front().is_some_and(|&g| g < base) {
                self.visible.pop_front();
            }
        }
    }

    fn note_bridge(&mut self, kind: &EventKind) {
        match kind {
            EventKind::BridgeHello(hello) => {
                self.conn.redis = hello.redis;
                self.conn.bridge_version = Some(hello.version.clone());
                self.conn.server_filter = hello.filter.clone();
            }
            EventKind::BridgeStatus(status) => match status.status {
                StatusKind::RedisDown => self.conn.redis = Some(false),
                StatusKind::RedisUp => self.conn.redis = Some(true),
                StatusKind::Dropped => self.conn.dropped += status.dropped.unwrap_or(0),
                StatusKind::Gap => {
                    self.conn.gaps += 1;
                    self.conn.last_gap = Some(match (status.from, status.to) {
                        (Some(from), Some(to)) => format!("{from}..{to}"),
                        _ => status.message.clone(),
                    });
                }
                StatusKind::HistoryReset => self.conn.history_reset = true,
                StatusKind::ReplayDone | StatusKind::Unknown => {}
            },
            _ => {}
        }
    }

    fn passes(&self, gid: u64) -> bool {
        self.filter.is_empty()
            || self
                .store
                .line(self.mode, gid)
                .is_some_and(|l| self.filter.matches(&l))
    }

    /// A new item at the end of the active list.
    fn offer_new(&mut self, gid: u64) {
        if self.passes(gid) {
            self.visible.push_back(gid);
            if !self.follow {
                self.unseen += 1;
            }
        }
    }

    /// An existing item changed: it may now pass the filter or not.
    fn recheck(&mut self, gid: u64) {
        if self.filter.is_empty() {
            return;
        }
        let passes = self.passes(gid);
        match (passes, self.visible.binary_search(&gid)) {
            (true, Err(i)) => self.visible.insert(i, gid),
            (false, Ok(i)) => {
                self.visible.remove(i);
            }
            _ => {}
        }
    }

    /// Recomputes the filtered index (after a filter or view change).
    fn rebuild(&mut self) {
        self.visible.clear();
        let (base, end) = (self.store.base(self.mode), self.store.end(self.mode));
        for gid in base..end {
            if self.passes(gid) {
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
        usize::from(crate::ui::areas(area, self.detail.is_some()).log.height).max(1)
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
    fn find(&mut self, forward: bool, include_current: bool) {
        let Some(pattern) = self.search.clone() else {
            self.flash("no search: press / to search");
            return;
        };
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
            let hit = self
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

    fn set_filter(&mut self, filter: ViewFilter) {
        self.filter = filter;
        self.rebuild();
    }

    fn with_selected<T>(&self, pick: impl Fn(&LineRef<'_>) -> Option<T>) -> Option<T> {
        self.selected_line().as_ref().and_then(pick)
    }

    fn toggle_raw(&mut self) {
        // Keep the selection on the same event across the switch.
        let map = |app: &App, gid: u64| -> u64 {
            match app.mode {
                ViewMode::Rows => app.store.row(gid).map_or(gid, |r| r.first),
                ViewMode::Raw => {
                    let (base, end) = (
                        app.store.base(ViewMode::Rows),
                        app.store.end(ViewMode::Rows),
                    );
                    // The newest row that starts at or before this entry.
                    let (mut lo, mut hi) = (base, end);
                    while lo < hi {
                        let mid = lo + (hi - lo) / 2;
                        if app.store.row(mid).is_some_and(|r| r.first <= gid) {
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
        self.rebuild();
        self.flash(match self.mode {
            ViewMode::Raw => "raw view: one row per event",
            ViewMode::Rows => "coalesced view",
        });
    }

    fn clamp_detail_scroll(&mut self) {
        let max = self.detail_max_scroll();
        if let Some(d) = &mut self.detail {
            d.scroll = d.scroll.min(max);
        }
    }

    fn detail_max_scroll(&self) -> usize {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let Some(pane) = crate::ui::areas(area, true).detail else {
            return 0;
        };
        let inner = crate::ui::detail::inner(pane);
        let total = crate::ui::detail::lines(self, inner.width).len();
        total.saturating_sub(usize::from(inner.height))
    }

    /// Does what the user asked.
    pub fn act(&mut self, action: Action) {
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
                    self.act(Action::Bottom);
                }
            }
            Action::SearchPrompt => {
                self.prompt = Some(Prompt {
                    kind: PromptKind::Search,
                    input: String::new(),
                });
            }
            Action::SearchNext => self.find(true, false),
            Action::SearchPrev => self.find(false, false),
            Action::FilterPrompt => {
                let input = self.filter.describe();
                self.prompt = Some(Prompt {
                    kind: PromptKind::Filter,
                    input: if input.is_empty() { input } else { input + " " },
                });
            }
            Action::ToggleType(cat) => {
                let mut f = self.filter.clone();
                f.toggle_type(cat);
                self.set_filter(f);
            }
            Action::OnlyRun => match self.with_selected(|l| l.run_id.map(str::to_string)) {
                Some(run) => {
                    let mut f = self.filter.clone();
                    f.toggle_only_run(&run);
                    self.set_filter(f);
                }
                None => self.flash("this row has no run id"),
            },
            Action::OnlyAgent | Action::HideAgent => {
                match self.with_selected(|l| l.agent.map(str::to_string)) {
                    Some(agent) => {
                        let mut f = self.filter.clone();
                        if action == Action::OnlyAgent {
                            f.toggle_only_agent(&agent);
                        } else {
                            f.toggle_hide_agent(&agent);
                        }
                        self.set_filter(f);
                    }
                    None => self.flash("this row has no agent"),
                }
            }
            Action::ClearFilters => self.set_filter(ViewFilter::default()),
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
            Action::ToggleRaw => self.toggle_raw(),
            Action::Help => self.help = !self.help,
            Action::Click(y) => {
                let h = self.log_height();
                let (start, sel) = self.window(h);
                let pos = start + usize::from(y);
                if pos < self.visible.len() {
                    if sel == Some(pos) && !self.follow {
                        self.act(Action::Detail);
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
        crate::ui::areas(area, true).detail.map_or(1, |r| {
            usize::from(crate::ui::detail::inner(r).height).max(1)
        })
    }

    fn scroll_detail(&mut self, delta: i64) {
        let max = self.detail_max_scroll() as i64;
        if let Some(d) = &mut self.detail {
            d.scroll = (d.scroll as i64).saturating_add(delta).clamp(0, max) as usize;
        }
    }

    /// Handles a key press: prompt editing, the help screen, or the keymap.
    pub fn on_key(&mut self, key: KeyEvent) {
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
                        self.submit(prompt);
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
            self.help = false;
            return;
        }
        if let Some(action) = keymap::action_for(&key) {
            self.act(action);
        }
    }

    fn submit(&mut self, prompt: Prompt) {
        match prompt.kind {
            PromptKind::Search => {
                let text = prompt.input.trim();
                if text.is_empty() {
                    self.search = None;
                } else {
                    self.search = Some(Pattern::new(text));
                    self.find(true, true);
                }
            }
            PromptKind::Filter => match ViewFilter::parse(&prompt.input) {
                Ok(f) => self.set_filter(f),
                Err(e) => self.flash(format!("filter: {e}")),
            },
        }
    }

    /// Handles the mouse: the wheel scrolls the pane under it, a click selects.
    pub fn on_mouse(&mut self, mouse: MouseEvent) {
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let areas = crate::ui::areas(area, self.detail.is_some());
        let inside = |r: Rect| r.contains(ratatui::layout::Position::new(mouse.column, mouse.row));
        let over_detail = areas.detail.is_some_and(inside);
        match mouse.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let n = if mouse.kind == MouseEventKind::ScrollDown {
                    3
                } else {
                    -3
                };
                if over_detail {
                    self.scroll_detail(n);
                } else {
                    self.act(Action::Wheel(n as i32));
                }
            }
            MouseEventKind::Down(MouseButton::Left) if inside(areas.log) => {
                self.act(Action::Click(mouse.row - areas.log.y));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
