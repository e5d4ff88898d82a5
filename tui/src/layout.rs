//! The one screen layout, used by the view state (page sizes, mouse
//! hit-testing) and by drawing, so they always agree. It depends on neither:
//! state and drawing both import it, never each other.

use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders};

/// Where each part of the screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// Connection status bar (top line).
    pub status: Rect,
    /// Follow/filter/search/alerts line.
    pub info: Rect,
    /// The event log (or the runs, tools or transcript view).
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

/// A bordered pane's text area inside its border.
pub fn inner(pane: Rect) -> Rect {
    Block::new().borders(Borders::ALL).inner(pane)
}

/// First line shown of a list of `len` lines in `height` rows so that the
/// selected line `sel` is on screen. The runs and tools views draw with it and
/// map a click back to a line with it, so both agree on what is where.
pub fn window_start(sel: usize, len: usize, height: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    sel.saturating_sub(height - 1).min(len - height)
}
