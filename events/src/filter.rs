//! The server-side filter (`types`, `agent`, `run_id`), shared by bridge and TUI.
//!
//! Each list is "any of"; the lists combine with "and"; an empty list matches
//! everything. Bridge frames (`bridge_hello`, `bridge_status`) always pass: a
//! client filtering on `tool_use` still needs to hear that Redis went down.

use serde::{Deserialize, Serialize};

use crate::peek::Peek;

/// Longest accepted comma list (items), so a query string cannot make a huge filter.
pub const MAX_FILTER_ITEMS: usize = 64;

/// A filter over the envelope fields of events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Event types to keep (`tool_use`, `reasoning`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// Agent names to keep.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<String>,
    /// Run ids to keep.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run_ids: Vec<String>,
}

/// A filter parameter that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// More than [`MAX_FILTER_ITEMS`] items.
    #[error("{param}: at most {MAX_FILTER_ITEMS} comma-separated values")]
    TooMany {
        /// The parameter name.
        param: &'static str,
    },
    /// An item with characters outside `[A-Za-z0-9_.:-]` or longer than 128.
    #[error("{param}: invalid value {value:?} (letters, digits, _ . : - only, at most 128)")]
    BadValue {
        /// The parameter name.
        param: &'static str,
        /// The offending value (truncated).
        value: String,
    },
}

impl Filter {
    /// Whether the filter lets everything through.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty() && self.agents.is_empty() && self.run_ids.is_empty()
    }

    /// Parses a comma list like `tool_use,reasoning` for parameter `param`.
    /// Blank items are ignored; an empty string gives an empty list.
    pub fn parse_list(param: &'static str, raw: &str) -> Result<Vec<String>, FilterError> {
        let items: Vec<String> = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if items.len() > MAX_FILTER_ITEMS {
            return Err(FilterError::TooMany { param });
        }
        for item in &items {
            let ok = item.len() <= 128
                && item
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
            if !ok {
                return Err(FilterError::BadValue {
                    param,
                    value: item.chars().take(64).collect(),
                });
            }
        }
        Ok(items)
    }

    /// Whether an event with these envelope fields passes.
    pub fn matches(&self, peek: &Peek<'_>) -> bool {
        if matches!(peek.kind.as_deref(), Some("bridge_hello" | "bridge_status")) {
            return true;
        }
        any_of(&self.types, peek.kind.as_deref())
            && any_of(&self.agents, peek.agent.as_deref())
            && any_of(&self.run_ids, peek.run_id.as_deref())
    }
}

fn any_of(list: &[String], value: Option<&str>) -> bool {
    list.is_empty() || value.is_some_and(|v| list.iter().any(|item| item == v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peek(json: &str) -> Peek<'_> {
        Peek::parse(json).expect("valid test json")
    }

    #[test]
    fn empty_matches_everything() {
        assert!(Filter::default().matches(&peek(r#"{"type":"x"}"#)));
        assert!(Filter::default().matches(&peek(r#"{}"#)));
    }

    #[test]
    fn lists_are_any_of_and_combine_with_and() {
        let f = Filter {
            types: vec!["tool_use".into(), "reasoning".into()],
            agents: vec!["planner".into()],
            run_ids: vec![],
        };
        assert!(f.matches(&peek(r#"{"type":"tool_use","agent":"planner"}"#)));
        assert!(f.matches(&peek(r#"{"type":"reasoning","agent":"planner"}"#)));
        assert!(!f.matches(&peek(r#"{"type":"tool_use","agent":"other"}"#)));
        assert!(!f.matches(&peek(r#"{"type":"text_generation","agent":"planner"}"#)));
        // An envelope-less event has no agent, so an agent filter excludes it.
        assert!(!f.matches(&peek(r#"{"type":"tool_use"}"#)));
    }

    #[test]
    fn bridge_frames_always_pass() {
        let f = Filter {
            types: vec!["tool_use".into()],
            ..Filter::default()
        };
        assert!(f.matches(&peek(r#"{"type":"bridge_status","status":"redis_down"}"#)));
    }

    #[test]
    fn parses_lists_and_rejects_bad_values() {
        assert_eq!(
            Filter::parse_list("types", " tool_use, ,reasoning "),
            Ok(vec!["tool_use".to_string(), "reasoning".to_string()])
        );
        assert_eq!(Filter::parse_list("types", ""), Ok(vec![]));
        assert!(matches!(
            Filter::parse_list("agent", "a b"),
            Err(FilterError::BadValue { param: "agent", .. })
        ));
        let many = vec!["a"; MAX_FILTER_ITEMS + 1].join(",");
        assert!(matches!(
            Filter::parse_list("run_id", &many),
            Err(FilterError::TooMany { .. })
        ));
    }
}
