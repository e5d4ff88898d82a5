//! The screen, drawn with ratatui's `TestBackend` at 80×24 for each state and
//! compared with insta snapshots (`tests/snapshots/`).
//!
//! Everything volatile is made deterministic instead of redacted: times are
//! shown in UTC from fixed timestamps, the clock is injected (`App::set_now`),
//! ids are fixed in the frames. Colours do not show in the text snapshots, so
//! the tests that need them (search highlight, NO_COLOR) check cell styles.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use orchestrator_tui::app::{App, AppConfig, Now, Source};
use orchestrator_tui::client::{ClientEvent, ConnState, Frame};
use orchestrator_tui::clock::Zone;
use orchestrator_tui::theme::{ASCII, Theme, UNICODE};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};

const T0: f64 = 1_703_123_456.0;

fn app_with(theme: Theme) -> App {
    let mut config = AppConfig::new(Source::Live {
        url: "ws://127.0.0.1:8000/ws/orchestrator".into(),
    });
    config.theme = theme;
    config.zone = Zone::utc();
    let mut app = App::new(config);
    app.resize(80, 24);
    at(&mut app, 0);
    app
}

fn app() -> App {
    app_with(Theme {
        icons: &UNICODE,
        color: true,
    })
}

/// Sets the clock to `ms` after the start.
fn at(app: &mut App, ms: u64) {
    app.set_now(Now {
        wall: T0 + ms as f64 / 1000.0,
        mono: Duration::from_millis(ms),
    });
}

fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    terminal
        .draw(|f| orchestrator_tui::ui::draw(app, f))
        .expect("draw");
    terminal
}

fn press(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn typing(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn feed(app: &mut App, lines: &[&str]) {
    for l in lines {
        app.ingest(Frame::parse(*l));
    }
}

/// One run with every event type, as the agent and bridge send them.
fn every_type(app: &mut App) {
    app.apply(ClientEvent::State(ConnState::Live));
    feed(
        app,
        &[
            r#"{"type":"bridge_hello","version":"0.1.0","newest_id":"1703123456000-0","epoch":"e1","filter":{},"redis":true,"server_time":1703123456.0}"#,
            r#"{"type":"run_started","input":"Plan a research trip to Lisbon","source":"chat","id":"1703123456100-0","agent":"orchestrator","run_id":"run-3f2a9c1e7d00","seq":0,"timestamp":1703123456.1}"#,
            r#"{"type":"reasoning","content":"The user wants a plan; ","id":"1703123456200-0","agent":"orchestrator","run_id":"run-3f2a9c1e7d00","seq":1,"timestamp":1703123456.2}"#,
            r#"{"type":"reasoning","content":"store it first.","id":"1703123456300-0","agent":"orchestrator","run_id":"run-3f2a9c1e7d00","seq":2,"timestamp":1703123456.3}"#,
            r#"{"type":"tool_use","tool_name":"store_research_plan","tool_input":{"plan_data":"Lisbon","source_agent":"planner"},"tool_use_id":"tu_1","id":"1703123456400-0","agent":"orchestrator","run_id":"run-3f2a9c1e7d00","seq":3,"timestamp":1703123456.4}"#,
            r#"{"type":"tool_result","tool_use_id":"tu_1","tool_name":"store_research_plan","status":"success","output":"stored","duration_ms":120,"id":"1703123456600-0","agent":"orchestrator","run_id":"run-3f2a9c1e7d00","seq":4,"timestamp":1703123456.6}"#,
            r#"{"type":"tool_use","tool_name":"web_search","tool_input":{"q":"Lisbon museums"},"tool_use_id":"tu_2","id":"1703123456700-0","agent":"orchestrator","run_id":"run-3f2a9c1e7d00","seq":5,"timestamp":1703123456.7}"#,
            r#"{"type":"tool_result","tool_use_id":"tu_2","tool_name":"web_search","status":"error","output":"timeout","duration_ms":5000,"id":"1703123461700-0","agent":"orchestrator","run_id":"run-3f2a9c1e7d00","seq":6,"timestamp":1703123461.7}"#,
            r#"{"type":"tool_use","tool_name":"fetch_page","tool_input":{"url":"https://example.org"},"tool_use_id":"tu_3","id":"1703123461800-0","agent":"orchestrator","run_id":"run-3f2a9c1e7d00","seq":7,"timestamp":1703123461.8}"#,
            r#"{"type":"text_generation","data":"I have received your plan ","id":"1703123462000-0","agent":"orchestrator","run_id":"run-3f2a9c1e7d00","seq":8,"timestamp":1703123462.0}"#,
            r#"{"type":"text_generation","data":"and stored it.","id":"1703123462100-0","agent":"orchestrator","run_id":"run-3f2a9c1e7d00","seq":9,"timestamp":1703123462.1}"#,
            r#"{"type":"run_finished","status":"completed","duration_ms":6100,"usage":{"input_tokens":812,"output_tokens":95},"id":"1703123462200-0","agent":"orchestrator","run_id":"run-3f2a9c1e7d00","seq":10,"timestamp":1703123462.2}"#,
            r#"{"type":"error","message":"model rate limited","kind":"model","id":"1703123462300-0","agent":"planner","run_id":"run-77b0aa01c3d4","seq":0,"timestamp":1703123462.3}"#,
            r#"{"type":"heartbeat","load":0.4,"id":"1703123462400-0","agent":"planner","timestamp":1703123462.4}"#,
            r#"{"text":"no type field at all"}"#,
            r#"{"type":"bridge_status","status":"gap","message":"events trimmed from the stream","from":"1703123400000-0","to":"1703123450000-0"}"#,
            r#"{"type":"text_generation","data":"seed-shaped chunk without envelope","timestamp":1703123462.5}"#,
        ],
    );
}

#[test]
fn connecting() {
    let app = app();
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
}

#[test]
fn live_with_every_event_type() {
    let mut app = app();
    every_type(&mut app);
    at(&mut app, 7_300);
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
}

#[test]
fn coalesced_text_grows_and_shows_its_newest_end() {
    let mut app = app();
    app.apply(ClientEvent::State(ConnState::Live));
    let chunks = [
        "Here is the plan. ",
        "First, book the flight to Lisbon for the second week of May. ",
        "Then reserve a hotel near the old town, ",
        "and finally",
    ];
    for (i, c) in chunks.iter().enumerate() {
        app.ingest(Frame::parse(format!(
            r#"{{"type":"text_generation","data":"{c}","agent":"orchestrator","run_id":"r1","seq":{i},"timestamp":{}}}"#,
            T0 + i as f64
        )));
    }
    // Another run's row in between does not split run r1's message.
    app.ingest(Frame::parse(r#"{"type":"text_generation","data":"Other run says hi.","agent":"planner","run_id":"r2","timestamp":1703123460.0}"#));
    app.ingest(Frame::parse(r#"{"type":"text_generation","data":" the museums.","agent":"orchestrator","run_id":"r1","timestamp":1703123461.0}"#));
    let shown = app.visible_texts();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(shown[0].ends_with("and finally the museums."));
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
    // The raw chunk view shows every chunk on its own row.
    press(&mut app, KeyCode::Char('r'));
    assert_eq!(app.visible_count(), 6);
    insta::assert_snapshot!("coalesced_text_raw_view", draw(&app, 80, 24).backend());
}

#[test]
fn paired_tool_call_pending_then_done() {
    let mut app = app();
    app.apply(ClientEvent::State(ConnState::Live));
    feed(
        &mut app,
        &[
            r#"{"type":"tool_use","tool_name":"web_search","tool_input":{"q":"rust tui"},"tool_use_id":"t9","agent":"orchestrator","run_id":"r1","timestamp":1703123456.0}"#,
        ],
    );
    at(&mut app, 300);
    let pending = draw(&app, 80, 24);
    insta::assert_snapshot!("paired_tool_call_pending", pending.backend());
    feed(
        &mut app,
        &[
            r#"{"type":"tool_result","tool_use_id":"t9","tool_name":"web_search","status":"success","output":["a","b"],"duration_ms":842,"agent":"orchestrator","run_id":"r1","timestamp":1703123456.9}"#,
        ],
    );
    assert_eq!(app.visible_count(), 1, "the result joins the call's row");
    insta::assert_snapshot!("paired_tool_call_done", draw(&app, 80, 24).backend());
}

#[test]
fn filtered_view() {
    let mut app = app();
    every_type(&mut app);
    press(&mut app, KeyCode::Char('2')); // hide reasoning
    press(&mut app, KeyCode::Char('7')); // hide bridge news
    press(&mut app, KeyCode::Char('&'));
    typing(&mut app, "-agent:planner");
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
}

#[test]
fn search_highlights_matches() {
    let mut app = app();
    every_type(&mut app);
    press(&mut app, KeyCode::Char('/'));
    typing(&mut app, "lisbon");
    press(&mut app, KeyCode::Enter);
    let term = draw(&app, 80, 24);
    insta::assert_snapshot!(term.backend());
    // The matched text is highlighted: find "Lisbon" cells and check their style.
    let buf = term.backend().buffer();
    let mut highlighted = 0;
    for y in 0..buf.area.height {
        let row: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        if let Some(col) = row.find("Lisbon") {
            let x = row[..col].chars().count() as u16;
            let cell = &buf[(x, y)];
            assert_eq!(cell.bg, Color::Yellow, "row {y}: {row}");
            assert!(cell.modifier.contains(Modifier::UNDERLINED));
            highlighted += 1;
        }
    }
    assert!(highlighted >= 2, "matches on several rows are highlighted");
}

#[test]
fn detail_pane_shows_pretty_json() {
    let mut app = app();
    every_type(&mut app);
    // Select the paired store_research_plan call.
    for _ in 0..20 {
        press(&mut app, KeyCode::Char('k'));
    }
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
}

#[test]
fn help_lists_every_key() {
    let mut app = app();
    every_type(&mut app);
    press(&mut app, KeyCode::Char('?'));
    let term = draw(&app, 80, 24);
    insta::assert_snapshot!(term.backend());
    let top = term.backend().to_string();
    assert!(
        top.contains("j/k scroll"),
        "80x24 is too short: it says it scrolls"
    );
    // Scrolled to the end (more presses than lines: it stops at the last).
    for _ in 0..3 {
        press(&mut app, KeyCode::PageDown);
    }
    let term = draw(&app, 80, 24);
    insta::assert_snapshot!("help_scrolled_to_the_end", term.backend());
    let screen = format!("{top}{}", term.backend());
    for b in orchestrator_tui::keymap::KEYMAP {
        assert!(screen.contains(b.help), "help is missing {:?}", b.help);
    }
    for (keys, what) in orchestrator_tui::keymap::PAGE_KEYS {
        assert!(screen.contains(what), "help is missing {keys} {what:?}");
    }
    // k scrolls back; another key closes it; at 120x40 it all fits.
    press(&mut app, KeyCode::Char('k'));
    assert!(
        draw(&app, 80, 24)
            .backend()
            .to_string()
            .contains("j/k scroll")
    );
    press(&mut app, KeyCode::Char('x'));
    assert!(!draw(&app, 80, 24).backend().to_string().contains(" keys "));
    app.resize(120, 40);
    press(&mut app, KeyCode::Char('?'));
    let tall = draw(&app, 120, 40).backend().to_string();
    assert!(tall.contains("any key closes") && !tall.contains("j/k scroll"));
    for (_, what) in orchestrator_tui::keymap::PAGE_KEYS {
        assert!(tall.contains(what), "{what:?} at 120x40");
    }
}

#[test]
fn ascii_mode_without_colour() {
    let mut app = app_with(Theme {
        icons: &ASCII,
        color: false,
    });
    every_type(&mut app);
    at(&mut app, 7_300);
    press(&mut app, KeyCode::Char('k'));
    press(&mut app, KeyCode::Enter);
    let term = draw(&app, 80, 24);
    insta::assert_snapshot!(term.backend());
    let buf = term.backend().buffer();
    for cell in buf.content() {
        assert!(
            cell.symbol().is_ascii(),
            "non-ASCII symbol {:?}",
            cell.symbol()
        );
        assert_eq!(cell.fg, Color::Reset, "NO_COLOR: no foreground colour");
        assert_eq!(cell.bg, Color::Reset, "NO_COLOR: no background colour");
    }
}

#[test]
fn reconnecting_with_drops_and_paused_with_new_rows() {
    let mut app = app();
    every_type(&mut app);
    press(&mut app, KeyCode::Char('k'));
    feed(
        &mut app,
        &[
            r#"{"type":"bridge_status","status":"dropped","message":"client too slow","dropped":42,"resume_from":"1703123462400-0"}"#,
            r#"{"type":"bridge_status","status":"redis_down","message":"connection refused"}"#,
        ],
    );
    at(&mut app, 10_000);
    app.apply(ClientEvent::State(ConnState::Reconnecting {
        attempt: 3,
        delay: Duration::from_millis(2_500),
        reason: "connection closed".into(),
    }));
    at(&mut app, 10_600);
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
}

#[test]
fn failed_state() {
    let mut app = app();
    app.apply(ClientEvent::State(ConnState::Failed {
        reason: "HTTP 401 Unauthorized (check --token / ORCH_BRIDGE_TOKEN)".into(),
    }));
    insta::assert_snapshot!(draw(&app, 80, 24).backend());
}

#[test]
fn resizes_narrow_and_wide() {
    let mut app = app();
    every_type(&mut app);
    app.resize(50, 12);
    insta::assert_snapshot!("resize_50x12", draw(&app, 50, 12).backend());
    app.resize(120, 30);
    insta::assert_snapshot!("resize_120x30", draw(&app, 120, 30).backend());
    // Tiny terminals draw without panicking.
    for (w, h) in [(1, 1), (10, 3), (0, 0), (200, 2)] {
        app.resize(w, h);
        let _ = draw(&app, w, h);
    }
}

#[test]
fn hostile_frames_are_drawn_safely() {
    let mut app = app();
    feed(
        &mut app,
        &[
            "\u{1b}[2J\u{1b}]0;pwned\u{7}",
            r#"{"type":"text_generation","data":"line1\nline2\u001b[31mred\ttab","run_id":"r"}"#,
            r#"{"type":"tool_use","tool_name":"x","tool_input":"\u0000\u0007","tool_use_id":"q"}"#,
            "",
            "null",
            "[1,2,3]",
            r#"{"type":42}"#,
        ],
    );
    let term = draw(&app, 80, 24);
    for cell in term.backend().buffer().content() {
        assert!(
            !cell.symbol().chars().any(char::is_control),
            "control char drawn: {:?}",
            cell.symbol()
        );
    }
    insta::assert_snapshot!(term.backend());
}

/// A run as the agent publishes a 1 MB `/chat` with the default cap: the
/// input and the plan in `tool_use` were cut and say so in `truncated`.
fn truncated_run(app: &mut App) {
    app.apply(ClientEvent::State(ConnState::Live));
    let plan = "# Research plan: caching papers\\n1. survey ".repeat(8);
    let started = format!(
        r#"{{"type":"run_started","input":"Please store this research plan: {plan}","source":"chat","truncated":{{"input":1009930}},"id":"1703123456100-0","agent":"orchestrator","run_id":"run-5c1d0e9a4b21","seq":0,"timestamp":1703123456.1}}"#
    );
    let tool_use = format!(
        r#"{{"type":"tool_use","tool_name":"store_research_plan","tool_input":{{"plan_data":"{plan}","source_agent":"planner"}},"tool_use_id":"tu_9","truncated":{{"tool_input":1009969}},"id":"1703123456400-0","agent":"orchestrator","run_id":"run-5c1d0e9a4b21","seq":1,"timestamp":1703123456.4}}"#
    );
    feed(
        app,
        &[
            &started,
            &tool_use,
            r#"{"type":"tool_result","tool_use_id":"tu_9","tool_name":"store_research_plan","status":"error","output":"plan_data is longer than 64000 characters","duration_ms":3,"id":"1703123456500-0","agent":"orchestrator","run_id":"run-5c1d0e9a4b21","seq":2,"timestamp":1703123456.5}"#,
        ],
    );
}

#[test]
fn a_truncated_event_is_marked_in_its_row_unicode_and_ascii() {
    let mut app = app();
    truncated_run(&mut app);
    at(&mut app, 1_000);
    let screen = draw(&app, 80, 24).backend().to_string();
    assert!(screen.contains('✂'), "{screen}");
    insta::assert_snapshot!(screen);

    let mut ascii = app_with(Theme {
        icons: &ASCII,
        color: false,
    });
    truncated_run(&mut ascii);
    at(&mut ascii, 1_000);
    let screen = draw(&ascii, 80, 24).backend().to_string();
    assert!(screen.contains("[cut]"), "{screen}");
    insta::assert_snapshot!("a_truncated_event_is_marked_in_its_row_ascii", screen);
}

#[test]
fn the_detail_pane_says_what_was_cut_and_how_much_is_shown() {
    let mut app = app();
    truncated_run(&mut app);
    at(&mut app, 1_000);
    for _ in 0..10 {
        press(&mut app, KeyCode::Char('k'));
    }
    press(&mut app, KeyCode::Enter);
    let screen = draw(&app, 100, 30).backend().to_string();
    assert!(screen.contains("input: 1.0 MB, first"), "{screen}");
    insta::assert_snapshot!(screen);
}
