//! The runs view (`R`) and the tools view (`T`): tables drawn from the
//! feed's aggregation. Only the rows on screen are formatted; columns drop
//! by priority when the screen is narrow (the status column never).

use orchestrator_events::event::RunStatus;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::app::pages::{RunLines, tool_lines, tree_tokens};
use crate::app::runs::{Run, RunState};
use crate::layout::window_start;
use crate::summary::duration_ms;
use crate::ui::Screen;
use crate::ui::bars::thousands;
use crate::ui::text;

/// `s` cut or padded to exactly `w` columns.
pub fn cell(s: &str, w: usize, ellipsis: &str) -> String {
    let clean = text::cleaned(s);
    let fit = text::fit_head(&clean, w);
    let mut out = clean[fit.start..fit.end].to_string();
    if fit.cut_end {
        out.push_str(ellipsis);
    }
    let used = text::width(&out);
    out.push_str(&" ".repeat(w.saturating_sub(used)));
    out
}

/// `s` right-aligned in `w` columns.
fn rcell(s: &str, w: usize) -> String {
    let used = text::width(s);
    if used >= w {
        return cell(s, w, "");
    }
    format!("{}{s}", " ".repeat(w - used))
}

/// A column of a table: header, width, priority (higher stays longer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Status,
    Agent,
    Source,
    Input,
    Start,
    Duration,
    Steps,
    Tools,
    Tokens,
    FirstText,
    Model,
    Cost,
}

impl Col {
    fn spec(self) -> (&'static str, usize, u8) {
        match self {
            Col::Status => ("status", 11, 255),
            Col::Agent => ("agent", 10, 6),
            Col::Source => ("src", 5, 1),
            Col::Input => ("input", 12, 254),
            Col::Start => ("start", 8, 3),
            Col::Duration => ("dur", 7, 7),
            Col::Steps => ("steps", 5, 2),
            Col::Tools => ("tools", 7, 4),
            Col::Tokens => ("tok in/out", 13, 5),
            Col::FirstText => ("ttft", 6, 1),
            Col::Model => ("model", 12, 0),
            Col::Cost => ("cost", 8, 4),
        }
    }
}

/// The columns that fit in `width`, in display order.
fn run_columns(width: usize, cost: bool) -> Vec<Col> {
    let mut cols = vec![
        Col::Status,
        Col::Agent,
        Col::Source,
        Col::Input,
        Col::Start,
        Col::Duration,
        Col::Steps,
        Col::Tools,
        Col::Tokens,
        Col::FirstText,
        Col::Model,
    ];
    if cost {
        cols.push(Col::Cost);
    }
    loop {
        let need: usize = cols.iter().map(|c| c.spec().1 + 1).sum();
        if need <= width {
            return cols;
        }
        let Some((i, _)) = cols
            .iter()
            .enumerate()
            .filter(|(_, c)| c.spec().2 < 254)
            .min_by_key(|(_, c)| c.spec().2)
        else {
            return cols;
        };
        cols.remove(i);
    }
}

fn status_cell(app: &Screen<'_>, run: &Run) -> (String, Style) {
    let t = &app.view.theme;
    let i = t.icons;
    match run.state {
        RunState::Running => {
            let frames = i.spinner;
            let n = (app.view.now.mono.as_millis() / 100) as usize % frames.len().max(1);
            (format!("{} running", frames[n]), t.waiting())
        }
        RunState::Done(RunStatus::Completed) => (format!("{} completed", i.ok), t.good()),
        RunState::Done(RunStatus::Failed) => (format!("{} failed", i.err), t.bad()),
        RunState::Done(RunStatus::Cancelled) => (format!("{} cancelled", i.warn), t.waiting()),
    }
}

fn run_cell(app: &Screen<'_>, run: &Run, depth: u8, col: Col, w: usize) -> Span<'static> {
    let t = &app.view.theme;
    let ell = t.icons.ellipsis;
    let runs = app.feed.runs();
    match col {
        Col::Status => {
            let (s, style) = status_cell(app, run);
            Span::styled(cell(&s, w, ell), style)
        }
        Col::Agent => Span::styled(cell(run.agent.as_deref().unwrap_or("-"), w, ell), t.agent()),
        Col::Source => Span::styled(cell(run.source.as_deref().unwrap_or("-"), w, ell), t.dim()),
        Col::Input => {
            let mut s = String::new();
            if depth > 0 {
                s.push_str(&"  ".repeat(usize::from(depth)));
                s.push_str(if t.is_ascii() { "`- " } else { "└ " });
            }
            if !run.children.is_empty() {
                let open = app.view.pages.unfolded.contains(&run.id);
                s.push_str(match (open, t.is_ascii()) {
                    (true, true) => "[-] ",
                    (false, true) => "[+] ",
                    (true, false) => "▾ ",
                    (false, false) => "▸ ",
                });
            }
            if run.partial {
                s.push_str("(partial) ");
            }
            s.push_str(if run.input.is_empty() {
                &run.id
            } else {
                &run.input
            });
            Span::raw(cell(&s, w, ell))
        }
        Col::Start => Span::styled(
            cell(
                &app.view.zone.hms(run.started.unwrap_or(run.first_seen)),
                w,
                ell,
            ),
            t.dim(),
        ),
        Col::Duration => Span::raw(rcell(&duration_ms(run.duration_at(app.view.now.wall)), w)),
        Col::Steps => Span::raw(rcell(&run.steps.to_string(), w)),
        Col::Tools => {
            let s = format!("{}/{}", run.tools_ok, run.tools_failed);
            let style = if run.tools_failed > 0 {
                t.bad()
            } else {
                Style::new()
            };
            Span::styled(rcell(&s, w), style)
        }
        Col::Tokens => {
            let (i, o) = tree_tokens(runs, run);
            Span::raw(rcell(&format!("{}/{}", thousands(i), thousands(o)), w))
        }
        Col::FirstText => Span::styled(
            rcell(
                &run.first_text_ms()
                    .map(duration_ms)
                    .unwrap_or_else(|| "-".into()),
                w,
            ),
            t.dim(),
        ),
        Col::Model => Span::styled(cell(run.model.as_deref().unwrap_or("-"), w, ell), t.dim()),
        Col::Cost => {
            let (i, o) = tree_tokens(runs, run);
            let cost = app
                .view
                .pages
                .prices
                .as_ref()
                .and_then(|p| p.cost(run.model.as_deref(), i, o));
            Span::raw(rcell(&cost.map_or("-".into(), |c| format!("${c:.4}")), w))
        }
    }
}

/// Widths of `cols` in `width`: the input column takes what is left.
fn widths(cols: &[Col], width: usize) -> Vec<usize> {
    let fixed: usize = cols
        .iter()
        .filter(|c| **c != Col::Input)
        .map(|c| c.spec().1 + 1)
        .sum();
    cols.iter()
        .map(|c| {
            if *c == Col::Input {
                width.saturating_sub(fixed + 1).max(4)
            } else {
                c.spec().1
            }
        })
        .collect()
}

/// Draws the runs view: header, rows, totals line.
pub fn render_runs(app: &Screen<'_>, area: Rect, buf: &mut Buffer) {
    if area.height < 3 {
        return;
    }
    let t = &app.view.theme;
    let runs = app.feed.runs();
    let pages = &app.view.pages;
    let width = usize::from(area.width);
    let cols = run_columns(width, pages.prices.is_some());
    let ws = widths(&cols, width);
    let header: Vec<Span<'static>> = cols
        .iter()
        .zip(&ws)
        .flat_map(|(c, w)| {
            let (name, _, _) = c.spec();
            let s = if matches!(
                c,
                Col::Status | Col::Agent | Col::Source | Col::Input | Col::Start | Col::Model
            ) {
                cell(name, *w, "")
            } else {
                rcell(name, *w)
            };
            [Span::styled(s, t.key()), Span::raw(" ")]
        })
        .collect();
    buf.set_line(area.x, area.y, &Line::from(header), area.width);

    let lines = RunLines::new(
        runs,
        pages.runs_sort,
        &pages.unfolded,
        &pages.runs_filter,
        app.view.now.wall,
    );
    let body_h = usize::from(area.height) - 2;
    if lines.is_empty() {
        let msg = if !pages.runs_filter.is_empty() {
            "No runs pass the filter (& edits it, c clears it)."
        } else if app.feed.store().len_entries() == 0 {
            "No runs yet."
        } else {
            "No runs: the events held carry no run_id."
        };
        buf.set_line(area.x, area.y + 1, &Line::styled(msg, t.dim()), area.width);
    }
    let sel = pages.runs_sel.min(lines.len().saturating_sub(1));
    let start = window_start(sel, lines.len(), body_h);
    for (i, line) in lines.window(start, body_h).iter().enumerate() {
        let y = area.y + 1 + i as u16;
        let mut spans = Vec::with_capacity(cols.len() * 2);
        for (c, w) in cols.iter().zip(&ws) {
            spans.push(run_cell(app, line.run, line.depth, *c, *w));
            spans.push(Span::raw(" "));
        }
        let mut l = Line::from(spans);
        let row = Rect::new(area.x, y, area.width, 1);
        if start + i == sel {
            l = l.patch_style(t.selected());
            buf.set_style(row, t.selected());
        }
        buf.set_line(area.x, y, &l, area.width);
    }

    let y = area.y + area.height - 1;
    let listed = (!pages.runs_filter.is_empty()).then(|| lines.len());
    let s = totals_line(app, width, listed);
    buf.set_style(Rect::new(area.x, y, area.width, 1), t.bar());
    buf.set_line(area.x, y, &Line::raw(s), area.width);
}

/// The totals line, its parts dropped by priority until it fits `width`
/// (the counts of running, completed and failed runs stay).
/// `listed`: how many lines pass the runs filter, when one is in force.
fn totals_line(app: &Screen<'_>, width: usize, listed: Option<usize>) -> String {
    let runs = app.feed.runs();
    let pages = &app.view.pages;
    let tot = runs.totals();
    // (text, priority): higher stays longer.
    let mut parts: Vec<(String, u8)> = vec![
        (format!("{} running", tot.running), 255),
        (format!("{} completed", tot.completed), 255),
        (format!("{} failed", tot.failed), 255),
        (
            format!("{} cancelled", tot.cancelled),
            if tot.cancelled == 0 { 2 } else { 6 },
        ),
        (
            format!(
                "tok {}/{}",
                thousands(tot.tokens_in),
                thousands(tot.tokens_out)
            ),
            5,
        ),
    ];
    if let Some(prices) = &pages.prices {
        // Per model, not per run; starts at +0.0 (an empty f64 sum is -0.0).
        let cost = runs
            .tokens_by_model()
            .filter_map(|(m, i, o)| prices.cost(m, i, o))
            .fold(0.0, |a, c| a + c);
        parts.push((format!("cost ${cost:.4}"), 4));
    }
    if let Some((p50, p95)) = runs.duration_percentiles() {
        parts.push((
            format!("p50 {} p95 {}", duration_ms(p50), duration_ms(p95)),
            3,
        ));
    }
    parts.push((format!("sort: {}", pages.runs_sort.name()), 1));
    if let Some(n) = listed {
        parts.push((format!("listed {n}"), 254));
    }
    loop {
        let need: usize = parts.iter().map(|p| text::width(&p.0) + 2).sum();
        if need <= width {
            break;
        }
        let Some((i, _)) = parts
            .iter()
            .enumerate()
            .filter(|(_, p)| p.1 < 255)
            .min_by_key(|(_, p)| p.1)
        else {
            break;
        };
        parts.remove(i);
    }
    let mut s = String::new();
    for (p, _) in parts {
        s.push_str("  ");
        s.push_str(&p);
    }
    s.remove(0);
    s
}

/// Draws the tools view, or the calls of one tool.
pub fn render_tools(app: &Screen<'_>, area: Rect, buf: &mut Buffer) {
    if area.height < 2 {
        return;
    }
    let t = &app.view.theme;
    let ell = t.icons.ellipsis;
    let runs = app.feed.runs();
    let pages = &app.view.pages;
    let width = usize::from(area.width);
    let body_h = usize::from(area.height) - 1;
    if let Some(name) = &pages.tool_open {
        let head = format!(
            "{} {}   time      run                     ok  duration   (Enter: transcript, Esc: back)",
            t.icons.sep,
            text::cleaned(name)
        );
        buf.set_line(area.x, area.y, &Line::styled(head, t.key()), area.width);
        let calls: Vec<_> = runs
            .tools()
            .get(&**name)
            .map(|s| s.recent.iter().rev().collect())
            .unwrap_or_default();
        let sel = pages.call_sel.min(calls.len().saturating_sub(1));
        let start = window_start(sel, calls.len(), body_h);
        for (i, c) in calls.iter().skip(start).take(body_h).enumerate() {
            let (mark, style) = if c.ok {
                (t.icons.ok, t.good())
            } else {
                (t.icons.err, t.bad())
            };
            let mut l = Line::from(vec![
                Span::styled(format!(" {} ", app.view.zone.hms(c.ts)), t.dim()),
                Span::raw(cell(c.run_id.as_deref().unwrap_or("-"), 24, ell)),
                Span::raw(" "),
                Span::styled(mark.to_string(), style),
                Span::raw(rcell(&duration_ms(c.duration_ms), 10)),
            ]);
            let y = area.y + 1 + i as u16;
            if start + i == sel {
                l = l.patch_style(t.selected());
                buf.set_style(Rect::new(area.x, y, area.width, 1), t.selected());
            }
            buf.set_line(area.x, y, &l, area.width);
        }
        return;
    }
    let name_w = width
        .saturating_sub(6 + 6 + 6 + 8 + 8 + 8 + 9 + 8)
        .clamp(8, 40);
    let header = format!(
        "{}{}{}{}{}{}{}{}",
        cell("tool", name_w, ""),
        rcell("calls", 6),
        rcell("fail", 6),
        rcell("rate", 6),
        rcell("p50", 8),
        rcell("p95", 8),
        rcell("max", 8),
        rcell("last", 9),
    );
    buf.set_line(area.x, area.y, &Line::styled(header, t.key()), area.width);
    let lines = tool_lines(runs, pages.tools_sort);
    if lines.is_empty() {
        buf.set_line(
            area.x,
            area.y + 1,
            &Line::styled("No tool calls yet.", t.dim()),
            area.width,
        );
    }
    let sel = pages.tools_sel.min(lines.len().saturating_sub(1));
    let start = window_start(sel, lines.len(), body_h);
    for (i, (name, s)) in lines.iter().skip(start).take(body_h).enumerate() {
        let (p50, p95) = s.percentiles().unwrap_or((0, 0));
        let fail_style = if s.failures > 0 {
            t.bad()
        } else {
            Style::new()
        };
        let mut l = Line::from(vec![
            Span::raw(cell(name, name_w, ell)),
            Span::raw(rcell(&thousands(s.calls), 6)),
            Span::styled(rcell(&thousands(s.failures), 6), fail_style),
            Span::styled(
                rcell(&format!("{:.0}%", s.failure_rate() * 100.0), 6),
                fail_style,
            ),
            Span::raw(rcell(&duration_ms(p50), 8)),
            Span::raw(rcell(&duration_ms(p95), 8)),
            Span::raw(rcell(&duration_ms(s.max_ms), 8)),
            Span::styled(rcell(&app.view.zone.hms(s.last), 9), t.dim()),
        ]);
        let y = area.y + 1 + i as u16;
        if start + i == sel {
            l = l.patch_style(t.selected());
            buf.set_style(Rect::new(area.x, y, area.width, 1), t.selected());
        }
        buf.set_line(area.x, y, &l, area.width);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_drop_by_priority_and_status_stays() {
        let wide = run_columns(200, true);
        assert!(wide.contains(&Col::Model) && wide.contains(&Col::Cost));
        let narrow = run_columns(80, true);
        assert!(narrow.contains(&Col::Status) && narrow.contains(&Col::Input));
        assert!(!narrow.contains(&Col::Model));
        let tiny = run_columns(10, false);
        assert_eq!(tiny, vec![Col::Status, Col::Input]);
    }
}
