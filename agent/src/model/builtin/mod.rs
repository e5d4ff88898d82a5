//! The built-in offline model: no network, deterministic, and realistic enough
//! to demo.
//!
//! It reads the conversation like a model would: the last user message says
//! what is wanted ([`intent`]); the tool results since then say how far along
//! it is. Each turn it reasons in chunks, then either calls a tool or streams
//! its reply in word-ish chunks, one chunk every [`BuiltinModel::pace`]. The
//! same conversation always gets the same turn; different messages get
//! different wording ([`writing`]). When fetching a plan fails because the id
//! does not exist, it recovers by listing the plans that do — a two-tool run.

pub mod essays;
pub mod intent;
pub mod writing;

use std::time::Duration;

use futures_util::StreamExt;
use orchestrator_events::event::Usage;
use serde_json::{Value, json};

use self::intent::{Intent, Topic};
use self::writing as w;
use super::{Delta, DeltaStream, Message, Model, ToolCall, TurnRequest};

/// The offline model.
#[derive(Debug, Clone)]
pub struct BuiltinModel {
    /// Delay before each streamed chunk (0: as fast as possible).
    pub pace: Duration,
}

impl BuiltinModel {
    /// A model that streams one chunk every `pace`.
    pub fn new(pace: Duration) -> Self {
        BuiltinModel { pace }
    }
}

impl Model for BuiltinModel {
    fn turn(&self, request: TurnRequest) -> DeltaStream {
        let deltas = plan_turn(&request);
        let pace = self.pace;
        let stream = futures_util::stream::iter(deltas).then(move |delta| async move {
            let wait = match &delta {
                Delta::Usage(_) => Duration::ZERO,
                // A tool call takes a moment to "write".
                Delta::ToolCall(_) => pace * 3,
                _ => pace,
            };
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            Ok(delta)
        });
        Box::pin(stream)
    }

    fn name(&self) -> String {
        "builtin".into()
    }

    fn describe(&self) -> String {
        format!("builtin (offline, {} ms per chunk)", self.pace.as_millis())
    }
}

/// What this turn says and does, as a list of deltas ending with usage.
pub fn plan_turn(request: &TurnRequest) -> Vec<Delta> {
    let messages = &request.messages;
    let user_at = messages.iter().rposition(|m| matches!(m, Message::User(_)));
    let user = match user_at.map(|i| &messages[i]) {
        Some(Message::User(text)) => text.as_str(),
        _ => "",
    };
    let sender = messages.iter().find_map(|m| match m {
        Message::System(s) => sender_of(s),
        _ => None,
    });
    let since_user = user_at.map_or(&messages[..0], |i| &messages[i + 1..]);
    let results = tool_results(since_user);
    let seed = w::seed_of(user);
    let has_tool = |name: &str| request.tools.iter().any(|t| t.name == name);
    let mut turn = Turn::new(seed);

    match results.last() {
        None => match intent::classify(user) {
            Intent::StorePlan { plan } if has_tool("store_research_plan") => {
                turn.reason(&w::reasoning_store(&plan, sender.as_deref(), seed));
                let mut args = json!({"plan_data": plan});
                if let Some(who) = &sender {
                    args["source_agent"] = json!(who);
                }
                turn.call("store_research_plan", &args);
            }
            Intent::GetPlan { id } if has_tool("get_research_plan") => {
                turn.reason(&w::reasoning_get(&id, seed));
                turn.call("get_research_plan", &json!({"plan_id": id}));
            }
            Intent::ListPlans if has_tool("list_research_plans") => {
                turn.reason(&w::reasoning_list(seed));
                turn.call("list_research_plans", &json!({"limit": 10}));
            }
            Intent::Explain(topic) => {
                turn.reason(&w::reasoning_explain(&subject(&topic), seed));
                turn.say(&essays::essay(&topic, seed));
            }
            Intent::Greeting => {
                turn.reason("A greeting. I'll say hello and mention what I can do.");
                turn.say(&w::greeting(sender.as_deref(), seed));
            }
            Intent::Question(topic) => {
                turn.reason(&w::reasoning_answer(&subject(&topic), seed));
                turn.say(&essays::answer(&topic, seed));
            }
            // A tool was wanted but this agent does not offer it.
            _ => {
                turn.reason("That needs a tool I don't have here, so I'll say so plainly.");
                turn.say("I can't do that here: the tool it needs is not available to me.");
            }
        },
        Some(last) => follow_up(&mut turn, user, last, &results, seed),
    }
    turn.finish(request)
}

/// The turn after a tool result.
fn follow_up(turn: &mut Turn, user: &str, last: &ToolOutcome, all: &[ToolOutcome], seed: u64) {
    match (&last.name[..], &last.result) {
        ("store_research_plan", Ok(out)) => {
            let id = out.get("plan_id").and_then(Value::as_str).unwrap_or("?");
            turn.reason(&format!(
                "Stored as {id}. I'll confirm with the id and a short recap so the sender knows it's the right plan."
            ));
            turn.say(&w::reply_stored(out, &intent::plan_text(user), seed));
        }
        ("get_research_plan", Ok(out)) => {
            turn.reason(
                "Got it. A compact summary with the numbered steps is the most useful answer.",
            );
            turn.say(&w::reply_plan(out, seed));
        }
        ("get_research_plan", Err(e))
            if e.contains("not found") && !all.iter().any(|t| t.name == "list_research_plans") =>
        {
            let id = last
                .args
                .get("plan_id")
                .and_then(Value::as_str)
                .unwrap_or("that id");
            turn.reason(&w::reasoning_not_found(id, seed));
            turn.call("list_research_plans", &json!({"limit": 5}));
        }
        ("list_research_plans", Ok(out)) => {
            let missing = all
                .iter()
                .find(|t| t.name == "get_research_plan" && t.result.is_err())
                .and_then(|t| t.args.get("plan_id").and_then(Value::as_str));
            turn.reason("I have the listing; I'll present ids, titles and authors.");
            turn.say(&w::reply_list(out, missing, seed));
        }
        (name, Err(e)) => {
            turn.reason(&format!(
                "{name} failed ({e}). There is no sensible retry, so I'll explain what happened."
            ));
            turn.say(&w::reply_tool_failed(name, e, seed));
        }
        (name, Ok(_)) => {
            turn.reason("The tool finished; a short confirmation will do.");
            turn.say(&format!("Done: {name} completed."));
        }
    }
}

/// A tool call of an earlier turn with its result.
struct ToolOutcome {
    name: String,
    args: Value,
    /// Parsed output, or the error text.
    result: Result<Value, String>,
}

/// Pairs each tool message after the user's message with its call.
fn tool_results(messages: &[Message]) -> Vec<ToolOutcome> {
    let calls: Vec<&ToolCall> = messages
        .iter()
        .flat_map(|m| match m {
            Message::Assistant { tool_calls, .. } => tool_calls.iter().collect(),
            _ => Vec::new(),
        })
        .collect();
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Tool {
                tool_call_id,
                name,
                content,
            } => {
                let args = calls
                    .iter()
                    .find(|c| &c.id == tool_call_id)
                    .and_then(|c| serde_json::from_str(&c.arguments).ok())
                    .unwrap_or(Value::Null);
                let parsed: Value =
                    serde_json::from_str(content).unwrap_or(Value::String(content.clone()));
                let result = match parsed.get("error").and_then(Value::as_str) {
                    Some(err) if parsed.as_object().is_some_and(|o| o.len() == 1) => {
                        Err(err.to_string())
                    }
                    _ => Ok(parsed),
                };
                Some(ToolOutcome {
                    name: name.clone(),
                    args,
                    result,
                })
            }
            _ => None,
        })
        .collect()
}

/// `This message was sent by the agent "planner" …` → `planner`.
fn sender_of(system: &str) -> Option<String> {
    let rest = &system[system.find("sent by the agent \"")? + 19..];
    let name = &rest[..rest.find('"')?];
    (!name.is_empty()).then(|| name.to_string())
}

fn subject(topic: &Topic) -> String {
    match topic {
        Topic::Pipeline => "how events travel through Redis to watchers".into(),
        Topic::Resilience => "what happens when parts of the system fail".into(),
        Topic::Agent => "how I work through a request".into(),
        Topic::Terminal => "watching the agent from a terminal".into(),
        Topic::Plans => "research plans and my tools".into(),
        Topic::General(s) => s.clone(),
    }
}

/// Builds one turn's deltas.
struct Turn {
    seed: u64,
    deltas: Vec<Delta>,
    produced: usize,
}

impl Turn {
    fn new(seed: u64) -> Self {
        Turn {
            seed,
            deltas: Vec::new(),
            produced: 0,
        }
    }

    fn reason(&mut self, text: &str) {
        self.produced += text.len();
        let seed = self.seed ^ 0x5eed;
        self.deltas
            .extend(w::chunks(text, 6, seed).into_iter().map(Delta::Reasoning));
    }

    fn say(&mut self, text: &str) {
        self.produced += text.len();
        self.deltas
            .extend(w::chunks(text, 3, self.seed).into_iter().map(Delta::Text));
    }

    fn call(&mut self, name: &str, args: &Value) {
        let arguments = args.to_string();
        self.produced += arguments.len();
        // Random, as a real backend's ids are: the words are deterministic, but
        // two runs that make the same call must not share a `tool_use_id`
        // (watchers pair a call with its result by it).
        self.deltas.push(Delta::ToolCall(ToolCall {
            id: format!("call_{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff),
            name: name.into(),
            arguments,
        }));
    }

    /// Appends usage (about four characters a token, as for English text).
    fn finish(mut self, request: &TurnRequest) -> Vec<Delta> {
        let input_chars: usize = request
            .messages
            .iter()
            .map(|m| match m {
                Message::System(s) | Message::User(s) => s.len(),
                Message::Assistant { text, tool_calls } => {
                    text.len() + tool_calls.iter().map(|c| c.arguments.len()).sum::<usize>()
                }
                Message::Tool { content, .. } => content.len(),
            })
            .sum::<usize>()
            + request
                .tools
                .iter()
                .map(|t| t.description.len() + t.parameters.to_string().len())
                .sum::<usize>();
        self.deltas.push(Delta::Usage(Usage {
            input_tokens: input_chars.div_ceil(4) as u64,
            output_tokens: self.produced.div_ceil(4) as u64,
        }));
        self.deltas
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ToolSpec;

    fn spec(name: &str) -> ToolSpec {
        ToolSpec {
            name: name.into(),
            description: String::new(),
            parameters: json!({}),
        }
    }

    fn request(messages: Vec<Message>) -> TurnRequest {
        TurnRequest {
            messages,
            tools: [
                "store_research_plan",
                "get_research_plan",
                "list_research_plans",
            ]
            .map(spec)
            .to_vec(),
        }
    }

    fn calls(deltas: &[Delta]) -> Vec<&ToolCall> {
        deltas
            .iter()
            .filter_map(|d| match d {
                Delta::ToolCall(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_same_call_in_two_runs_gets_two_ids() {
        let ask = || {
            plan_turn(&request(vec![Message::User(
                "List the stored research plans.".into(),
            )]))
        };
        let (a, b) = (ask(), ask());
        let (a, b) = (calls(&a)[0].clone(), calls(&b)[0].clone());
        assert_eq!(
            (a.name.as_str(), &a.arguments),
            (b.name.as_str(), &b.arguments)
        );
        assert_ne!(a.id, b.id, "tool_use_id must not repeat across runs");
    }

    #[test]
    fn stores_a_plan_with_its_author_then_confirms() {
        let system = "x\nThis message was sent by the agent \"planner\" over chat.";
        let user = "Please store this research plan: 1. Read\n2. Write";
        let first = plan_turn(&request(vec![
            Message::System(system.into()),
            Message::User(user.into()),
        ]));
        assert!(matches!(first[0], Delta::Reasoning(_)));
        let call = calls(&first)[0].clone();
        assert_eq!(call.name, "store_research_plan");
        let args: Value = serde_json::from_str(&call.arguments).expect("json");
        assert_eq!(args["source_agent"], "planner");
        assert_eq!(args["plan_data"], "1. Read\n2. Write");
        assert!(matches!(first.last(), Some(Delta::Usage(_))));

        let second = plan_turn(&request(vec![
            Message::System(system.into()),
            Message::User(user.into()),
            Message::Assistant {
                text: String::new(),
                tool_calls: vec![call.clone()],
            },
            Message::Tool {
                tool_call_id: call.id.clone(),
                name: call.name.clone(),
                content: json!({"plan_id": "plan-00ff00ff", "title": "t"}).to_string(),
            },
        ]));
        assert!(calls(&second).is_empty());
        let text: String = second
            .iter()
            .filter_map(|d| match d {
                Delta::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert!(text.contains("plan-00ff00ff"), "{text}");
    }

    #[test]
    fn a_missing_plan_leads_to_a_listing() {
        let user = "Fetch research plan plan-doesnotexist";
        let call = ToolCall {
            id: "c1".into(),
            name: "get_research_plan".into(),
            arguments: json!({"plan_id": "plan-doesnotexist"}).to_string(),
        };
        let next = plan_turn(&request(vec![
            Message::User(user.into()),
            Message::Assistant {
                text: String::new(),
                tool_calls: vec![call],
            },
            Message::Tool {
                tool_call_id: "c1".into(),
                name: "get_research_plan".into(),
                content: json!({"error": "not found: no research plan with id plan-doesnotexist"})
                    .to_string(),
            },
        ]));
        assert_eq!(calls(&next)[0].name, "list_research_plans");
    }

    #[test]
    fn same_message_same_turn() {
        let r = request(vec![Message::User("Explain how the bridge works".into())]);
        assert_eq!(plan_turn(&r), plan_turn(&r));
        let words: usize = plan_turn(&r)
            .iter()
            .filter_map(|d| match d {
                Delta::Text(t) => Some(t.split_whitespace().count()),
                _ => None,
            })
            .sum();
        assert!(words > 250, "a long answer: {words} words");
    }
}
