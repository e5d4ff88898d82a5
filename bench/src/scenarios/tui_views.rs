//! The dashboard's cost (issue 13): one frame of the runs view with 10,000
//! runs and of the tools view, the heap per run of the aggregation, and what
//! the aggregation adds to ingesting one event.
//!
//! - **Frames**: the app holds `runs` runs (five events each: `run_started`
//!   with a model, `tool_use`, `tool_result`, text, `run_finished` with
//!   usage; one run in ten is a child of the run before it, one in seven
//!   fails), the view is opened with its key action, and the whole screen is
//!   drawn into a ratatui `TestBackend` through a `Terminal` (the diff
//!   included), one new event ingested between two draws as in a live session.
//! - **Memory per run**: the counting allocator's live bytes held by a
//!   [`Runs`] that observed those events, divided by the runs.
//! - **Ingest**: the aggregation is one call, [`Runs::observe`], made by the
//!   feed for every event; it is timed alone over the part `tui`'s own
//!   100,000 agent events (parsed beforehand), so "without" is the full ingest
//!   figure minus it.

use std::time::{Duration, Instant};

use orchestrator_events::Event;
use orchestrator_tui::action::{Action, Page};
use orchestrator_tui::app::runs::Runs;
use orchestrator_tui::app::{App, AppConfig, Now, Source};
use orchestrator_tui::client::Frame;
use orchestrator_tui::clock::Zone;
use orchestrator_tui::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::alloc;
use crate::error::BenchError;
use crate::measure::{Percentiles, median, thread_cpu_time};

/// Events per generated run.
pub const EVENTS_PER_RUN: usize = 5;
const TOOLS: [&str; 6] = [
    "store_research_plan",
    "search_notes",
    "fetch_page",
    "list_plans",
    "summarise",
    "calendar",
];

/// What to run.
#[derive(Debug, Clone)]
pub struct ViewsOpts {
    /// Runs held when drawing.
    pub runs: usize,
    /// Repetitions (each with a fresh app).
    pub repeats: usize,
    /// Timed draws per view and repetition.
    pub draws: usize,
    /// Terminal size.
    pub size: (u16, u16),
}

impl Default for ViewsOpts {
    fn default() -> Self {
        ViewsOpts {
            runs: 10_000,
            repeats: 5,
            draws: 200,
            size: (120, 40),
        }
    }
}

/// One repetition.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ViewsRun {
    /// Runs view draws, µs wall.
    pub runs_us: Option<Percentiles>,
    /// Runs view draws, µs thread CPU.
    pub runs_cpu_us: Option<Percentiles>,
    /// Tools view draws, µs wall.
    pub tools_us: Option<Percentiles>,
    /// Tools view draws, µs thread CPU.
    pub tools_cpu_us: Option<Percentiles>,
    /// Runs held when drawing.
    pub held: usize,
    /// Heap held by the aggregation per run, bytes (`None` without the counting allocator).
    pub bytes_per_run: Option<f64>,
    /// `Runs::observe` per event over the agent events, ns.
    pub observe_ns: f64,
}

/// All repetitions.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ViewsResult {
    /// Runs held.
    pub runs: usize,
    /// Terminal size.
    pub size: (u16, u16),
    /// The repetitions.
    pub reps: Vec<ViewsRun>,
}

impl ViewsResult {
    /// The median over repetitions of `f`.
    pub fn med(&self, f: impl Fn(&ViewsRun) -> Option<f64>) -> f64 {
        median(&self.reps.iter().filter_map(f).collect::<Vec<_>>()).unwrap_or(0.0)
    }
}

/// `n` runs of [`EVENTS_PER_RUN`] events each, with ids and timestamps.
pub fn run_events(n: usize, first: usize) -> Vec<String> {
    let base_ms = 1_764_086_400_000u64;
    let mut out = Vec::with_capacity(n * EVENTS_PER_RUN);
    for r in first..first + n {
        let run = format!("run-{r:06}");
        let parent = if r % 10 == 9 {
            format!(r#""parent_run_id":"run-{:06}","#, r - 1)
        } else {
            String::new()
        };
        let tool = TOOLS[r % TOOLS.len()];
        let failed = r % 7 == 6;
        for seq in 0..EVENTS_PER_RUN {
            let i = r * EVENTS_PER_RUN + seq;
            let ts = 1_764_086_400.0 + i as f64 * 0.01;
            let head = format!(
                r#"{{"id":"{}-0","agent":"orchestrator","run_id":"{run}",{parent}"seq":{seq},"timestamp":{ts:.3},"#,
                base_ms + i as u64
            );
            let body = match seq {
                0 => format!(
                    r#""type":"run_started","input":"research question number {r}: what does the stream do","source":"chat","model":"builtin-{}"}}"#,
                    r % 3
                ),
                1 => format!(
                    r#""type":"tool_use","tool_name":"{tool}","tool_input":{{"q":"item {r}"}},"tool_use_id":"t{r}"}}"#
                ),
                2 => format!(
                    r#""type":"tool_result","tool_use_id":"t{r}","tool_name":"{tool}","status":"{}","output":"done","duration_ms":{}}}"#,
                    if failed { "error" } else { "success" },
                    3 + r % 40
                ),
                3 => r#""type":"text_generation","data":"Here is what I found. "}"#.to_string(),
                _ => format!(
                    r#""type":"run_finished","status":"{}","duration_ms":{},"usage":{{"input_tokens":{},"output_tokens":{}}}}}"#,
                    if failed { "failed" } else { "completed" },
                    200 + r % 900,
                    100 + r % 50,
                    300 + r % 70
                ),
            };
            out.push(format!("{head}{body}"));
        }
    }
    out
}

fn draw_page(
    app: &mut App,
    page: Page,
    extra: &[String],
    opts: &ViewsOpts,
    now: &mut Now,
) -> Result<(Option<Percentiles>, Option<Percentiles>), BenchError> {
    app.act(Action::Open(page));
    let (w, h) = opts.size;
    app.resize(w, h);
    let mut terminal = Terminal::new(TestBackend::new(w, h))
        .map_err(|e| BenchError::Failed(format!("TestBackend: {e}")))?;
    terminal
        .draw(|f| ui::draw(app, f))
        .map_err(|e| BenchError::Failed(format!("draw: {e}")))?;
    let mut wall = Vec::with_capacity(opts.draws);
    let mut cpu = Vec::with_capacity(opts.draws);
    for k in 0..opts.draws {
        now.mono += Duration::from_millis(16);
        now.wall += 0.016;
        app.set_now(*now);
        if let Some(text) = extra.get(k) {
            app.ingest(Frame::parse(text.clone()));
        }
        let c = thread_cpu_time();
        let t = Instant::now();
        terminal
            .draw(|f| ui::draw(app, f))
            .map_err(|e| BenchError::Failed(format!("draw: {e}")))?;
        wall.push(t.elapsed().as_nanos() as u64 / 1000);
        cpu.push(thread_cpu_time().saturating_sub(c).as_nanos() as u64 / 1000);
    }
    Ok((Percentiles::of(&mut wall), Percentiles::of(&mut cpu)))
}

/// Heap bytes per run held by a [`Runs`] that observed `events`.
fn bytes_per_run(events: &[Event]) -> Option<f64> {
    alloc::set_counting(true);
    let before = alloc::live_bytes();
    let mut runs = Runs::default();
    for (i, e) in events.iter().enumerate() {
        runs.observe(e, i as u64, e.time_secs().unwrap_or(0.0));
    }
    let after = alloc::live_bytes();
    alloc::set_counting(false);
    let held = runs.len().max(1) as f64;
    drop(runs);
    Some((after? - before?) as f64 / held)
}

/// `Runs::observe` per event over `events`, ns.
fn observe_ns(events: &[Event]) -> f64 {
    let mut runs = Runs::default();
    let t = Instant::now();
    for (i, e) in events.iter().enumerate() {
        runs.observe(e, i as u64, e.time_secs().unwrap_or(0.0));
    }
    let ns = t.elapsed().as_nanos() as f64;
    std::hint::black_box(runs.len());
    ns / events.len().max(1) as f64
}

/// Every repetition; `agent` are the part `tui`'s agent events (for the ingest share).
pub fn run(opts: &ViewsOpts, agent: &[String]) -> Result<ViewsResult, BenchError> {
    let texts = run_events(opts.runs, 0);
    let extra = run_events(opts.draws.div_ceil(EVENTS_PER_RUN) * 2, opts.runs);
    let parsed: Vec<Event> = texts.iter().filter_map(|t| Event::parse(t).ok()).collect();
    let agent_parsed: Vec<Event> = agent.iter().filter_map(|t| Event::parse(t).ok()).collect();
    let mut result = ViewsResult {
        runs: opts.runs,
        size: opts.size,
        reps: Vec::new(),
    };
    for _ in 0..opts.repeats {
        let mut config = AppConfig::new(Source::Live {
            url: "ws://127.0.0.1:8000/ws/orchestrator".into(),
        });
        config.max_events = texts.len() + extra.len();
        config.zone = Zone::utc();
        let mut app = App::new(config);
        let mut now = Now {
            wall: 1_764_090_000.0,
            mono: Duration::from_secs(1),
        };
        app.set_now(now);
        for t in &texts {
            app.ingest(Frame::parse(t.clone()));
        }
        let held = app.feed.runs().len();
        let (half_a, half_b) = extra.split_at(extra.len() / 2);
        let (runs_us, runs_cpu_us) = draw_page(&mut app, Page::Runs, half_a, opts, &mut now)?;
        let (tools_us, tools_cpu_us) = draw_page(&mut app, Page::Tools, half_b, opts, &mut now)?;
        drop(app);
        let rep = ViewsRun {
            runs_us,
            runs_cpu_us,
            tools_us,
            tools_cpu_us,
            held,
            bytes_per_run: bytes_per_run(&parsed),
            observe_ns: observe_ns(&agent_parsed),
        };
        tracing::info!(
            runs_p50_us = rep.runs_us.map(|p| p.p50),
            tools_p50_us = rep.tools_us.map(|p| p.p50),
            "tui views run"
        );
        result.reps.push(rep);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_runs_make_that_many_runs_with_children() {
        let texts = run_events(20, 0);
        assert_eq!(texts.len(), 20 * EVENTS_PER_RUN);
        let mut runs = Runs::default();
        for (i, t) in texts.iter().enumerate() {
            let e = Event::parse(t).expect("valid event");
            runs.observe(&e, i as u64, e.time_secs().unwrap_or(0.0));
        }
        assert_eq!(runs.len(), 20);
        assert_eq!(runs.totals().running, 0);
        assert_eq!(runs.get("run-000008").map(|r| r.children.len()), Some(1));
        assert_eq!(runs.tools().len(), TOOLS.len());
    }
}
