use proptest::prelude::*;

use super::*;
use crate::frame::BridgeHello;

fn id(ms: u64) -> StreamId {
    StreamId::new(ms, 0)
}

fn event(ms: u64) -> Event {
    Event::parse(&format!(
        r#"{{"id":"{ms}-0","type":"tool_use","tool_name":"t","tool_input":{{}}}}"#
    ))
    .expect("event")
}

fn hello(epoch: &str) -> Event {
    Event::new(EventKind::BridgeHello(BridgeHello {
        version: "t".into(),
        newest_id: None,
        epoch: Some(epoch.into()),
        filter: Default::default(),
        redis: Some(true),
        server_time: 1.0,
    }))
}

fn status(json: &str) -> Event {
    let event = Event::parse(json).expect("status");
    assert!(matches!(event.kind, EventKind::BridgeStatus(_)), "{json}");
    event
}

fn since(ms: u64, epoch: Option<&str>) -> Query {
    Query::Since(Position {
        id: id(ms),
        epoch: epoch.map(str::to_string),
    })
}

#[test]
fn starts_as_told_and_resumes_from_the_last_id_with_the_epoch() {
    let live = Resumer::default();
    assert_eq!(live.query(), Query::Live);
    assert!(live.query().pairs().is_empty());
    let last = Resumer::new(Start::Last(50), 10);
    assert_eq!(last.query().pairs(), vec![("last", "50".to_string())]);
    let mut r = Resumer::new(Start::Since(id(3)), 10);
    assert_eq!(r.query(), since(3, None));
    r.on_connect();
    assert_eq!(r.on_frame(&hello("e1")), Verdict::Deliver);
    assert_eq!(r.on_frame(&event(4)), Verdict::Deliver);
    assert_eq!(
        r.query().pairs(),
        vec![("since", "4-0".to_string()), ("epoch", "e1".to_string())]
    );
    // Once a position is known, `last` is not asked for again.
    let mut r = Resumer::new(Start::Last(5), 10);
    r.on_frame(&event(9));
    assert_eq!(r.query(), since(9, None));
}

#[test]
fn a_repeated_id_is_a_duplicate_and_a_hole_below_the_newest_is_not() {
    let mut r = Resumer::default();
    assert_eq!(r.on_frame(&event(5)), Verdict::Deliver);
    assert_eq!(r.on_frame(&event(9)), Verdict::Deliver);
    assert_eq!(r.on_frame(&event(5)), Verdict::Duplicate);
    assert_eq!(r.on_frame(&event(7)), Verdict::Deliver);
    // Events without an id (plain events) are always delivered.
    let plain = Event::parse(r#"{"type":"reasoning","content":"x"}"#).expect("plain");
    assert_eq!(r.on_frame(&plain), Verdict::Deliver);
    assert_eq!(r.on_frame(&plain), Verdict::Deliver);
}

#[test]
fn dropped_with_resume_from_reconnects_from_there() {
    let mut r = Resumer::default();
    r.on_frame(&event(1));
    r.on_frame(&event(2));
    let v = r.on_frame(&status(
        r#"{"type":"bridge_status","status":"dropped","message":"slow","dropped":3,"resume_from":"2-0"}"#,
    ));
    assert_eq!(
        v,
        Verdict::Reconnect {
            from: id(2),
            dropped: 3
        }
    );
    assert_eq!(r.query(), since(2, None));
    // A frame read after the report does not move the position...
    assert_eq!(r.on_frame(&event(6)), Verdict::Deliver);
    assert_eq!(r.query(), since(2, None));
    // ...but on the next connection frames do again, and 6 is not shown twice.
    r.on_connect();
    for ms in 3..=5 {
        assert_eq!(r.on_frame(&event(ms)), Verdict::Deliver);
    }
    assert_eq!(r.on_frame(&event(6)), Verdict::Duplicate);
    assert_eq!(r.on_frame(&event(7)), Verdict::Deliver);
    assert_eq!(r.query(), since(7, None));
}

#[test]
fn dropped_without_resume_from_freezes_the_position_on_this_connection() {
    let mut r = Resumer::default();
    r.on_frame(&event(1));
    let v = r.on_frame(&status(
        r#"{"type":"bridge_status","status":"dropped","message":"slow","dropped":2}"#,
    ));
    assert_eq!(v, Verdict::Deliver);
    r.on_frame(&event(4));
    assert_eq!(r.query(), since(1, None));
}

#[test]
fn history_reset_forgets_seen_ids_and_adopts_the_new_epoch() {
    let mut r = Resumer::default();
    r.on_frame(&hello("old"));
    r.on_frame(&event(5));
    let v = r.on_frame(&status(
        r#"{"type":"bridge_status","status":"history_reset","message":"x","from":"5-0","epoch":"new"}"#,
    ));
    assert_eq!(v, Verdict::Deliver);
    assert_eq!(r.epoch(), Some("new"));
    // The same id in the new history is a new event.
    assert_eq!(r.on_frame(&event(5)), Verdict::Deliver);
    assert_eq!(r.on_frame(&event(5)), Verdict::Duplicate);
    // A reset that names no epoch keeps the one known.
    r.on_frame(&status(
        r#"{"type":"bridge_status","status":"history_reset","message":"x"}"#,
    ));
    assert_eq!(r.query(), since(5, Some("new")));
}

#[test]
fn redis_up_adopts_its_epoch_and_down_changes_nothing() {
    let mut r = Resumer::default();
    r.on_frame(&hello("e1"));
    r.on_frame(&event(3));
    let down = r#"{"type":"bridge_status","status":"redis_down","message":"lost"}"#;
    assert_eq!(r.on_frame(&status(down)), Verdict::Deliver);
    assert_eq!(r.query(), since(3, Some("e1")));
    let up = r#"{"type":"bridge_status","status":"redis_up","message":"back","replayed":0,"epoch":"e2"}"#;
    assert_eq!(r.on_frame(&status(up)), Verdict::Deliver);
    assert_eq!(r.query(), since(3, Some("e2")));
    let up = r#"{"type":"bridge_status","status":"redis_up","message":"back","replayed":0}"#;
    r.on_frame(&status(up));
    assert_eq!(r.epoch(), Some("e2"));
}

#[test]
fn gap_replay_done_and_unknown_statuses_only_inform() {
    let mut r = Resumer::default();
    r.on_frame(&event(3));
    for json in [
        r#"{"type":"bridge_status","status":"gap","message":"trimmed","from":"3-0","to":"10-0"}"#,
        r#"{"type":"bridge_status","status":"replay_done","message":"done","replayed":4}"#,
        // An unknown status is kept as an unknown frame (`EventKind::Other`).
        r#"{"type":"bridge_status","status":"from_the_future","message":"?"}"#,
    ] {
        let frame = Event::parse(json).expect("json");
        assert_eq!(r.on_frame(&frame), Verdict::Deliver, "{json}");
        assert_eq!(r.query(), since(3, None), "{json}");
    }
    // After a gap the replay goes on from the oldest entry left.
    assert_eq!(r.on_frame(&event(10)), Verdict::Deliver);
    assert_eq!(r.query(), since(10, None));
}

#[test]
fn hello_with_a_new_epoch_is_what_the_next_resume_names() {
    let mut r = Resumer::default();
    r.on_frame(&hello("e1"));
    r.on_frame(&event(2));
    r.on_connect();
    r.on_frame(&hello("e2"));
    assert_eq!(r.query(), since(2, Some("e2")));
    // A hello without an epoch (Redis unreachable) keeps the one known.
    let mut h = hello("x");
    if let EventKind::BridgeHello(hello) = &mut h.kind {
        hello.epoch = None;
    }
    r.on_frame(&h);
    assert_eq!(r.epoch(), Some("e2"));
}

#[test]
fn the_seen_set_stays_bounded_and_treats_forgotten_ids_as_seen() {
    let mut d = SeenIds::new(3);
    for ms in 1..=5 {
        assert!(d.insert(id(ms)));
    }
    assert_eq!(d.len(), 3);
    assert!(!d.insert(id(1)));
    assert!(!d.insert(id(2)));
    assert!(d.insert(id(6)));
    d.clear();
    assert!(d.is_empty());
    assert!(d.insert(id(1)));
}

/// What the simulated bridge does next.
#[derive(Debug, Clone)]
enum Step {
    /// Send the next event after its cursor.
    Next,
    /// Send again an event at or below its cursor (`n` back).
    Repeat(u64),
    /// The connection ends; the client reconnects with its query.
    Disconnect,
    /// The client was too slow: `n` events are skipped and reported.
    Drop(u64),
    /// A status that must not disturb anything.
    Noise(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => Just(Step::Next),
        2 => (0u64..6).prop_map(Step::Repeat),
        1 => Just(Step::Disconnect),
        1 => (1u64..5).prop_map(Step::Drop),
        1 => (0u8..4).prop_map(Step::Noise),
    ]
}

/// Stream ids of the simulated stream: several per millisecond.
fn nth(i: u64) -> StreamId {
    StreamId::new(1_000 + i / 3, i % 3)
}

fn nth_event(i: u64) -> Event {
    Event::parse(&format!(
        r#"{{"id":"{}","type":"text_generation","data":"{i}"}}"#,
        nth(i)
    ))
    .expect("event")
}

/// A bridge holding events `1..=total` (index 0 is the `since=0-0` start).
struct Bridge {
    total: u64,
    /// Index of the last event this connection sent (or skipped).
    cursor: u64,
}

impl Bridge {
    /// Opens a connection for `query`; every connection starts with a hello.
    fn connect(&mut self, query: &Query) -> Event {
        self.cursor = match query {
            Query::Since(p) if p.id == StreamId::ZERO => 0,
            Query::Since(p) => (1..=self.total)
                .find(|&i| nth(i) == p.id)
                .expect("the client resumes from an id it was sent"),
            Query::Last(n) => self.total.saturating_sub(*n as u64),
            Query::Live => panic!("the client always knows where to resume"),
        };
        hello("e")
    }
}

proptest! {
    #[test]
    fn every_id_is_delivered_once_in_order(
        total in 1u64..60,
        start_last in any::<bool>(),
        steps in proptest::collection::vec(step(), 0..200),
        capacity in prop_oneof![Just(DEFAULT_SEEN_CAPACITY), 8usize..64],
    ) {
        let start = if start_last {
            Start::Last(total as usize)
        } else {
            Start::Since(StreamId::ZERO)
        };
        let mut r = Resumer::new(start, capacity);
        let mut bridge = Bridge { total, cursor: 0 };
        let mut delivered = Vec::new();
        let feed = |r: &mut Resumer, e: &Event, delivered: &mut Vec<StreamId>| {
            let v = r.on_frame(e);
            if v != Verdict::Duplicate && let Some(id) = e.id {
                delivered.push(id);
            }
            v
        };
        let first = bridge.connect(&r.query());
        r.on_connect();
        feed(&mut r, &first, &mut delivered);
        // Then the steps, then enough `Next`s to reach the end of the stream.
        let tail = std::iter::repeat_n(Step::Next, total as usize + 1);
        for s in steps.into_iter().chain(tail) {
            let reconnect = match s {
                Step::Next if bridge.cursor < total => {
                    bridge.cursor += 1;
                    feed(&mut r, &nth_event(bridge.cursor), &mut delivered);
                    false
                }
                Step::Next => false,
                Step::Repeat(back) => {
                    let i = bridge.cursor.saturating_sub(back);
                    if i > 0 {
                        let v = feed(&mut r, &nth_event(i), &mut delivered);
                        prop_assert_eq!(v, Verdict::Duplicate);
                    }
                    false
                }
                Step::Disconnect => true,
                Step::Drop(n) if bridge.cursor > 0 && bridge.cursor < total => {
                    let resume_from = nth(bridge.cursor);
                    bridge.cursor = (bridge.cursor + n).min(total);
                    let json = format!(
                        r#"{{"type":"bridge_status","status":"dropped","message":"slow","dropped":{n},"resume_from":"{resume_from}"}}"#
                    );
                    let v = feed(&mut r, &status(&json), &mut delivered);
                    let ok = matches!(v, Verdict::Reconnect { from, .. } if from == resume_from);
                    prop_assert!(ok, "{:?}", v);
                    true
                }
                Step::Drop(_) => false,
                Step::Noise(k) => {
                    let json = match k {
                        0 => r#"{"type":"bridge_status","status":"redis_down","message":"x"}"#,
                        1 => r#"{"type":"bridge_status","status":"redis_up","message":"x","replayed":0,"epoch":"e"}"#,
                        2 => r#"{"type":"bridge_status","status":"replay_done","message":"x","replayed":0}"#,
                        _ => r#"{"type":"reasoning","content":"a plain event"}"#,
                    };
                    prop_assert_eq!(feed(&mut r, &Event::parse(json).expect("json"), &mut delivered), Verdict::Deliver);
                    false
                }
            };
            if reconnect {
                let hello = bridge.connect(&r.query());
                r.on_connect();
                feed(&mut r, &hello, &mut delivered);
            }
        }
        let want: Vec<StreamId> = (1..=total).map(nth).collect();
        prop_assert_eq!(delivered, want);
        prop_assert_eq!(r.query(), Query::Since(Position { id: nth(total), epoch: Some("e".into()) }));
    }
}
