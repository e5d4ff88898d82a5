//! Colours and icons: one place that decides how each kind of row looks.
//!
//! Two icon sets: emoji for UTF-8 terminals and a two-character ASCII set for
//! everything else (`--ascii`, or a locale that is not UTF-8, common on
//! minimal servers reached over SSH). Every icon of a set has the same display
//! width, so columns line up. Colour follows <https://no-color.org>: when
//! `NO_COLOR` is set (to anything non-empty) no colour is used at all, and the
//! selection, search matches and states stay visible through bold, underline
//! and reverse video.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols;

use crate::kind::Kind;

/// One icon set. All row icons are two columns wide.
#[derive(Debug)]
pub struct Icons {
    /// Icons per [`Kind`], in declaration order (see [`Icons::kind`]).
    pub kinds: [&'static str; 11],
    /// Frames of the pending-tool spinner.
    pub spinner: &'static [&'static str],
    /// Connection: live.
    pub live: &'static str,
    /// Connection: connecting.
    pub connecting: &'static str,
    /// Connection: waiting to reconnect.
    pub reconnecting: &'static str,
    /// Connection: gave up.
    pub failed: &'static str,
    /// Reading a recorded file.
    pub replay: &'static str,
    /// Something to look at (gaps, drops).
    pub warn: &'static str,
    /// Marks cut text.
    pub ellipsis: &'static str,
    /// Separates fields in bars.
    pub sep: &'static str,
    /// Marks an event the producer cut (it has a `truncated` object).
    pub cut: &'static str,
    /// Success mark after a tool name.
    pub ok: &'static str,
    /// Failure mark after a tool name.
    pub err: &'static str,
    /// Box borders.
    pub border: symbols::border::Set<'static>,
    /// Sparkline bars.
    pub bars: symbols::bar::Set<'static>,
    /// Follow mode on / paused.
    pub follow: &'static str,
    /// Follow mode paused.
    pub paused: &'static str,
}

/// Emoji and box drawing, for UTF-8 terminals.
pub static UNICODE: Icons = Icons {
    kinds: [
        "💬", "💭", "🔧", "✅", "❌", "🚀", "🏁", "💥", "🌉", "❓", "🚫",
    ],
    spinner: &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"],
    live: "●",
    connecting: "◌",
    reconnecting: "↻",
    failed: "✖",
    replay: "▶",
    warn: "⚠",
    ellipsis: "…",
    sep: "│",
    cut: "✂",
    ok: "✓",
    err: "✗",
    border: symbols::border::ROUNDED,
    bars: symbols::bar::NINE_LEVELS,
    follow: "⇣",
    paused: "⏸",
};

/// Plain ASCII, for terminals without UTF-8.
pub static ASCII: Icons = Icons {
    kinds: [
        ">>", "..", "$>", "+$", "!$", "[>", "<]", "!!", "##", "??", "xx",
    ],
    spinner: &["|", "/", "-", "\\"],
    live: "*",
    connecting: "o",
    reconnecting: "~",
    failed: "x",
    replay: ">",
    warn: "!",
    ellipsis: "~",
    sep: "|",
    cut: "[cut]",
    ok: "ok",
    err: "ERR",
    border: symbols::border::Set {
        top_left: "+",
        top_right: "+",
        bottom_left: "+",
        bottom_right: "+",
        vertical_left: "|",
        vertical_right: "|",
        horizontal_top: "-",
        horizontal_bottom: "-",
    },
    bars: symbols::bar::Set {
        full: "#",
        seven_eighths: "#",
        three_quarters: "=",
        five_eighths: "=",
        half: "-",
        three_eighths: "-",
        one_quarter: ".",
        one_eighth: ".",
        empty: " ",
    },
    follow: "F",
    paused: "P",
};

impl Icons {
    /// The icon of a row kind.
    pub fn kind(&self, kind: Kind) -> &'static str {
        let i = match kind {
            Kind::Text => 0,
            Kind::Reasoning => 1,
            Kind::ToolUse => 2,
            Kind::ToolOk => 3,
            Kind::ToolErr => 4,
            Kind::RunStarted => 5,
            Kind::RunFinished => 6,
            Kind::Error => 7,
            Kind::Bridge => 8,
            Kind::Unknown => 9,
            Kind::Malformed => 10,
        };
        self.kinds[i]
    }
}

/// Icons plus the colour decision.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    /// The icon set in use.
    pub icons: &'static Icons,
    /// Whether colours are used (false under `NO_COLOR`).
    pub color: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Theme {
            icons: &UNICODE,
            color: true,
        }
    }
}

impl Theme {
    /// Chooses from the flags and the environment: ASCII when asked or when the
    /// locale is not UTF-8; no colour when `NO_COLOR` is set.
    pub fn detect(force_ascii: bool) -> Theme {
        let env = |k: &str| std::env::var(k).ok();
        Theme::from_env(force_ascii, env)
    }

    /// [`Theme::detect`] with the environment injected (for tests).
    pub fn from_env(force_ascii: bool, env: impl Fn(&str) -> Option<String>) -> Theme {
        let no_color = env("NO_COLOR").is_some_and(|v| !v.is_empty());
        let utf8 = locale_is_utf8(&env);
        Theme {
            icons: if force_ascii || !utf8 {
                &ASCII
            } else {
                &UNICODE
            },
            color: !no_color,
        }
    }

    /// Whether this theme uses the ASCII set.
    pub fn is_ascii(&self) -> bool {
        std::ptr::eq(self.icons, &ASCII)
    }

    /// A foreground colour, or nothing under `NO_COLOR`.
    pub fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    /// The style of a row's icon and summary.
    pub fn kind(&self, kind: Kind) -> Style {
        let base = match kind {
            Kind::Text => self.fg(Color::White),
            Kind::Reasoning => self.fg(Color::Magenta).add_modifier(Modifier::ITALIC),
            Kind::ToolUse => self.fg(Color::Yellow),
            Kind::ToolOk => self.fg(Color::Green),
            Kind::ToolErr => self.fg(Color::LightRed),
            Kind::RunStarted => self.fg(Color::Cyan),
            Kind::RunFinished => self.fg(Color::LightBlue),
            Kind::Error => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Kind::Bridge => self.fg(Color::Gray),
            Kind::Unknown => self.fg(Color::Gray).add_modifier(Modifier::ITALIC),
            Kind::Malformed => self.fg(Color::LightRed).add_modifier(Modifier::ITALIC),
        };
        if !self.color && kind == Kind::Error {
            return base.add_modifier(Modifier::BOLD);
        }
        base
    }

    /// Dim text: times, run ids, hints.
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    /// The agent column.
    pub fn agent(&self) -> Style {
        self.fg(Color::Cyan)
    }

    /// The selected row.
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// A search match.
    pub fn highlight(&self) -> Style {
        let s = Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
        if self.color {
            s.fg(Color::Black).bg(Color::Yellow)
        } else {
            s
        }
    }

    /// Good news (live, redis up, ok).
    pub fn good(&self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }

    /// Waiting (connecting, reconnecting, pending).
    pub fn waiting(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    /// Bad news (failed, redis down, gaps, drops).
    pub fn bad(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// Bar backgrounds (status bar, footer).
    pub fn bar(&self) -> Style {
        if self.color {
            Style::new().bg(Color::Rgb(30, 30, 46)).fg(Color::Gray)
        } else {
            Style::new()
        }
    }

    /// Key names in the footer and help.
    pub fn key(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
}

/// Whether the locale (`LC_ALL`, then `LC_CTYPE`, then `LANG`; the first one set
/// wins, as in POSIX) asks for UTF-8.
fn locale_is_utf8(env: &impl Fn(&str) -> Option<String>) -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .filter_map(|k| env(k))
        .find(|v| !v.is_empty())
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn picks_icons_from_locale_and_flag() {
        assert!(!Theme::from_env(false, env(&[("LANG", "en_US.UTF-8")])).is_ascii());
        assert!(Theme::from_env(true, env(&[("LANG", "en_US.UTF-8")])).is_ascii());
        assert!(Theme::from_env(false, env(&[("LANG", "C")])).is_ascii());
        assert!(Theme::from_env(false, env(&[])).is_ascii());
        // LC_ALL wins over LANG.
        assert!(Theme::from_env(false, env(&[("LC_ALL", "C"), ("LANG", "en_US.utf8")])).is_ascii());
        assert!(!Theme::from_env(false, env(&[("LC_CTYPE", "C.UTF-8")])).is_ascii());
    }

    #[test]
    fn honours_no_color() {
        assert!(!Theme::from_env(false, env(&[("NO_COLOR", "1")])).color);
        assert!(Theme::from_env(false, env(&[("NO_COLOR", "")])).color);
        let t = Theme::from_env(false, env(&[("NO_COLOR", "1")]));
        assert_eq!(t.kind(Kind::ToolOk).fg, None);
    }

    #[test]
    fn every_icon_of_a_set_is_two_columns() {
        for set in [&UNICODE, &ASCII] {
            for icon in set.kinds {
                assert_eq!(icon.width(), 2, "{icon:?}");
            }
        }
    }
}
