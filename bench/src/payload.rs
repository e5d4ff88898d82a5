//! The events the load generator publishes, and reading them back cheaply.
//!
//! A bench event is a real `text_generation` event of about 200 bytes on the
//! wire (with the `id` the publish script splices in), carrying:
//!
//! - `seq`: a number that never repeats within a benchmark, so every client can
//!   count loss and duplicates by itself;
//! - `t_ns`: when it was handed to Redis, on this process's monotonic clock
//!   ([`crate::measure::now_ns`]), so a client computes publish-to-receipt
//!   latency without a clock of its own.
//!
//! Clients read those two numbers by scanning for the key rather than parsing
//! the JSON: at a million frames per second the client's cost must stay small
//! next to the bridge's, which is what is measured.

/// Wire size the events aim at, `id` included.
pub const EVENT_BYTES: usize = 200;
/// The `id` field the script adds: `"id":"1764086400000-123",` (about 27 bytes).
const ID_FIELD_BYTES: usize = 27;
/// `agent` of every bench event.
pub const AGENT: &str = "bench";

const FILLER: &str = "The bridge fans one encoded frame out to every client; this text only pads the event to a realistic size for the measurement. ";

/// One event without `id` (the script adds it), about [`EVENT_BYTES`] long once
/// published.
pub fn event(run_id: &str, seq: u64, t_ns: u64, wall_secs: f64) -> String {
    event_sized(run_id, seq, t_ns, wall_secs, EVENT_BYTES)
}

/// Like [`event`], padded to about `bytes` once published (never shorter than
/// its fields).
pub fn event_sized(run_id: &str, seq: u64, t_ns: u64, wall_secs: f64, bytes: usize) -> String {
    let head = format!(
        r#"{{"type":"text_generation","agent":"{AGENT}","run_id":"{run_id}","seq":{seq},"t_ns":{t_ns},"timestamp":{wall_secs:.6},"data":""#
    );
    let pad = bytes.saturating_sub(ID_FIELD_BYTES + head.len() + 2);
    let mut out = String::with_capacity(head.len() + pad + 2);
    out.push_str(&head);
    let mut left = pad;
    while left > 0 {
        let take = left.min(FILLER.len());
        out.push_str(&FILLER[..take]);
        left -= take;
    }
    out.push_str("\"}");
    out
}

/// The same event with an `id`, as a subscriber sees it (for publishers that
/// use plain `PUBLISH`, which splices nothing).
pub fn event_with_id(id: &str, run_id: &str, seq: u64, t_ns: u64, wall_secs: f64) -> String {
    let body = event(run_id, seq, t_ns, wall_secs);
    format!(r#"{{"id":"{id}",{}"#, &body[1..])
}

/// Seconds since the Unix epoch (the `timestamp` field).
pub fn wall_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The unsigned integer after `"key":` in `text`, if any. Finds the first
/// occurrence, which in bench events is the envelope's.
pub fn field_u64(text: &str, key: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = text[from..].find(key) {
        let start = from + pos;
        from = start + key.len();
        if start == 0 || bytes[start - 1] != b'"' {
            continue;
        }
        let rest = text.get(start + key.len()..)?;
        let Some(rest) = rest.strip_prefix("\":") else {
            continue;
        };
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        return rest[..digits].parse().ok();
    }
    None
}

/// The `id` of a frame that starts with it (everything the publish script
/// sends does), without parsing the rest.
pub fn leading_id(text: &str) -> Option<&str> {
    let rest = text.strip_prefix(r#"{"id":""#)?;
    let end = rest.find('"')?;
    Some(&rest[..end])
}

/// Whether a frame is the bridge's own (`bridge_hello` / `bridge_status`).
pub fn is_bridge_frame(text: &str) -> bool {
    text.starts_with(r#"{"type":"bridge_"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_about_200_bytes_and_read_back() {
        let e = event_with_id("1764086400000-12", "bench-3", 123_456, 987_654_321, 1.5);
        assert!(
            (EVENT_BYTES - 8..=EVENT_BYTES + 8).contains(&e.len()),
            "{}",
            e.len()
        );
        let v: serde_json::Value = serde_json::from_str(&e).expect("valid JSON");
        assert_eq!(v["seq"], 123_456);
        assert_eq!(field_u64(&e, "seq"), Some(123_456));
        assert_eq!(field_u64(&e, "t_ns"), Some(987_654_321));
        assert_eq!(field_u64(&e, "nope"), None);
        assert_eq!(leading_id(&e), Some("1764086400000-12"));
        assert!(!is_bridge_frame(&e));
        let big = event_sized("r", 1, 2, 3.0, 2048);
        assert!((2000..=2048).contains(&big.len()), "{}", big.len());
        assert!(is_bridge_frame(r#"{"type":"bridge_hello","version":"1"}"#));
        // A key that only appears inside another key is not matched.
        assert_eq!(field_u64(r#"{"xseq":5,"seq":7}"#, "seq"), Some(7));
    }
}
