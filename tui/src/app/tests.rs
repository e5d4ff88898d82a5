//! Unit tests of the app: follow and pause, filters kept incrementally,
//! search, the raw view, eviction, bridge reports.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::clock::Zone;
use ratatui::layout::Rect;

fn app_with(max_events: usize) -> App {
    let mut config = AppConfig::new(Source::Live {
        url: "ws://test/ws".into(),
    });
    config.max_events = max_events;
    config.zone = Zone::utc();
    let mut app = App::new(config);
    app.resize(80, 24);
    app
}

fn text(run: &str, data: &str) -> Frame {
    Frame::parse(format!(
        r#"{{"type":"text_generation","data":"{data}","agent":"a","run_id":"{run}"}}"#
    ))
}

fn err(i: usize) -> Frame {
    Frame::parse(format!(
        r#"{{"type":"error","message":"m{i}","kind":"k","agent":"ag{}","run_id":"run{}"}}"#,
        i % 2,
        i % 3
    ))
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn type_str(app: &mut App, s: &str) {
    for c in s.chars() {
        app.on_key(key(c));
    }
}

fn enter(app: &mut App) {
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
}

fn selected_text(app: &App) -> String {
    app.selected_line()
        .map(|l| l.text.to_string())
        .unwrap_or_default()
}

#[test]
fn follows_until_scrolled_up_then_counts_new_rows() {
    let mut app = app_with(1000);
    for i in 0..50 {
        app.ingest(err(i));
    }
    assert!(app.following());
    assert_eq!(selected_text(&app), "k: m49");
    app.on_key(key('k'));
    assert!(!app.following());
    assert_eq!(selected_text(&app), "k: m48");
    app.ingest(err(50));
    app.ingest(err(51));
    assert_eq!(app.view.unseen, 2);
    assert_eq!(
        selected_text(&app),
        "k: m48",
        "the selection stays put while paused"
    );
    // Scrolling down over the new rows counts them as seen.
    app.on_key(key('j'));
    app.on_key(key('j'));
    assert_eq!(selected_text(&app), "k: m50");
    assert_eq!(app.view.unseen, 1, "one new row is still below");
    app.on_key(key('j'));
    assert_eq!(app.view.unseen, 0);
    assert!(
        !app.following(),
        "reaching the end does not resume following"
    );
    app.ingest(err(52));
    assert_eq!(app.view.unseen, 1);
    app.on_key(key('f'));
    assert!(app.following());
    assert_eq!(app.view.unseen, 0);
    assert_eq!(selected_text(&app), "k: m52");
    app.on_key(key('g'));
    assert_eq!(selected_text(&app), "k: m0");
    app.on_key(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE));
    let h = app.view.log_height();
    assert_eq!(selected_text(&app), format!("k: m{}", h - 1));
    app.on_key(key('G'));
    assert!(app.following());
}

#[test]
fn window_keeps_the_selection_on_screen() {
    let mut app = app_with(1000);
    for i in 0..100 {
        app.ingest(err(i));
    }
    let h = app.view.log_height();
    let (start, sel) = app.view.window(h);
    assert_eq!((start, sel), (100 - h, Some(99)));
    for _ in 0..h + 5 {
        app.act(Action::Move(-1));
    }
    let (start, sel) = app.view.window(h);
    let sel = sel.expect("selected");
    assert!(sel >= start && sel < start + h);
    assert_eq!(sel, 99 - h - 5);
}

#[test]
fn type_filters_hide_rows_and_stay_incremental() {
    let mut app = app_with(1000);
    app.ingest(text("r1", "hello "));
    app.ingest(err(0));
    app.ingest(Frame::parse(r#"{"type":"tool_use","tool_name":"search","tool_input":{"q":"x"},"tool_use_id":"u1","run_id":"r1"}"#));
    assert_eq!(app.visible_count(), 3);
    app.on_key(key('6')); // hide errors
    assert_eq!(app.visible_texts(), vec!["hello ", r#"search {"q":"x"}"#]);
    app.ingest(err(1));
    assert_eq!(app.visible_count(), 2, "new hidden rows stay hidden");
    app.ingest(text("r2", "more"));
    assert_eq!(app.visible_count(), 3, "new shown rows appear");
    app.on_key(key('6'));
    assert_eq!(app.visible_count(), 5);
    app.on_key(key('c'));
    assert!(app.filter().is_empty());
}

#[test]
fn a_growing_message_enters_a_text_filter_when_it_starts_matching() {
    let mut app = app_with(1000);
    app.on_key(key('&'));
    type_str(&mut app, "world");
    enter(&mut app);
    app.ingest(text("r1", "hello "));
    app.ingest(err(0));
    assert_eq!(app.visible_count(), 0);
    app.ingest(text("r1", "wor"));
    app.ingest(text("r1", "ld"));
    assert_eq!(app.visible_texts(), vec!["hello world"]);
    // Exclusion works the other way round: the row leaves when it matches.
    app.on_key(key('&'));
    app.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    type_str(&mut app, "-boom");
    enter(&mut app);
    app.ingest(text("r2", "fine "));
    assert!(app.visible_texts().contains(&"fine ".to_string()));
    app.ingest(text("r2", "boom"));
    assert!(!app.visible_texts().iter().any(|t| t.contains("boom")));
}

#[test]
fn filter_prompt_errors_are_shown_not_applied() {
    let mut app = app_with(10);
    app.on_key(key('&'));
    type_str(&mut app, "type:bogus");
    enter(&mut app);
    assert!(app.filter().is_empty());
    assert!(
        app.view
            .flash
            .as_ref()
            .is_some_and(|(m, _)| m.contains("unknown type"))
    );
}

#[test]
fn only_this_run_and_agent() {
    let mut app = app_with(1000);
    for i in 0..6 {
        app.ingest(err(i));
    }
    app.on_key(key('g')); // select m0: agent ag0, run run0
    app.on_key(key('o'));
    assert_eq!(app.visible_texts(), vec!["k: m0", "k: m3"]);
    app.on_key(key('o'));
    assert_eq!(app.visible_count(), 6);
    app.on_key(key('a'));
    assert_eq!(app.visible_texts(), vec!["k: m0", "k: m2", "k: m4"]);
    app.on_key(key('A'));
    assert_eq!(app.visible_texts(), vec!["k: m1", "k: m3", "k: m5"]);
}

#[test]
fn search_moves_without_hiding_and_wraps() {
    let mut app = app_with(1000);
    for i in 0..30 {
        app.ingest(err(i));
    }
    app.on_key(key('/'));
    type_str(&mut app, "M1");
    enter(&mut app);
    // Smart case: "M1" is case-sensitive and matches nothing.
    assert!(
        app.view
            .flash
            .as_ref()
            .is_some_and(|(m, _)| m.starts_with("not found"))
    );
    app.on_key(key('/'));
    type_str(&mut app, "m1");
    enter(&mut app);
    assert_eq!(app.visible_count(), 30, "search does not hide");
    // From the newest row (m29) forward wraps to the first match, m1.
    assert_eq!(selected_text(&app), "k: m1");
    app.on_key(key('n'));
    assert_eq!(selected_text(&app), "k: m10");
    app.on_key(key('n'));
    assert_eq!(selected_text(&app), "k: m11");
    app.on_key(key('N'));
    assert_eq!(selected_text(&app), "k: m10");
    app.on_key(key('N'));
    app.on_key(key('N'));
    assert_eq!(selected_text(&app), "k: m19", "backwards wraps too");
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert!(app.view.search.is_none());
}

#[test]
fn raw_view_shows_each_chunk_and_keeps_the_selection() {
    let mut app = app_with(1000);
    app.ingest(text("r1", "a"));
    app.ingest(text("r1", "b"));
    app.ingest(Frame::parse(
        r#"{"type":"error","message":"m0","kind":"k","run_id":"r1"}"#,
    ));
    app.ingest(text("r1", "c"));
    assert_eq!(app.visible_texts(), vec!["ab", "k: m0", "c"]);
    app.on_key(key('k')); // select "k: m0"
    app.on_key(key('r'));
    assert_eq!(app.visible_texts(), vec!["a", "b", "k: m0", "c"]);
    assert_eq!(selected_text(&app), "k: m0");
    app.on_key(key('r'));
    assert_eq!(selected_text(&app), "k: m0");
}

#[test]
fn eviction_trims_the_visible_index() {
    let mut app = app_with(10);
    for i in 0..25 {
        app.ingest(err(i));
    }
    assert_eq!(app.event_count(), 10);
    assert_eq!(app.received(), 25);
    assert_eq!(app.visible_count(), 10);
    assert_eq!(
        app.visible_texts().first().map(String::as_str),
        Some("k: m15")
    );
    // A paused selection that gets evicted falls back to the oldest row.
    app.on_key(key('g'));
    for i in 25..40 {
        app.ingest(err(i));
    }
    assert_eq!(selected_text(&app), "k: m30");
}

#[test]
fn bridge_frames_update_the_connection() {
    let mut app = app_with(100);
    app.apply(ClientEvent::State(ConnState::Live));
    app.ingest(Frame::parse(r#"{"type":"bridge_hello","version":"1.2.3","newest_id":"5-0","epoch":"e1","filter":{"types":["tool_use"]},"redis":true,"server_time":1.0}"#));
    assert_eq!(app.connection().redis, Some(true));
    assert_eq!(
        app.connection().server_filter.types,
        vec!["tool_use".to_string()]
    );
    app.ingest(Frame::parse(
        r#"{"type":"bridge_status","status":"redis_down","message":"lost"}"#,
    ));
    assert_eq!(app.connection().redis, Some(false));
    app.ingest(Frame::parse(r#"{"type":"bridge_status","status":"dropped","message":"slow","dropped":7,"resume_from":"9-0"}"#));
    app.ingest(Frame::parse(
        r#"{"type":"bridge_status","status":"gap","message":"trimmed","from":"1-0","to":"4-0"}"#,
    ));
    app.ingest(Frame::parse(
        r#"{"type":"bridge_status","status":"history_reset","message":"new epoch"}"#,
    ));
    let c = app.connection();
    assert_eq!((c.dropped, c.gaps, c.history_reset), (7, 1, true));
    assert_eq!(c.last_gap.as_deref(), Some("1-0..4-0"));
}

#[test]
fn detail_pane_opens_scrolls_and_closes() {
    let mut app = app_with(100);
    let long: String = (0..80).map(|i| format!("\"k{i}\":{i},")).collect();
    app.ingest(Frame::parse(format!(r#"{{"type":"mystery",{long}"z":0}}"#)));
    enter(&mut app);
    assert!(app.view.detail.is_some_and(|d| d.focus));
    // The pane's length is measured when it is drawn, as on a terminal.
    let mut buf = ratatui::buffer::Buffer::empty(Rect::new(0, 0, 80, 24));
    ratatui::widgets::Widget::render(&app, buf.area, &mut buf);
    app.on_key(key('j'));
    app.on_key(key('j'));
    assert_eq!(app.view.detail.map(|d| d.scroll), Some(2));
    app.on_key(key('G'));
    let max = app.view.detail_max.get();
    assert!(max > 2);
    assert_eq!(app.view.detail.map(|d| d.scroll), Some(max));
    app.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    assert!(app.view.detail.is_some_and(|d| !d.focus));
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    assert!(app.view.detail.is_none());
}

#[test]
fn mouse_wheel_scrolls_and_click_selects() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = app_with(100);
    for i in 0..50 {
        app.ingest(err(i));
    }
    let mouse = |kind, row| MouseEvent {
        kind,
        column: 10,
        row,
        modifiers: KeyModifiers::NONE,
    };
    app.on_mouse(mouse(MouseEventKind::ScrollUp, 5));
    assert!(!app.following());
    assert_eq!(selected_text(&app), "k: m46");
    let log_y = crate::ui::areas(Rect::new(0, 0, 80, 24), false).log.y;
    let (start, _) = app.view.window(app.view.log_height());
    app.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), log_y + 2));
    assert_eq!(selected_text(&app), format!("k: m{}", start + 2));
    app.on_mouse(mouse(MouseEventKind::Down(MouseButton::Left), log_y + 2));
    assert!(app.view.detail.is_some(), "a second click opens the detail");
}

#[test]
fn help_opens_and_any_key_closes_it_and_ctrl_c_quits() {
    let mut app = app_with(10);
    app.on_key(key('?'));
    assert!(app.view.help);
    app.on_key(key('x'));
    assert!(!app.view.help);
    assert!(!app.should_quit());
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.should_quit());
}

#[test]
fn counts_rate_from_the_injected_clock() {
    let mut app = app_with(100);
    for i in 0..20 {
        app.set_now(Now {
            wall: 0.0,
            mono: Duration::from_millis(i * 100),
        });
        app.ingest(err(i as usize));
    }
    app.set_now(Now {
        wall: 0.0,
        mono: Duration::from_secs(2),
    });
    assert_eq!(app.feed.rate.history(app.view.now.mono, 2), vec![10, 10]);
}

#[test]
fn a_vanished_client_is_not_shown_as_live() {
    let mut app = app_with(10);
    app.apply(ClientEvent::State(ConnState::Live));
    app.source_ended();
    assert!(matches!(app.connection().state, ConnState::Failed { .. }));
    // After a replay ends, the channel closing is expected.
    app.apply(ClientEvent::State(ConnState::ReplayDone { lines: 3 }));
    app.source_ended();
    assert_eq!(app.connection().state, ConnState::ReplayDone { lines: 3 });
}

#[test]
fn two_views_of_one_shared_feed_filter_and_select_independently() {
    let shared = SharedFeed::new(
        4,
        Source::Live {
            url: "ws://test/ws".into(),
        },
    );
    let changed = shared.subscribe();
    let mut a = View::new(ViewConfig::default());
    let mut b = View::new(ViewConfig::default());
    shared.apply_batch((0..3).map(|i| ClientEvent::Frame(err(i))), Now::default());
    assert!(changed.has_changed().unwrap_or(false));
    {
        let feed = shared.read();
        assert!(a.sync(&feed));
        assert!(b.sync(&feed));
        assert!(!a.sync(&feed), "nothing new since the last sync");
        b.act(&feed, Action::OnlyAgent); // the newest row's agent: ag0
    }
    // More events than the ring holds: both views drop what was evicted.
    shared.apply_batch((3..9).map(|i| ClientEvent::Frame(err(i))), Now::default());
    let feed = shared.read();
    a.sync(&feed);
    b.sync(&feed);
    assert_eq!(a.visible_texts(&feed), ["k: m5", "k: m6", "k: m7", "k: m8"]);
    assert_eq!(b.visible_texts(&feed), ["k: m6", "k: m8"]);
}

#[test]
fn a_view_that_fell_behind_the_ring_rebuilds_from_what_is_held() {
    let mut feed = Feed::new(
        3,
        Source::Live {
            url: "ws://test/ws".into(),
        },
    );
    let mut view = View::new(ViewConfig::default());
    view.sync(&feed);
    for i in 0..10 {
        feed.ingest(err(i), Now::default());
    }
    assert!(view.sync(&feed));
    assert_eq!(view.visible_texts(&feed), ["k: m7", "k: m8", "k: m9"]);
}
