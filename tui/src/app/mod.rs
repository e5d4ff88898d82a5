//! The monitor's state: one shared [`Feed`] and a [`View`] per viewer.
//!
//! - [`feed`]: what is known about the stream (the event store in [`store`],
//!   the connection, the rate), held once per process; [`feed::SharedFeed`]
//!   shares it between many viewers (the SSH server's sessions).
//! - [`view`]: what one viewer shows of it and how (filter, selection,
//!   search, open pane, scroll, size). Views never change the feed.
//! - [`App`]: one feed and one view together, for the terminal monitor,
//!   tests and benchmarks, with the API the monitor always had.
//!
//! Drawing ([`crate::ui`]) is a pure function of a feed and a view.

pub mod feed;
pub mod filter;
pub mod pages;
pub mod prices;
pub mod rate;
pub mod run_filter;
pub mod runs;
pub mod store;
pub mod view;

use std::time::Duration;

use crossterm::event::{KeyEvent, MouseEvent};
use orchestrator_events::{Filter, StreamId};

use crate::action::Action;
use crate::client::{ClientEvent, ConnState, Frame};
use crate::clock::Zone;
use crate::theme::Theme;
pub use feed::{Feed, SharedFeed};
use filter::ViewFilter;
use store::LineRef;
pub use view::{View, ViewConfig};

/// Default size of the event ring (`--max-events`).
pub const DEFAULT_MAX_EVENTS: usize = 50_000;

/// Default bound of the event ring in bytes (`--max-memory`, 256 MiB).
pub const DEFAULT_MAX_MEMORY: usize = 256 * 1024 * 1024;

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
    /// Bytes the kept events may take (estimate) before the oldest is evicted.
    pub max_memory: usize,
    /// Icons and colours.
    pub theme: Theme,
    /// Zone for the time column.
    pub zone: Zone,
    /// Where events come from.
    pub source: Source,
    /// The `--record` file, shown in the info bar.
    pub recording: Option<String>,
    /// `--prices`: prices for the cost column.
    pub prices: Option<std::sync::Arc<prices::Prices>>,
    /// `--export-dir`: where `e` writes a run's events.
    pub export_dir: Option<std::path::PathBuf>,
}

impl AppConfig {
    /// Defaults for a live source: 50,000 events, Unicode icons with colour, local time.
    pub fn new(source: Source) -> AppConfig {
        AppConfig {
            max_events: DEFAULT_MAX_EVENTS,
            max_memory: DEFAULT_MAX_MEMORY,
            theme: Theme::default(),
            zone: Zone::Local,
            source,
            recording: None,
            prices: None,
            export_dir: Some(std::path::PathBuf::from(".")),
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
    /// `&` in the runs view: which runs are listed.
    RunFilter,
}

/// The detail pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detail {
    /// Keys scroll the pane rather than the log.
    pub focus: bool,
    /// First line shown.
    pub scroll: usize,
}

/// One feed and one view: the terminal monitor's whole state.
#[derive(Debug)]
pub struct App {
    /// What is known about the stream.
    pub feed: Feed,
    /// What this screen shows of it.
    pub view: View,
}

impl App {
    /// An empty monitor.
    pub fn new(config: AppConfig) -> App {
        App {
            feed: Feed::with_limits(config.max_events, config.max_memory, config.source),
            view: View::new(ViewConfig {
                theme: config.theme,
                zone: config.zone,
                recording: config.recording,
                size: (80, 24),
                prices: config.prices,
                export_dir: config.export_dir,
            }),
        }
    }

    /// Sets the clock (call before applying what happened at that time).
    pub fn set_now(&mut self, now: Now) {
        self.view.set_now(now);
    }

    /// Tells the app the terminal's size, which decides page sizes.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.view.resize(width, height);
    }

    /// Whether the user asked to quit.
    pub fn should_quit(&self) -> bool {
        self.view.should_quit()
    }

    /// Events held in the ring now.
    pub fn event_count(&self) -> usize {
        self.feed.store.len_entries()
    }

    /// Frames received in total (including evicted ones).
    pub fn received(&self) -> u64 {
        self.feed.received()
    }

    /// Rows the log would show with the current filter and view.
    pub fn visible_count(&self) -> usize {
        self.view.visible_count()
    }

    /// The connection as the status bar shows it.
    pub fn connection(&self) -> &Connection {
        self.feed.connection()
    }

    /// The filter in force.
    pub fn filter(&self) -> &ViewFilter {
        self.view.filter()
    }

    /// Whether the log follows new rows.
    pub fn following(&self) -> bool {
        self.view.following()
    }

    /// The selected row, as the log draws it.
    pub fn selected_line(&self) -> Option<LineRef<'_>> {
        self.view.selected_line(&self.feed)
    }

    /// The texts of the rows the log shows, oldest first (for tests and tools).
    pub fn visible_texts(&self) -> Vec<String> {
        self.view.visible_texts(&self.feed)
    }

    /// `--record` failed: stop showing it as active and say why.
    pub fn recording_stopped(&mut self, why: &str) {
        self.view.recording_stopped(why);
    }

    /// The client's channel closed (see [`Feed::source_ended`]).
    pub fn source_ended(&mut self) {
        self.feed.source_ended(self.view.now);
        self.view.sync(&self.feed);
    }

    /// Applies what the client reported.
    pub fn apply(&mut self, event: ClientEvent) {
        self.feed.apply(event, self.view.now);
        self.view.sync(&self.feed);
    }

    /// Adds one received frame to the log.
    pub fn ingest(&mut self, frame: Frame) {
        self.feed.ingest(frame, self.view.now);
        self.view.sync(&self.feed);
    }

    /// Does what the user asked.
    pub fn act(&mut self, action: Action) {
        self.view.act(&self.feed, action);
    }

    /// Handles a key press.
    pub fn on_key(&mut self, key: KeyEvent) {
        self.view.on_key(&self.feed, key);
    }

    /// Handles the mouse.
    pub fn on_mouse(&mut self, mouse: MouseEvent) {
        self.view.on_mouse(&self.feed, mouse);
    }
}

#[cfg(test)]
mod tests;
