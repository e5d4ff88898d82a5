//! `--record FILE`: append every frame to a JSONL file, one per line.
//!
//! The line is the frame's text as received, so `--replay` shows exactly what
//! was seen. A frame whose text spans several lines (pretty-printed JSON) is
//! written compacted; one that is not JSON has its line breaks replaced by
//! spaces, so the file stays one frame per line whatever the server sent.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// An open recording.
#[derive(Debug)]
pub struct Recorder {
    out: BufWriter<File>,
}

impl Recorder {
    /// Opens (creates or appends to) `path`.
    pub fn open(path: &Path) -> io::Result<Recorder> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Recorder {
            out: BufWriter::new(file),
        })
    }

    /// Appends one frame's text as one line.
    pub fn write(&mut self, text: &str) -> io::Result<()> {
        let line = one_line(text);
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")
    }

    /// Writes buffered lines to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// `text` as one line (see the module doc).
pub fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['\n', '\r']) {
        return text.into();
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => value.to_string().into(),
        Err(_) => text.replace(['\n', '\r'], " ").into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_one_frame_per_line() {
        assert_eq!(one_line(r#"{"a":1}"#), r#"{"a":1}"#);
        assert_eq!(one_line("{\n  \"a\": 1\n}"), r#"{"a":1}"#);
        assert_eq!(one_line("bad\nframe"), "bad frame");
    }

    #[test]
    fn appends_lines() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("rec.jsonl");
        for text in ["{\"a\":1}", "x\ny"] {
            let mut r = Recorder::open(&path)?;
            r.write(text)?;
            r.flush()?;
        }
        assert_eq!(std::fs::read_to_string(&path)?, "{\"a\":1}\nx y\n");
        Ok(())
    }
}
