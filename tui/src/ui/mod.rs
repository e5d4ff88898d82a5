//! Drawing: a pure function of [`App`].
//!
//! [`draw`] (for a ratatui `Frame`) and the `Widget` impl for `&App` (for any
//! `Buffer`) read the state and never change it. The screen, top to bottom:
//!
//! - status bar ([`bars`]): connection, URL, Redis, event count, rate;
//! - info bar ([`bars`]): follow/paused, filter, search, gaps and drops;
//! - the log ([`log`]), and below it the detail pane ([`detail`]) when open;
//! - footer ([`bars`]): key hints, or the prompt being typed;
//! - the help screen ([`help`]) over everything when asked.
//!
//! [`areas`] is the one layout, used by drawing and by the app (page size,
//! mouse hit-testing), so they always agree.

pub mod bars;
pub mod detail;
pub mod help;
pub mod json;
pub mod log;
pub mod text;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use crate::app::App;

/// Where each part of the screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// Connection status bar (top line).
    pub status: Rect,
    /// Follow/filter/search/alerts line.
    pub info: Rect,
    /// The event log.
    pub log: Rect,
    /// The detail pane, when open.
    pub detail: Option<Rect>,
    /// Key hints or prompt (bottom line).
    pub footer: Rect,
}

/// Splits the screen. The detail pane takes the lower 55% of the log's space.
pub fn areas(area: Rect, detail_open: bool) -> Areas {
    let line = |y: u16| {
        Rect::new(
            area.x,
            y,
            area.width,
            u16::from(area.height > 0).min(area.height),
        )
    };
    let status = line(area.y);
    let info = if area.height > 1 {
        line(area.y + 1)
    } else {
        Rect::new(area.x, area.y, area.width, 0)
    };
    let footer = if area.height > 2 {
        line(area.y + area.height - 1)
    } else {
        Rect::new(area.x, area.y, area.width, 0)
    };
    let body_y = area.y + area.height.min(2);
    let body_h = area.height.saturating_sub(3);
    let body = Rect::new(area.x, body_y, area.width, body_h);
    let (log, detail) = if detail_open && body_h >= 6 {
        let detail_h = (u32::from(body_h) * 55 / 100) as u16;
        let log_h = body_h - detail_h;
        (
            Rect::new(area.x, body_y, area.width, log_h),
            Some(Rect::new(area.x, body_y + log_h, area.width, detail_h)),
        )
    } else {
        (body, None)
    };
    Areas {
        status,
        info,
        log,
        detail,
        footer,
    }
}

/// Draws the whole screen into a terminal frame.
pub fn draw(app: &App, frame: &mut Frame<'_>) {
    frame.render_widget(app, frame.area());
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let a = areas(area, self.detail.is_some());
        bars::render_status(self, a.status, buf);
        bars::render_info(self, a.info, buf);
        log::render(self, a.log, buf);
        if let Some(pane) = a.detail {
            detail::render(self, pane, buf);
        }
        bars::render_footer(self, a.footer, buf);
        if self.help {
            help::render(self, area, buf);
        }
    }
}
