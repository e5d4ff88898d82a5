//! The monitor's cost: ingesting 100,000 events, drawing a frame with 100,000
//! buffered, and the memory they take.
//!
//! The events are what an agent produces (runs of `run_started`, reasoning,
//! a tool call and its result, streamed text chunks, `run_finished`), about
//! 200 bytes each, with ids. Ingest is timed from text to stored row:
//! [`Frame::parse`] (the JSON parse the client does) plus [`App::ingest`].
//! Drawing renders the whole screen with [`ui::draw`] into a ratatui
//! `TestBackend` of 120×40 through a `Terminal` (so the diff against the
//! previous frame is included, as on a real terminal); between two timed
//! draws one new event is ingested, as in a live session. Memory is the heap
//! the app holds (a counting allocator, exact) and the process RSS growth.

use std::time::{Duration, Instant};

use orchestrator_tui::app::{App, AppConfig, Now, Source};
use orchestrator_tui::client::Frame;
use orchestrator_tui::clock::Zone;
use orchestrator_tui::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::alloc;
use crate::error::BenchError;
use crate::measure::{Percentiles, median, self_rss_kib, thread_cpu_time};

/// What to run.
#[derive(Debug, Clone)]
pub struct TuiOpts {
    /// Events ingested (and the buffer size).
    pub events: usize,
    /// Ingest runs.
    pub runs: usize,
    /// Timed draws per run.
    pub draws: usize,
    /// Terminal size.
    pub size: (u16, u16),
}

impl Default for TuiOpts {
    fn default() -> Self {
        TuiOpts {
            events: 100_000,
            runs: 5,
            draws: 200,
            size: (120, 40),
        }
    }
}

/// One run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TuiRun {
    /// Time to parse and ingest every event, ms.
    pub ingest_ms: f64,
    /// Heap held after ingest (app + its events), bytes; `None` without the
    /// counting allocator.
    pub heap_bytes: Option<i64>,
    /// Process RSS growth over the run, KiB (meaningful in the first run only:
    /// freed memory is not returned to the system).
    pub rss_growth_kib: u64,
    /// The first draw (nothing to diff against), µs.
    pub first_draw_us: f64,
    /// Draw times with one new event between draws, µs (wall clock).
    pub draw_us: Option<Percentiles>,
    /// The same draws' thread CPU time, µs: the draw's own cost, without
    /// preemption by other processes on a shared box.
    pub draw_cpu_us: Option<Percentiles>,
    /// Events in the buffer when drawing.
    pub buffered: usize,
}

/// All runs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TuiResult {
    /// Events per run.
    pub events: usize,
    /// Terminal size.
    pub size: (u16, u16),
    /// The runs.
    pub runs: Vec<TuiRun>,
}

impl TuiResult {
    /// Median ingest time, ms.
    pub fn ingest_ms(&self) -> f64 {
        median(&self.runs.iter().map(|r| r.ingest_ms).collect::<Vec<_>>()).unwrap_or(0.0)
    }

    /// Median over runs of the median draw, µs.
    pub fn draw_p50_us(&self) -> f64 {
        median(
            &self
                .runs
                .iter()
                .filter_map(|r| r.draw_us.map(|p| p.p50 as f64))
                .collect::<Vec<_>>(),
        )
        .unwrap_or(0.0)
    }

    /// Median over runs of the p99 draw, µs.
    pub fn draw_p99_us(&self) -> f64 {
        median(
            &self
                .runs
                .iter()
                .filter_map(|r| r.draw_us.map(|p| p.p99 as f64))
                .collect::<Vec<_>>(),
        )
        .unwrap_or(0.0)
    }

    /// Median over runs of the p99 draw thread CPU time, µs.
    pub fn draw_cpu_p99_us(&self) -> f64 {
        median(
            &self
                .runs
                .iter()
                .filter_map(|r| r.draw_cpu_us.map(|p| p.p99 as f64))
                .collect::<Vec<_>>(),
        )
        .unwrap_or(0.0)
    }

    /// Median first draw, µs.
    pub fn first_draw_us(&self) -> f64 {
        median(
            &self
                .runs
                .iter()
                .map(|r| r.first_draw_us)
                .collect::<Vec<_>>(),
        )
        .unwrap_or(0.0)
    }

    /// Median heap, bytes.
    pub fn heap_bytes(&self) -> Option<f64> {
        median(
            &self
                .runs
                .iter()
                .filter_map(|r| r.heap_bytes.map(|b| b as f64))
                .collect::<Vec<_>>(),
        )
    }
}

const WORDS: &[&str] = &[
    "plan", "the", "stream", "replay", "bridge", "client", "event", "redis", "batch", "queue",
    "frame", "latency", "agent", "tool", "result", "research", "store", "fetch", "cursor", "epoch",
];

fn words(n: usize, salt: usize) -> String {
    (0..n)
        .map(|i| WORDS[(i * 7 + salt) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// `n` agent events as published (with ids), in runs of 20.
pub fn agent_events(n: usize) -> Vec<String> {
    (0..n).map(|i| agent_event(i, true)).collect()
}

/// The `i`-th agent event (runs of 20: `run_started`, reasoning, a tool call
/// and its result, text chunks, `run_finished`); with its `id` as a
/// subscriber sees it, or without for the publish script to add one.
pub fn agent_event(i: usize, with_id: bool) -> String {
    let base_ms = 1_764_086_400_000u64;
    let run = format!("run-{:06}", i / 20);
    let seq = i % 20;
    let id = if with_id {
        format!(r#""id":"{}-{}","#, base_ms + i as u64 / 4, i % 4)
    } else {
        String::new()
    };
    let ts = 1_764_086_400.0 + i as f64 * 0.01;
    let head = format!(
        r#"{{{id}"agent":"orchestrator","run_id":"{run}","seq":{seq},"timestamp":{ts:.3},"#
    );
    let body = match seq {
        0 => format!(
            r#""type":"run_started","input":"{}","source":"chat"}}"#,
            words(12, i)
        ),
        1..=3 => format!(r#""type":"reasoning","content":"{}"}}"#, words(16, i)),
        4 => format!(
            r#""type":"tool_use","tool_name":"store_research_plan","tool_input":{{"plan_data":"{}","source_agent":"planner"}},"tool_use_id":"t{i}"}}"#,
            words(8, i)
        ),
        5 => format!(
            r#""type":"tool_result","tool_use_id":"t{}","tool_name":"store_research_plan","status":"success","output":"{}","duration_ms":3}}"#,
            i - 1,
            words(6, i)
        ),
        19 => r#""type":"run_finished","status":"completed","duration_ms":812,"usage":{"input_tokens":120,"output_tokens":340}}"#.to_string(),
        _ => format!(r#""type":"text_generation","data":"{} "}}"#, words(14, i)),
    };
    format!("{head}{body}")
}

fn new_app(events: usize) -> App {
    let mut config = AppConfig::new(Source::Live {
        url: "ws://127.0.0.1:8000/ws/orchestrator".into(),
    });
    config.max_events = events;
    config.zone = Zone::utc();
    App::new(config)
}

/// One run: ingest, then draw.
pub fn one(texts: &[String], extra: &[String], opts: &TuiOpts) -> Result<TuiRun, BenchError> {
    let rss0 = self_rss_kib()?;
    alloc::set_counting(true);
    let heap0 = alloc::live_bytes();
    let owned: Vec<String> = texts.to_vec();
    let started = Instant::now();
    let mut app = new_app(opts.events);
    let mut now = Now {
        wall: 1_764_090_000.0,
        mono: Duration::from_secs(1),
    };
    app.set_now(now);
    for text in owned {
        app.ingest(Frame::parse(text));
    }
    let ingest = started.elapsed();
    let heap = match (heap0, alloc::live_bytes()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    alloc::set_counting(false);
    let rss_growth_kib = self_rss_kib()?.saturating_sub(rss0);

    let (w, h) = opts.size;
    app.resize(w, h);
    let mut terminal = Terminal::new(TestBackend::new(w, h))
        .map_err(|e| BenchError::Failed(format!("TestBackend: {e}")))?;
    let t = Instant::now();
    terminal
        .draw(|f| ui::draw(&app, f))
        .map_err(|e| BenchError::Failed(format!("draw: {e}")))?;
    let first_draw_us = t.elapsed().as_secs_f64() * 1e6;
    let mut samples = Vec::with_capacity(opts.draws);
    let mut cpu_samples = Vec::with_capacity(opts.draws);
    for k in 0..opts.draws {
        now.mono += Duration::from_millis(16);
        now.wall += 0.016;
        app.set_now(now);
        if let Some(text) = extra.get(k) {
            app.ingest(Frame::parse(text.clone()));
        }
        let c = thread_cpu_time();
        let t = Instant::now();
        terminal
            .draw(|f| ui::draw(&app, f))
            .map_err(|e| BenchError::Failed(format!("draw: {e}")))?;
        samples.push(t.elapsed().as_nanos() as u64 / 1000);
        cpu_samples.push((thread_cpu_time().saturating_sub(c)).as_nanos() as u64 / 1000);
    }
    let buffered = app.event_count();
    drop(app);
    Ok(TuiRun {
        ingest_ms: ingest.as_secs_f64() * 1e3,
        heap_bytes: heap,
        rss_growth_kib,
        first_draw_us,
        draw_us: Percentiles::of(&mut samples),
        draw_cpu_us: Percentiles::of(&mut cpu_samples),
        buffered,
    })
}

/// Every run (synchronous: the TUI's work is CPU only).
pub fn run(opts: &TuiOpts) -> Result<TuiResult, BenchError> {
    let all = agent_events(opts.events + opts.draws);
    let (texts, extra) = all.split_at(opts.events);
    let mut result = TuiResult {
        events: opts.events,
        size: opts.size,
        runs: Vec::new(),
    };
    for _ in 0..opts.runs {
        let run = one(texts, extra, opts)?;
        tracing::info!(
            ingest_ms = run.ingest_ms as u64,
            draw_p50_us = run.draw_us.map(|p| p.p50),
            "tui run"
        );
        result.runs.push(run);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_events_parse_and_are_about_200_bytes() {
        let events = agent_events(40);
        let mean = events.iter().map(String::len).sum::<usize>() / events.len();
        assert!((120..=320).contains(&mean), "{mean}");
        for e in &events {
            let parsed = orchestrator_events::Event::parse(e).expect("valid event");
            assert!(parsed.id.is_some());
        }
    }
}
