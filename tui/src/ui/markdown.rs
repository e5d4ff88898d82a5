//! A reply's Markdown, made readable in a terminal without a Markdown engine.
//!
//! Models answer in Markdown; shown raw, `**bold**`, fences and `#` marks
//! are noise. This keeps what a reader needs — headings, bold, inline code,
//! lists, code blocks — as terminal styles, line by line, and never hides
//! text: whatever is not recognised is shown as written. It is a line-level
//! reading, not CommonMark (no nested blocks, tables or links), because a
//! reply is read, not typeset, and every character of it must stay visible.

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::theme::Theme;
use crate::ui::text;

/// The lines of `markdown`, each indented by `indent`, styled for `theme`.
pub fn lines(markdown: &str, theme: &Theme, indent: &str) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let mut in_code = false;
    for raw in markdown.lines() {
        let line = text::cleaned(raw);
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_code = !in_code;
            // The fence itself carries no text worth a row, but its language
            // name does.
            let lang = trimmed.trim_start_matches(['`', '~']).trim();
            if in_code && !lang.is_empty() {
                out.push(Line::styled(format!("{indent}[{lang}]"), theme.dim()));
            }
            continue;
        }
        if in_code {
            out.push(Line::styled(format!("{indent}  {line}"), code(theme)));
            continue;
        }
        let hashes = trimmed.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
            let title = trimmed[hashes..].trim();
            let mut spans = vec![Span::raw(indent.to_string())];
            spans.extend(
                inline(title, theme)
                    .into_iter()
                    .map(|s| s.patch_style(Style::new().add_modifier(Modifier::BOLD))),
            );
            out.push(Line::from(spans));
            continue;
        }
        let lead = line.len() - trimmed.len();
        let (marker, body) = match trimmed.get(..2) {
            Some("- " | "* " | "+ ") => {
                let bullet = if theme.is_ascii() { "-" } else { "•" };
                (format!("{}{bullet} ", " ".repeat(lead)), &trimmed[2..])
            }
            _ => (line[..lead].to_string(), trimmed),
        };
        let mut spans = vec![Span::raw(format!("{indent}{marker}"))];
        spans.extend(inline(body, theme));
        out.push(Line::from(spans));
    }
    out
}

fn code(theme: &Theme) -> Style {
    theme.key()
}

/// `**bold**`, `__bold__` and `` `code` `` within one line; an unclosed mark
/// is kept as text.
fn inline(s: &str, theme: &Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let mut plain = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        let mark = ["**", "__", "`"].into_iter().find(|m| rest.starts_with(m));
        if let Some(m) = mark
            && let Some(end) = rest[m.len()..].find(m)
            && end > 0
        {
            if !plain.is_empty() {
                spans.push(Span::raw(std::mem::take(&mut plain)));
            }
            let inner = rest[m.len()..m.len() + end].to_string();
            let style = if m == "`" {
                code(theme)
            } else {
                Style::new().add_modifier(Modifier::BOLD)
            };
            spans.push(Span::styled(inner, style));
            rest = &rest[m.len() * 2 + end..];
            continue;
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            plain.push(c);
        }
        rest = chars.as_str();
    }
    if !plain.is_empty() {
        spans.push(Span::raw(plain));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::theme::{ASCII, UNICODE};

    fn theme(ascii: bool) -> Theme {
        Theme {
            icons: if ascii { &ASCII } else { &UNICODE },
            color: true,
        }
    }

    fn text_of(lines: &[Line<'_>]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn marks_become_styles_and_no_text_is_lost() {
        let md = "# Plan\nA **bold** step and `cargo test`.\n- first\n  * nested\n1. numbered\n```rust\nfn main() {}\n```\nan **unclosed mark";
        let out = lines(md, &theme(false), "  ");
        assert_eq!(
            text_of(&out),
            [
                "  Plan",
                "  A bold step and cargo test.",
                "  • first",
                "    • nested",
                "  1. numbered",
                "  [rust]",
                "    fn main() {}",
                "  an **unclosed mark",
            ]
        );
        assert!(out[0].spans[1].style.add_modifier.contains(Modifier::BOLD));
        let bold = out[1].spans.iter().find(|s| s.content == "bold").unwrap();
        assert!(bold.style.add_modifier.contains(Modifier::BOLD));
        let ascii = lines("- item", &theme(true), "");
        assert_eq!(text_of(&ascii), ["- item"]);
    }

    #[test]
    fn hostile_text_is_cleaned_and_multibyte_is_safe() {
        let out = lines("**é😀**`\u{1b}[2J` tail ** `", &theme(false), "");
        let t = text_of(&out).join("");
        assert!(t.contains("é😀") && t.contains("tail ** `"), "{t}");
        assert!(!t.contains('\u{1b}'), "{t:?}");
    }
}
