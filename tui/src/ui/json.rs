//! Pretty, coloured JSON for the detail pane.
//!
//! A small printer over `serde_json::Value` (key order preserved) that tags
//! each token with a style, plus a wrapper that folds long lines to the pane's
//! width so scrolling counts screen lines exactly.

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use serde_json::Value;

use crate::theme::Theme;
use crate::ui::text;

/// Lines of `value` pretty-printed with two-space indents, at most `max_lines`.
pub fn lines(value: &Value, theme: &Theme, max_lines: usize) -> Vec<Line<'static>> {
    let mut p = Printer {
        theme,
        out: Vec::new(),
        cur: Vec::new(),
        max_lines,
    };
    p.value(value, 0);
    p.flush();
    if p.out.len() > max_lines {
        p.out.truncate(max_lines);
        p.out.push(Line::styled("... (cut)", theme.dim()));
    }
    p.out
}

struct Printer<'t> {
    theme: &'t Theme,
    out: Vec<Line<'static>>,
    cur: Vec<Span<'static>>,
    max_lines: usize,
}

impl Printer<'_> {
    fn push(&mut self, s: impl Into<String>, style: Style) {
        self.cur.push(Span::styled(s.into(), style));
    }

    fn flush(&mut self) {
        if !self.cur.is_empty() {
            self.out.push(Line::from(std::mem::take(&mut self.cur)));
        }
    }

    fn newline(&mut self, indent: usize) {
        self.flush();
        if indent > 0 {
            self.push(" ".repeat(indent * 2), Style::new());
        }
    }

    fn value(&mut self, v: &Value, indent: usize) {
        if self.out.len() > self.max_lines {
            return;
        }
        let t = self.theme;
        match v {
            Value::Null => self.push("null", t.fg(Color::Yellow)),
            Value::Bool(b) => self.push(b.to_string(), t.fg(Color::Yellow)),
            Value::Number(n) => self.push(n.to_string(), t.fg(Color::Magenta)),
            Value::String(s) => self.push(quote(s), t.fg(Color::Green)),
            Value::Array(items) if items.is_empty() => self.push("[]", Style::new()),
            Value::Object(map) if map.is_empty() => self.push("{}", Style::new()),
            Value::Array(items) => {
                self.push("[", Style::new());
                for (i, item) in items.iter().enumerate() {
                    self.newline(indent + 1);
                    self.value(item, indent + 1);
                    if i + 1 < items.len() {
                        self.push(",", Style::new());
                    }
                }
                self.newline(indent);
                self.push("]", Style::new());
            }
            Value::Object(map) => {
                self.push("{", Style::new());
                for (i, (k, item)) in map.iter().enumerate() {
                    self.newline(indent + 1);
                    self.push(quote(k), t.fg(Color::Cyan));
                    self.push(": ", Style::new());
                    self.value(item, indent + 1);
                    if i + 1 < map.len() {
                        self.push(",", Style::new());
                    }
                }
                self.newline(indent);
                self.push("}", Style::new());
            }
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Folds lines longer than `width` columns onto following lines; control
/// characters are cleaned on the way.
pub fn wrap(lines: Vec<Line<'static>>, width: u16) -> Vec<Line<'static>> {
    let width = usize::from(width.max(1));
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let mut cur: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        for span in line.spans {
            let mut piece = String::new();
            for c in span.content.chars() {
                let c = text::clean(c);
                let w = text::char_width(c);
                if used + w > width && used > 0 {
                    if !piece.is_empty() {
                        cur.push(Span::styled(std::mem::take(&mut piece), span.style));
                    }
                    out.push(Line::from(std::mem::take(&mut cur)));
                    used = 0;
                }
                piece.push(c);
                used += w;
            }
            if !piece.is_empty() {
                cur.push(Span::styled(piece, span.style));
            }
        }
        out.push(Line::from(cur));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn pretty_prints_in_key_order() {
        let v: Value =
            serde_json::from_str(r#"{"type":"x","n":[1,true,null],"o":{}}"#).expect("json");
        let out = plain(&lines(&v, &Theme::default(), 100));
        assert_eq!(
            out,
            vec![
                "{",
                r#"  "type": "x","#,
                r#"  "n": ["#,
                "    1,",
                "    true,",
                "    null",
                "  ],",
                r#"  "o": {}"#,
                "}"
            ]
        );
    }

    #[test]
    fn wraps_long_lines() {
        let out = plain(&wrap(vec![Line::from("abcdefgh")], 3));
        assert_eq!(out, vec!["abc", "def", "gh"]);
        let v: Value = serde_json::from_str(r#"{"a":"line\nbreak"}"#).expect("json");
        assert_eq!(
            plain(&lines(&v, &Theme::default(), 10))[1],
            r#"  "a": "line\nbreak""#
        );
    }
}
