//! The monitor's ring stays under `--max-memory`, measured with the counting
//! allocator (issue 17): the byte estimate in `Store` is checked against what
//! the heap really holds, not against itself.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test may unwrap: failing is its job

use orchestrator_bench::alloc::{self, Counting};
use orchestrator_tui::app::store::ViewMode;
use orchestrator_tui::{App, AppConfig, Frame};

#[global_allocator]
static ALLOC: Counting = Counting;

#[test]
fn ten_thousand_60kb_events_stay_under_32_mib_and_the_newest_stay() {
    const BOUND: usize = 32 << 20;
    let big = "x".repeat(60_000);
    alloc::set_counting(true);
    let before = alloc::live_bytes().expect("the counting allocator is installed");
    let mut config = AppConfig::new(orchestrator_tui::app::Source::Live {
        url: "ws://t/ws".into(),
    });
    config.max_memory = BOUND;
    let mut app = App::new(config);
    let mut peak = 0i64;
    for i in 0..10_000u64 {
        // A tool call's input is shown whole in its summary and its row: the
        // worst case per event (raw text + summary + row text).
        let json = format!(
            r#"{{"type":"tool_use","tool_name":"t","tool_input":{{"plan":"{big}"}},"tool_use_id":"u{i}","run_id":"r{}","agent":"a","seq":{i}}}"#,
            i % 50
        );
        app.ingest(Frame::parse(&json));
        if i % 100 == 0 {
            peak = peak.max(alloc::live_bytes().unwrap_or(0) - before);
        }
    }
    let held = alloc::live_bytes().unwrap_or(0) - before;
    peak = peak.max(held);
    let store = app.feed.store();
    let (base, end) = (store.base(ViewMode::Raw), store.end(ViewMode::Raw));
    alloc::set_counting(false);
    eprintln!(
        "heap {held} B (peak {peak} B) for {} events, estimate {} B",
        app.event_count(),
        store.bytes()
    );
    assert!(
        peak < BOUND as i64,
        "heap {peak} B over the bound {BOUND} B"
    );
    assert_eq!(end, 10_000, "every event went through the ring");
    assert!(
        app.event_count() > 50,
        "the ring holds more than a handful: {}",
        app.event_count()
    );
    let newest = store.entry(end - 1).expect("the newest is held");
    assert!(newest.raw.contains("\"u9999\""), "the newest event is kept");
    assert!(base > 0, "the oldest left");
}
