//! The one-line bars: status (top), info (second), footer (bottom).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::app::store::ViewMode;
use crate::app::{PromptKind, Source};
use crate::client::ConnState;
use crate::keymap::KEYMAP;
use crate::ui::Screen;
use crate::ui::text;

/// Seconds of history in the status bar's sparkline.
const SPARK_SECS: usize = 12;

/// `12345` as `12,345`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A size in bytes for people, in powers of 1000 with one decimal:
/// `512 B`, `60.0 kB`, `14.2 MB`, `1.0 GB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "GB"), (1_000_000, "MB"), (1_000, "kB")];
    for (size, unit) in UNITS {
        if n >= size {
            return format!("{:.1} {unit}", n as f64 / size as f64);
        }
    }
    format!("{n} B")
}

/// A size in KiB, rounded (`16 KiB`), or bytes below 1 KiB: the unit of the
/// producer's `--max-field-bytes`, so a cut field reads as "first 16 KiB".
pub fn kib(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else {
        format!("{} KiB", (n + 512) / 1024)
    }
}

/// The connection state: icon, word and style.
pub fn conn_label(app: &Screen<'_>) -> (String, Style) {
    let t = &app.view.theme;
    let i = t.icons;
    match &app.feed.conn.state {
        ConnState::Live => (format!("{} live", i.live), t.good()),
        ConnState::Connecting { attempt } if *attempt > 1 => (
            format!("{} connecting (try {attempt})", i.connecting),
            t.waiting(),
        ),
        ConnState::Connecting { .. } => (format!("{} connecting", i.connecting), t.waiting()),
        ConnState::Reconnecting { delay, .. } => {
            let left = (app.feed.conn.since + *delay).saturating_sub(app.view.now.mono);
            let secs = left.as_millis().div_ceil(1000);
            (
                format!("{} reconnecting in {secs}s", i.reconnecting),
                t.waiting(),
            )
        }
        ConnState::Failed { .. } => (format!("{} failed", i.failed), t.bad()),
        ConnState::Replaying => (format!("{} replay", i.replay), t.waiting()),
        ConnState::ReplayDone { .. } => (format!("{} replay done", i.replay), t.good()),
    }
}

fn sparkline(app: &Screen<'_>) -> String {
    let bars = &app.view.theme.icons.bars;
    let levels = [
        bars.empty,
        bars.one_eighth,
        bars.one_quarter,
        bars.three_eighths,
        bars.half,
        bars.five_eighths,
        bars.three_quarters,
        bars.seven_eighths,
        bars.full,
    ];
    let hist = app.feed.rate.history(app.view.now.mono, SPARK_SECS);
    let max = hist.iter().copied().max().unwrap_or(0);
    hist.iter()
        .map(|&n| {
            if max == 0 || n == 0 {
                levels[0]
            } else {
                levels[((n * 8).div_ceil(max) as usize).clamp(1, 8)]
            }
        })
        .collect()
}

fn rate(app: &Screen<'_>) -> String {
    let r = app.feed.rate.per_second(app.view.now.mono);
    if r >= 10.0 {
        format!("{r:.0}/s")
    } else {
        format!("{r:.1}/s")
    }
}

/// The top line: connection, URL, Redis, count, rate.
pub fn render_status(app: &Screen<'_>, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let t = &app.view.theme;
    let sep = Span::styled(format!(" {} ", t.icons.sep), t.dim());
    let (label, style) = conn_label(app);
    let mut right: Vec<Span<'static>> = Vec::new();
    match app.feed.conn.redis {
        Some(true) => right.push(Span::styled("redis up", t.good())),
        Some(false) => right.push(Span::styled("redis down", t.bad())),
        None => {}
    }
    if !right.is_empty() {
        right.push(sep.clone());
    }
    // What the ring holds, in count and in its estimated heap (`--max-memory`).
    right.push(Span::raw(format!(
        "{} ev{} {}",
        thousands(app.feed.store.len_entries() as u64),
        if t.is_ascii() { "," } else { " ·" },
        human_bytes(app.feed.store.bytes() as u64)
    )));
    right.push(sep.clone());
    right.push(Span::styled(sparkline(app), t.good()));
    right.push(Span::raw(format!(" {}", rate(app))));
    let right_w: usize = right.iter().map(|s| text::width(&s.content)).sum();
    let left_w = text::width(&label) + 3;
    let target = match &app.feed.conn.source {
        Source::Live { url } => url.clone(),
        Source::Replay { path } => path.clone(),
    };
    let room = usize::from(area.width).saturating_sub(left_w + right_w + 4);
    let mut spans = vec![Span::raw(" "), Span::styled(label, style), sep.clone()];
    spans.extend(text::spans(
        &target,
        text::fit_head(&target, room),
        t.dim(),
        None,
        t.icons.ellipsis,
    ));
    let used: usize = spans.iter().map(|s| text::width(&s.content)).sum();
    let pad = usize::from(area.width)
        .saturating_sub(used + right_w + 1)
        .max(1);
    spans.push(Span::raw(" ".repeat(pad)));
    spans.extend(right);
    buf.set_style(area, t.bar());
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

/// The second line: follow state, view, filter, search, alerts, messages.
pub fn render_info(app: &Screen<'_>, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let t = &app.view.theme;
    let i = t.icons;
    let mut parts: Vec<Vec<Span<'static>>> = Vec::new();
    if let Some((msg, until)) = &app.view.flash
        && *until > app.view.now.mono
    {
        parts.push(vec![Span::styled(text::cleaned(msg), t.key())]);
    }
    if app.view.page() != crate::action::Page::Log {
        parts.push(vec![Span::styled(
            format!("view: {}", app.view.page().name()),
            t.key(),
        )]);
    } else if app.view.follow {
        parts.push(vec![Span::styled(format!("{} follow", i.follow), t.good())]);
    } else if app.view.unseen > 0 {
        parts.push(vec![Span::styled(
            format!("{} paused, {} new", i.paused, thousands(app.view.unseen)),
            t.waiting(),
        )]);
    } else {
        parts.push(vec![Span::styled(
            format!("{} paused", i.paused),
            t.waiting(),
        )]);
    }
    let runs_filter = &app.view.pages.runs_filter;
    if app.view.page() == crate::action::Page::Runs && !runs_filter.is_empty() {
        parts.push(vec![Span::styled(
            format!("runs filter: {}", text::cleaned(&runs_filter.describe())),
            t.key(),
        )]);
    }
    if app.view.mode == ViewMode::Raw {
        parts.push(vec![Span::styled("raw chunks", t.key())]);
    }
    if !app.view.filter.is_empty() {
        // The count first: a long filter is what gets cut at 80 columns.
        parts.push(vec![
            Span::styled("filter ", t.key()),
            Span::styled(
                format!("({} shown) ", thousands(app.view.visible.len() as u64)),
                t.dim(),
            ),
            Span::raw(text::cleaned(&app.view.filter.describe())),
        ]);
    }
    if !app.feed.conn.server_filter.is_empty() {
        let f = &app.feed.conn.server_filter;
        let mut s = Vec::new();
        if !f.types.is_empty() {
            s.push(format!("types={}", f.types.join(",")));
        }
        if !f.agents.is_empty() {
            s.push(format!("agent={}", f.agents.join(",")));
        }
        if !f.run_ids.is_empty() {
            s.push(format!("run_id={}", f.run_ids.join(",")));
        }
        parts.push(vec![
            Span::styled("bridge ", t.dim()),
            Span::raw(text::cleaned(&s.join(" "))),
        ]);
    }
    if let Some(p) = &app.view.search {
        parts.push(vec![Span::styled(
            format!("/{}", text::cleaned(&p.text)),
            t.highlight(),
        )]);
    }
    if let ConnState::Failed { reason } = &app.feed.conn.state {
        parts.push(vec![Span::styled(
            format!("{} {}", i.failed, text::cleaned(reason)),
            t.bad(),
        )]);
    }
    if let ConnState::Reconnecting { reason, .. } = &app.feed.conn.state {
        parts.push(vec![Span::styled(text::cleaned(reason), t.waiting())]);
    }
    if app.feed.conn.dropped > 0 {
        parts.push(vec![Span::styled(
            format!("{} dropped {}", i.warn, thousands(app.feed.conn.dropped)),
            t.bad(),
        )]);
    }
    if app.feed.conn.gaps > 0 {
        let last = app
            .feed
            .conn
            .last_gap
            .as_deref()
            .map(text::cleaned)
            .unwrap_or_default();
        let n = if app.feed.conn.gaps > 1 {
            format!(" x{}", app.feed.conn.gaps)
        } else {
            String::new()
        };
        parts.push(vec![Span::styled(
            format!("{} gap {last}{n}", i.warn),
            t.bad(),
        )]);
    }
    if app.feed.conn.history_reset {
        parts.push(vec![Span::styled(
            format!("{} history reset", i.warn),
            t.bad(),
        )]);
    }
    if let Some(path) = &app.view.recording {
        parts.push(vec![Span::styled(
            format!("rec {}", text::cleaned(path)),
            t.dim(),
        )]);
    }
    let sep = Span::styled(format!(" {} ", i.sep), t.dim());
    let mut spans = vec![Span::raw(" ")];
    for (n, part) in parts.into_iter().enumerate() {
        if n > 0 {
            spans.push(sep.clone());
        }
        spans.extend(part);
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

/// The bottom line: the prompt being typed, or key hints from the keymap.
pub fn render_footer(app: &Screen<'_>, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let t = &app.view.theme;
    buf.set_style(area, t.bar());
    if let Some(prompt) = &app.view.prompt {
        let (lead, hint) = match prompt.kind {
            PromptKind::Search => ("/", "  Enter search, Esc cancel"),
            PromptKind::RunFilter => (
                "&",
                "  runs: status:failed agent:x source:a2a model:gpt words, Enter apply",
            ),
            PromptKind::Filter => (
                "&",
                "  e.g. type:tool -agent:x run:ab12 text -noise, Enter apply",
            ),
        };
        let input = text::cleaned(&prompt.input);
        let room = usize::from(area.width).saturating_sub(3);
        let fit = text::fit_tail(&input, room);
        let mut spans = vec![Span::styled(lead, t.key())];
        spans.extend(text::spans(
            &input,
            fit,
            Style::new(),
            None,
            t.icons.ellipsis,
        ));
        spans.push(Span::styled(
            if t.is_ascii() { "_" } else { "█" },
            Style::new(),
        ));
        spans.push(Span::styled(hint, t.dim()));
        buf.set_line(area.x, area.y, &Line::from(spans), area.width);
        return;
    }
    let mut spans = vec![Span::raw(" ")];
    let page = app.view.page();
    if page == crate::action::Page::Log {
        for b in KEYMAP {
            if let Some(word) = b.footer {
                let key = b.label.split(' ').next().unwrap_or(b.label);
                spans.push(Span::styled(key.to_string(), t.key()));
                spans.push(Span::raw(format!(" {word}  ")));
            }
        }
    } else {
        for (key, word) in crate::keymap::page_footer(page) {
            spans.push(Span::styled(*key, t.key()));
            spans.push(Span::raw(format!(" {word}  ")));
        }
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn formats_sizes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(60_000), "60.0 kB");
        assert_eq!(human_bytes(14_200_000), "14.2 MB");
        assert_eq!(human_bytes(1_009_930), "1.0 MB");
        assert_eq!(kib(16 * 1024), "16 KiB");
        assert_eq!(kib(16 * 1024 - 3), "16 KiB");
        assert_eq!(kib(100), "100 B");
    }
}
