//! Drawing: a pure function of a [`Feed`] and a [`View`].
//!
//! [`draw_view`] (for a ratatui `Frame`) and the `Widget` impl for
//! [`Screen`] (for any `Buffer`) read the state and never change it; [`draw`]
//! does the same for an [`App`]. The screen, top to bottom:
//!
//! - status bar ([`bars`]): connection, URL, Redis, event count, rate;
//! - info bar ([`bars`]): follow/paused, filter, search, gaps and drops;
//! - the log ([`log`]), and below it the detail pane ([`detail`]) when open;
//! - footer ([`bars`]): key hints, or the prompt being typed;
//! - the help screen ([`help`]) over everything when asked.
//!
//! The layout is [`crate::layout`], shared with the view state.

pub mod bars;
pub mod detail;
pub mod help;
pub mod json;
pub mod log;
pub mod markdown;
pub mod runs;
pub mod text;
pub mod transcript;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use crate::action::Page;
use crate::app::{App, Feed, View};
pub use crate::layout::{Areas, areas};

/// What one screen draws: a feed, seen through one view.
#[derive(Debug, Clone, Copy)]
pub struct Screen<'a> {
    /// The shared stream state.
    pub feed: &'a Feed,
    /// This viewer's state.
    pub view: &'a View,
}

impl<'a> Screen<'a> {
    /// The screen of `view` over `feed`.
    pub fn new(feed: &'a Feed, view: &'a View) -> Screen<'a> {
        Screen { feed, view }
    }
}

impl<'a> From<&'a App> for Screen<'a> {
    fn from(app: &'a App) -> Screen<'a> {
        Screen::new(&app.feed, &app.view)
    }
}

/// Draws an app's whole screen into a terminal frame.
pub fn draw(app: &App, frame: &mut Frame<'_>) {
    draw_view(&app.feed, &app.view, frame);
}

/// Draws `view` over `feed` into a terminal frame.
pub fn draw_view(feed: &Feed, view: &View, frame: &mut Frame<'_>) {
    frame.render_widget(Screen::new(feed, view), frame.area());
}

impl Widget for Screen<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = &self;
        let a = areas(
            area,
            app.view.detail.is_some() && app.view.page() == Page::Log,
        );
        bars::render_status(app, a.status, buf);
        bars::render_info(app, a.info, buf);
        match app.view.page() {
            Page::Log => log::render(app, a.log, buf),
            Page::Runs => runs::render_runs(app, a.log, buf),
            Page::Tools => runs::render_tools(app, a.log, buf),
            Page::Transcript => transcript::render(app, a.log, buf),
        }
        if let Some(pane) = a.detail {
            detail::render(app, pane, buf);
        }
        bars::render_footer(app, a.footer, buf);
        if app.view.help {
            help::render(app, area, buf);
        }
    }
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        Screen::from(self).render(area, buf);
    }
}
