//! The keymap: one table from keys to actions, which also writes the help
//! screen and the footer, so they can never disagree with what keys do.
//!
//! The keys follow habits from `less`, `vim` and `k9s`: `j`/`k`, `g`/`G`,
//! `/` with `n`/`N`, `&` to filter (as in `less`), `q` to quit.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::action::{Action, Page};
use crate::kind::Category;

/// One key: a code and the modifiers that must be held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Ctrl/Alt (Shift is implied by upper-case characters).
    pub mods: KeyModifiers,
}

const fn k(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

/// Where a binding is listed in the help screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Moving around.
    Navigate,
    /// Finding.
    Search,
    /// Hiding rows.
    Filter,
    /// Panes and modes.
    View,
}

impl Group {
    /// The help screen's heading.
    pub fn title(self) -> &'static str {
        match self {
            Group::Navigate => "Navigate",
            Group::Search => "Search",
            Group::Filter => "Filter",
            Group::View => "View",
        }
    }
}

/// One row of the keymap.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// Keys that trigger it.
    pub keys: &'static [Key],
    /// How the keys are written in help and footer.
    pub label: &'static str,
    /// What it does.
    pub action: Action,
    /// One line for the help screen.
    pub help: &'static str,
    /// Short word for the footer, when it is listed there.
    pub footer: Option<&'static str>,
    /// Help section.
    pub group: Group,
}

macro_rules! bind {
    ($group:ident, [$($key:expr),+], $label:expr, $action:expr, $help:expr, $footer:expr) => {
        Binding {
            keys: &[$($key),+],
            label: $label,
            action: $action,
            help: $help,
            footer: $footer,
            group: Group::$group,
        }
    };
}

/// Every key binding of the normal mode.
pub static KEYMAP: &[Binding] = &[
    bind!(
        Navigate,
        [k('j'), code(KeyCode::Down)],
        "j Down",
        Action::Move(1),
        "next row",
        None
    ),
    bind!(
        Navigate,
        [k('k'), code(KeyCode::Up)],
        "k Up",
        Action::Move(-1),
        "previous row, pause",
        None
    ),
    bind!(
        Navigate,
        [code(KeyCode::PageDown), k(' '), ctrl('f')],
        "PgDn Spc ^F",
        Action::Page(1),
        "page down",
        None
    ),
    bind!(
        Navigate,
        [code(KeyCode::PageUp), k('b'), ctrl('b')],
        "PgUp b ^B",
        Action::Page(-1),
        "page up",
        None
    ),
    bind!(
        Navigate,
        [k('g'), code(KeyCode::Home)],
        "g Home",
        Action::Top,
        "oldest row",
        None
    ),
    bind!(
        Navigate,
        [k('G'), code(KeyCode::End)],
        "G End",
        Action::Bottom,
        "newest row, follow",
        None
    ),
    bind!(
        Navigate,
        [k('f')],
        "f",
        Action::ToggleFollow,
        "follow new rows on/off",
        Some("follow")
    ),
    bind!(
        Search,
        [k('/')],
        "/",
        Action::SearchPrompt,
        "search and highlight",
        Some("search")
    ),
    bind!(
        Search,
        [k('n')],
        "n",
        Action::SearchNext,
        "next match",
        None
    ),
    bind!(
        Search,
        [k('N')],
        "N",
        Action::SearchPrev,
        "previous match",
        None
    ),
    bind!(
        Filter,
        [k('&')],
        "&",
        Action::FilterPrompt,
        "filter by type/agent/text",
        Some("filter")
    ),
    bind!(
        Filter,
        [k('1')],
        "1",
        Action::ToggleType(Category::Text),
        "hide/show text",
        None
    ),
    bind!(
        Filter,
        [k('2')],
        "2",
        Action::ToggleType(Category::Reasoning),
        "hide/show reasoning",
        None
    ),
    bind!(
        Filter,
        [k('3')],
        "3",
        Action::ToggleType(Category::Tool),
        "hide/show tools",
        None
    ),
    bind!(
        Filter,
        [k('4')],
        "4",
        Action::ToggleType(Category::RunStarted),
        "hide/show run starts",
        None
    ),
    bind!(
        Filter,
        [k('5')],
        "5",
        Action::ToggleType(Category::RunFinished),
        "hide/show run ends",
        None
    ),
    bind!(
        Filter,
        [k('6')],
        "6",
        Action::ToggleType(Category::Error),
        "hide/show errors",
        None
    ),
    bind!(
        Filter,
        [k('7')],
        "7",
        Action::ToggleType(Category::Bridge),
        "hide/show bridge news",
        None
    ),
    bind!(
        Filter,
        [k('8')],
        "8",
        Action::ToggleType(Category::Other),
        "hide/show unknown/bad",
        None
    ),
    bind!(
        Filter,
        [k('o')],
        "o",
        Action::OnlyRun,
        "only this run (toggle)",
        None
    ),
    bind!(
        Filter,
        [k('a')],
        "a",
        Action::OnlyAgent,
        "only this agent (toggle)",
        None
    ),
    bind!(
        Filter,
        [k('A')],
        "A",
        Action::HideAgent,
        "hide this agent (toggle)",
        None
    ),
    bind!(
        Filter,
        [k('c')],
        "c",
        Action::ClearFilters,
        "clear all filters",
        None
    ),
    bind!(
        View,
        [code(KeyCode::Enter)],
        "Enter",
        Action::Detail,
        "event detail (JSON)",
        Some("detail")
    ),
    bind!(
        View,
        [code(KeyCode::Tab)],
        "Tab",
        Action::SwitchFocus,
        "focus log / detail",
        None
    ),
    bind!(
        View,
        [k('r')],
        "r",
        Action::ToggleRaw,
        "raw chunks / coalesced",
        Some("raw")
    ),
    bind!(
        View,
        [code(KeyCode::Esc)],
        "Esc",
        Action::Escape,
        "close pane, clear search",
        None
    ),
    bind!(
        View,
        [k('L')],
        "L",
        Action::Open(Page::Log),
        "the log view",
        None
    ),
    bind!(
        View,
        [k('R')],
        "R",
        Action::Open(Page::Runs),
        "the runs view",
        None
    ),
    bind!(
        View,
        [k('T')],
        "T",
        Action::Open(Page::Tools),
        "the tools view",
        None
    ),
    bind!(View, [k('?')], "?", Action::Help, "this help", Some("help")),
    bind!(
        View,
        [k('q'), ctrl('c')],
        "q ^C",
        Action::Quit,
        "quit",
        Some("quit")
    ),
];

/// The action bound to a key press in normal mode.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    let mut mods =
        key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
    if matches!(key.code, KeyCode::Char(_)) {
        // Upper-case letters and symbols arrive with Shift; the char says it all.
        mods.remove(KeyModifiers::SHIFT);
    }
    let code = match key.code {
        KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
            KeyCode::Char(c.to_ascii_lowercase())
        }
        other => other,
    };
    KEYMAP
        .iter()
        .find(|b| b.keys.iter().any(|k| k.code == code && k.mods == mods))
        .map(|b| b.action)
}

/// Keys of the runs, tools and transcript views (handled before [`KEYMAP`]
/// there), as the help screen lists them: (keys, what they do). Each text
/// fits the help's right column at 80 columns (26 characters).
pub static PAGE_KEYS: &[(&str, &str)] = &[
    ("j k Up Dn", "move or scroll"),
    ("g G", "first / last row"),
    ("Enter", "transcript / tool's calls"),
    ("Spc <- ->", "runs: fold / unfold"),
    ("s", "runs, tools: next sort"),
    ("& c", "runs: filter / clear it"),
    ("z", "show / hide reasoning"),
    ("/ n N", "search the transcript"),
    ("e", "export the run (JSONL)"),
    ("Esc", "back where you came from"),
];

/// The footer's key hints in the runs, tools and transcript views (the log's
/// come from [`KEYMAP`]): (key, word).
pub fn page_footer(page: Page) -> &'static [(&'static str, &'static str)] {
    match page {
        Page::Log => &[],
        Page::Runs => &[
            ("Enter", "transcript"),
            ("Spc", "fold"),
            ("s", "sort"),
            ("&", "filter"),
            ("T", "tools"),
            ("L", "log"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Page::Tools => &[
            ("Enter", "calls"),
            ("s", "sort"),
            ("R", "runs"),
            ("L", "log"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Page::Transcript => &[
            ("z", "reasoning"),
            ("e", "export"),
            ("Esc", "back"),
            ("?", "help"),
            ("q", "quit"),
        ],
    }
}

/// Width from which the help screen has two columns.
pub const HELP_TWO_COLUMNS: u16 = 78;

/// Lines of the help screen's text, without its border and mouse line: the
/// taller column with two, everything with one. Left: navigate and view;
/// right: search, filter and the page keys (headings and gaps included).
pub fn help_rows(two_columns: bool) -> usize {
    let n = |g: Group| KEYMAP.iter().filter(|b| b.group == g).count();
    let left = n(Group::Navigate) + n(Group::View) + 3;
    let right = n(Group::Search) + n(Group::Filter) + PAGE_KEYS.len() + 5;
    if two_columns {
        left.max(right)
    } else {
        left + right + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode, mods: KeyModifiers) -> Option<Action> {
        action_for(&KeyEvent::new(code, mods))
    }

    #[test]
    fn maps_keys_with_and_without_modifiers() {
        assert_eq!(
            press(KeyCode::Char('j'), KeyModifiers::NONE),
            Some(Action::Move(1))
        );
        assert_eq!(
            press(KeyCode::Char('G'), KeyModifiers::SHIFT),
            Some(Action::Bottom)
        );
        assert_eq!(
            press(KeyCode::Char('c'), KeyModifiers::CONTROL),
            Some(Action::Quit)
        );
        assert_eq!(
            press(KeyCode::Char('c'), KeyModifiers::NONE),
            Some(Action::ClearFilters)
        );
        assert_eq!(
            press(KeyCode::Char('&'), KeyModifiers::SHIFT),
            Some(Action::FilterPrompt)
        );
        assert_eq!(press(KeyCode::Char('x'), KeyModifiers::NONE), None);
    }

    #[test]
    fn page_key_texts_fit_the_help_column_at_80() {
        for (keys, what) in PAGE_KEYS {
            assert!(
                keys.len() <= 12 && what.chars().count() <= 26,
                "{keys}: {what}"
            );
        }
    }

    #[test]
    fn no_key_is_bound_twice() {
        let mut seen = Vec::new();
        for b in KEYMAP {
            for key in b.keys {
                assert!(!seen.contains(key), "{key:?} bound twice");
                seen.push(*key);
            }
        }
    }
}
