//! The event log: one line per row, only the rows on screen are touched.
//!
//! Columns: local time, icon, agent, short run id, summary (with a tool's
//! spinner or status and duration at the right end). A growing message shows
//! its newest end; a finished one its beginning.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::store::{LineRef, ToolState};
use crate::client::ConnState;
use crate::summary;
use crate::ui::Screen;
use crate::ui::text;

/// Width of the short run id column.
const RUN_COLS: usize = 6;

/// Column widths for a log `width` columns wide: (agent, run); 0 hides a column.
fn columns(width: u16) -> (usize, usize) {
    match width {
        0..=59 => (0, 0),
        60..=99 => (8, RUN_COLS),
        _ => (12, RUN_COLS),
    }
}

/// The last `n` characters of a run id: ids share a prefix (`run-…`), the
/// end tells them apart.
pub fn short_run(run: &str, n: usize) -> &str {
    match run.char_indices().rev().nth(n.saturating_sub(1)) {
        Some((i, _)) if n > 0 => &run[i..],
        _ if n == 0 => "",
        _ => run,
    }
}

/// Draws the log into `area`.
pub fn render(app: &Screen<'_>, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    if app.view.visible.is_empty() {
        render_placeholder(app, area, buf);
        return;
    }
    let height = usize::from(area.height);
    let (start, sel) = app.view.window(height);
    let end = (start + height).min(app.view.visible.len());
    for (i, pos) in (start..end).enumerate() {
        let Some(line) = app.feed.store.line(app.view.mode, app.view.visible[pos]) else {
            continue;
        };
        let row = Rect::new(area.x, area.y + i as u16, area.width, 1);
        let mut l = row_line(app, &line, area.width);
        if sel == Some(pos) && (!app.view.follow || app.view.detail.is_some()) {
            l = l.patch_style(app.view.theme.selected());
            buf.set_style(row, app.view.theme.selected());
        }
        buf.set_line(row.x, row.y, &l, row.width);
    }
}

/// One row as a line of styled spans, exactly `width` columns or less.
pub fn row_line(app: &Screen<'_>, line: &LineRef<'_>, width: u16) -> Line<'static> {
    let theme = &app.view.theme;
    let icons = theme.icons;
    let (agent_w, run_w) = columns(width);
    let kind_style = theme.kind(line.kind);
    let mut spans = vec![
        Span::styled(app.view.zone.hms(line.ts), theme.dim()),
        Span::raw(" "),
        Span::styled(icons.kind(line.kind), kind_style),
        Span::raw(" "),
    ];
    let mut used = 8 + 1 + 2 + 1;
    if agent_w > 0 {
        let agent = line.agent.unwrap_or("-");
        let fit = text::fit_head(agent, agent_w);
        let search = app.view.search.as_ref().map(|p| (p, theme.highlight()));
        let mut s = text::spans(agent, fit, theme.agent(), search, icons.ellipsis);
        let w: usize = s.iter().map(|s| text::width(&s.content)).sum();
        s.push(Span::raw(" ".repeat(agent_w - w.min(agent_w) + 1)));
        spans.extend(s);
        used += agent_w + 1;
    }
    if run_w > 0 {
        let run = text::cleaned(short_run(line.run_id.unwrap_or("-"), run_w));
        let pad = run_w.saturating_sub(text::width(&run)) + 1;
        spans.push(Span::styled(run, theme.dim()));
        spans.push(Span::raw(" ".repeat(pad)));
        used += run_w + 1;
    }
    let mut suffix = Vec::new();
    if line.truncated {
        // Before the tool status, so a narrow terminal keeps both.
        suffix.push(Span::raw(" "));
        suffix.push(Span::styled(icons.cut, theme.waiting()));
    }
    suffix.extend(tool_suffix(app, line));
    let suffix_w: usize = suffix.iter().map(|s| text::width(&s.content)).sum();
    let room = usize::from(width).saturating_sub(used + suffix_w);
    let fit = if line.open {
        text::fit_tail(line.text, room)
    } else {
        text::fit_head(line.text, room)
    };
    let search = app.view.search.as_ref().map(|p| (p, theme.highlight()));
    spans.extend(text::spans(
        line.text,
        fit,
        kind_style,
        search,
        icons.ellipsis,
    ));
    spans.extend(suffix);
    Line::from(spans)
}

/// The right end of a tool row: a spinner while pending, then status and duration.
fn tool_suffix(app: &Screen<'_>, line: &LineRef<'_>) -> Vec<Span<'static>> {
    let theme = &app.view.theme;
    let icons = theme.icons;
    match line.tool {
        None => Vec::new(),
        Some(ToolState::Pending) => {
            let frames = icons.spinner;
            let i = (app.view.now.mono.as_millis() / 100) as usize % frames.len().max(1);
            vec![Span::raw(" "), Span::styled(frames[i], theme.waiting())]
        }
        Some(ToolState::Done { ok, duration_ms }) => {
            let (mark, style) = if ok {
                (icons.ok, theme.good())
            } else {
                (icons.err, theme.bad())
            };
            vec![
                Span::raw(" "),
                Span::styled(mark, style),
                Span::styled(
                    format!(" {}", summary::duration_ms(duration_ms)),
                    theme.dim(),
                ),
            ]
        }
    }
}

fn render_placeholder(app: &Screen<'_>, area: Rect, buf: &mut Buffer) {
    let theme = &app.view.theme;
    let msg = if app.feed.store.len_entries() > 0 {
        format!(
            "No rows match the filter ({} events held). Press c to clear it.",
            app.feed.store.len_entries()
        )
    } else {
        match &app.feed.conn.state {
            ConnState::Connecting { .. } => "Connecting...".to_string(),
            ConnState::Reconnecting { reason, .. } => {
                format!("Waiting for the bridge ({}).", text::cleaned(reason))
            }
            ConnState::Failed { reason } => format!("Failed: {}", text::cleaned(reason)),
            ConnState::Live => "Live. Waiting for events...".to_string(),
            ConnState::Replaying => "Reading the recording...".to_string(),
            ConnState::ReplayDone { .. } => "The recording has no events.".to_string(),
        }
    };
    let y = area.y + area.height / 2;
    let row = Rect::new(area.x, y, area.width, 1);
    Paragraph::new(Line::styled(msg, theme.dim()))
        .alignment(Alignment::Center)
        .render(row, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_run_keeps_the_end() {
        assert_eq!(short_run("run-3f2a9c1e7d00", 6), "1e7d00");
        assert_eq!(short_run("abc", 6), "abc");
        assert_eq!(short_run("ééééééé", 2), "éé");
        assert_eq!(short_run("abc", 0), "");
    }
}
