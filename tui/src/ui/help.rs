//! The help screen, written from the keymap table itself.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use crate::keymap::{Group, HELP_TWO_COLUMNS, KEYMAP, PAGE_KEYS, help_rows};
use crate::ui::Screen;

/// The help lines of one group, with its heading.
fn group_lines(app: &Screen<'_>, group: Group) -> Vec<Line<'static>> {
    let t = &app.view.theme;
    let mut out = vec![Line::styled(group.title(), t.good())];
    for b in KEYMAP.iter().filter(|b| b.group == group) {
        out.push(Line::from(vec![
            Span::styled(format!(" {:<12}", b.label), t.key()),
            Span::raw(b.help),
        ]));
    }
    out
}

/// Draws the help screen centred over `area`: two columns when it is wide
/// enough; taller than the screen, it scrolls (`j`/`k`, the view's `help_scroll`).
pub fn render(app: &Screen<'_>, area: Rect, buf: &mut Buffer) {
    let t = &app.view.theme;
    let mut left = group_lines(app, Group::Navigate);
    left.push(Line::raw(""));
    left.extend(group_lines(app, Group::View));
    let mut right = group_lines(app, Group::Search);
    right.push(Line::raw(""));
    right.extend(group_lines(app, Group::Filter));
    right.push(Line::raw(""));
    right.push(Line::styled("Runs, tools, transcript", t.good()));
    for (keys, what) in PAGE_KEYS {
        right.push(Line::from(vec![
            Span::styled(format!(" {keys:<12}"), t.key()),
            Span::raw(*what),
        ]));
    }
    let mouse = Line::styled(
        " mouse: wheel scrolls, click selects, click again: detail",
        t.dim(),
    );

    let two_cols = area.width >= HELP_TWO_COLUMNS;
    let (w, h) = if two_cols {
        (
            area.width.min(100),
            (left.len().max(right.len()) + 3) as u16,
        )
    } else {
        (area.width.min(50), (left.len() + right.len() + 4) as u16)
    };
    let h = h.min(area.height);
    let shown = usize::from(h.saturating_sub(3));
    let max = help_rows(two_cols).saturating_sub(shown);
    let scroll = app.view.help_scroll.min(max) as u16;
    let hint = if max > 0 {
        format!(" j/k scroll ({}/{}), any other key closes ", scroll, max)
    } else {
        " any key closes ".to_string()
    };
    let x = area.x + (area.width - w) / 2;
    let y = area.y + (area.height - h) / 2;
    let popup = Rect::new(x, y, w, h);
    Clear.render(popup, buf);
    let block = Block::new()
        .borders(Borders::ALL)
        .border_set(t.icons.border)
        .border_style(t.key())
        .title(" keys ")
        .title_bottom(Line::styled(hint, t.dim()).right_aligned());
    let inner = block.inner(popup);
    block.render(popup, buf);
    if two_cols {
        let half = inner.width / 2;
        let lh = inner.height.saturating_sub(1);
        Paragraph::new(left)
            .scroll((scroll, 0))
            .render(Rect::new(inner.x, inner.y, half, lh), buf);
        Paragraph::new(right).scroll((scroll, 0)).render(
            Rect::new(inner.x + half, inner.y, inner.width - half, lh),
            buf,
        );
        if inner.height > 0 {
            let last = Rect::new(inner.x, inner.y + inner.height - 1, inner.width, 1);
            Paragraph::new(mouse).render(last, buf);
        }
    } else {
        let mut all = left;
        all.push(Line::raw(""));
        all.extend(right);
        all.push(mouse);
        Paragraph::new(all).scroll((scroll, 0)).render(inner, buf);
    }
}
