//! Turns the bytes a viewer's terminal sends into key events for the monitor.
//!
//! A remote session has no crossterm event reader (that reads the local
//! terminal), so the few sequences the monitor's keys need are decoded here:
//! text (UTF-8), Enter, Tab, Backspace, Esc, Ctrl+letter, arrows, Home/End,
//! Page Up/Down, Delete. Anything else is ignored, never an error.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Decodes one read of input into key events.
pub fn keys(bytes: &[u8]) -> Vec<KeyEvent> {
    let mut out = Vec::new();
    let mut i = 0;
    let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            0x1b => {
                let rest = &bytes[i + 1..];
                let (code, used) = escape(rest);
                match code {
                    Some(code) => out.push(key(code)),
                    None if used == 0 => out.push(key(KeyCode::Esc)),
                    None => {}
                }
                i += 1 + used;
                continue;
            }
            b'\r' | b'\n' => out.push(key(KeyCode::Enter)),
            b'\t' => out.push(key(KeyCode::Tab)),
            0x7f | 0x08 => out.push(key(KeyCode::Backspace)),
            0x01..=0x1a => out.push(KeyEvent::new(
                KeyCode::Char((b - 1 + b'a') as char),
                KeyModifiers::CONTROL,
            )),
            0x20..=0x7e => out.push(key(KeyCode::Char(b as char))),
            _ if b >= 0xc0 => {
                let len = match b {
                    0xc0..=0xdf => 2,
                    0xe0..=0xef => 3,
                    _ => 4,
                };
                if let Some(c) = bytes
                    .get(i..i + len)
                    .and_then(|s| std::str::from_utf8(s).ok())
                    .and_then(|s| s.chars().next())
                {
                    out.push(key(KeyCode::Char(c)));
                }
                i += len;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Decodes what follows an ESC: the key and how many bytes it used. `(None,
/// 0)` is a lone Esc; `(None, n)` an unknown sequence skipped.
fn escape(rest: &[u8]) -> (Option<KeyCode>, usize) {
    match rest.first() {
        Some(b'[') | Some(b'O') => {
            // CSI / SS3: parameters, then one final byte in @..~.
            let end = rest[1..].iter().position(|b| (0x40..=0x7e).contains(b));
            let Some(end) = end else {
                return (None, rest.len());
            };
            let params = &rest[1..1 + end];
            let last = rest[1 + end];
            let code = match (last, params) {
                (b'A', _) => Some(KeyCode::Up),
                (b'B', _) => Some(KeyCode::Down),
                (b'C', _) => Some(KeyCode::Right),
                (b'D', _) => Some(KeyCode::Left),
                (b'H', _) => Some(KeyCode::Home),
                (b'F', _) => Some(KeyCode::End),
                (b'Z', _) => Some(KeyCode::BackTab),
                (b'~', b"1") | (b'~', b"7") => Some(KeyCode::Home),
                (b'~', b"4") | (b'~', b"8") => Some(KeyCode::End),
                (b'~', b"3") => Some(KeyCode::Delete),
                (b'~', b"5") => Some(KeyCode::PageUp),
                (b'~', b"6") => Some(KeyCode::PageDown),
                _ => None,
            };
            (code, 2 + end)
        }
        _ => (None, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(bytes: &[u8]) -> Vec<(KeyCode, KeyModifiers)> {
        keys(bytes)
            .into_iter()
            .map(|k| (k.code, k.modifiers))
            .collect()
    }

    #[test]
    fn decodes_text_controls_and_sequences() {
        let none = KeyModifiers::NONE;
        assert_eq!(
            codes(b"q\x03/\r\x1b[A\x1b[6~\x1bOB\x1b"),
            vec![
                (KeyCode::Char('q'), none),
                (KeyCode::Char('c'), KeyModifiers::CONTROL),
                (KeyCode::Char('/'), none),
                (KeyCode::Enter, none),
                (KeyCode::Up, none),
                (KeyCode::PageDown, none),
                (KeyCode::Down, none),
                (KeyCode::Esc, none),
            ]
        );
        assert_eq!(codes("é".as_bytes()), vec![(KeyCode::Char('é'), none)]);
        // Unknown or cut sequences are skipped, never a panic.
        assert_eq!(codes(b"\x1b[99q\x1b[12"), vec![]);
        assert_eq!(codes(&[0xff, 0xe2]), vec![]);
    }
}
