//! The bridge's WebSocket query string (`/ws/orchestrator?…`): any text in,
//! never a panic, and
//! - a refusal is one line that starts with the parameter it is about (it is
//!   the HTTP 400 body);
//! - an accepted query keeps its promises (`last` within the stream cap, not
//!   both `since` and `last`, a well-formed epoch, clean filter items) and
//!   survives being written back as a query string and parsed again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orchestrator_bridge::query::{WsQuery, parse};

const PARAMS: [&str; 7] = [
    "types", "agent", "run_id", "since", "last", "epoch", "token",
];

/// The stream cap comes from the first byte, so small and extreme caps are both tried.
fn cap(byte: u8) -> u64 {
    match byte % 5 {
        0 => 0,
        1 => 1,
        2 => 50,
        3 => 10_000,
        _ => u64::MAX,
    }
}

fn write_back(q: &WsQuery) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, list) in [
        ("types", &q.filter.types),
        ("agent", &q.filter.agents),
        ("run_id", &q.filter.run_ids),
    ] {
        if !list.is_empty() {
            out.append_pair(name, &list.join(","));
        }
    }
    if let Some(since) = q.since {
        out.append_pair("since", &since.to_string());
    }
    if let Some(last) = q.last {
        out.append_pair("last", &last.to_string());
    }
    if let Some(epoch) = &q.epoch {
        out.append_pair("epoch", epoch);
    }
    if let Some(token) = &q.token {
        out.append_pair("token", token);
    }
    out.finish()
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(raw) = std::str::from_utf8(rest) else {
        return;
    };
    let maxlen = cap(first);
    match parse(raw, maxlen) {
        Ok(q) => {
            if let Some(last) = q.last {
                assert!(last as u64 <= maxlen, "last {last} over the cap {maxlen}");
            }
            assert!(!(q.since.is_some() && q.last.is_some()));
            if let Some(epoch) = &q.epoch {
                assert!((1..=64).contains(&epoch.len()), "epoch {epoch:?}");
                assert!(
                    epoch
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                );
            }
            for item in q
                .filter
                .types
                .iter()
                .chain(&q.filter.agents)
                .chain(&q.filter.run_ids)
            {
                assert!(!item.is_empty() && item.len() <= 128, "item {item:?}");
                assert!(!item.contains([',', ' ', '&', '\n']), "item {item:?}");
            }
            let again = write_back(&q);
            assert_eq!(parse(&again, maxlen), Ok(q), "written back as {again:?}");
        }
        Err(err) => {
            let message = err.to_string();
            assert!(
                !message.contains(['\n', '\r']),
                "multi-line 400 body: {message:?}"
            );
            assert!(
                PARAMS.iter().any(|p| message.starts_with(&format!("{p}:")))
                    || message.starts_with("since and last"),
                "the message does not name the parameter: {message:?}"
            );
            assert!(message.len() < 512, "a 400 body of {} bytes", message.len());
        }
    }
});
