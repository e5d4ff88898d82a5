//! The detail pane: the selected row as pretty, coloured JSON, scrollable.
//!
//! For a coalesced message it shows the first chunk's event with the whole
//! text and the chunk count; for a paired tool call, the call and its result
//! side by side in one object; for a malformed frame, its raw text.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use crate::app::App;
use crate::app::store::detail_value;
use crate::ui::json;

/// At most this many JSON lines are laid out (a guard against huge events).
const MAX_LINES: usize = 5_000;

/// The pane's text area inside its border.
pub fn inner(pane: Rect) -> Rect {
    Block::new().borders(Borders::ALL).inner(pane)
}

/// The pane's lines, wrapped to `width`.
pub fn lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let theme = &app.theme;
    let (_, sel) = app.window(app.log_height());
    let Some(gid) = sel.and_then(|p| app.visible.get(p)).copied() else {
        return vec![Line::styled("nothing selected", theme.dim())];
    };
    let lines = match detail_value(&app.store, app.mode, gid) {
        None => vec![Line::styled("(evicted)", theme.dim())],
        Some(Ok(value)) => json::lines(&value, theme, MAX_LINES),
        Some(Err(raw)) => {
            let mut out = vec![Line::styled("not a JSON event; raw frame:", theme.bad())];
            out.extend(
                raw.lines()
                    .take(MAX_LINES)
                    .map(|l| Line::from(l.to_string())),
            );
            out
        }
    };
    json::wrap(lines, width)
}

/// Draws the pane into `area`.
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = &app.theme;
    let focus = app.detail.is_some_and(|d| d.focus);
    let scroll = app.detail.map_or(0, |d| d.scroll);
    let title = app
        .selected_line()
        .map(|l| {
            format!(
                " {} {} ",
                theme.icons.kind(l.kind),
                l.kind.category().name()
            )
        })
        .unwrap_or_else(|| " detail ".into());
    let hint = if focus {
        " j/k scroll, Tab log, Esc close "
    } else {
        " Tab focus, Esc close "
    };
    let border_style = if focus { theme.key() } else { theme.dim() };
    let block = Block::new()
        .borders(Borders::ALL)
        .border_set(theme.icons.border)
        .border_style(border_style)
        .title(Line::from(title))
        .title_bottom(Line::styled(hint, theme.dim()).right_aligned());
    let inner = block.inner(area);
    block.render(area, buf);
    let all = lines(app, inner.width);
    let max = all.len().saturating_sub(usize::from(inner.height));
    let start = scroll.min(max);
    let shown: Vec<Line<'static>> = all
        .into_iter()
        .skip(start)
        .take(usize::from(inner.height))
        .collect();
    Paragraph::new(shown).render(inner, buf);
}
