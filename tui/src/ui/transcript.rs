//! The transcript (`Enter` on a run): the run as one readable page.
//!
//! The input, then each step (reasoning dimmed and folded unless `z`; each
//! tool call with its input and output pretty-printed, status and duration;
//! the reply as wrapped text; errors), then how the run ended. Each step
//! starts with its offset from the run's start and a small timeline bar (a
//! waterfall): where in the run's duration the step happened.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::pages::transcript_rows;
use crate::app::runs::{Run, RunState};
use crate::app::store::ViewMode;
use crate::app::store::{ToolState, detail_value};
use crate::kind::Kind;
use crate::summary::{duration_ms, run_status};
use crate::ui::Screen;
use crate::ui::{json, markdown, text};

/// Width of the timeline bar.
const BAR: usize = 10;
/// Most JSON lines shown per tool input or output.
const MAX_JSON_LINES: usize = 40;

fn bar(app: &Screen<'_>, run: &Run, at: f64, total_ms: u64) -> String {
    let (full, empty) = if app.view.theme.is_ascii() {
        ("#", ".")
    } else {
        ("█", "·")
    };
    let start = run.started.unwrap_or(run.first_seen);
    let frac = if total_ms == 0 {
        0.0
    } else {
        ((at - start) * 1000.0 / total_ms as f64).clamp(0.0, 1.0)
    };
    let pos = ((frac * (BAR - 1) as f64).round() as usize).min(BAR - 1);
    (0..BAR)
        .map(|i| if i == pos { full } else { empty })
        .collect()
}

/// Every line of the transcript of `run`, wrapped to `width`.
pub fn lines(app: &Screen<'_>, run: &Run, width: u16) -> Vec<Line<'static>> {
    let t = &app.view.theme;
    let store = app.feed.store();
    let total = run.duration_at(app.view.now.wall).max(1);
    let start = run.started.unwrap_or(run.first_seen);
    let mut out: Vec<Line<'static>> = Vec::new();
    let (status, style) = match run.state {
        RunState::Running => ("running".to_string(), t.waiting()),
        RunState::Done(s) => (
            run_status(s).to_string(),
            if s == orchestrator_events::event::RunStatus::Completed {
                t.good()
            } else {
                t.bad()
            },
        ),
    };
    out.push(Line::from(vec![
        Span::styled(format!("run {}", text::cleaned(&run.id)), t.key()),
        Span::raw("  "),
        Span::styled(status, style),
        Span::styled(
            format!(
                "  {}  {}  {}",
                run.agent.as_deref().unwrap_or("-"),
                run.model.as_deref().unwrap_or(""),
                duration_ms(total)
            ),
            t.dim(),
        ),
    ]));
    if let Some(p) = &run.parent {
        out.push(Line::styled(
            format!("parent {}", text::cleaned(p)),
            t.dim(),
        ));
    }
    if run.partial {
        out.push(Line::styled(
            "partial: the run started before the history held; showing what is known",
            t.waiting(),
        ));
    }
    if !run.input.is_empty() {
        out.push(Line::from(vec![
            Span::styled("input  ", t.key()),
            Span::raw(text::cleaned(&run.input)),
        ]));
    }
    out.push(Line::raw(""));
    for row in transcript_rows(store, run) {
        let offset = format!(
            "+{:>6} ",
            duration_ms(((row.ts - start) * 1000.0).max(0.0) as u64)
        );
        let lead = vec![
            Span::styled(offset, t.dim()),
            Span::styled(bar(app, run, row.ts, total), t.dim()),
            Span::raw(" "),
            Span::styled(format!("{} ", t.icons.kind(row.kind)), t.kind(row.kind)),
        ];
        match row.kind {
            Kind::Reasoning => {
                let mut l = lead;
                if app.view.pages.reasoning {
                    l.push(Span::styled("reasoning", t.dim()));
                    out.push(Line::from(l));
                    for para in row.text.lines() {
                        out.push(Line::styled(
                            format!("    {}", text::cleaned(para)),
                            t.dim(),
                        ));
                    }
                } else {
                    l.push(Span::styled(
                        format!("reasoning ({} chars, z shows)", row.text.chars().count()),
                        t.dim(),
                    ));
                    out.push(Line::from(l));
                }
            }
            Kind::Text => {
                let mut l = lead;
                l.push(Span::styled("reply", t.key()));
                out.push(Line::from(l));
                out.extend(markdown::lines(&row.text, t, "    "));
            }
            Kind::ToolOk | Kind::ToolErr | Kind::ToolUse => {
                let mut l = lead;
                l.push(Span::styled(text::cleaned(&row.text), t.kind(row.kind)));
                if let Some(ToolState::Done {
                    ok,
                    duration_ms: ms,
                }) = row.tool
                {
                    let (mark, st) = if ok {
                        (t.icons.ok, t.good())
                    } else {
                        (t.icons.err, t.bad())
                    };
                    l.push(Span::styled(format!(" {mark} {}", duration_ms(ms)), st));
                }
                out.push(Line::from(l));
                let gid = store_row_gid(store, row.first);
                if let Some(Ok(value)) = gid.and_then(|g| detail_value(store, ViewMode::Rows, g)) {
                    for (label, key) in [("input", "tool_input"), ("output", "output")] {
                        let v = value
                            .get("tool_use")
                            .and_then(|u| u.get(key))
                            .or_else(|| value.get("tool_result").and_then(|r| r.get(key)))
                            .or_else(|| value.get(key));
                        if let Some(v) = v {
                            out.push(Line::styled(format!("    {label}:"), t.dim()));
                            for jl in json::lines(v, t, MAX_JSON_LINES) {
                                let mut spans = vec![Span::raw("      ")];
                                spans.extend(jl.spans);
                                out.push(Line::from(spans));
                            }
                        }
                    }
                }
            }
            _ => {
                let mut l = lead;
                l.push(Span::styled(text::cleaned(&row.text), t.kind(row.kind)));
                out.push(Line::from(l));
            }
        }
    }
    if let Some(reason) = &run.reason {
        out.push(Line::styled(
            format!("ended: {}", text::cleaned(reason)),
            t.bad(),
        ));
    }
    json::wrap(out, width)
}

/// The row whose first entry is `first` (rows are ordered by it).
fn store_row_gid(store: &crate::app::store::Store, first: u64) -> Option<u64> {
    let (mut lo, mut hi) = (store.base(ViewMode::Rows), store.end(ViewMode::Rows));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match store.row(mid).map(|r| r.first) {
            Some(f) if f < first => lo = mid + 1,
            _ => hi = mid,
        }
    }
    store.row(lo).filter(|r| r.first == first).map(|_| lo)
}

/// Draws the transcript of the open run.
pub fn render(app: &Screen<'_>, area: Rect, buf: &mut Buffer) {
    let t = &app.view.theme;
    let run = app
        .view
        .pages
        .transcript
        .as_ref()
        .and_then(|id| app.feed.runs().get(id));
    let Some(run) = run else {
        Paragraph::new(Line::styled(
            "The run is no longer held (Esc: back).",
            t.dim(),
        ))
        .render(area, buf);
        return;
    };
    let all = lines(app, run, area.width);
    let max = all.len().saturating_sub(usize::from(area.height));
    let start = app.view.pages.scroll.min(max);
    let shown: Vec<Line<'static>> = all
        .into_iter()
        .skip(start)
        .take(usize::from(area.height))
        .collect();
    Paragraph::new(shown).render(area, buf);
}
