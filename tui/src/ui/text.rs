//! Putting untrusted text on screen safely and in a given width.
//!
//! Everything a server sends passes through [`clean`]: control characters
//! (escape sequences included) never reach the terminal. Cutting works from
//! either end in O(width), never O(length), so a 1 MB message costs the same
//! to draw as a short one.

use ratatui::style::Style;
use ratatui::text::Span;
use unicode_width::UnicodeWidthChar;

use crate::app::filter::Pattern;

/// The character to draw for `c`: whitespace controls become spaces, other
/// control characters — and the bidirectional overrides and isolates, which
/// can make a line read differently from what it holds — a replacement mark.
pub fn clean(c: char) -> char {
    match c {
        '\n' | '\r' | '\t' => ' ',
        c if c.is_control() => '\u{FFFD}',
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => '\u{FFFD}',
        c => c,
    }
}

/// Display width of `c` once cleaned.
pub fn char_width(c: char) -> usize {
    clean(c).width().unwrap_or(0)
}

/// Display width of a string once cleaned.
pub fn width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// The cleaned string.
pub fn cleaned(s: &str) -> String {
    s.chars().map(clean).collect()
}

/// Which bytes of a string fit in a width, and whether it was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    /// Byte range shown.
    pub start: usize,
    /// End of the byte range shown.
    pub end: usize,
    /// Cut at the start (show a mark before).
    pub cut_start: bool,
    /// Cut at the end (show a mark after).
    pub cut_end: bool,
}

/// End of the longest prefix of `s` within `width` columns, and whether that
/// is all of `s`. Stops after `width` columns: O(width).
fn prefix_end(s: &str, width: usize) -> (usize, bool) {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += char_width(c);
        if used > width {
            return (i, false);
        }
    }
    (s.len(), true)
}

/// Start of the longest suffix of `s` within `width` columns, and whether
/// that is all of `s`.
fn suffix_start(s: &str, width: usize) -> (usize, bool) {
    let mut used = 0;
    let mut start = s.len();
    for (i, c) in s.char_indices().rev() {
        used += char_width(c);
        if used > width {
            return (start, false);
        }
        start = i;
    }
    (0, true)
}

/// The longest prefix of `s` that fits in `width` columns, keeping one column
/// for a cut mark when it does not all fit.
pub fn fit_head(s: &str, width: usize) -> Fit {
    let (end, all) = prefix_end(s, width);
    if all {
        return Fit {
            start: 0,
            end,
            cut_start: false,
            cut_end: false,
        };
    }
    let (end, _) = prefix_end(s, width.saturating_sub(1));
    Fit {
        start: 0,
        end,
        cut_start: false,
        cut_end: width > 0,
    }
}

/// The longest suffix of `s` that fits in `width` columns, keeping one column
/// for a cut mark when it does not all fit.
pub fn fit_tail(s: &str, width: usize) -> Fit {
    let (start, all) = suffix_start(s, width);
    if all {
        return Fit {
            start,
            end: s.len(),
            cut_start: false,
            cut_end: false,
        };
    }
    let (start, _) = suffix_start(s, width.saturating_sub(1));
    Fit {
        start,
        end: s.len(),
        cut_start: width > 0,
        cut_end: false,
    }
}

/// Spans for `s[fit]`, cleaned, with search matches in `highlight` style, and
/// cut marks where the text was cut.
pub fn spans<'a>(
    s: &str,
    fit: Fit,
    style: Style,
    search: Option<(&Pattern, Style)>,
    ellipsis: &'static str,
) -> Vec<Span<'a>> {
    let mut out = Vec::new();
    if fit.cut_start {
        out.push(Span::styled(ellipsis, style));
    }
    let shown = &s[fit.start..fit.end];
    let mut at = 0;
    if let Some((pattern, hl)) = search {
        while let Some((a, b)) = pattern.find_from(shown, at) {
            if a > at {
                out.push(Span::styled(cleaned(&shown[at..a]), style));
            }
            out.push(Span::styled(cleaned(&shown[a..b]), hl));
            at = b.max(a + 1).min(shown.len());
            while !shown.is_char_boundary(at) {
                at += 1;
            }
            if b == a {
                break;
            }
        }
    }
    if at < shown.len() {
        out.push(Span::styled(cleaned(&shown[at..]), style));
    }
    if fit.cut_end {
        out.push(Span::styled(ellipsis, style));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(spans: &[Span<'_>]) -> String {
        spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn cleans_control_characters() {
        assert_eq!(cleaned("a\nb\x1b[2Jc\u{7}"), "a b\u{FFFD}[2Jc\u{FFFD}");
        assert_eq!(cleaned("x\u{202E}y\u{2066}z"), "x\u{FFFD}y\u{FFFD}z");
    }

    #[test]
    fn fits_from_either_end() {
        let f = fit_head("hello world", 8);
        assert_eq!(
            text(&spans("hello world", f, Style::new(), None, "…")),
            "hello w…"
        );
        let f = fit_tail("hello world", 8);
        assert_eq!(
            text(&spans("hello world", f, Style::new(), None, "…")),
            "…o world"
        );
        let f = fit_head("short", 8);
        assert_eq!((f.cut_end, f.end), (false, 5));
        // Wide characters never overflow.
        let f = fit_head("日本語テキスト", 7);
        let shown = text(&spans("日本語テキスト", f, Style::new(), None, "…"));
        assert!(width(&shown) <= 7, "{shown}");
        let f = fit_tail("日本語テキスト", 7);
        let shown = text(&spans("日本語テキスト", f, Style::new(), None, "…"));
        assert!(width(&shown) <= 7, "{shown}");
    }

    #[test]
    fn highlights_matches() {
        let p = Pattern::new("lo");
        let hl = Style::new().bold();
        let s = spans(
            "hello lo",
            fit_head("hello lo", 20),
            Style::new(),
            Some((&p, hl)),
            "…",
        );
        let marked: Vec<_> = s
            .iter()
            .filter(|s| s.style == hl)
            .map(|s| s.content.to_string())
            .collect();
        assert_eq!(marked, vec!["lo", "lo"]);
        assert_eq!(text(&s), "hello lo");
    }
}
