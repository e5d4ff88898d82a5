//! Snapshots of the runs, tools and transcript views (issue 13): 80x24 and
//! 120x40, Unicode and ASCII, with a running, a completed, a failed and a
//! cancelled run, a parent with two children folded and unfolded, and a
//! transcript with reasoning, a tool call and its result, a long reply and
//! an error.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use orchestrator_tui::action::Page;
use orchestrator_tui::app::{App, AppConfig, Now, Source};
use orchestrator_tui::client::{ClientEvent, ConnState, Frame};
use orchestrator_tui::clock::Zone;
use orchestrator_tui::theme::{ASCII, Theme, UNICODE};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const T0: f64 = 1_703_123_456.0;

fn app(ascii: bool, w: u16, h: u16) -> App {
    let mut config = AppConfig::new(Source::Live {
        url: "ws://127.0.0.1:8000/ws/orchestrator".into(),
    });
    config.theme = Theme {
        icons: if ascii { &ASCII } else { &UNICODE },
        color: false,
    };
    config.zone = Zone::utc();
    let mut app = App::new(config);
    app.resize(w, h);
    app.set_now(Now {
        wall: T0 + 30.0,
        mono: Duration::from_millis(30_000),
    });
    app.apply(ClientEvent::State(ConnState::Live));
    let ev = |i: usize, body: &str, run: &str, agent: &str| {
        format!(
            r#"{{{body},"agent":"{agent}","run_id":"{run}","timestamp":{}}}"#,
            T0 + i as f64 * 0.5
        )
    };
    let mut lines = Vec::new();
    let mut i = 0;
    let mut push = |body: &str, run: &str, agent: &str| {
        lines.push(ev(i, body, run, agent));
        i += 1;
    };
    // A completed parent with two children.
    push(
        r#""type":"run_started","input":"Plan a research trip to Lisbon\nwith details","source":"chat","model":"gpt-4o""#,
        "run-parent",
        "orchestrator",
    );
    push(
        r#""type":"reasoning","content":"The user wants a plan; store it first.""#,
        "run-parent",
        "orchestrator",
    );
    push(
        r#""type":"tool_use","tool_name":"store_research_plan","tool_input":{"plan_data":"Lisbon"},"tool_use_id":"tu_1""#,
        "run-parent",
        "orchestrator",
    );
    push(
        r#""type":"tool_result","tool_use_id":"tu_1","tool_name":"store_research_plan","status":"success","output":{"stored":true},"duration_ms":120"#,
        "run-parent",
        "orchestrator",
    );
    push(
        r#""type":"run_started","input":"find museums","source":"a2a","parent_run_id":"run-parent""#,
        "run-child-1",
        "planner",
    );
    push(
        r#""type":"run_finished","status":"completed","duration_ms":900,"usage":{"input_tokens":100,"output_tokens":10}"#,
        "run-child-1",
        "planner",
    );
    push(
        r#""type":"run_started","input":"find hotels","source":"a2a","parent_run_id":"run-parent""#,
        "run-child-2",
        "planner",
    );
    push(
        r#""type":"error","message":"model rate limited","kind":"model""#,
        "run-child-2",
        "planner",
    );
    push(
        r#""type":"run_finished","status":"failed","duration_ms":400,"reason":"model rate limited""#,
        "run-child-2",
        "planner",
    );
    push(
        r#""type":"text_generation","data":"Here is your plan. **Day 1**: the Gulbenkian museum, then a walk through Alfama and the castle; lunch near the river. **Day 2**: Belem, its tower and monastery, and the pasteis. ""#,
        "run-parent",
        "orchestrator",
    );
    push(
        r#""type":"text_generation","data":"\n- Book tickets early\n- Take the 28 tram\nEnjoy Lisbon!""#,
        "run-parent",
        "orchestrator",
    );
    push(
        r#""type":"run_finished","status":"completed","duration_ms":5500,"usage":{"input_tokens":812,"output_tokens":95}"#,
        "run-parent",
        "orchestrator",
    );
    // A cancelled one and a running one.
    push(
        r#""type":"run_started","input":"summarise the news","source":"chat""#,
        "run-cancel",
        "orchestrator",
    );
    push(
        r#""type":"run_finished","status":"cancelled","duration_ms":1200"#,
        "run-cancel",
        "orchestrator",
    );
    push(
        r#""type":"run_started","input":"write a poem","source":"chat","model":"gpt-4o""#,
        "run-live",
        "orchestrator",
    );
    push(
        r#""type":"tool_use","tool_name":"web_search","tool_input":{"q":"poems"},"tool_use_id":"tu_9""#,
        "run-live",
        "orchestrator",
    );
    push(
        r#""type":"tool_result","tool_use_id":"tu_9","tool_name":"web_search","status":"error","output":"timeout","duration_ms":5000"#,
        "run-live",
        "orchestrator",
    );
    for l in lines {
        app.ingest(Frame::parse(l));
    }
    app
}

fn draw(app: &App) -> Terminal<TestBackend> {
    let (w, h) = app.view.size();
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    terminal
        .draw(|f| orchestrator_tui::ui::draw(app, f))
        .expect("draw");
    terminal
}

fn press(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn screen(app: &App) -> String {
    format!("{}", draw(app).backend())
}

#[test]
fn runs_view_at_both_sizes_unicode_and_ascii() {
    for (ascii, w, h) in [
        (false, 80, 24),
        (true, 80, 24),
        (false, 120, 40),
        (true, 120, 40),
    ] {
        let mut a = app(ascii, w, h);
        press(&mut a, KeyCode::Char('R'));
        assert_eq!(a.view.page(), Page::Runs);
        let folded = screen(&a);
        assert!(folded.contains("completed") && folded.contains("cancelled"));
        assert!(
            !folded.contains("find hotels"),
            "children folded by default"
        );
        // The parent is the newest top-level run but one: select it and unfold.
        press(&mut a, KeyCode::Char('j'));
        press(&mut a, KeyCode::Char('j'));
        press(&mut a, KeyCode::Char(' '));
        let unfolded = screen(&a);
        assert!(unfolded.contains("find hotels") && unfolded.contains("find museums"));
        let name = format!("runs_{}_{w}x{h}", if ascii { "ascii" } else { "unicode" });
        insta::assert_snapshot!(format!("{name}_folded"), folded);
        insta::assert_snapshot!(format!("{name}_unfolded"), unfolded);
    }
}

#[test]
fn tools_view_and_a_tools_calls() {
    for (ascii, w, h) in [(false, 80, 24), (true, 120, 40)] {
        let mut a = app(ascii, w, h);
        press(&mut a, KeyCode::Char('T'));
        let tools = screen(&a);
        assert!(tools.contains("store_research_plan") && tools.contains("web_search"));
        press(&mut a, KeyCode::Enter);
        let calls = screen(&a);
        let name = format!("tools_{}_{w}x{h}", if ascii { "ascii" } else { "unicode" });
        insta::assert_snapshot!(name.clone(), tools);
        insta::assert_snapshot!(format!("{name}_calls"), calls);
    }
}

#[test]
fn transcript_with_reasoning_tool_reply_and_error() {
    for (ascii, w, h) in [(false, 80, 24), (true, 80, 24), (false, 120, 40)] {
        let mut a = app(ascii, w, h);
        press(&mut a, KeyCode::Char('R'));
        press(&mut a, KeyCode::Char('j'));
        press(&mut a, KeyCode::Char('j'));
        press(&mut a, KeyCode::Enter);
        assert_eq!(a.view.page(), Page::Transcript);
        let folded = screen(&a);
        assert!(folded.contains("Enjoy Lisbon!") || h < 30, "{folded}");
        assert!(folded.contains("store_research_plan"));
        press(&mut a, KeyCode::Char('z'));
        let reasoning = screen(&a);
        assert!(reasoning.contains("store it first"));
        let name = format!(
            "transcript_{}_{w}x{h}",
            if ascii { "ascii" } else { "unicode" }
        );
        insta::assert_snapshot!(name.clone(), folded);
        insta::assert_snapshot!(format!("{name}_reasoning"), reasoning);
        press(&mut a, KeyCode::Esc);
        assert_eq!(
            a.view.page(),
            Page::Runs,
            "Esc goes back where it came from"
        );
    }
    // The failed child's transcript shows its error and end reason.
    let mut a = app(false, 120, 40);
    press(&mut a, KeyCode::Char('R'));
    press(&mut a, KeyCode::Char('j'));
    press(&mut a, KeyCode::Char('j'));
    press(&mut a, KeyCode::Right);
    press(&mut a, KeyCode::Char('j'));
    press(&mut a, KeyCode::Char('j'));
    press(&mut a, KeyCode::Enter);
    let failed = screen(&a);
    assert!(
        failed.contains("model rate limited") && failed.contains("ended:"),
        "{failed}"
    );
}

#[test]
fn export_writes_the_runs_events_as_json_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = app(false, 120, 40);
    a.view = {
        let mut v = orchestrator_tui::app::View::new(orchestrator_tui::app::ViewConfig {
            export_dir: Some(dir.path().to_path_buf()),
            size: (120, 40),
            ..Default::default()
        });
        v.sync(&a.feed);
        v
    };
    for c in ['R', 'j', 'j'] {
        press(&mut a, KeyCode::Char(c));
    }
    press(&mut a, KeyCode::Enter);
    press(&mut a, KeyCode::Char('e'));
    let path = dir.path().join("run-run-parent.jsonl");
    let text = std::fs::read_to_string(&path).expect("exported file");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7, "{text}");
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).expect("json line");
        assert_eq!(v["run_id"], "run-parent");
    }
    assert!(screen(&a).contains("wrote "));
}

fn type_text(app: &mut App, s: &str) {
    for c in s.chars() {
        press(app, KeyCode::Char(c));
    }
}

#[test]
fn the_filter_language_works_in_the_runs_view() {
    let mut a = app(false, 120, 40);
    press(&mut a, KeyCode::Char('R'));
    press(&mut a, KeyCode::Char('&'));
    type_text(&mut a, "status:cancelled");
    press(&mut a, KeyCode::Enter);
    let s = screen(&a);
    assert!(s.contains("summarise the news"), "{s}");
    assert!(
        !s.contains("write a poem") && !s.contains("Plan a research trip"),
        "{s}"
    );
    assert!(s.contains("runs filter: status:cancelled"), "{s}");
    assert!(s.contains("listed 1"), "{s}");

    // A parent is listed when a child passes: its child run-child-2 failed.
    press(&mut a, KeyCode::Char('&'));
    press(&mut a, KeyCode::Char('u'));
    a.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    type_text(&mut a, "status:failed");
    press(&mut a, KeyCode::Enter);
    let s = screen(&a);
    assert!(s.contains("Plan a research trip"), "{s}");
    assert!(!s.contains("summarise the news"), "{s}");

    // Words and keys combine; `-` excludes.
    press(&mut a, KeyCode::Char('&'));
    a.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    type_text(&mut a, "source:chat -poem");
    press(&mut a, KeyCode::Enter);
    let s = screen(&a);
    assert!(
        s.contains("summarise the news") && s.contains("Plan a research trip"),
        "{s}"
    );
    assert!(!s.contains("write a poem"), "{s}");

    // A bad status is a clear message; the filter in force stays.
    press(&mut a, KeyCode::Char('&'));
    a.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    type_text(&mut a, "status:broken");
    press(&mut a, KeyCode::Enter);
    let s = screen(&a);
    assert!(s.contains("unknown status \"broken\""), "{s}");
    assert!(s.contains("runs filter: source:chat"), "{s}");

    // `c` clears it; the log's filter is untouched throughout.
    press(&mut a, KeyCode::Char('c'));
    let s = screen(&a);
    assert!(
        s.contains("write a poem") && !s.contains("runs filter:"),
        "{s}"
    );
    press(&mut a, KeyCode::Char('L'));
    assert!(a.view.filter().is_empty());
}

#[test]
fn slash_searches_inside_the_transcript() {
    let mut a = app(false, 80, 16);
    for key in [
        KeyCode::Char('R'),
        KeyCode::Char('j'),
        KeyCode::Char('j'),
        KeyCode::Enter,
    ] {
        press(&mut a, key);
    }
    assert!(
        !screen(&a).contains("Enjoy Lisbon!"),
        "below the fold at 80x16"
    );
    let search = |a: &mut App, text: &str| {
        press(a, KeyCode::Char('/'));
        for c in text.chars() {
            press(a, KeyCode::Char(c));
        }
        press(a, KeyCode::Enter);
    };
    search(&mut a, "enjoy");
    let found = screen(&a);
    assert_eq!(a.view.page(), Page::Transcript, "still the transcript");
    assert!(
        found.contains("Enjoy Lisbon!"),
        "scrolled to the match:\n{found}"
    );
    search(&mut a, "no such words");
    assert!(screen(&a).contains("not found: no such words"));
}

#[test]
fn the_mouse_selects_opens_and_scrolls_in_the_runs_and_tools_views() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mouse = |kind, row| MouseEvent {
        kind,
        column: 10,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let mut a = app(false, 120, 40);
    press(&mut a, KeyCode::Char('R'));
    // Rows: status bar, info bar, the view's header, then the runs (newest
    // first): the third run listed is the Lisbon parent.
    let body_y = orchestrator_tui::ui::areas(ratatui::layout::Rect::new(0, 0, 120, 40), false)
        .log
        .y;
    a.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), body_y + 3));
    assert_eq!(a.view.page(), Page::Runs, "a first click selects");
    let selected = screen(&a);
    a.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), body_y + 3));
    assert_eq!(a.view.page(), Page::Transcript, "a second click opens");
    let transcript = screen(&a);
    assert!(
        transcript.contains("Plan a research trip"),
        "{selected}\n{transcript}"
    );
    // The wheel scrolls a transcript taller than the screen, as j/k do.
    let mut short = app(false, 80, 16);
    for key in [
        KeyCode::Char('R'),
        KeyCode::Char('j'),
        KeyCode::Char('j'),
        KeyCode::Enter,
    ] {
        press(&mut short, key);
    }
    let top = screen(&short);
    short.on_mouse(mouse(MouseEventKind::ScrollDown, body_y + 5));
    let scrolled = screen(&short);
    assert_ne!(scrolled, top, "the wheel scrolled");
    short.on_mouse(mouse(MouseEventKind::ScrollUp, body_y + 5));
    assert_eq!(screen(&short), top, "and back");

    press(&mut a, KeyCode::Char('T'));
    a.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), body_y + 1));
    a.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), body_y + 1));
    assert!(
        screen(&a).contains("(Enter: transcript, Esc: back)"),
        "{}",
        screen(&a)
    );
}
