//! The view filter (what rows the log shows) and text matching.
//!
//! Filters are separate from search: a filter hides rows, search only moves
//! the selection and highlights. A filter can include or exclude by type
//! category, agent, run and text; the terms combine with "and". It has a text
//! form, used by the filter prompt (`&`) and the status bar, so what is shown
//! can be edited:
//!
//! ```text
//! type:tool -type:reasoning agent:planner -agent:noisy run:3f2a timeout -debug "two words"
//! ```
//!
//! Text terms (and search) look at what a row shows: summary, agent, run id.
//! `-` or `!` before a term excludes. `run:` matches any part of a run id,
//! since people type the short id the log shows (its end). Text matching is "smart case": a
//! pattern with an upper-case letter is case-sensitive, otherwise not.

use crate::app::store::LineRef;
use crate::kind::Category;

/// A text pattern with its matching rule decided once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// As typed.
    pub text: String,
    /// Lower-cased when matching ignores case.
    needle: String,
    case_sensitive: bool,
}

impl Pattern {
    /// A smart-case pattern.
    pub fn new(text: &str) -> Pattern {
        let case_sensitive = text.chars().any(char::is_uppercase);
        Pattern {
            text: text.to_string(),
            needle: if case_sensitive {
                text.to_string()
            } else {
                text.to_lowercase()
            },
            case_sensitive,
        }
    }

    /// Whether the pattern matches nothing meaningful.
    pub fn is_empty(&self) -> bool {
        self.needle.is_empty()
    }

    /// Byte offset of the first match in `hay` at or after `from`.
    pub fn find_from(&self, hay: &str, from: usize) -> Option<(usize, usize)> {
        let hay_tail = hay.get(from..)?;
        if self.needle.is_empty() {
            return None;
        }
        if self.case_sensitive {
            return hay_tail
                .find(&self.needle)
                .map(|i| (from + i, from + i + self.needle.len()));
        }
        if self.needle.is_ascii() {
            let n = self.needle.as_bytes();
            let h = hay_tail.as_bytes();
            if n.len() > h.len() {
                return None;
            }
            return (0..=h.len() - n.len())
                .find(|&i| {
                    h[i..i + n.len()].eq_ignore_ascii_case(n) && hay_tail.is_char_boundary(i)
                })
                .map(|i| (from + i, from + i + n.len()));
        }
        // Non-ASCII needle: compare char by char with full lower-casing.
        let needle: Vec<char> = self.needle.chars().collect();
        for (i, _) in hay_tail.char_indices() {
            let mut want = needle.iter().peekable();
            let mut end = None;
            'chars: for (j, c) in hay_tail[i..].char_indices() {
                for lc in c.to_lowercase() {
                    match want.next() {
                        Some(w) if *w == lc => {}
                        _ => break 'chars,
                    }
                }
                if want.peek().is_none() {
                    end = Some(i + j + c.len_utf8());
                    break;
                }
            }
            if let Some(end) = end {
                return Some((from + i, from + end));
            }
        }
        None
    }

    /// Whether `hay` contains the pattern.
    pub fn matches(&self, hay: &str) -> bool {
        self.find_from(hay, 0).is_some()
    }

    /// Whether a row shows the pattern anywhere: summary, agent or run id.
    pub fn matches_line(&self, line: &LineRef<'_>) -> bool {
        self.matches(line.text)
            || line.agent.is_some_and(|a| self.matches(a))
            || line.run_id.is_some_and(|r| self.matches(r))
    }
}

/// Include/exclude lists over rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewFilter {
    /// Categories to keep (empty: all).
    pub only_types: Vec<Category>,
    /// Categories to hide.
    pub hide_types: Vec<Category>,
    /// Agents to keep (empty: all).
    pub only_agents: Vec<String>,
    /// Agents to hide.
    pub hide_agents: Vec<String>,
    /// Run id parts to keep (empty: all).
    pub only_runs: Vec<String>,
    /// Run id parts to hide.
    pub hide_runs: Vec<String>,
    /// Text every shown row contains.
    pub text: Vec<Pattern>,
    /// Text no shown row contains.
    pub hide_text: Vec<Pattern>,
}

impl ViewFilter {
    /// Whether the filter shows everything.
    pub fn is_empty(&self) -> bool {
        *self == ViewFilter::default()
    }

    /// Whether a row passes.
    pub fn matches(&self, line: &LineRef<'_>) -> bool {
        let cat = line.kind.category();
        if !self.only_types.is_empty() && !self.only_types.contains(&cat) {
            return false;
        }
        if self.hide_types.contains(&cat) {
            return false;
        }
        let agent = line.agent.unwrap_or("");
        if !self.only_agents.is_empty() && !self.only_agents.iter().any(|a| a == agent) {
            return false;
        }
        if self.hide_agents.iter().any(|a| a == agent) {
            return false;
        }
        let run = line.run_id.unwrap_or("");
        if !self.only_runs.is_empty()
            && !self
                .only_runs
                .iter()
                .any(|r| !run.is_empty() && run.contains(r.as_str()))
        {
            return false;
        }
        if self
            .hide_runs
            .iter()
            .any(|r| !run.is_empty() && run.contains(r.as_str()))
        {
            return false;
        }
        self.text.iter().all(|p| p.matches_line(line))
            && !self.hide_text.iter().any(|p| p.matches_line(line))
    }

    /// Shows or hides a category (the number keys). Hiding a category that was
    /// in the "only" list removes it from there.
    pub fn toggle_type(&mut self, cat: Category) {
        if let Some(i) = self.hide_types.iter().position(|c| *c == cat) {
            self.hide_types.remove(i);
        } else {
            self.only_types.retain(|c| *c != cat);
            self.hide_types.push(cat);
            self.hide_types.sort();
        }
    }

    /// Keeps only `run`, or drops that restriction when it is the one in force.
    pub fn toggle_only_run(&mut self, run: &str) {
        if self.only_runs.len() == 1 && self.only_runs[0] == run {
            self.only_runs.clear();
        } else {
            self.only_runs = vec![run.to_string()];
        }
    }

    /// Keeps only `agent`, or drops that restriction when it is the one in force.
    pub fn toggle_only_agent(&mut self, agent: &str) {
        if self.only_agents.len() == 1 && self.only_agents[0] == agent {
            self.only_agents.clear();
        } else {
            self.only_agents = vec![agent.to_string()];
            self.hide_agents.retain(|a| a != agent);
        }
    }

    /// Hides `agent`, or shows it again.
    pub fn toggle_hide_agent(&mut self, agent: &str) {
        if let Some(i) = self.hide_agents.iter().position(|a| a == agent) {
            self.hide_agents.remove(i);
        } else {
            self.only_agents.retain(|a| a != agent);
            self.hide_agents.push(agent.to_string());
        }
    }

    /// Reads the text form (see the module doc). Unknown `type:` names are an error.
    pub fn parse(input: &str) -> Result<ViewFilter, String> {
        let mut f = ViewFilter::default();
        for term in split_terms(input) {
            let (exclude, body) = excluding(&term);
            let (key, value) = match body.split_once(':') {
                Some((k, v)) if matches!(k, "type" | "agent" | "run") && !v.is_empty() => {
                    (Some(k), v)
                }
                _ => (None, body),
            };
            match (key, exclude) {
                (Some("type"), _) => {
                    for name in value.split(',').filter(|s| !s.is_empty()) {
                        let cat = Category::from_name(name).ok_or_else(|| {
                            let names: Vec<_> = Category::ALL.iter().map(|c| c.name()).collect();
                            format!("unknown type {name:?} (one of {})", names.join(", "))
                        })?;
                        let list = if exclude {
                            &mut f.hide_types
                        } else {
                            &mut f.only_types
                        };
                        if !list.contains(&cat) {
                            list.push(cat);
                        }
                    }
                }
                (Some("agent"), false) => f.only_agents.push(value.to_string()),
                (Some("agent"), true) => f.hide_agents.push(value.to_string()),
                (Some(_), false) => f.only_runs.push(value.to_string()),
                (Some(_), true) => f.hide_runs.push(value.to_string()),
                (None, false) => f.text.push(Pattern::new(value)),
                (None, true) => f.hide_text.push(Pattern::new(value)),
            }
        }
        Ok(f)
    }

    /// The text form, which [`ViewFilter::parse`] reads back.
    pub fn describe(&self) -> String {
        let mut out: Vec<String> = Vec::new();
        // One term per direction, as a comma list: short enough for the info bar.
        let names =
            |types: &[Category]| types.iter().map(|c| c.name()).collect::<Vec<_>>().join(",");
        if !self.only_types.is_empty() {
            out.push(format!("type:{}", names(&self.only_types)));
        }
        if !self.hide_types.is_empty() {
            out.push(format!("-type:{}", names(&self.hide_types)));
        }
        out.extend(
            self.only_agents
                .iter()
                .map(|a| format!("agent:{}", quoted(a))),
        );
        out.extend(
            self.hide_agents
                .iter()
                .map(|a| format!("-agent:{}", quoted(a))),
        );
        out.extend(self.only_runs.iter().map(|r| format!("run:{}", quoted(r))));
        out.extend(self.hide_runs.iter().map(|r| format!("-run:{}", quoted(r))));
        out.extend(self.text.iter().map(|p| quoted(&p.text)));
        out.extend(
            self.hide_text
                .iter()
                .map(|p| format!("-{}", quoted(&p.text))),
        );
        out.join(" ")
    }
}

/// Splits on whitespace, keeping `"quoted phrases"` (also after `-`, `!` or `key:`) together.
/// A term's `-` or `!` prefix (exclude) and the rest; a lone `-` is a word.
/// A value as the text form writes it: quoted when it has spaces, is empty,
/// or would read as an exclusion.
pub(crate) fn quoted(s: &str) -> String {
    if s.contains(char::is_whitespace) || s.is_empty() || s.starts_with(['-', '!']) {
        format!("\"{s}\"")
    } else {
        s.to_string()
    }
}

pub(crate) fn excluding(term: &str) -> (bool, &str) {
    match term.strip_prefix(['-', '!']) {
        Some(rest) if !rest.is_empty() => (true, rest),
        _ => (false, term),
    }
}

pub(crate) fn split_terms(input: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in input.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    terms.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        terms.push(cur);
    }
    terms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::Kind;

    fn line<'a>(kind: Kind, agent: &'a str, run: &'a str, text: &'a str) -> LineRef<'a> {
        LineRef {
            ts: 0.0,
            kind,
            agent: Some(agent),
            run_id: Some(run),
            text,
            open: false,
            tool: None,
            truncated: false,
        }
    }

    #[test]
    fn smart_case_matching() {
        assert!(Pattern::new("hello").matches("Say HELLO"));
        assert!(!Pattern::new("Hello").matches("say hello"));
        assert!(Pattern::new("Hello").matches("say Hello"));
        assert_eq!(Pattern::new("lo").find_from("hello lo", 4), Some((6, 8)));
        assert!(Pattern::new("größe").matches("GRÖSSE größe"));
        assert!(Pattern::new("ö").matches("Ö"));
        assert!(!Pattern::new("").matches("x"));
    }

    #[test]
    fn includes_and_excludes_combine() {
        let f = ViewFilter::parse("type:tool -agent:noisy run:ab timeout -debug").expect("valid");
        assert!(f.matches(&line(Kind::ToolOk, "a", "abc", "a Timeout here")));
        assert!(!f.matches(&line(Kind::Text, "a", "abc", "timeout")));
        assert!(!f.matches(&line(Kind::ToolUse, "noisy", "abc", "timeout")));
        assert!(!f.matches(&line(Kind::ToolUse, "a", "xyz", "timeout")));
        assert!(!f.matches(&line(Kind::ToolUse, "a", "abc", "timeout debug")));
        assert!(!f.matches(&line(Kind::ToolUse, "a", "abc", "nothing")));
        // Any part of the run id matches: people type the end the log shows.
        assert!(f.matches(&line(Kind::ToolUse, "a", "run-00ab", "timeout")));
    }

    #[test]
    fn parses_and_describes_round_trip() {
        let text =
            r#"type:tool -type:reasoning agent:p -agent:q run:r1 -run:r2 "two words" -noise"#;
        let f = ViewFilter::parse(text).expect("valid");
        assert_eq!(f.describe(), text);
        assert_eq!(ViewFilter::parse(&f.describe()), Ok(f));
        let many = ViewFilter::parse("-type:text -type:reasoning,tool type:error").expect("valid");
        assert_eq!(many.describe(), "type:error -type:text,reasoning,tool");
        assert_eq!(ViewFilter::parse(&many.describe()), Ok(many));
        assert!(ViewFilter::parse("type:nope").is_err());
        assert!(ViewFilter::parse("").expect("empty").is_empty());
    }

    #[test]
    fn quick_toggles() {
        let mut f = ViewFilter::parse("type:text").expect("valid");
        f.toggle_type(Category::Text);
        assert!(f.only_types.is_empty());
        assert_eq!(f.hide_types, vec![Category::Text]);
        f.toggle_type(Category::Text);
        assert!(f.is_empty());
        f.toggle_only_run("r1");
        assert_eq!(f.only_runs, vec!["r1".to_string()]);
        f.toggle_only_run("r1");
        assert!(f.only_runs.is_empty());
        f.toggle_hide_agent("a");
        f.toggle_only_agent("a");
        assert!(f.hide_agents.is_empty() && f.only_agents == vec!["a".to_string()]);
    }
}
