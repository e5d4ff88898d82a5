//! Tool calls arrive in fragments: the first fragment of a call carries its
//! `index`, `id` and function name, the following ones append pieces of the
//! arguments' JSON text. This module puts them back together and hands out
//! complete [`ToolCall`]s, in index order, when the turn ends.
//!
//! Servers that leave out `index` are tolerated: a fragment with a new `id`
//! starts the next call, one without continues the last.

use std::collections::BTreeMap;

use super::wire::ToolCallFragment;
use crate::model::ToolCall;

/// A call still being assembled.
#[derive(Debug, Default)]
struct Partial {
    id: String,
    name: String,
    arguments: String,
}

/// Assembles the tool calls of one turn.
#[derive(Debug, Default)]
pub struct ToolCalls {
    calls: BTreeMap<u32, Partial>,
    /// Index of the call the last fragment went to (for fragments without index).
    last: Option<u32>,
    /// Turn id used for calls whose server sent no id, so they stay unique.
    turn: String,
}

impl ToolCalls {
    /// An empty assembler; `turn` makes up ids for calls the server left without one.
    pub fn new(turn: impl Into<String>) -> ToolCalls {
        ToolCalls {
            turn: turn.into(),
            ..ToolCalls::default()
        }
    }

    /// Adds one fragment.
    pub fn push(&mut self, fragment: &ToolCallFragment) {
        let id = fragment.id.as_deref().filter(|id| !id.is_empty());
        let index = match (fragment.index, self.last) {
            (Some(index), _) => index,
            (None, None) => 0,
            (None, Some(last)) => {
                let same = id.is_none()
                    || self
                        .calls
                        .get(&last)
                        .is_some_and(|c| c.id.is_empty() || Some(c.id.as_str()) == id);
                if same {
                    last
                } else {
                    self.calls.keys().next_back().map_or(0, |max| max + 1)
                }
            }
        };
        self.last = Some(index);
        let call = self.calls.entry(index).or_default();
        if let Some(id) = id
            && call.id.is_empty()
        {
            call.id = id.to_owned();
        }
        if let Some(function) = &fragment.function {
            if let Some(name) = function.name.as_deref()
                && call.name.is_empty()
            {
                call.name = name.to_owned();
            }
            if let Some(piece) = function.arguments_text() {
                call.arguments.push_str(&piece);
            }
        }
    }

    /// Takes the complete calls, in index order. Empty arguments mean "no
    /// arguments" (`{}`), as servers send for parameterless tools.
    pub fn take(&mut self) -> Vec<ToolCall> {
        self.last = None;
        let turn = &self.turn;
        std::mem::take(&mut self.calls)
            .into_iter()
            .map(|(index, call)| ToolCall {
                id: if call.id.is_empty() {
                    format!("call_{turn}_{index}")
                } else {
                    call.id
                },
                name: call.name,
                arguments: if call.arguments.trim().is_empty() {
                    "{}".to_owned()
                } else {
                    call.arguments
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::openai::wire::FunctionFragment;

    fn fragment(
        index: Option<u32>,
        id: Option<&str>,
        name: Option<&str>,
        args: Option<&str>,
    ) -> ToolCallFragment {
        ToolCallFragment {
            index,
            id: id.map(str::to_owned),
            function: Some(FunctionFragment {
                name: name.map(str::to_owned),
                arguments: args.map(|a| serde_json::Value::String(a.to_owned())),
            }),
        }
    }

    #[test]
    fn interleaved_fragments_are_assembled_by_index_and_returned_in_order() {
        let mut calls = ToolCalls::new("t");
        calls.push(&fragment(Some(1), Some("b"), Some("second"), Some("")));
        calls.push(&fragment(Some(0), Some("a"), Some("first"), Some("{\"x\"")));
        calls.push(&fragment(Some(1), None, None, Some("{\"y\":2}")));
        calls.push(&fragment(Some(0), None, None, Some(":1}")));
        let got = calls.take();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (
                got[0].id.as_str(),
                got[0].name.as_str(),
                got[0].arguments.as_str()
            ),
            ("a", "first", "{\"x\":1}")
        );
        assert_eq!(
            (
                got[1].id.as_str(),
                got[1].name.as_str(),
                got[1].arguments.as_str()
            ),
            ("b", "second", "{\"y\":2}")
        );
        assert!(calls.take().is_empty(), "taking empties the assembler");
    }

    #[test]
    fn fragments_without_index_follow_their_id() {
        let mut calls = ToolCalls::new("t");
        calls.push(&fragment(None, Some("a"), Some("one"), Some("{\"p\":")));
        calls.push(&fragment(None, None, None, Some("1}")));
        calls.push(&fragment(None, Some("b"), Some("two"), None));
        calls.push(&fragment(None, Some("b"), None, Some("{}")));
        let got = calls.take();
        assert_eq!(
            got.iter().map(|c| c.arguments.as_str()).collect::<Vec<_>>(),
            ["{\"p\":1}", "{}"]
        );
        assert_eq!(got[1].name, "two");
    }

    #[test]
    fn missing_ids_are_made_up_and_missing_arguments_are_an_empty_object() {
        let mut calls = ToolCalls::new("t9");
        calls.push(&fragment(Some(0), None, Some("ping"), None));
        let got = calls.take();
        assert_eq!(got[0].id, "call_t9_0");
        assert_eq!(got[0].arguments, "{}");
    }
}
