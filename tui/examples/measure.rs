//! Measures what the monitor's cost claims are about: ingesting 100,000
//! events, and drawing one frame at 120×40 with 100,000 events buffered
//! (following, paused in the middle, with a filter and a search active).
//!
//! ```sh
//! cargo run --release -p orchestrator-tui --example measure
//! ```

use std::time::{Duration, Instant};

use orchestrator_tui::app::{App, AppConfig, Now, Source};
use orchestrator_tui::client::Frame;
use orchestrator_tui::clock::Zone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const N: usize = 100_000;

fn frames() -> Vec<Frame> {
    (0..N)
        .map(|i| {
            let run = i / 50;
            let body = match i % 10 {
                0 => format!(r#""type":"run_started","input":"question {run}","source":"chat""#),
                1..=3 => format!(r#""type":"reasoning","content":"thinking about step {i} "#) + "\"",
                4 => format!(r#""type":"tool_use","tool_name":"search","tool_input":{{"q":"item {i}"}},"tool_use_id":"t{i}""#),
                5 => format!(r#""type":"tool_result","tool_use_id":"t{}","tool_name":"search","status":"success","output":"ok","duration_ms":12"#, i - 1),
                6..=8 => format!(r#""type":"text_generation","data":"word{i} ""#),
                _ => r#""type":"run_finished","status":"completed","duration_ms":900"#.to_string(),
            };
            Frame::parse(format!(
                r#"{{{body},"id":"{}-0","agent":"agent{}","run_id":"run-{run:012x}","seq":{i},"timestamp":{}}}"#,
                1_700_000_000_000u64 + i as u64,
                run % 3,
                1_700_000_000.0 + i as f64 / 100.0
            ))
        })
        .collect()
}

fn time_draws(app: &App, terminal: &mut Terminal<TestBackend>, label: &str) {
    let rounds = 200;
    let start = Instant::now();
    for _ in 0..rounds {
        terminal
            .draw(|f| orchestrator_tui::ui::draw(app, f))
            .expect("draw");
    }
    let per = start.elapsed() / rounds;
    println!("draw 120x40, {label}: {per:?} per frame");
}

fn main() {
    let frames = frames();
    let mut config = AppConfig::new(Source::Live {
        url: "ws://bench/ws".into(),
    });
    config.max_events = N;
    config.zone = Zone::utc();
    let mut app = App::new(config);
    app.resize(120, 40);
    app.set_now(Now {
        wall: 1_700_001_000.0,
        mono: Duration::from_secs(10),
    });
    let start = Instant::now();
    for f in frames {
        app.ingest(f);
    }
    let took = start.elapsed();
    println!(
        "ingest {N} events: {took:?} ({:.0} events/s), {} rows",
        N as f64 / took.as_secs_f64(),
        app.visible_count()
    );

    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("backend");
    time_draws(&app, &mut terminal, "following");
    for _ in 0..(app.visible_count() / 2) / 38 {
        app.act(orchestrator_tui::action::Action::Page(-1));
    }
    time_draws(&app, &mut terminal, "paused mid-buffer");
    app.act(orchestrator_tui::action::Action::ToggleType(
        orchestrator_tui::kind::Category::Reasoning,
    ));
    let start = Instant::now();
    app.act(orchestrator_tui::action::Action::ToggleType(
        orchestrator_tui::kind::Category::Text,
    ));
    println!("refilter {N} events: {:?}", start.elapsed());
    time_draws(&app, &mut terminal, "filtered + paused");
}
