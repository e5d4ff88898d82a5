//! Server-sent events, byte level: turns the body of a streaming response,
//! arriving in arbitrary pieces, into the `data` payloads of complete events.
//!
//! Only what `/chat/completions` servers use is kept: `data:` lines (several in
//! one event are joined with `\n`), `:` comments and other fields ignored, a
//! blank line ends an event. Lines may end in `\n`, `\r\n` or `\r`; an event or
//! a UTF-8 character may be split across TCP reads. Bytes are buffered until a
//! line is complete, so nothing is decoded half-way.

/// Longest line accepted. A server that never sends a newline would otherwise
/// make the agent buffer without bound.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// Why a body is not a valid event stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// One line (or one event's data) grew past [`MAX_LINE`] bytes.
    #[error("an event-stream event is longer than {MAX_LINE} bytes")]
    LineTooLong,
    /// A `data:` line is not UTF-8.
    #[error("an event-stream line is not valid UTF-8")]
    NotUtf8,
}

/// Incremental parser: feed it bytes as they arrive, take the completed
/// events' data out.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the current, not yet terminated line.
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` starting the next one belongs to it.
    after_cr: bool,
    /// `data:` lines of the event being read.
    data: Vec<String>,
    /// Bytes held in `data`, bounded like a line.
    data_len: usize,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Feeds the next piece of the body; returns the data of every event it completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<String>, SseError> {
        let mut events = Vec::new();
        let mut rest = bytes;
        if self.after_cr {
            self.after_cr = false;
            if let Some(stripped) = rest.strip_prefix(b"\n") {
                rest = stripped;
            }
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.push_bytes(&rest[..end])?;
            let is_cr = rest[end] == b'\r';
            rest = &rest[end + 1..];
            if is_cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
            let line = std::mem::take(&mut self.line);
            if let Some(event) = self.line_done(&line)? {
                events.push(event);
            }
        }
        self.push_bytes(rest)?;
        Ok(events)
    }

    /// The body ended: completes an event the server did not terminate with a
    /// blank line (lenient: some servers close right after the last `data:`).
    pub fn finish(&mut self) -> Result<Option<String>, SseError> {
        let line = std::mem::take(&mut self.line);
        let mut last = self.line_done(&line)?;
        if last.is_none() {
            last = self.line_done(&[])?;
        }
        Ok(last)
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        if self.line.len() + bytes.len() > MAX_LINE {
            return Err(SseError::LineTooLong);
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    /// Handles one complete line; returns an event's data when the line ends one.
    fn line_done(&mut self, line: &[u8]) -> Result<Option<String>, SseError> {
        if line.is_empty() {
            if self.data.is_empty() {
                return Ok(None);
            }
            self.data_len = 0;
            return Ok(Some(std::mem::take(&mut self.data).join("\n")));
        }
        if line.starts_with(b":") {
            return Ok(None);
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        if field == b"data" {
            let value = std::str::from_utf8(value).map_err(|_| SseError::NotUtf8)?;
            self.data_len += value.len() + 1;
            if self.data_len > MAX_LINE {
                return Err(SseError::LineTooLong);
            }
            self.data.push(value.to_owned());
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(parser: &mut SseParser, pieces: &[&[u8]]) -> Vec<String> {
        let mut out = Vec::new();
        for piece in pieces {
            out.extend(parser.feed(piece).unwrap());
        }
        out
    }

    #[test]
    fn events_split_anywhere_come_out_whole() {
        let body = "data: {\"a\":1}\n\n: keep-alive\n\ndata: héllo\n\ndata: [DONE]\n\n";
        let expected = vec![
            "{\"a\":1}".to_owned(),
            "héllo".to_owned(),
            "[DONE]".to_owned(),
        ];
        let bytes = body.as_bytes();
        for split in 0..bytes.len() {
            let mut parser = SseParser::new();
            let got = feed_all(&mut parser, &[&bytes[..split], &bytes[split..]]);
            assert_eq!(got, expected, "split at {split}");
        }
        let mut parser = SseParser::new();
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(feed_all(&mut parser, &singles), expected);
    }

    #[test]
    fn crlf_and_cr_line_ends_are_accepted() {
        let mut parser = SseParser::new();
        let got = feed_all(
            &mut parser,
            &[b"data: one\r", b"\n\r\ndata:two\r\rdata: x\n\n"],
        );
        assert_eq!(got, vec!["one", "two", "x"]);
    }

    #[test]
    fn multi_line_data_is_joined_and_other_fields_ignored() {
        let mut parser = SseParser::new();
        let got = feed_all(
            &mut parser,
            &[b"event: message\nid: 7\ndata: a\ndata: b\nretry: 5\n\n"],
        );
        assert_eq!(got, vec!["a\nb"]);
    }

    #[test]
    fn an_unterminated_last_event_is_completed_at_the_end() {
        let mut parser = SseParser::new();
        assert!(parser.feed(b"data: [DONE]").unwrap().is_empty());
        assert_eq!(parser.finish().unwrap(), Some("[DONE]".to_owned()));
        let mut parser = SseParser::new();
        assert!(parser.feed(b"data: x\n").unwrap().is_empty());
        assert_eq!(parser.finish().unwrap(), Some("x".to_owned()));
        assert_eq!(SseParser::new().finish().unwrap(), None);
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_panic() {
        let mut parser = SseParser::new();
        assert_eq!(parser.feed(b"data: \xff\xfe\n\n"), Err(SseError::NotUtf8));
    }
}
