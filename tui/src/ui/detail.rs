//! The detail pane: the selected row as pretty, coloured JSON, scrollable.
//!
//! For a coalesced message it shows the first chunk's event with the whole
//! text and the chunk count; for a paired tool call, the call and its result
//! side by side in one object; for a malformed frame, its raw text.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

use orchestrator_events::truncate::TRUNCATED_KEY;
use serde_json::Value;

use crate::app::store::detail_value;
use crate::ui::Screen;
use crate::ui::bars::{human_bytes, kib};
use crate::ui::{json, text};

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
        Some(Ok(value)) => {
            let mut out: Vec<Line<'static>> = cut_notes(&value)
                .into_iter()
                .map(|note| Line::styled(format!("{} {note}", theme.icons.cut), theme.waiting()))
                .collect();
            out.extend(json::lines(&value, theme, MAX_LINES));
            out
        }
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

/// One line per field the producer cut, from the `truncated` objects of the
/// event (or of both events of a paired tool call): its original size and
/// what is shown, e.g. `input: 1.0 MB, first 16 KiB shown`. The shown size is
/// measured as the producer measured the original: a string's UTF-8 length,
/// a JSON value's compact serialisation.
pub fn cut_notes(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut note = |obj: &serde_json::Map<String, Value>| {
        let Some(Value::Object(cut)) = obj.get(TRUNCATED_KEY) else {
            return;
        };
        for (field, original) in cut {
            let Some(original) = original.as_u64() else {
                continue;
            };
            let shown = match obj.get(field) {
                Some(Value::String(s)) => s.len(),
                Some(v) => serde_json::to_string(v).map_or(0, |s| s.len()),
                None => 0,
            };
            out.push(format!(
                "{}: {}, first {} shown",
                text::cleaned(field),
                human_bytes(original),
                kib(shown as u64)
            ));
        }
    };
    if let Value::Object(obj) = value {
        note(obj);
        for pair in ["tool_use", "tool_result"] {
            if let Some(Value::Object(inner)) = obj.get(pair) {
                note(inner);
            }
        }
    }
    out
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
