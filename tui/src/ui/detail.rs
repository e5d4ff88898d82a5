//! The detail pane: the selected row as pretty, coloured JSON, scrollable.
//!
//! For a coalesced message it shows the first chunk's event with the whole
//! text and the chunk count; for a paired tool call, the call and its result
//! side by side in one object; for a malformed frame, its raw text.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use crate::app::store::detail_value;
use crate::ui::Screen;
use crate::ui::json;

/// At most this many JSON lines are laid out (a guard against huge events).
const MAX_LINES: usize = 5_000;

pub use crate::layout::inner;

/// The pane's lines, wrapped to `width`.
pub fn lines(app: &Screen<'_>, width: u16) -> Vec<Line<'static>> {
    let theme = &app.view.theme;
    let (_, sel) = app.view.window(app.view.log_height());
    let Some(gid) = sel.and_then(|p| app.view.visible.get(p)).copied() else {
        return vec![Line::styled("nothing selected", theme.dim())];
    };
    let lines = match detail_value(&app.feed.store, app.view.mode, gid) {
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
pub fn render(app: &Screen<'_>, area: Rect, buf: &mut Buffer) {
    let theme = &app.view.theme;
    let focus = app.view.detail.is_some_and(|d| d.focus);
    let scroll = app.view.detail.map_or(0, |d| d.scroll);
    let title = app
        .view
        .selected_line(app.feed)
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
    // Scroll keys clamp to what this draw measured: the JSON is laid out
    // here, once per frame, never per key.
    app.view.detail_max.set(max);
    let start = scroll.min(max);
    let shown: Vec<Line<'static>> = all
        .into_iter()
        .skip(start)
        .take(usize::from(inner.height))
        .collect();
    Paragraph::new(shown).render(inner, buf);
}
